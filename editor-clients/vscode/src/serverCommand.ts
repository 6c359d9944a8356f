/**
 * Which program starts the medcode language server (pure, unit-tested: every outside fact is
 * passed in, so the order of the candidates can be tested without VS Code or a real PATH).
 *
 * Order: `medcode.server.path` when set (and nothing else: a configured command that fails
 * is reported, never silently replaced); else `medcode` on PATH; else `medcode` in the places
 * pip, pipx and the README's install steps put it (`installPlaces`); else the interpreter the
 * Python extension has selected; else `python.defaultInterpreterPath`; else `python3` /
 * `python` on PATH, each with `-m medcode.server`. The extension probes the candidates in
 * that order (`medcode --version`) and starts the first that answers.
 */

import * as nodePath from "node:path";
import type { ClientSettings } from "./settings";

export type CommandSource = "setting" | "path" | "install-place" | "python-extension" | "python-setting" | "python-path";

/** A way to run the `medcode` command line: `base` is the program and its leading arguments. */
export interface MedcodeCommand {
  /** e.g. `["/home/me/.venv/bin/medcode"]` or `["/usr/bin/python3", "-m", "medcode.server"]`. */
  base: string[];
  /** Arguments after `base` that start the language server, e.g. `["serve"]`. */
  serveArgs: string[];
  source: CommandSource;
}

export interface Invocation {
  command: string;
  args: string[];
}

export interface Surroundings {
  /** Full path of an executable named `name` on PATH, or undefined. */
  findOnPath(name: string): string | undefined;
  /** Executables among `installPlaces(...)` that exist, best first. */
  findInstalled?(): string[];
  /** The Python extension's selected interpreter (a command line), if it is installed. */
  pythonExtensionInterpreter(): Promise<string[] | undefined>;
  /** `python.defaultInterpreterPath` when the user set it (not the built-in default). */
  pythonSettingInterpreter(): string | undefined;
  homeDir: string;
  workspaceFolder?: string;
}

export const PYTHON_MODULE = ["-m", "medcode.server"];

/** `~` and `${workspaceFolder}` / `${userHome}` in a configured path. */
export function expandPath(text: string, homeDir: string, workspaceFolder?: string): string {
  let out = text.replace(/\$\{userHome\}/g, homeDir);
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  if (out === "~") {
    return homeDir;
  }
  if (out.startsWith("~/") || out.startsWith("~\\")) {
    return nodePath.join(homeDir, out.slice(2));
  }
  return out;
}

/**
 * Every way to run medcode worth trying, best first, produced lazily: the Python extension
 * (whose activation costs time) is asked only when `medcode` on PATH was not found or did not
 * work.
 */
export async function* serverCandidates(settings: ClientSettings, around: Surroundings): AsyncGenerator<MedcodeCommand, void, undefined> {
  const serveArgs = [...settings.serverArgs];
  if (settings.serverPath.length > 0) {
    const [program, ...rest] = settings.serverPath;
    const base = [expandPath(program ?? "", around.homeDir, around.workspaceFolder), ...rest];
    yield { base, serveArgs, source: "setting" };
    return;
  }
  const seen = new Set<string>();
  const fresh = (base: string[]): boolean => {
    const key = JSON.stringify(base);
    const isNew = !seen.has(key);
    seen.add(key);
    return isNew;
  };
  const medcode = around.findOnPath("medcode");
  if (medcode !== undefined && fresh([medcode])) {
    yield { base: [medcode], serveArgs, source: "path" };
  }
  for (const installed of around.findInstalled?.() ?? []) {
    if (fresh([installed])) {
      yield { base: [installed], serveArgs, source: "install-place" };
    }
  }
  let fromExtension: string[] | undefined;
  try {
    fromExtension = await around.pythonExtensionInterpreter();
  } catch {
    fromExtension = undefined; // the Python extension is optional
  }
  if (fromExtension !== undefined && fromExtension.length > 0) {
    const base = [...fromExtension, ...PYTHON_MODULE];
    if (fresh(base)) {
      yield { base, serveArgs, source: "python-extension" };
    }
  }
  const fromSetting = around.pythonSettingInterpreter();
  if (fromSetting !== undefined && fromSetting.trim()) {
    const base = [expandPath(fromSetting.trim(), around.homeDir, around.workspaceFolder), ...PYTHON_MODULE];
    if (fresh(base)) {
      yield { base, serveArgs, source: "python-setting" };
    }
  }
  for (const name of ["python3", "python"]) {
    const python = around.findOnPath(name);
    if (python !== undefined && fresh([python, ...PYTHON_MODULE])) {
      yield { base: [python, ...PYTHON_MODULE], serveArgs, source: "python-path" };
    }
  }
}

