import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  cliInvocation,
  expandPath,
  findOnPath,
  firstWorking,
  installPlaces,
  interpreterFromPythonApi,
  type MedcodeCommand,
  serveInvocation,
  serverCandidates,
  serverEnvironment,
  showCommandLine,
  type Surroundings,
} from "../src/serverCommand";
import { readClientSettings } from "../src/settings";

function around(overrides: Partial<Surroundings> & { onPath?: Record<string, string> } = {}): Surroundings {
  const onPath = overrides.onPath ?? {};
  return {
    findOnPath: (name) => onPath[name],
    pythonExtensionInterpreter: () => Promise.resolve(undefined),
    pythonSettingInterpreter: () => undefined,
    homeDir: "/home/me",
    workspaceFolder: "/work/project",
    ...overrides,
  };
}

const defaults = readClientSettings({}).value;

async function all(candidates: AsyncIterable<MedcodeCommand>): Promise<MedcodeCommand[]> {
  const out: MedcodeCommand[] = [];
  for await (const c of candidates) {
    out.push(c);
  }
  return out;
}

describe("serverCandidates", () => {
  test("an explicit string path wins and is the only candidate", async () => {
    const settings = readClientSettings({ server: { path: "~/venv/bin/medcode" } }).value;
    let askedPython = false;
    const surroundings = around({
      onPath: { medcode: "/usr/bin/medcode" },
      pythonExtensionInterpreter: () => {
        askedPython = true;
        return Promise.resolve(["/py"]);
      },
    });
    const candidates = await all(serverCandidates(settings, surroundings));
    assert.deepEqual(candidates, [{ base: ["/home/me/venv/bin/medcode"], serveArgs: ["serve"], source: "setting" }]);
    assert.equal(askedPython, false);
  });

  test("an explicit list is used as it is, with the args appended to serve", async () => {
    const settings = readClientSettings({
      server: { path: ["${workspaceFolder}/.venv/bin/python", "-m", "medcode.server"], args: ["serve", "--stdio"] },
    }).value;
    const [only, ...rest] = await all(serverCandidates(settings, around()));
    assert.deepEqual(rest, []);
    assert.ok(only);
    assert.deepEqual(serveInvocation(only), { command: "/work/project/.venv/bin/python", args: ["-m", "medcode.server", "serve", "--stdio"] });
    assert.deepEqual(cliInvocation(only, ["index", "build"]), {
      command: "/work/project/.venv/bin/python",
      args: ["-m", "medcode.server", "index", "build"],
    });
  });

  test("unset: medcode on PATH, then the Python extension, the python setting, python3 and python on PATH", async () => {
    const candidates = await all(
      serverCandidates(
        defaults,
        around({
          onPath: { medcode: "/usr/local/bin/medcode", python3: "/usr/bin/python3", python: "/usr/bin/python" },
          pythonExtensionInterpreter: () => Promise.resolve(["/work/project/.venv/bin/python"]),
          pythonSettingInterpreter: () => "~/py/bin/python",
        }),
      ),
    );
    assert.deepEqual(
      candidates.map((c) => [c.source, ...c.base]),
      [
        ["path", "/usr/local/bin/medcode"],
        ["python-extension", "/work/project/.venv/bin/python", "-m", "medcode.server"],
        ["python-setting", "/home/me/py/bin/python", "-m", "medcode.server"],
        ["python-path", "/usr/bin/python3", "-m", "medcode.server"],
        ["python-path", "/usr/bin/python", "-m", "medcode.server"],
      ],
    );
    for (const c of candidates) {
      assert.deepEqual(c.serveArgs, ["serve"]);
    }
  });

  test("medcode in an install place comes after PATH and before any Python", async () => {
    const candidates = await all(
      serverCandidates(
        defaults,
        around({
          onPath: { medcode: "/usr/local/bin/medcode", python3: "/usr/bin/python3" },
          findInstalled: () => ["/usr/local/bin/medcode", "/home/me/.venvs/app/bin/medcode", "/home/me/.local/bin/medcode"],
        }),
      ),
    );
    assert.deepEqual(
      candidates.map((c) => [c.source, ...c.base]),
      [
        ["path", "/usr/local/bin/medcode"],
        ["install-place", "/home/me/.venvs/app/bin/medcode"],
        ["install-place", "/home/me/.local/bin/medcode"],
        ["python-path", "/usr/bin/python3", "-m", "medcode.server"],
      ],
    );
  });

  test("the same interpreter is listed once", async () => {
    const candidates = await all(
      serverCandidates(
        defaults,
        around({ onPath: { python3: "/usr/bin/python3" }, pythonExtensionInterpreter: () => Promise.resolve(["/usr/bin/python3"]) }),
      ),
    );
    assert.deepEqual(
      candidates.map((c) => c.source),
      ["python-extension"],
    );
  });

  test("a failing Python extension is skipped, not fatal", async () => {
    const candidates = await all(
      serverCandidates(
        defaults,
        around({ onPath: { python3: "/usr/bin/python3" }, pythonExtensionInterpreter: () => Promise.reject(new Error("boom")) }),
      ),
    );
    assert.deepEqual(
      candidates.map((c) => c.source),
      ["python-path"],
    );
  });

  test("nothing anywhere: no candidate (the extension then shows the install message)", async () => {
    assert.deepEqual(await all(serverCandidates(defaults, around())), []);
  });

  test("the Python extension is asked only when medcode on PATH does not work", async () => {
    let asked = 0;
    const surroundings = around({
      onPath: { medcode: "/usr/bin/medcode" },
      pythonExtensionInterpreter: () => {
        asked += 1;
        return Promise.resolve(["/venv/bin/python"]);
      },
    });
    const first = await firstWorking(serverCandidates(defaults, surroundings), () => Promise.resolve(true));
    assert.equal(first?.source, "path");
    assert.equal(asked, 0);
    const second = await firstWorking(serverCandidates(defaults, surroundings), (c) => Promise.resolve(c.source !== "path"));
    assert.equal(second?.source, "python-extension");
    assert.equal(asked, 1);
  });
});

