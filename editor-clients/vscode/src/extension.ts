/**
 * The medcode extension: starts `medcode serve` over stdio with vscode-languageclient and adds
 * a few commands that run the `medcode` command line (look up, rebuild, import).
 *
 * Everything that can be decided without VS Code lives in the pure modules beside this one
 * (settings, serverCommand, lookupView, commands, selector, run) and is unit-tested there.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { buildArgs, COMMANDS, IMPORT_SETS, importArgs, localSetNameProblem, SERVER_RELOAD_INDEXES, statusArgs, statusMarkdown } from "./commands";
import { codeAt, lookupArgs, lookupMarkdown, parseLookup } from "./lookupView";
import { failureReason, runCommand, type RunResult } from "./run";
import { DOCUMENT_SELECTOR } from "./selector";
import {
  cliInvocation,
  describeSource,
  findOnPath,
  firstWorking,
  installPlaces,
  interpreterFromPythonApi,
  type Invocation,
  type MedcodeCommand,
  serveInvocation,
  serverCandidates,
  serverEnvironment,
  showCommandLine,
  type Surroundings,
} from "./serverCommand";
import { type ClientSettings, readClientSettings, RESTART_SETTINGS, SECTION, sectionForServer } from "./settings";

const PROBE_TIMEOUT_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 120_000; // a first look-up builds the default indexes (under a minute)
const LOOKUP_SCHEME = "medcode-lookup";

/** A way to run medcode that answered `--version`, with the environment it runs in. */
interface Medcode {
  command: MedcodeCommand;
  env: Record<string, string | undefined>;
  /** `medcode.indexDir` resolved, or "" when unset. */
  indexDir: string;
  version: string;
}

let output: vscode.LogOutputChannel;
let extensionUri: vscode.Uri;
let client: LanguageClient | undefined;
let running: Medcode | undefined;
/** Start / stop / restart run one after another, never interleaved. */
let lifecycle: Promise<unknown> = Promise.resolve();

function log(message: string): void {
  output.info(message);
}

// -- settings ---------------------------------------------------------------------------------

/**
 * A setting that names a program or folder: in an untrusted workspace only the user's own
 * value counts (the manifest also declares these as restricted configurations).
 */
function trustedValue(config: vscode.WorkspaceConfiguration, key: string): unknown {
  if (vscode.workspace.isTrusted) {
    return config.get(key);
  }
  return config.inspect(key)?.globalValue;
}

function clientSettings(): ClientSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const checked = readClientSettings({
    server: { path: trustedValue(config, "server.path"), args: trustedValue(config, "server.args") },
    indexDir: trustedValue(config, "indexDir"),
  });
  for (const problem of checked.problems) {
    log(`settings: ${problem}`);
  }
  return checked.value;
}

function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri.fsPath;
}

// -- finding the server -------------------------------------------------------------------------

