import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CODE_SETS,
  DEFAULT_DEBOUNCE_MS,
  defaultServerSettings,
  FILE_KINDS,
  pythonStrip,
  readClientSettings,
  readServerSettings,
  RULE_IDS,
  sectionForServer,
} from "../src/settings";

const DEFAULTS = {
  inlayHintsEnabled: false,
  severity: {},
  debounceMs: 200,
  fileKinds: { x12: true, csv: true, json: true, fhir: true, templates: true },
  codeSets: { icd10cm: true, icd10pcs: true, hcpcs: true, cpt: true, ndc: true },
  bareCodeHints: false,
  indexDir: null,
  date: null,
};

describe("readServerSettings mirrors server/lsp/settings.py", () => {
  test("defaults for anything that is not an object", () => {
    for (const section of [undefined, null, 3, "x", []]) {
      const { value, problems } = readServerSettings(section);
      assert.deepEqual(value, DEFAULTS);
      assert.deepEqual(problems, []);
    }
    assert.deepEqual(readServerSettings({}), { value: DEFAULTS, problems: [] });
    assert.deepEqual(defaultServerSettings(), DEFAULTS);
  });

  test("the defaults are fresh objects each time", () => {
    const a = defaultServerSettings();
    a.fileKinds.json = false;
    a.severity["not-billable"] = "off";
    assert.deepEqual(defaultServerSettings(), DEFAULTS);
  });

  test("the VS Code shape: nested inlayHints.enabled, severity map, debounceMs", () => {
    const { value, problems } = readServerSettings({
      inlayHints: { enabled: true },
      severity: { "not-billable": "error", "not-in-index": "off" },
      debounceMs: 350,
      server: { path: "/x/medcode" }, // client settings in the same section are not the server's business
    });
    assert.deepEqual(value, { ...DEFAULTS, inlayHintsEnabled: true, severity: { "not-billable": "error", "not-in-index": "off" }, debounceMs: 350 });
    assert.deepEqual(problems, []);
  });

  test("the whole section as package.json's defaults build it gives the server's defaults, silently", () => {
    const section = {
      server: { path: "", args: ["serve"] },
      indexDir: "",
      trace: { server: "off" },
      inlayHints: { enabled: false },
      severity: {},
      debounceMs: 200,
      fileKinds: { x12: true, csv: true, json: true, fhir: true, templates: true },
      codeSets: { icd10cm: true, icd10pcs: true, hcpcs: true, cpt: true, ndc: true },
      templates: { bareCodeHints: false },
    };
    assert.deepEqual(readServerSettings(section), { value: DEFAULTS, problems: [] });
  });

  test("inlayHints as a plain boolean is accepted, like the server", () => {
    assert.equal(readServerSettings({ inlayHints: true }).value.inlayHintsEnabled, true);
  });

  test("a non-boolean inlayHints.enabled is read with Python's truth rules, and reported", () => {
    const yes = readServerSettings({ inlayHints: { enabled: "false" } });
    assert.equal(yes.value.inlayHintsEnabled, true); // bool("false") is True on the server
    assert.equal(yes.problems.length, 1);
    assert.equal(readServerSettings({ inlayHints: { enabled: 0 } }).value.inlayHintsEnabled, false);
    assert.equal(readServerSettings({ inlayHints: {} }).value.inlayHintsEnabled, false);
  });

  test("severity names are case-insensitive; unknown rules and names are ignored with a reason", () => {
    const { value, problems } = readServerSettings({
      severity: { "invalid-code": "Warning", "bad-format": "fatal", "no-such-rule": "error", "x12-structure": 2 },
    });
    assert.deepEqual(value.severity, { "invalid-code": "warning" });
    assert.equal(problems.length, 3);
    assert.ok(problems.some((p) => p.includes("no-such-rule")));
    assert.ok(problems.some((p) => p.includes("fatal")));
  });

  test("every rule id accepts every severity name", () => {
    for (const rule of RULE_IDS) {
      for (const level of ["error", "warning", "information", "hint", "off"]) {
        assert.deepEqual(readServerSettings({ severity: { [rule]: level } }).value.severity, { [rule]: level });
      }
    }
  });

  test("debounceMs: whole numbers 0..5000 only, never booleans", () => {
    assert.equal(readServerSettings({ debounceMs: 0 }).value.debounceMs, 0);
    assert.equal(readServerSettings({ debounceMs: 5000 }).value.debounceMs, 5000);
    for (const bad of [-1, 5001, 12.5, "300", true, false, [300], { ms: 300 }]) {
      const { value, problems } = readServerSettings({ debounceMs: bad });
      assert.equal(value.debounceMs, DEFAULT_DEBOUNCE_MS, JSON.stringify(bad));
      assert.equal(problems.length, 1, JSON.stringify(bad));
    }
  });

  test("the price file rules have severities too", () => {
    for (const rule of ["missing-code-type", "unknown-code-type", "hpt-structure"]) {
      assert.ok((RULE_IDS as readonly string[]).includes(rule), rule);
    }
    const { value, problems } = readServerSettings({ severity: { "missing-code-type": "warning", "unknown-code-type": "OFF", "hpt-structure": "hint" } });
    assert.deepEqual(value.severity, { "missing-code-type": "warning", "unknown-code-type": "off", "hpt-structure": "hint" });
    assert.deepEqual(problems, []);
  });

  test("a severity that is not an object is ignored", () => {
    const { value, problems } = readServerSettings({ severity: ["error"] });
    assert.deepEqual(value.severity, {});
    assert.equal(problems.length, 1);
  });
});

