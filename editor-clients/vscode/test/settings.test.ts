import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readClientSettings, sectionForServer } from "../src/settings";

// The server's settings are not read here: the extension passes the section through and the
// server checks it against its schema (server/lsp/settings.py; tests/test_settings_schema.py).

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
