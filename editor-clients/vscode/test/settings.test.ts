import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_DEBOUNCE_MS, readClientSettings, readServerSettings, RULE_IDS, sectionForServer } from "../src/settings";

describe("readServerSettings mirrors server/lsp/settings.py", () => {
  test("defaults for anything that is not an object", () => {
    for (const section of [undefined, null, 3, "x", []]) {
      const { value, problems } = readServerSettings(section);
      assert.deepEqual(value, { inlayHintsEnabled: false, severity: {}, debounceMs: DEFAULT_DEBOUNCE_MS });
      assert.deepEqual(problems, []);
    }
  });

  test("the VS Code shape: nested inlayHints.enabled, severity map, debounceMs", () => {
    const { value, problems } = readServerSettings({
      inlayHints: { enabled: true },
      severity: { "not-billable": "error", "not-in-index": "off" },
      debounceMs: 350,
      server: { path: "/x/medcode" }, // client settings in the same section are not the server's business
    });
    assert.deepEqual(value, { inlayHintsEnabled: true, severity: { "not-billable": "error", "not-in-index": "off" }, debounceMs: 350 });
    assert.deepEqual(problems, []);
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

  test("debounceMs: whole numbers 0..5000 only", () => {
    assert.equal(readServerSettings({ debounceMs: 0 }).value.debounceMs, 0);
    assert.equal(readServerSettings({ debounceMs: 5000 }).value.debounceMs, 5000);
    for (const bad of [-1, 5001, 12.5, "300"]) {
      const { value, problems } = readServerSettings({ debounceMs: bad });
      assert.equal(value.debounceMs, DEFAULT_DEBOUNCE_MS, String(bad));
      assert.equal(problems.length, 1);
    }
  });

  test("a severity that is not an object is ignored", () => {
    const { value, problems } = readServerSettings({ severity: ["error"] });
    assert.deepEqual(value.severity, {});
    assert.equal(problems.length, 1);
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
});

describe("sectionForServer", () => {
  test("the server gets the index folder the extension resolved, nothing else changes", () => {
    const section = { indexDir: "${workspaceFolder}/idx", severity: { "not-billable": "error" }, debounceMs: 100 };
    assert.deepEqual(sectionForServer(section, "/work/project/idx"), { ...section, indexDir: "/work/project/idx" });
    assert.deepEqual(section.indexDir, "${workspaceFolder}/idx"); // not modified in place
    assert.deepEqual(sectionForServer({ indexDir: "/evil" }, ""), { indexDir: "" });
    assert.equal(sectionForServer(null, "/x"), null);
  });
});