describe("readServerSettings: fileKinds and codeSets", () => {
  test("false switches a kind or a set off; the others stay on", () => {
    const { value, problems } = readServerSettings({ fileKinds: { csv: false, json: false }, codeSets: { cpt: false } });
    assert.deepEqual(value.fileKinds, { x12: true, csv: false, json: false, fhir: true, templates: true });
    assert.deepEqual(value.codeSets, { icd10cm: true, icd10pcs: true, hcpcs: true, cpt: false, ndc: true });
    assert.deepEqual(problems, []);
  });

  test("everything off is allowed", () => {
    const kinds = Object.fromEntries(FILE_KINDS.map((k) => [k, false]));
    const sets = Object.fromEntries(CODE_SETS.map((s) => [s, false]));
    const { value, problems } = readServerSettings({ fileKinds: kinds, codeSets: sets });
    assert.deepEqual(value.fileKinds, kinds);
    assert.deepEqual(value.codeSets, sets);
    assert.deepEqual(problems, []);
  });

  test("only false itself switches off, as `is not False` on the server; other values are reported", () => {
    const { value, problems } = readServerSettings({ fileKinds: { json: 0, csv: "false", templates: null, x12: [] } });
    assert.deepEqual(value.fileKinds, DEFAULTS.fileKinds);
    assert.equal(problems.length, 4);
    assert.ok(problems.some((p) => p.includes("medcode.fileKinds.csv") && p.includes('"false"')));
    const sets = readServerSettings({ codeSets: { hcpcs: 0 } });
    assert.deepEqual(sets.value.codeSets, DEFAULTS.codeSets);
    assert.equal(sets.problems.length, 1);
  });

  test("unknown keys are ignored with a reason; keys are case-sensitive", () => {
    const { value, problems } = readServerSettings({ fileKinds: { xml: false, JSON: false }, codeSets: { "payer-acme": false, ICD10CM: false } });
    assert.deepEqual(value.fileKinds, DEFAULTS.fileKinds);
    assert.deepEqual(value.codeSets, DEFAULTS.codeSets);
    assert.equal(problems.length, 4);
    assert.ok(problems.some((p) => p.includes('"payer-acme" is not a code set')));
    assert.ok(problems.some((p) => p.includes('"xml" is not a file kind')));
  });

  test("anything but an object leaves every switch on, and is reported", () => {
    for (const bad of [false, true, ["json"], "csv", 0]) {
      const { value, problems } = readServerSettings({ fileKinds: bad, codeSets: bad });
      assert.deepEqual(value.fileKinds, DEFAULTS.fileKinds, JSON.stringify(bad));
      assert.deepEqual(value.codeSets, DEFAULTS.codeSets, JSON.stringify(bad));
      assert.equal(problems.length, 2, JSON.stringify(bad));
    }
    assert.deepEqual(readServerSettings({ fileKinds: null, codeSets: {} }), { value: DEFAULTS, problems: [] });
  });
});

