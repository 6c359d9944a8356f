/**
 * Smoke test against the real server, without VS Code: finds medcode the way the extension
 * does (serverCandidates + `--version` probe), starts the same `serve` command line, and plays
 * VS Code's side of the conversation over stdio — initialize with pull diagnostics, answer
 * workspace/configuration with the `medcode` section shaped as VS Code builds it from
 * package.json's defaults (plus overrides) and as the extension sends it (`indexDir` resolved,
 * `sectionForServer`), open a document, pull its diagnostics.
 *
 * Usage: node out/smoke/serverSmoke.js FILE [LANGUAGE_ID] [SETTINGS_JSON]
 * Prints one JSON object: the command line, the version, and the diagnostics.
 * Run by tests/test_vscode_extension.py; needs the medcode Python package installed.
 */

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runCommand } from "../../src/run";
import { cliInvocation, findOnPath, firstWorking, serveInvocation, serverCandidates, serverEnvironment } from "../../src/serverCommand";
import { readClientSettings, SECTION, sectionForServer } from "../../src/settings";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Message {
  id?: number | string;
  method?: string;
  params?: Json;
  result?: Json;
  error?: { code: number; message: string };
}

/** The `medcode` section as VS Code answers workspace/configuration: defaults, nested by dots. */
export function sectionFromManifest(manifestPath: string, overrides: Record<string, Json>): Record<string, Json> {
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    contributes: { configuration: { properties: Record<string, { default?: Json }> } };
  };
  const out: Record<string, Json> = {};
  const flat: Record<string, Json> = {};
  for (const [key, property] of Object.entries(manifest.contributes.configuration.properties)) {
    flat[key.slice(SECTION.length + 1)] = property.default ?? null;
  }
  for (const [key, value] of Object.entries(overrides)) {
    flat[key] = value;
  }
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        node[part] = {};
      }
      node = node[part] as Record<string, Json>;
    }
    node[parts[parts.length - 1] ?? key] = value;
  }
  return out;
}

class Connection {
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (message: Message) => void>();

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly onRequest: (method: string, params: Json | undefined) => Json,
  ) {
    child.stdout.on("data", (chunk: Buffer) => this.receive(chunk));
  }

  private send(message: Message): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...message }), "utf8");
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) {
        return;
      }
      const match = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString("ascii"));
      const length = Number(match?.[1] ?? 0);
      if (this.buffer.length < headerEnd + 4 + length) {
        return;
      }
      const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8")) as Message;
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(message);
    }
  }

  private dispatch(message: Message): void {
    if (message.method !== undefined && message.id !== undefined) {
      this.send({ id: message.id, result: this.onRequest(message.method, message.params) });
    } else if (message.method === undefined && typeof message.id === "number") {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    }
  }

  request(method: string, params: Json): Promise<Json> {
    const id = this.nextId++;
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in 60 s`)), 60_000);
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.error !== undefined) {
          reject(new Error(`${method}: ${message.error.message}`));
        } else {
          resolvePromise(message.result ?? null);
        }
      });
      this.send({ id, method, params });
    });
  }

  notify(method: string, params: Json): void {
    this.send({ method, params });
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) {
      return false;
    }
    if (process.platform !== "win32") {
      accessSync(path, constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const [file, languageId = "x12", overridesJson = "{}"] = process.argv.slice(2);
  if (file === undefined) {
    console.error("usage: node out/smoke/serverSmoke.js FILE [LANGUAGE_ID] [SETTINGS_JSON]");
    return 2;
  }
  const overrides = JSON.parse(overridesJson) as Record<string, Json>;
  const section = sectionFromManifest(join(__dirname, "..", "..", "package.json"), overrides);
  const settings = readClientSettings(section).value;
  const around = {
    findOnPath: (name: string) => findOnPath(name, process.env, process.platform, isExecutableFile),
    pythonExtensionInterpreter: () => Promise.resolve(undefined),
    pythonSettingInterpreter: () => undefined,
    homeDir: homedir(),
    workspaceFolder: process.cwd(),
  };
  const env = serverEnvironment(process.env, settings.indexDir, around.homeDir, around.workspaceFolder);
  const sent = sectionForServer(section, settings.indexDir ? (env["MEDCODE_INDEX_DIR"] ?? "") : "") as Json;
  let version = "";
  const chosen = await firstWorking(serverCandidates(settings, around), async (candidate) => {
    const result = await runCommand(cliInvocation(candidate, ["--version"]), { env, timeoutMs: 30_000 });
    version = result.code === 0 ? result.stdout.trim() : "";
    return version.startsWith("medcode");
  });
  if (chosen === undefined) {
    console.error("no working medcode found");
    return 3;
  }
  const serve = serveInvocation(chosen);
  const child = spawn(serve.command, serve.args, { env: env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const connection = new Connection(child, (method, params) => {
    if (method === "workspace/configuration") {
      const items = (params as { items?: Array<{ section?: string }> } | undefined)?.items ?? [];
      return items.map((item) => (item.section === SECTION ? sent : null));
    }
    return null; // progress tokens, capability registration, message requests
  });
  const uri = pathToFileURL(resolve(file)).href;
  try {
    await connection.request("initialize", {
      processId: process.pid,
      clientInfo: { name: "medcode-smoke", version: "1" },
      rootUri: null,
      capabilities: {
        general: { positionEncodings: ["utf-16"] },
        window: { workDoneProgress: true },
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
        textDocument: {
          synchronization: { didSave: true, dynamicRegistration: true },
          diagnostic: { dynamicRegistration: true, relatedDocumentSupport: false },
          publishDiagnostics: { relatedInformation: true },
        },
      },
    });
    connection.notify("initialized", {});
    connection.notify("textDocument/didOpen", {
      textDocument: { uri, languageId, version: 1, text: readFileSync(file, "utf8") },
    });
    const report = (await connection.request("textDocument/diagnostic", { textDocument: { uri } })) as {
      items?: Array<{ range: { start: { line: number; character: number } }; severity?: number; code?: string; message: string }>;
    };
    await connection.request("shutdown", null);
    connection.notify("exit", null);
    setTimeout(() => child.kill(), 5000).unref(); // in case the server does not leave by itself
    const diagnostics = (report.items ?? []).map((d) => ({
      line: d.range.start.line,
      character: d.range.start.character,
      severity: d.severity ?? null,
      rule: d.code ?? null,
      message: d.message,
    }));
    console.log(JSON.stringify({ command: [serve.command, ...serve.args], source: chosen.source, version, diagnostics }));
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(stderr);
    child.kill();
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
