"""The VS Code extension (editor-clients/vscode), checked from the Python suite.

Runs what can run without VS Code, in a copy of the extension outside the checkout
(tests/vscode_build.py: `npm ci` once per package-lock.json into ~/.cache/medcode-ci, then
`npm run typecheck`, `lint`, `test` (node:test unit tests of the pure modules) and `package`
(the .vsix)). Then checks the .vsix contents, that the manifest's settings match
the server's (server/lsp/settings.py, the README table, the rule ids), that `medcode lookup --json`
still has the fields the extension renders, and a smoke run of the extension's own server
resolution against the real server over stdio.

Skips when node or npm is not on PATH (or Node is older than 20), or when the npm registry
cannot be reached for a first `npm ci`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from vscode_build import Build, tail
from medcode.index_builder.codesets import OFFICIAL_SETS
from medcode.server.findings import RULES
from medcode.server.lsp.settings import KIND_KEYS, SEVERITY_NAMES, Settings

VSCODE = REPO / "editor-clients" / "vscode"
FIXTURE_837P = REPO / "tests" / "fixtures" / "x12" / "claims_837p.x12"
# Settings only the extension reads (how to start the server, tracing). `medcode.indexDir` is the
# server's too (README table); the extension also reads it, and sends the folder it resolved.
CLIENT_SETTINGS = {"medcode.server.path", "medcode.server.args", "medcode.trace.server"}


def _run(args: list[str], *, cwd: Path = VSCODE, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def built(vscode_build) -> Build:
    """npm ci (cached) and every npm script the extension's README documents, once, outside the tree."""
    return vscode_build


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))


def test_unit_tests_ran_and_passed(built):
    out = built.outputs["npm run test"]
    passed = re.search(r"^# pass (\d+)", out, re.M)
    failed = re.search(r"^# fail (\d+)", out, re.M)
    assert passed and failed, out[-2000:]
    assert int(passed.group(1)) >= 40 and int(failed.group(1)) == 0


def test_vsix_contains_the_extension_and_its_manifest(built, manifest):
    vsix = built.vsix
    assert vsix.is_file()
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        packaged = json.loads(z.read("extension/package.json"))
        bundle = z.read("extension/dist/extension.js").decode("utf-8")
    assert {
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/dist/extension.js",
        "extension/syntaxes/x12.tmLanguage.json",
        "extension/readme.md",  # vsce's spelling of README.md: the install steps the error message opens
    } <= names
    # Bundled: no dependencies, sources or tests travel in the .vsix.
    assert not [n for n in names if n.startswith(("extension/node_modules/", "extension/src/", "extension/test/", "extension/out/"))]
    assert packaged["name"] == "medcode" and packaged["main"] == "./dist/extension.js"
    assert packaged["contributes"] == manifest["contributes"]
    assert 'require("vscode")' in bundle  # the host's API, left external by esbuild


