/**
 * The `medcode` settings, read and checked without VS Code (pure, unit-tested).
 *
 * The server settings (`inlayHints.enabled`, `severity`, `debounceMs`) are sent to the server
 * as VS Code holds them; the server reads them leniently (server/lsp/settings.py). This module
 * mirrors that reading so the extension can say, in its output channel, which values the
 * server will ignore. The client settings (`server.*`, `indexDir`) only concern this extension.
 */

export const SECTION = "medcode";

/** Rule ids, as in server/findings.py RULES and the README's rule table. */
export const RULE_IDS = [
  "invalid-code",
  "not-billable",
  "bad-format",
  "wrong-code-set",
  "not-in-index",
  "deleted-code",
  "wrong-icd-version",
  "invalid-pointer",
  "x12-structure",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const SEVERITY_NAMES = ["error", "warning", "information", "hint", "off"] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

export const DEFAULT_DEBOUNCE_MS = 200;
export const MAX_DEBOUNCE_MS = 5000;
export const DEFAULT_SERVER_ARGS: readonly string[] = ["serve"];

/** What the server makes of the settings (its `Settings.from_client`). */
export interface ServerSettings {
  inlayHintsEnabled: boolean;
  severity: Partial<Record<RuleId, SeverityName>>;
  debounceMs: number;
}

/** How to start the server and where the indexes are. */
export interface ClientSettings {
  /** `medcode.server.path` as a command line; empty when unset. */
  serverPath: string[];
  serverArgs: string[];
  /** `medcode.indexDir`; empty when unset. */
  indexDir: string;
}

export interface Checked<T> {
  value: T;
  /** One sentence per ignored or doubtful value, naming the setting. */
  problems: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Python's truth value of a JSON value: what `bool(x)` gives on the server. */
function pythonTruthy(value: unknown): boolean {
  if (Array.isArray(value)) {
    return value.length > 0;
  }
  if (isRecord(value)) {
    return Object.keys(value).length > 0;
  }
  return Boolean(value);
}

function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}

function isSeverityName(value: string): value is SeverityName {
  return (SEVERITY_NAMES as readonly string[]).includes(value);
}

/**
 * The `medcode` section as the server reads it: unknown keys and bad values fall back to the
 * defaults rather than failing, exactly as server/lsp/settings.py does.
 */
export function readServerSettings(section: unknown): Checked<ServerSettings> {
  const value: ServerSettings = { inlayHintsEnabled: false, severity: {}, debounceMs: DEFAULT_DEBOUNCE_MS };
  const problems: string[] = [];
  if (!isRecord(section)) {
    return { value, problems };
  }

  const hints = section["inlayHints"];
  if (isRecord(hints)) {
    const enabled = hints["enabled"];
    if (enabled !== undefined && typeof enabled !== "boolean") {
      problems.push(`medcode.inlayHints.enabled should be true or false; the server reads ${JSON.stringify(enabled)} as ${pythonTruthy(enabled)}.`);
    }
    value.inlayHintsEnabled = pythonTruthy(enabled);
  } else if (typeof hints === "boolean") {
    value.inlayHintsEnabled = hints;
  } else if (hints !== undefined && hints !== null) {
    problems.push(`medcode.inlayHints should be {"enabled": true|false}; ignored.`);
  }

  const severity = section["severity"];
  if (isRecord(severity)) {
    for (const [rule, level] of Object.entries(severity)) {
      if (!isRuleId(rule)) {
        problems.push(`medcode.severity: "${rule}" is not a rule id (${RULE_IDS.join(", ")}); ignored.`);
        continue;
      }
      const name = typeof level === "string" ? level.toLowerCase() : undefined;
      if (name === undefined || !isSeverityName(name)) {
        problems.push(`medcode.severity: ${JSON.stringify(level)} for "${rule}" is not one of ${SEVERITY_NAMES.join(", ")}; the default is kept.`);
        continue;
      }
      value.severity[rule] = name;
    }
  } else if (severity !== undefined && severity !== null) {
    problems.push(`medcode.severity should be an object of rule id → severity; ignored.`);
  }

  const debounce = section["debounceMs"];
  if (typeof debounce === "number" && Number.isInteger(debounce) && debounce >= 0 && debounce <= MAX_DEBOUNCE_MS) {
    value.debounceMs = debounce;
  } else if (debounce !== undefined && debounce !== null) {
    problems.push(`medcode.debounceMs should be a whole number from 0 to ${MAX_DEBOUNCE_MS}; ${DEFAULT_DEBOUNCE_MS} is used.`);
  }

  return { value, problems };
}

function stringList(value: unknown): string[] | undefined {
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return value;
  }
  return undefined;
}

/** `medcode.server.path`, `medcode.server.args` and `medcode.indexDir`, checked. */
export function readClientSettings(section: unknown): Checked<ClientSettings> {
  const value: ClientSettings = { serverPath: [], serverArgs: [...DEFAULT_SERVER_ARGS], indexDir: "" };
  const problems: string[] = [];
  if (!isRecord(section)) {
    return { value, problems };
  }
  const server = isRecord(section["server"]) ? section["server"] : {};

  const path = server["path"];
  if (typeof path === "string") {
    value.serverPath = path.trim() ? [path.trim()] : [];
  } else if (Array.isArray(path)) {
    const parts = stringList(path);
    if (parts === undefined) {
      problems.push(`medcode.server.path: every element of the list must be a string; ignored.`);
    } else if (parts.length > 0 && !parts[0]?.trim()) {
      problems.push(`medcode.server.path: the first element must be the program to run; ignored.`);
    } else {
      value.serverPath = parts;
    }
  } else if (path !== undefined && path !== null) {
    problems.push(`medcode.server.path should be a path or a list of strings; ignored.`);
  }

  const args = stringList(server["args"]);
  if (args !== undefined) {
    value.serverArgs = [...args];
  } else if (server["args"] !== undefined && server["args"] !== null) {
    problems.push(`medcode.server.args should be a list of strings; ["serve"] is used.`);
  }

  const indexDir = section["indexDir"];
  if (typeof indexDir === "string") {
    value.indexDir = indexDir.trim();
  } else if (indexDir !== undefined && indexDir !== null) {
    problems.push(`medcode.indexDir should be a folder path; ignored.`);
  }

  return { value, problems };
}

/**
 * The `medcode` section as sent to the server (workspace/configuration): `indexDir` replaced by
 * the folder the extension resolved (`~` and `${workspaceFolder}` expanded, user settings only
 * in an untrusted workspace), so that the server and the commands always use the same folder.
 */
export function sectionForServer(section: unknown, indexDir: string): unknown {
  return isRecord(section) ? { ...section, indexDir } : section;
}

/** Whether a change to these settings needs the server restarted (vs. re-read by it). */
export const RESTART_SETTINGS = ["medcode.server.path", "medcode.server.args", "medcode.indexDir"] as const;