describe("firstWorking", () => {
  const a: MedcodeCommand = { base: ["a"], serveArgs: ["serve"], source: "path" };
  const b: MedcodeCommand = { base: ["b"], serveArgs: ["serve"], source: "python-path" };

  test("probes in order and stops at the first that works", async () => {
    const probed: string[] = [];
    const chosen = await firstWorking([a, b], (c) => {
      probed.push(c.base[0] ?? "");
      return Promise.resolve(c === b);
    });
    assert.equal(chosen, b);
    assert.deepEqual(probed, ["a", "b"]);
  });

  test("undefined when none works", async () => {
    assert.equal(await firstWorking([a, b], () => Promise.resolve(false)), undefined);
  });
});

describe("findOnPath", () => {
  test("POSIX: first executable in PATH order", () => {
    const files = new Set(["/opt/bin/medcode", "/usr/bin/medcode"]);
    assert.equal(
      findOnPath("medcode", { PATH: "/nope:/opt/bin:/usr/bin" }, "linux", (p) => files.has(p)),
      "/opt/bin/medcode",
    );
    assert.equal(
      findOnPath("medcode", { PATH: "" }, "linux", () => true),
      undefined,
    );
  });

  test("Windows: .exe (not .cmd / .bat), Path spelled either way, quoted folders", () => {
    const files = new Set(["C:\\Py\\Scripts\\medcode.exe", "C:\\Tools\\medcode.cmd"]);
    assert.equal(
      findOnPath("medcode", { Path: 'C:\\Tools;"C:\\Py\\Scripts"' }, "win32", (p) => files.has(p)),
      "C:\\Py\\Scripts\\medcode.exe",
    );
  });
});

