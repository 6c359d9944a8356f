// package.json against the code: activation, languages, commands and settings agree.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { COMMANDS } from "../src/commands";
import { DOCUMENT_SELECTOR, LANGUAGES } from "../src/selector";
import {
  CODE_SETS,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_SERVER_ARGS,
  defaultServerSettings,
  FILE_KINDS,
  MAX_DEBOUNCE_MS,
  readServerSettings,
  RESTART_SETTINGS,
  RULE_IDS,
  SEVERITY_NAMES,
} from "../src/settings";

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

  test("activates on exactly the languages the client selects", () => {
    assert.deepEqual(manifest.activationEvents, LANGUAGES.map((l) => `onLanguage:${l}`));
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

  test("settings: the server's, with the server's defaults and rule ids", () => {
    assert.equal(properties["medcode.inlayHints.enabled"]?.default, false);
    const debounce = properties["medcode.debounceMs"];
    assert.deepEqual([debounce?.default, debounce?.minimum, debounce?.maximum], [DEFAULT_DEBOUNCE_MS, 0, MAX_DEBOUNCE_MS]);
    const severity = properties["medcode.severity"];
    assert.ok(severity);
    assert.deepEqual(severity.default, {});
    assert.deepEqual(Object.keys(severity.properties ?? {}).sort(), [...RULE_IDS].sort());
    assert.equal(severity.additionalProperties, false);
    assert.deepEqual(severity.definitions?.["severity"]?.enum, [...SEVERITY_NAMES]);
    for (const rule of RULE_IDS) {
      assert.match(severity.properties?.[rule]?.description ?? "", /\(default: (error|warning|information|hint)\)\.$/, rule);
    }
  });

  test("settings: fileKinds and codeSets are objects of booleans, all on by default", () => {
    for (const [key, names] of [
      ["medcode.fileKinds", FILE_KINDS],
      ["medcode.codeSets", CODE_SETS],
    ] as const) {
      const switches = properties[key];
      assert.ok(switches, key);
      assert.equal(switches.type, "object", key);
      assert.equal(switches.additionalProperties, false, key);
      assert.deepEqual(Object.keys(switches.properties ?? {}), [...names], key);
      for (const name of names) {
        assert.equal(switches.properties?.[name]?.type, "boolean", `${key}.${name}`);
        assert.ok(switches.properties?.[name]?.description, `${key}.${name}`);
      }
      assert.deepEqual(switches.default, Object.fromEntries(names.map((n) => [n, true])), key);
    }
    assert.deepEqual(properties["medcode.fileKinds"]?.default, defaultServerSettings().fileKinds);
    assert.deepEqual(properties["medcode.codeSets"]?.default, defaultServerSettings().codeSets);
  });

  test("settings: templates.bareCodeHints and indexDir", () => {
    assert.equal(properties["medcode.templates.bareCodeHints"]?.type, "boolean");
    assert.equal(properties["medcode.templates.bareCodeHints"]?.default, defaultServerSettings().bareCodeHints);
    assert.equal(properties["medcode.indexDir"]?.type, "string");
    assert.equal(properties["medcode.indexDir"]?.default, "");
  });

  test("settings: every default, nested as VS Code sends the section, is what the server reads as its defaults", () => {
    const section: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(properties)) {
      const parts = key.split(".").slice(1);
      let node = section;
      for (const part of parts.slice(0, -1)) {
        node = (node[part] ??= {}) as Record<string, unknown>;
      }
      node[parts[parts.length - 1] ?? key] = property.default;
    }
    assert.deepEqual(readServerSettings(section), { value: defaultServerSettings(), problems: [] });
  });

  test("settings: the client's own, and nothing else", () => {
    assert.deepEqual(Object.keys(properties).sort(), [
      "medcode.codeSets",
      "medcode.date",
      "medcode.debounceMs",
      "medcode.fileKinds",
      "medcode.indexDir",
      "medcode.inlayHints.enabled",
      "medcode.server.args",
      "medcode.server.path",
      "medcode.severity",
      "medcode.templates.bareCodeHints",
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
