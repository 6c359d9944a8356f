// package.json against the code: activation, languages, commands and settings agree.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { COMMANDS } from "../src/commands";
import { LANGUAGES } from "../src/selector";
import { DEFAULT_DEBOUNCE_MS, DEFAULT_SERVER_ARGS, MAX_DEBOUNCE_MS, RESTART_SETTINGS, RULE_IDS, SEVERITY_NAMES } from "../src/settings";

const root = join(__dirname, "..", "..");

interface Property {
  type?: string | string[];
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, unknown>;
  definitions?: Record<string, { enum?: string[] }>;
  additionalProperties?: boolean;
}

interface Manifest {
  name: string;
  publisher: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  devDependencies: Record<string, string>;
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
  contributes: {
    languages: Array<{ id: string; extensions?: string[]; firstLine?: string }>;
    grammars: Array<{ language: string; scopeName: string; path: string }>;
    commands: Array<{ command: string; title: string; category: string }>;
    configuration: { properties: Record<string, Property> };
  };
}

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
const properties = manifest.contributes.configuration.properties;

describe("package.json", () => {
  test("identity, entry point and the VS Code version the types are for", () => {
    assert.equal(manifest.name, "medcode");
    assert.equal(manifest.main, "./dist/extension.js");
    assert.equal(manifest.engines.vscode, `^${manifest.devDependencies["@types/vscode"]}`);
  });

  test("activates on exactly the languages the client selects", () => {
    assert.deepEqual(manifest.activationEvents, LANGUAGES.map((l) => `onLanguage:${l}`));
  });

  test("x12 language: extensions and first-line detection", () => {
    const x12 = manifest.contributes.languages.find((l) => l.id === "x12");
    assert.ok(x12);
    assert.deepEqual(x12.extensions, [".837", ".837p", ".837i", ".837d", ".x12", ".edi"]);
    const firstLine = new RegExp(x12.firstLine ?? "");
    for (const line of ["ISA*00*          *00*", "\uFEFFISA*00*", "  ISA|00|", "ISA^00"]) {
      assert.ok(firstLine.test(line), line);
    }
    for (const line of ["ISAAC*1", "# ISA*00", "ISA 00", "isa*00"]) {
      assert.ok(!firstLine.test(line), line);
    }
  });

  test("the grammar file exists and is for x12", () => {
    const [grammar] = manifest.contributes.grammars;
    assert.ok(grammar);
    assert.equal(grammar.language, "x12");
    assert.ok(existsSync(join(root, grammar.path)));
    const raw = JSON.parse(readFileSync(join(root, grammar.path), "utf8")) as { scopeName: string };
    assert.equal(raw.scopeName, grammar.scopeName);
  });

  test("contributes exactly the commands the extension registers", () => {
    assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
    for (const c of manifest.contributes.commands) {
      assert.equal(c.category, "medcode");
    }
  });

  test("settings: the server's three, with the server's defaults and rule ids", () => {
    assert.equal(properties["medcode.inlayHints.enabled"]?.default, false);
    const debounce = properties["medcode.debounceMs"];
    assert.deepEqual([debounce?.default, debounce?.minimum, debounce?.maximum], [DEFAULT_DEBOUNCE_MS, 0, MAX_DEBOUNCE_MS]);
    const severity = properties["medcode.severity"];
    assert.ok(severity);
    assert.deepEqual(severity.default, {});
    assert.deepEqual(Object.keys(severity.properties ?? {}).sort(), [...RULE_IDS].sort());
    assert.equal(severity.additionalProperties, false);
    assert.deepEqual(severity.definitions?.["severity"]?.enum, [...SEVERITY_NAMES]);
  });

  test("settings: the client's own, and nothing else", () => {
    assert.deepEqual(Object.keys(properties).sort(), [
      "medcode.debounceMs",
      "medcode.indexDir",
      "medcode.inlayHints.enabled",
      "medcode.server.args",
      "medcode.server.path",
      "medcode.severity",
      "medcode.trace.server",
    ]);
    assert.deepEqual(properties["medcode.server.args"]?.default, [...DEFAULT_SERVER_ARGS]);
    assert.deepEqual(properties["medcode.trace.server"]?.enum, ["off", "messages", "verbose"]);
    assert.equal(properties["medcode.trace.server"]?.default, "off");
  });

  test("settings that name programs or folders are restricted in untrusted workspaces", () => {
    assert.deepEqual([...manifest.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), [...RESTART_SETTINGS].sort());
  });
});
