/**
 * The `medcode` settings, read and checked without VS Code (pure, unit-tested).
 *
 * The server settings (`inlayHints.enabled`, `severity`, `debounceMs`, `fileKinds`, `codeSets`,
 * `templates.bareCodeHints`, `indexDir`, `date`) are sent to the server as VS Code holds them; the
 * server reads them leniently (server/lsp/settings.py, `Settings.from_client`). This module
 * mirrors that reading value for value, so the extension can say, in its output channel, which
 * values the server will ignore or read differently from what they look like. `indexDir` is
 * both the server's and the extension's: the extension resolves it (`~`, `${workspaceFolder}`,
 * user settings only in an untrusted workspace) and sends the server the resolved folder (see
 * `sectionForServer`). The other client settings (`server.*`, `trace.server`) only concern
 * this extension.
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
  "missing-code-type",
  "unknown-code-type",
  "hpt-structure",
  "fhir-structure",
  "display-mismatch",
  "ncci-ptp",
  "mue",
  "add-on-without-primary",
  // Claim edits (server/claim_edits): CMS MCE and ICD-10-CM tabular rules across a claim.
  "age-conflict",
  "sex-conflict",
  "manifestation-as-principal",
  "external-cause-as-principal",
  "unacceptable-principal",
  "requires-secondary-diagnosis",
  "questionable-admission",
  "duplicate-of-principal",
  "wrong-procedure-performed",
  "non-covered-procedure",
  "limited-coverage-procedure",
  "questionable-obstetric-admission",
  "unspecified-code",
  "excludes1",
  "code-first",
  "use-additional-code",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const SEVERITY_NAMES = ["error", "warning", "information", "hint", "off"] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

/** `medcode.fileKinds` keys, as server/lsp/settings.py KIND_KEYS (X12 claims, CSV, JSON, FHIR claims, templates). */
export const FILE_KINDS = ["x12", "csv", "json", "fhir", "templates"] as const;
export type FileKind = (typeof FILE_KINDS)[number];

/** `medcode.codeSets` keys: the official sets (index_builder/codesets.py OFFICIAL_SETS). */
export const CODE_SETS = ["icd10cm", "icd10pcs", "hcpcs", "cpt", "ndc"] as const;
export type CodeSet = (typeof CODE_SETS)[number];

export const DEFAULT_DEBOUNCE_MS = 200;
export const MAX_DEBOUNCE_MS = 5000;
export const DEFAULT_SERVER_ARGS: readonly string[] = ["serve"];

/** What the server makes of the settings (its `Settings.from_client`). */
export interface ServerSettings {
  inlayHintsEnabled: boolean;
  severity: Partial<Record<RuleId, SeverityName>>;
  debounceMs: number;
  /** Which file kinds the server checks: every kind is on unless set to `false` itself. */
  fileKinds: Record<FileKind, boolean>;
  /** Which official sets give findings: every set is on unless set to `false` itself. */
  codeSets: Record<CodeSet, boolean>;
  /** `templates.bareCodeHints`: code-shaped words without a set become hints in templates. */
  bareCodeHints: boolean;
  /** `indexDir` stripped (as Python strips); null when unset or blank (the server then uses its own default). */
  indexDir: string | null;
  /** `date` (YYYY-MM-DD): the day for files that give none; null when unset or not a date (today). */
  date: string | null;
}

/** What the server uses when the section says nothing (its `Settings()`). */
export function defaultServerSettings(): ServerSettings {
  return {
    inlayHintsEnabled: false,
    severity: {},
    debounceMs: DEFAULT_DEBOUNCE_MS,
    fileKinds: allOn(FILE_KINDS),
    codeSets: allOn(CODE_SETS),
    bareCodeHints: false,
    indexDir: null,
    date: null,
  };
}