describe("helpers", () => {
  test("expandPath", () => {
    assert.equal(expandPath("~", "/h"), "/h");
    assert.equal(expandPath("~/x/y", "/h"), "/h/x/y");
    assert.equal(expandPath("${userHome}/a", "/h"), "/h/a");
    assert.equal(expandPath("${workspaceFolder}/a", "/h", "/w"), "/w/a");
    assert.equal(expandPath("${workspaceFolder}/a", "/h"), "${workspaceFolder}/a");
    assert.equal(expandPath("/abs/~x", "/h"), "/abs/~x");
  });

  test("serverEnvironment sets MEDCODE_INDEX_DIR only when asked", () => {
    assert.deepEqual(serverEnvironment({ PATH: "/bin" }, "", "/h"), { PATH: "/bin" });
    assert.deepEqual(serverEnvironment({ PATH: "/bin" }, "~/idx", "/h"), { PATH: "/bin", MEDCODE_INDEX_DIR: "/h/idx" });
  });

  test("showCommandLine quotes what needs quoting", () => {
    assert.equal(showCommandLine({ command: "/usr/bin/medcode", args: ["lookup", "--json", "--", "E11.9"] }), "/usr/bin/medcode lookup --json -- E11.9");
    assert.equal(showCommandLine({ command: "C:\\Program Files\\py.exe", args: ["-m", "medcode.server"] }), '"C:\\\\Program Files\\\\py.exe" -m medcode.server');
  });

  test("interpreterFromPythonApi: current API, older API, junk", () => {
    const current = { environments: { getActiveEnvironmentPath: () => ({ id: "x", path: "/venv/bin/python" }) } };
    assert.deepEqual(interpreterFromPythonApi(current), ["/venv/bin/python"]);
    const older = { settings: { getExecutionDetails: () => ({ execCommand: ["conda", "run", "-n", "x", "python"] }) } };
    assert.deepEqual(interpreterFromPythonApi(older), ["conda", "run", "-n", "x", "python"]);
    for (const junk of [undefined, null, 3, {}, { environments: { getActiveEnvironmentPath: () => ({ path: "" }) } }, { settings: { getExecutionDetails: () => ({ execCommand: [1] }) } }]) {
      assert.equal(interpreterFromPythonApi(junk), undefined);
    }
  });

  test("interpreterFromPythonApi passes the resource and keeps `this`", () => {
    const api = {
      environments: {
        prefix: "/envs/",
        getActiveEnvironmentPath(this: { prefix: string }, resource?: unknown) {
          return { path: `${this.prefix}${String(resource)}` };
        },
      },
    };
    assert.deepEqual(interpreterFromPythonApi(api, "ws"), ["/envs/ws"]);
  });
});

describe("installPlaces", () => {
  test("POSIX: VIRTUAL_ENV, CONDA_PREFIX, ~/.local/bin, then the README's ~/.venvs/medcode", () => {
    assert.deepEqual(installPlaces({ VIRTUAL_ENV: "/srv/venv", CONDA_PREFIX: "/opt/conda/envs/x" }, "/home/me", "linux"), [
      "/srv/venv/bin/medcode",
      "/opt/conda/envs/x/bin/medcode",
      "/home/me/.local/bin/medcode",
      "/home/me/.venvs/medcode/bin/medcode",
    ]);
  });

  test("relative, blank or missing prefixes are ignored; duplicates listed once", () => {
    assert.deepEqual(installPlaces({ VIRTUAL_ENV: "venv", CONDA_PREFIX: "  " }, "/home/me", "darwin"), [
      "/home/me/.local/bin/medcode",
      "/home/me/.venvs/medcode/bin/medcode",
    ]);
    assert.deepEqual(installPlaces({ VIRTUAL_ENV: "/home/me/.venvs/medcode" }, "/home/me", "linux"), [
      "/home/me/.venvs/medcode/bin/medcode",
      "/home/me/.local/bin/medcode",
    ]);
  });

  test("Windows: Scripts\\medcode.exe", () => {
    assert.deepEqual(installPlaces({ VIRTUAL_ENV: "C:\\venv" }, "C:\\Users\\me", "win32"), [
      "C:\\venv\\Scripts\\medcode.exe",
      "C:\\Users\\me\\.venvs\\medcode\\Scripts\\medcode.exe",
    ]);
  });
});
