// package.json against the code: activation, languages, commands and the extension's own settings
// agree. The server's settings in package.json are written from the server's schema and checked
// against it by the Python suite (tests/test_settings_schema.py).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { COMMANDS } from "../src/commands";
import { CONTRIBUTED_LANGUAGES, DOCUMENT_SELECTOR, LANGUAGES } from "../src/selector";
import { DEFAULT_SERVER_ARGS, RESTART_SETTINGS } from "../src/settings";

const root = join(__dirname, "..", "..");

interface Property {
  type?: string | string[];
  description?: string;
  markdownDescription?: string;
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Property>;
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

  test("activates on the languages the client selects that VS Code does not activate on by itself", () => {
    assert.deepEqual(manifest.contributes.languages.map((l) => l.id), [...CONTRIBUTED_LANGUAGES]);
    const generated = new Set<string>(CONTRIBUTED_LANGUAGES);
    assert.deepEqual(
      manifest.activationEvents,
      LANGUAGES.filter((l) => !generated.has(l)).map((l) => `onLanguage:${l}`),
    );
    assert.ok(CONTRIBUTED_LANGUAGES.every((l) => (LANGUAGES as readonly string[]).includes(l)));
  });

  test("the client selects X12, CSV, JSON, Markdown and plain text, in local files and unsaved editors only", () => {
    assert.deepEqual([...LANGUAGES], ["x12", "csv", "json", "markdown", "plaintext"]);
    assert.equal(DOCUMENT_SELECTOR.length, LANGUAGES.length * 2);
    for (const language of LANGUAGES) {
      const schemes = DOCUMENT_SELECTOR.filter((f) => f.language === language).map((f) => f.scheme);
      assert.deepEqual(schemes, ["file", "untitled"], language);
    }
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

  test("settings: the client's own", () => {
    for (const key of ["medcode.server.path", "medcode.server.args", "medcode.trace.server", "medcode.indexDir"]) {
      assert.ok(properties[key], key);
    }
    assert.deepEqual(properties["medcode.server.args"]?.default, [...DEFAULT_SERVER_ARGS]);
    assert.deepEqual(properties["medcode.trace.server"]?.enum, ["off", "messages", "verbose"]);
    assert.equal(properties["medcode.trace.server"]?.default, "off");
  });

  test("settings that name programs or folders are restricted in untrusted workspaces", () => {
    assert.deepEqual([...manifest.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), [...RESTART_SETTINGS].sort());
  });
});