function isExecutableFile(path: string): boolean {
  try {
    if (!fs.statSync(path).isFile()) {
      return false;
    }
    if (process.platform !== "win32") {
      fs.accessSync(path, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function surroundings(): Surroundings {
  return {
    findOnPath: (name) => findOnPath(name, process.env, process.platform, isExecutableFile),
    findInstalled: () => installPlaces(process.env, os.homedir(), process.platform).filter(isExecutableFile),
    pythonExtensionInterpreter: async () => {
      const python = vscode.extensions.getExtension("ms-python.python");
      if (python === undefined) {
        return undefined;
      }
      const api: unknown = python.isActive ? python.exports : await python.activate();
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      return interpreterFromPythonApi(api, folder);
    },
    pythonSettingInterpreter: () => {
      const inspected = vscode.workspace.getConfiguration("python").inspect<string>("defaultInterpreterPath");
      if (!vscode.workspace.isTrusted) {
        return inspected?.globalValue;
      }
      return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    },
    homeDir: os.homedir(),
    workspaceFolder: workspaceFolder(),
  };
}

async function probe(command: MedcodeCommand, env: Record<string, string | undefined>): Promise<string | undefined> {
  const invocation = cliInvocation(command, ["--version"]);
  const result = await runCommand(invocation, { env, timeoutMs: PROBE_TIMEOUT_MS });
  const version = result.stdout.trim();
  if (result.code === 0 && version.startsWith("medcode")) {
    log(`found ${version}: ${showCommandLine(invocation)} (${describeSource(command.source)})`);
    return version;
  }
  log(`not usable: ${showCommandLine(invocation)} (${describeSource(command.source)}): ${failureReason(result)}`);
  return undefined;
}

/** The first way to run medcode that works, or undefined after telling the user why not. */
async function findMedcode(): Promise<Medcode | undefined> {
  const settings = clientSettings();
  const around = surroundings();
  const env = serverEnvironment(process.env, settings.indexDir, around.homeDir, around.workspaceFolder);
  let version = "";
  let tried = 0;
  const chosen = await firstWorking(serverCandidates(settings, around), async (candidate) => {
    tried += 1;
    version = (await probe(candidate, env)) ?? "";
    return version !== "";
  });
  if (chosen === undefined) {
    void cannotStart(settings.serverPath.length > 0, tried === 0);
    return undefined;
  }
  const indexDir = settings.indexDir ? (env["MEDCODE_INDEX_DIR"] ?? "") : "";
  return { command: chosen, env, indexDir, version };
}

async function cannotStart(configured: boolean, nothingFound: boolean): Promise<void> {
  const why = configured
    ? "the command in medcode.server.path did not answer `--version`"
    : nothingFound
      ? "no `medcode` command and no Python were found"
      : "no `medcode` command was found, and no Python found has the medcode package installed";
  const message =
    `medcode: the language server cannot start: ${why}. ` +
    "Install the medcode Python package (pip install <path to the medcode repository>) or set medcode.server.path.";
  const choice = await vscode.window.showErrorMessage(message, "Install steps", "Open settings", "Show output");
  if (choice === "Install steps") {
    await openInstallSteps();
  } else if (choice === "Open settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "medcode.server");
  } else if (choice === "Show output") {
    output.show();
  }
}

/** The README shipped inside the extension: works offline, and matches this version. */
async function openInstallSteps(): Promise<void> {
  // vsce stores README.md as readme.md in the .vsix; a development checkout has README.md.
  let readme = vscode.Uri.joinPath(extensionUri, "README.md");
  for (const name of ["readme.md", "README.md"]) {
    const candidate = vscode.Uri.joinPath(extensionUri, name);
    try {
      await vscode.workspace.fs.stat(candidate);
      readme = candidate;
      break;
    } catch {
      // try the next spelling
    }
  }
  try {
    await vscode.commands.executeCommand("markdown.showPreview", readme);
  } catch {
    await vscode.window.showTextDocument(readme);
  }
}

// -- the language client ----------------------------------------------------------------------------

async function start(): Promise<void> {
  const medcode = await findMedcode();
  if (medcode === undefined) {
    return;
  }
  const serve = serveInvocation(medcode.command);
  // No `transport`: the client then spawns exactly this command line and talks over stdio.
  const serverOptions: ServerOptions = {
    command: serve.command,
    args: serve.args,
    options: { env: medcode.env as NodeJS.ProcessEnv, cwd: workspaceFolder() },
  };
  const clientOptions: LanguageClientOptions = {
    // The server asks for the `medcode` section (workspace/configuration) and registers for
    // its changes itself, so no deprecated `synchronize.configurationSection` here.
    documentSelector: DOCUMENT_SELECTOR,
    // vscode-languageclient 11 pulls diagnostics only when asked to: without this they go
    // stale while the user types.
    diagnosticPullOptions: { onChange: true, onSave: true },
    outputChannel: output,
    traceOutputChannel: output,
    middleware: {
      workspace: {
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) {
            return result;
          }
          return result.map((value: unknown, i) => (params.items[i]?.section === SECTION ? sectionForServer(value, medcode.indexDir) : value));
        },
      },
    },
  };
  const next = new LanguageClient("medcode", "medcode", serverOptions, clientOptions);
  log(`starting the language server (${medcode.version}): ${showCommandLine(serve)}`);
  try {
    await next.start();
    client = next;
    running = medcode;
  } catch (error) {
    log(`the language server did not start: ${error instanceof Error ? error.message : String(error)}`);
    void next.dispose().catch(() => undefined);
    // Not awaited: a restart must not wait for the user to close the message.
    void vscode.window
      .showErrorMessage(
        `medcode: the language server (${showCommandLine(serve)}) did not start. See the output for details.`,
        "Show output",
        "Install steps",
      )
      .then((choice) => {
        if (choice === "Show output") {
          output.show();
        } else if (choice === "Install steps") {
          void openInstallSteps();
        }
      });
  }
}

async function stop(): Promise<void> {
  const old = client;
  client = undefined;
  running = undefined;
  if (old !== undefined) {
    try {
      await old.stop();
    } catch (error) {
      log(`stopping the language server: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function enqueue(step: () => Promise<void>): Promise<void> {
  const next = lifecycle.then(step, step);
  lifecycle = next.catch(() => undefined);
  return next;
}

function restart(): Promise<void> {
  return enqueue(async () => {
    await stop();
    await start();
  });
}

// -- running medcode commands ------------------------------------------------------------------------

/** The running server's medcode, or the first that works. */
async function medcodeForCommands(): Promise<Medcode | undefined> {
  return running ?? (await findMedcode());
}

function runWithProgress(title: string, medcode: Medcode, invocation: Invocation, timeoutMs?: number): Thenable<RunResult> {
  log(`> ${showCommandLine(invocation)}`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const subscription = token.onCancellationRequested(() => controller.abort());
      try {
        const result = await runCommand(invocation, {
          env: medcode.env,
          cwd: workspaceFolder(),
          signal: controller.signal,
          timeoutMs,
          onStderrLine: (line) => {
            if (line.trim()) {
              output.info(line);
              progress.report({ message: line.trim() });
            }
          },
        });
        log(result.code === 0 ? "done" : `failed: ${failureReason(result)}`);
        return result;
      } finally {
        subscription.dispose();
      }
    },
  );
}

async function reloadServerIndexes(): Promise<void> {
  if (client === undefined) {
    return;
  }
  try {
    await client.sendRequest(ExecuteCommandRequest.type, { command: SERVER_RELOAD_INDEXES, arguments: [] });
    log("the language server reloaded its indexes");
  } catch (error) {
    log(`reloading the indexes in the server failed (${error instanceof Error ? error.message : String(error)}); restarting it`);
    await restart();
  }
}

async function reportFailure(what: string, result: RunResult): Promise<void> {
  if (result.cancelled) {
    return;
  }
  const choice = await vscode.window.showErrorMessage(`medcode: ${what} failed: ${failureReason(result)}`, "Show output");
  if (choice === "Show output") {
    output.show();
  }
}

// -- commands ------------------------------------------------------------------------------------------

class LookupDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  put(code: string, markdown: string): vscode.Uri {
    const name = code.replace(/[^A-Za-z0-9.-]/g, "_") || "code";
    const uri = vscode.Uri.from({ scheme: LOOKUP_SCHEME, path: `/${name}.md` });
    this.contents.set(uri.toString(), markdown);
    this.changed.fire(uri);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? "";
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function codeUnderCursor(): string | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) {
    return undefined;
  }
  const selected = editor.document.getText(editor.selection).trim();
  if (selected && selected.length <= 20 && !/\s/.test(selected)) {
    return selected;
  }
  const position = editor.selection.active;
  return codeAt(editor.document.lineAt(position.line).text, position.character);
}

async function lookupCode(documents: LookupDocuments): Promise<void> {
  const code = await vscode.window.showInputBox({
    title: "medcode: Look up a code",
    prompt: "An ICD-10-CM, ICD-10-PCS, HCPCS, CPT or NDC code (with or without dots and hyphens)",
    placeHolder: "E11.9",
    value: codeUnderCursor(),
    validateInput: (text) => (text.trim() ? undefined : "Type a code"),
  });
  if (code === undefined || !code.trim()) {
    return;
  }
  const medcode = await medcodeForCommands();
  if (medcode === undefined) {
    return;
  }
  const result = await runWithProgress(`medcode: looking up ${code.trim()}`, medcode, cliInvocation(medcode.command, lookupArgs(code)), LOOKUP_TIMEOUT_MS);
  // Exit 1 means "not found": the JSON still says what was tried.
  const parsed = result.code === 0 || result.code === 1 ? parseLookup(result.stdout) : undefined;
  if (parsed === undefined) {
    await reportFailure(`looking up ${code.trim()}`, result);
    return;
  }
  const uri = documents.put(code.trim(), lookupMarkdown(parsed, result.stderr));
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

async function rebuildIndex(): Promise<void> {
  const medcode = await medcodeForCommands();
  if (medcode === undefined) {
    return;
  }
  const result = await runWithProgress("medcode: building the code indexes", medcode, cliInvocation(medcode.command, buildArgs()));
  if (result.code !== 0) {
    await reportFailure("building the code indexes", result);
    return;
  }
  await reloadServerIndexes();
  void vscode.window.showInformationMessage("medcode: code indexes rebuilt.");
}

/** `medcode index status` (installed, in force today, stale or missing, what to run), beside the editor. */
async function indexStatus(documents: LookupDocuments): Promise<void> {
  const medcode = await medcodeForCommands();
  if (medcode === undefined) {
    return;
  }
  const result = await runWithProgress("medcode: index status", medcode, cliInvocation(medcode.command, statusArgs()), LOOKUP_TIMEOUT_MS);
  if (result.code !== 0) {
    await reportFailure("reading the index status", result);
    return;
  }
  const uri = documents.put("index-status", statusMarkdown(result.stdout));
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

async function importIndex(): Promise<void> {
  const local = { id: "", label: "Local code list…", detail: "a two-column file (code, description) under a name you choose" };
  const picked = await vscode.window.showQuickPick([...IMPORT_SETS, local], {
    title: "medcode: Import official files — which code set?",
    matchOnDetail: true,
  });
  if (picked === undefined) {
    return;
  }
  let setId = picked.id;
  if (picked === local) {
    const name = await vscode.window.showInputBox({
      title: "medcode: name of the local code set",
      placeHolder: "payer-acme",
      validateInput: (text) => localSetNameProblem(text.trim()),
    });
    if (name === undefined) {
      return;
    }
    setId = name.trim();
  }
  const files = await vscode.window.showOpenDialog({
    title: `medcode: the ${picked === local ? setId : picked.label} file to import (zip or extracted file)`,
    openLabel: "Import",
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
  });
  const file = files?.[0];
  if (file === undefined) {
    return;
  }
  const medcode = await medcodeForCommands();
  if (medcode === undefined) {
    return;
  }
  const result = await runWithProgress(`medcode: importing ${setId}`, medcode, cliInvocation(medcode.command, importArgs(setId, file.fsPath)));
  if (result.code !== 0) {
    await reportFailure(`importing ${file.fsPath}`, result);
    return;
  }
  await reloadServerIndexes();
  const summary = result.stderr.trim().split(/\r?\n/).pop() ?? "";
  void vscode.window.showInformationMessage(`medcode: imported. ${summary}`);
}

// -- activation ------------------------------------------------------------------------------------------

export function activate(context: vscode.ExtensionContext): void {
  output = vscode.window.createOutputChannel("medcode", { log: true });
  extensionUri = context.extensionUri;
  const documents = new LookupDocuments();
  context.subscriptions.push(
    output,
    documents,
    vscode.workspace.registerTextDocumentContentProvider(LOOKUP_SCHEME, documents),
    vscode.commands.registerCommand(COMMANDS.lookupCode, () => lookupCode(documents)),
    vscode.commands.registerCommand(COMMANDS.rebuildIndex, rebuildIndex),
    vscode.commands.registerCommand(COMMANDS.indexStatus, () => indexStatus(documents)),
    vscode.commands.registerCommand(COMMANDS.importIndex, importIndex),
    vscode.commands.registerCommand(COMMANDS.restartServer, restart),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      // Other changes of the section reach the server, which re-reads and checks its settings.
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
        log("the server command or index folder changed: restarting the language server");
        void restart();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
  );
  void enqueue(start);
}

export function deactivate(): Promise<void> {
  return enqueue(stop);
}