/** Probe the candidates in order; the first one for which `works` resolves true wins. */
export async function firstWorking(
  candidates: AsyncIterable<MedcodeCommand> | Iterable<MedcodeCommand>,
  works: (command: MedcodeCommand) => Promise<boolean>,
): Promise<MedcodeCommand | undefined> {
  for await (const candidate of candidates) {
    if (await works(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** The command line that starts the language server. */
export function serveInvocation(command: MedcodeCommand): Invocation {
  const [program, ...rest] = command.base;
  return { command: program ?? "", args: [...rest, ...command.serveArgs] };
}

/** The command line for one of medcode's own commands, e.g. `["lookup", "--json", "--", "E11.9"]`. */
export function cliInvocation(command: MedcodeCommand, args: readonly string[]): Invocation {
  const [program, ...rest] = command.base;
  return { command: program ?? "", args: [...rest, ...args] };
}

/** A command line as a person would type it (for messages and the output channel). */
export function showCommandLine(invocation: Invocation): string {
  return [invocation.command, ...invocation.args].map((part) => (/^[\w@%+=:,./~-]+$/.test(part) ? part : JSON.stringify(part))).join(" ");
}

export function describeSource(source: CommandSource): string {
  switch (source) {
    case "setting":
      return "medcode.server.path";
    case "path":
      return "medcode on PATH";
    case "install-place":
      return "medcode where pip or pipx installs it";
    case "python-extension":
      return "the Python extension's interpreter";
    case "python-setting":
      return "python.defaultInterpreterPath";
    case "python-path":
      return "Python on PATH";
  }
}

/**
 * Look for an executable on PATH. `isExecutableFile` is injected (fs in the extension, a
 * fake in tests). On Windows only `.exe` and `.com` are considered: Node refuses to spawn
 * `.bat` / `.cmd` files without a shell, and pip installs `medcode.exe`.
 */
export function findOnPath(
  name: string,
  env: { PATH?: string; Path?: string },
  platform: NodeJS.Platform,
  isExecutableFile: (path: string) => boolean,
): string | undefined {
  const windows = platform === "win32";
  const pathApi = windows ? nodePath.win32 : nodePath.posix;
  const searchPath = env.PATH ?? env.Path ?? "";
  const suffixes = windows ? [".exe", ".com"] : [""];
  for (const dir of searchPath.split(windows ? ";" : ":")) {
    if (!dir) {
      continue;
    }
    for (const suffix of suffixes) {
      const candidate = pathApi.join(dir.replace(/^"(.*)"$/, "$1"), name + suffix);
      if (isExecutableFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * Where `medcode` usually is when it is not on the PATH the extension host sees. VS Code (and
 * code-server) replace PATH with the one a login shell (`$SHELL -i -l -c`) prints, unless
 * started from a terminal with `code`: a virtual environment activated in the terminal that
 * started VS Code is then dropped from PATH, but `VIRTUAL_ENV` (and conda's `CONDA_PREFIX`)
 * survive. pip `--user` and pipx install into `~/.local/bin`, which a login shell puts on PATH
 * only when the folder existed when it started; `~/.venvs/medcode` is the README's own
 * install step. Best first; the caller keeps those that exist.
 */
export function installPlaces(env: Readonly<Record<string, string | undefined>>, homeDir: string, platform: NodeJS.Platform): string[] {
  const windows = platform === "win32";
  const pathApi = windows ? nodePath.win32 : nodePath.posix;
  const script = (prefix: string): string => (windows ? pathApi.join(prefix, "Scripts", "medcode.exe") : pathApi.join(prefix, "bin", "medcode"));
  const places: string[] = [];
  for (const prefix of [env["VIRTUAL_ENV"], env["CONDA_PREFIX"]]) {
    if (prefix !== undefined && prefix.trim() && pathApi.isAbsolute(prefix.trim())) {
      places.push(script(prefix.trim()));
    }
  }
  if (!windows) {
    places.push(pathApi.join(homeDir, ".local", "bin", "medcode"));
  }
  places.push(script(pathApi.join(homeDir, ".venvs", "medcode")));
  return [...new Set(places)];
}

/** The environment for the server and commands: `MEDCODE_INDEX_DIR` when `medcode.indexDir` is set. */
export function serverEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  indexDir: string,
  homeDir: string,
  workspaceFolder?: string,
): Record<string, string | undefined> {
  const env = { ...base };
  if (indexDir) {
    env["MEDCODE_INDEX_DIR"] = expandPath(indexDir, homeDir, workspaceFolder);
  }
  return env;
}

/**
 * The interpreter from the Python extension's API (`ms-python.python` exports), read
 * defensively: `environments.getActiveEnvironmentPath(resource)` (current API), else
 * `settings.getExecutionDetails(resource).execCommand` (older API).
 */
export function interpreterFromPythonApi(api: unknown, resource?: unknown): string[] | undefined {
  const record = (value: unknown): Record<string, unknown> | undefined =>
    typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  const root = record(api);
  const environments = record(root?.["environments"]);
  const getActive = environments?.["getActiveEnvironmentPath"];
  if (typeof getActive === "function") {
    const active = record((getActive as (r?: unknown) => unknown).call(environments, resource));
    const path = active?.["path"];
    if (typeof path === "string" && path.trim()) {
      return [path];
    }
  }
  const settings = record(root?.["settings"]);
  const getDetails = settings?.["getExecutionDetails"];
  if (typeof getDetails === "function") {
    const details = record((getDetails as (r?: unknown) => unknown).call(settings, resource));
    const exec = details?.["execCommand"];
    if (Array.isArray(exec) && exec.length > 0 && exec.every((part) => typeof part === "string")) {
      return exec;
    }
  }
  return undefined;
}
