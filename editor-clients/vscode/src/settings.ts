/**
 * The `medcode` settings the extension itself reads (pure, unit-tested): how to start the server
 * (`server.path`, `server.args`) and the index folder (`indexDir`), which the extension resolves
 * (`~`, `${workspaceFolder}`, user settings only in an untrusted workspace) and sends the server.
 *
 * Every other setting is the server's: the extension passes the section through as VS Code
 * holds it. The server checks it against its one schema (server/lsp/settings.py, which also
 * writes this extension's `contributes.configuration`) and names any bad value in one warning.
 */

export const SECTION = "medcode";

export const DEFAULT_SERVER_ARGS: readonly string[] = ["serve"];

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