def _documented_rules() -> dict[str, str]:
    """Rule id -> default severity, from the main README's rule table (the public contract)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|information|hint) \|", readme, re.M))


def test_manifest_settings_match_the_server(manifest):
    """The README's settings and rule tables are the server's public contract: the manifest
    contributes exactly those settings (plus the extension's own) and those rule ids."""
    properties = manifest["contributes"]["configuration"]["properties"]
    server_keys = set(properties) - CLIENT_SETTINGS
    assert CLIENT_SETTINGS <= set(properties)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(medcode\.[A-Za-z.]+)` \|", readme, re.M))
    assert server_keys == documented
    assert {
        "medcode.inlayHints.enabled",
        "medcode.severity",
        "medcode.debounceMs",
        "medcode.fileKinds",
        "medcode.codeSets",
        "medcode.templates.bareCodeHints",
        "medcode.indexDir",
    } <= server_keys
    defaults = Settings()
    assert properties["medcode.inlayHints.enabled"]["default"] is defaults.inlay_hints
    assert properties["medcode.debounceMs"]["default"] == defaults.debounce_ms
    assert properties["medcode.severity"]["default"] == {}
    assert properties["medcode.templates.bareCodeHints"]["type"] == "boolean"
    assert properties["medcode.templates.bareCodeHints"]["default"] is defaults.bare_codes
    assert properties["medcode.indexDir"]["type"] == "string" and properties["medcode.indexDir"]["default"] == ""
    assert defaults.index_dir is None  # "" from the manifest: the server's default folder
    # The on/off switches: exactly the server's keys, every one a boolean, on by default as on the server.
    for setting, keys, enabled in (
        ("medcode.fileKinds", KIND_KEYS, defaults.kinds),
        ("medcode.codeSets", {s: s for s in OFFICIAL_SETS}, defaults.sets),
    ):
        switches = properties[setting]
        assert switches["type"] == "object" and switches["additionalProperties"] is False, setting
        assert set(switches["properties"]) == set(keys), setting
        assert all(p == {"type": "boolean", "description": p["description"]} for p in switches["properties"].values()), setting
        assert switches["default"] == {key: value in enabled for key, value in keys.items()}, setting
        assert all(switches["default"].values()), setting
        assert Settings.from_client({setting.removeprefix("medcode."): switches["default"]}) == defaults, setting
    severity = properties["medcode.severity"]
    rules = _documented_rules()
    assert len(rules) >= 9 and set(rules) <= set(RULES)
    assert set(severity["properties"]) == set(rules)
    for rule, level in rules.items():
        assert RULES[rule][0].label == level, rule
        assert f"(default: {level})" in severity["properties"][rule]["description"], rule
    assert severity["definitions"]["severity"]["enum"] == [*SEVERITY_NAMES, "off"]


def test_lookup_json_has_what_the_extension_renders(default_index):
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}
    result = _run([sys.executable, "-m", "medcode.server", "lookup", "--json", "--", "E11"], cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    live = json.loads(result.stdout)
    recorded = json.loads((VSCODE / "test" / "fixtures" / "lookup_E11.json").read_text(encoding="utf-8"))
    assert set(live) == set(recorded) == {"query", "results"}
    (live_view,) = live["results"]
    (recorded_view,) = recorded["results"]
    assert set(live_view) == set(recorded_view)
    for key in ("notes", "path", "children"):
        assert set(live_view[key][0]) == set(recorded_view[key][0]), key


def _smoke(built: Build, overrides: dict, env: dict) -> dict:
    result = _run(
        ["node", str(built.root / "out" / "smoke" / "serverSmoke.js"), str(FIXTURE_837P), "x12", json.dumps(overrides)],
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, tail(result)
    return json.loads(result.stdout)


def _expected_diagnostics(index: Path, severity_overrides: dict[str, str]) -> list[tuple]:
    """What `medcode check` finds in the same file: the editor must show the same."""
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(index)}
    result = _run([sys.executable, "-m", "medcode.server", "check", "--format", "json", str(FIXTURE_837P)], cwd=REPO, env=env)
    assert result.returncode in (0, 1), result.stderr
    numbers = {"error": 1, "warning": 2, "information": 3, "hint": 4}
    return sorted(
        (f["line"], f["character"], f["rule"], numbers[severity_overrides.get(f["rule"], f["severity"])]) for f in json.loads(result.stdout)
    )


def test_server_smoke_with_the_extensions_resolution(built, default_index):
    """Find and start the server as the extension does, speak LSP as VS Code would (pull
    diagnostics, the `medcode` section from package.json's defaults), and compare the
    diagnostics with `medcode check` on the same file."""
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}
    overrides = {"severity": {"not-billable": "error"}, "server.path": [sys.executable, "-m", "medcode.server"]}
    report = _smoke(built, overrides, env)
    assert report["source"] == "setting"
    assert report["command"] == [sys.executable, "-m", "medcode.server", "serve"]
    assert report["version"].startswith("medcode ")
    got = sorted((d["line"], d["character"], d["rule"], d["severity"]) for d in report["diagnostics"])
    assert got == _expected_diagnostics(default_index, {"not-billable": "error"})
    assert {"bad-format", "invalid-code", "not-billable", "wrong-code-set"} <= {d["rule"] for d in report["diagnostics"]}


def test_server_smoke_finds_medcode_on_path(built, default_index):
    """With medcode.server.path unset, the `medcode` script beside this interpreter is found on PATH."""
    script_dir = Path(sys.executable).parent
    if not any((script_dir / name).is_file() for name in ("medcode", "medcode.exe")):
        pytest.skip(f"no medcode script beside {sys.executable} (the package is not installed with its console script)")
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(default_index), "PATH": os.pathsep.join([str(script_dir), os.environ.get("PATH", "")])}
    report = _smoke(built, {}, env)
    assert report["source"] == "path"
    assert Path(report["command"][0]).parent == script_dir and report["command"][1:] == ["serve"]
    got = sorted((d["line"], d["character"], d["rule"], d["severity"]) for d in report["diagnostics"])
    assert got == _expected_diagnostics(default_index, {})