describe("readServerSettings: templates.bareCodeHints and indexDir", () => {
  test("bareCodeHints: nested under templates, read with Python's truth rules", () => {
    assert.equal(readServerSettings({ templates: { bareCodeHints: true } }).value.bareCodeHints, true);
    assert.equal(readServerSettings({ templates: { bareCodeHints: false } }).value.bareCodeHints, false);
    assert.equal(readServerSettings({ templates: {} }).value.bareCodeHints, false);
    const odd = readServerSettings({ templates: { bareCodeHints: "false" } });
    assert.equal(odd.value.bareCodeHints, true); // bool("false") is True on the server
    assert.equal(odd.problems.length, 1);
    assert.equal(readServerSettings({ templates: { bareCodeHints: 0 } }).value.bareCodeHints, false);
  });

  test("bareCodeHints: a templates value that is not an object is ignored", () => {
    const { value, problems } = readServerSettings({ templates: true });
    assert.equal(value.bareCodeHints, false);
    assert.equal(problems.length, 1);
    // The flat key is not VS Code's shape (it nests by dots); the server ignores it.
    assert.equal(readServerSettings({ "templates.bareCodeHints": true }).value.bareCodeHints, false);
  });

  test("indexDir: stripped as Python strips; blank or not a string is the server's default", () => {
    assert.equal(readServerSettings({ indexDir: "  /data/idx \n" }).value.indexDir, "/data/idx");
    for (const unset of ["", "   ", 42, ["/idx"], null]) {
      const { value, problems } = readServerSettings({ indexDir: unset });
      assert.equal(value.indexDir, null, JSON.stringify(unset));
      assert.deepEqual(problems, []); // readClientSettings reports a bad indexDir
    }
  });

  test("date: a YYYY-MM-DD day as the server's date.fromisoformat reads it; anything else is today, with a note", () => {
    assert.deepEqual(readServerSettings({ date: " 2026-01-15 " }), { value: { ...DEFAULTS, date: "2026-01-15" }, problems: [] });
    for (const bad of ["2026-02-30", "15/01/2026", "2026-1-5", 20260115]) {
      const { value, problems } = readServerSettings({ date: bad });
      assert.equal(value.date, null, JSON.stringify(bad));
      assert.equal(problems.length, 1, JSON.stringify(bad));
    }
    assert.deepEqual(readServerSettings({ date: "" }), { value: DEFAULTS, problems: [] });
  });

  test("pythonStrip: Python's whitespace, not JavaScript's", () => {
    assert.equal(pythonStrip("\t\n\v\f\r \u00a0\u2003x y\u3000\u2028"), "x y");
    assert.equal(pythonStrip("\u001c\u001f\u0085/idx\u0085\u001e"), "/idx"); // trim() keeps these
    assert.equal(pythonStrip("\ufeff/idx\u200b"), "\ufeff/idx\u200b"); // trim() removes U+FEFF; Python keeps it
    assert.equal(pythonStrip("   "), "");
    assert.equal(pythonStrip("a  b"), "a  b");
  });
});

describe("readClientSettings", () => {
  test("defaults: no path, args [serve], no index folder", () => {
    assert.deepEqual(readClientSettings({}).value, { serverPath: [], serverArgs: ["serve"], indexDir: "" });
    assert.deepEqual(readClientSettings({ server: { path: "", args: ["serve"] }, indexDir: "" }).value, {
      serverPath: [],
      serverArgs: ["serve"],
      indexDir: "",
    });
  });

  test("a path string becomes a one-element command; a list is kept as it is", () => {
    assert.deepEqual(readClientSettings({ server: { path: "  /opt/medcode/bin/medcode " } }).value.serverPath, ["/opt/medcode/bin/medcode"]);
    assert.deepEqual(readClientSettings({ server: { path: ["/usr/bin/python3", "-m", "medcode.server"] } }).value.serverPath, [
      "/usr/bin/python3",
      "-m",
      "medcode.server",
    ]);
  });

  test("bad values are reported and ignored", () => {
    for (const path of [42, ["", "-m"], ["/py", 3]]) {
      const { value, problems } = readClientSettings({ server: { path } });
      assert.deepEqual(value.serverPath, [], JSON.stringify(path));
      assert.equal(problems.length, 1, JSON.stringify(path));
    }
    const args = readClientSettings({ server: { args: "serve" } });
    assert.deepEqual(args.value.serverArgs, ["serve"]);
    assert.equal(args.problems.length, 1);
  });

  test("custom args and index folder", () => {
    const { value } = readClientSettings({ server: { args: ["--index-dir", "/data", "serve"] }, indexDir: " ~/idx " });
    assert.deepEqual(value.serverArgs, ["--index-dir", "/data", "serve"]);
    assert.equal(value.indexDir, "~/idx");
  });

  test("an index folder that is not a string is reported once, by the client reading", () => {
    const client = readClientSettings({ indexDir: 42 });
    assert.equal(client.value.indexDir, "");
    assert.equal(client.problems.length, 1);
    assert.deepEqual(readServerSettings({ indexDir: 42 }).problems, []);
  });
});

describe("sectionForServer", () => {
  test("the server gets the index folder the extension resolved, nothing else changes", () => {
    const section = { indexDir: "${workspaceFolder}/idx", severity: { "not-billable": "error" }, debounceMs: 100 };
    assert.deepEqual(sectionForServer(section, "/work/project/idx"), { ...section, indexDir: "/work/project/idx" });
    assert.deepEqual(section.indexDir, "${workspaceFolder}/idx"); // not modified in place
    assert.deepEqual(sectionForServer({ indexDir: "/evil" }, ""), { indexDir: "" });
    assert.equal(sectionForServer(null, "/x"), null);
  });

  test("what the server reads from the section sent: the resolved folder, or its default when unset", () => {
    const section = { indexDir: "~/idx", fileKinds: { json: false }, templates: { bareCodeHints: true } };
    const sent = readServerSettings(sectionForServer(section, "/home/me/idx")).value;
    assert.equal(sent.indexDir, "/home/me/idx");
    assert.equal(sent.fileKinds.json, false);
    assert.equal(sent.bareCodeHints, true);
    assert.equal(readServerSettings(sectionForServer(section, "")).value.indexDir, null);
  });
});