function allOn<K extends string>(keys: readonly K[]): Record<K, boolean> {
  return Object.fromEntries(keys.map((key) => [key, true])) as Record<K, boolean>;
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

/**
 * Python's `str.strip()`: the characters `str.isspace()` accepts. Not `String.prototype.trim`,
 * which also removes U+FEFF but keeps U+001C..U+001F and U+0085.
 */
const PYTHON_SPACE = String.raw`\t\n\v\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const PYTHON_STRIP = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, "g");

export function pythonStrip(text: string): string {
  return text.replace(PYTHON_STRIP, "");
}

function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}

function isSeverityName(value: string): value is SeverityName {
  return (SEVERITY_NAMES as readonly string[]).includes(value);
}

/**
 * The `medcode` section as the server reads it: unknown keys and bad values fall back to the
 * defaults rather than failing, exactly as server/lsp/settings.py `Settings.from_client` does.
 */
export function readServerSettings(section: unknown): Checked<ServerSettings> {
  const value = defaultServerSettings();
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

  // typeof excludes booleans, which Python's int check has to exclude by hand.
  const debounce = section["debounceMs"];
  if (typeof debounce === "number" && Number.isInteger(debounce) && debounce >= 0 && debounce <= MAX_DEBOUNCE_MS) {
    value.debounceMs = debounce;
  } else if (debounce !== undefined && debounce !== null) {
    problems.push(`medcode.debounceMs should be a whole number from 0 to ${MAX_DEBOUNCE_MS}; ${DEFAULT_DEBOUNCE_MS} is used.`);
  }

  const kinds = readSwitches("medcode.fileKinds", "file kind", FILE_KINDS, section["fileKinds"]);
  value.fileKinds = kinds.value;
  problems.push(...kinds.problems);

  const sets = readSwitches("medcode.codeSets", "code set", CODE_SETS, section["codeSets"]);
  value.codeSets = sets.value;
  problems.push(...sets.problems);

  const templates = section["templates"];
  if (isRecord(templates)) {
    const bare = templates["bareCodeHints"];
    if (bare !== undefined && typeof bare !== "boolean") {
      problems.push(`medcode.templates.bareCodeHints should be true or false; the server reads ${JSON.stringify(bare)} as ${pythonTruthy(bare)}.`);
    }
    value.bareCodeHints = pythonTruthy(bare);
  } else if (templates !== undefined && templates !== null) {
    problems.push(`medcode.templates should be {"bareCodeHints": true|false}; ignored.`);
  }

  // Not reported here: the extension reads indexDir itself (readClientSettings says what is
  // wrong with it) and always sends the server the folder it resolved, a string.
  const indexDir = section["indexDir"];
  if (typeof indexDir === "string" && pythonStrip(indexDir)) {
    value.indexDir = pythonStrip(indexDir);
  }

  const date = section["date"];
  if (typeof date === "string" && pythonStrip(date)) {
    // As the server's date.fromisoformat, for the plain YYYY-MM-DD form.
    const day = pythonStrip(date);
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
    const valid = m !== null && new Date(`${day}T00:00:00Z`).getUTCDate() === Number(m[3]);
    if (valid) {
      value.date = day;
    } else {
      problems.push(`medcode.date should be a date written YYYY-MM-DD; ${JSON.stringify(date)} is ignored (files without a date are judged on today).`);
    }
  } else if (date !== undefined && date !== null && date !== "") {
    problems.push(`medcode.date should be a date written YYYY-MM-DD; ignored.`);
  }

  return { value, problems };
}

/**
 * An object of on/off switches (`fileKinds`, `codeSets`), read as the server does: a key is on
 * unless its value is `false` itself (not 0, not "false"); unknown keys are ignored; anything
 * but an object leaves every switch on.
 */
function readSwitches<K extends string>(setting: string, what: string, keys: readonly K[], raw: unknown): Checked<Record<K, boolean>> {
  const value = allOn(keys);
  const problems: string[] = [];
  if (isRecord(raw)) {
    for (const [key, on] of Object.entries(raw)) {
      if (!(keys as readonly string[]).includes(key)) {
        problems.push(`${setting}: "${key}" is not a ${what} (${keys.join(", ")}); ignored.`);
      } else if (typeof on !== "boolean") {
        problems.push(`${setting}.${key} should be true or false; the server reads ${JSON.stringify(on)} as true (only false switches it off).`);
      }
    }
    for (const key of keys) {
      value[key] = raw[key] !== false;
    }
  } else if (raw !== undefined && raw !== null) {
    problems.push(`${setting} should be an object of ${what} → true|false; every ${what} stays on.`);
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
    value.indexDir = pythonStrip(indexDir);
  } else if (indexDir !== undefined && indexDir !== null) {
    problems.push(`medcode.indexDir should be a folder path; ignored.`);
  }

  return { value, problems };
}

/**
 * The `medcode` section as sent to the server (workspace/configuration): `indexDir` replaced by
 * the folder the extension resolved (`~` and `${workspaceFolder}` expanded, user settings only
 * in an untrusted workspace), so that the server and the commands always use the same folder.
 * The server's `indexDir` setting overrides its environment; "" leaves it to the environment,
 * where the extension has put the same folder as `MEDCODE_INDEX_DIR` (or nothing, when unset).
 */
export function sectionForServer(section: unknown, indexDir: string): unknown {
  return isRecord(section) ? { ...section, indexDir } : section;
}

/**
 * Whether a change to these settings needs the server restarted (vs. re-read by it). The
 * server would re-read `indexDir` too, but the extension's commands and the server's
 * environment (`MEDCODE_INDEX_DIR`) change with it, so the server is started afresh.
 */
export const RESTART_SETTINGS = ["medcode.server.path", "medcode.server.args", "medcode.indexDir"] as const;
