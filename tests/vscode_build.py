"""Building the VS Code extension (editor-clients/vscode) outside the checkout, for the tests.

The sources are copied into a temporary folder and built there, so no `node_modules`, `dist`,
`out` or `.vsix` is ever written into the repository. `node_modules` is installed once per
package-lock.json (by its hash) into a cache folder outside the checkout (`MEDCODE_CI_CACHE`,
else `~/.cache/medcode-ci`) and linked into each build, so later runs skip `npm ci`.

Without node/npm, with Node older than 20, or when `npm ci` fails because the npm registry
cannot be reached, the tests that need the build skip with the reason; any other failure fails.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VSCODE = REPO / "editor-clients" / "vscode"
# grammar.test.ts reads this fixture at ../../tests/fixtures/x12 from the extension's folder.
GRAMMAR_FIXTURE = Path("tests") / "fixtures" / "x12" / "claims_837p.x12"
NPM_ENV = {"npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false"}
BUILD_OUTPUTS = {"node_modules", "dist", "out"}


def cache_root() -> Path:
    """Where installs that outlive a checkout go (node_modules here, code-server for the UI test)."""
    configured = os.environ.get("MEDCODE_CI_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "medcode-ci"


@dataclass
class Build:
    """The extension built in `root` (a copy of editor-clients/vscode), and each step's output."""

    root: Path
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def vsix(self) -> Path:
        return self.root / "medcode.vsix"


def _run(args: list[str], cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def tail(result: subprocess.CompletedProcess, lines: int = 60) -> str:
    text = (result.stdout or "") + (result.stderr or "")
    return "\n".join(text.splitlines()[-lines:])


def registry_unreachable(npm: str, env: dict) -> bool:
    """`npm ping` asks the configured registry; it fails fast (or within 60 s) when it is down."""
    try:
        return _run([npm, "ping"], cwd=Path.home(), env={**env, "npm_config_fetch_retries": "0"}, timeout=60).returncode != 0
    except subprocess.TimeoutExpired:
        return True


def npm_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: the VS Code extension is not built or tested")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        pytest.skip(f"Node {version} is older than 20, which @vscode/vsce 3.9 and the extension's tooling need")
    return node, npm


def cached_node_modules(npm: str, env: dict) -> Path:
    """`npm ci` once per package-lock.json, in the cache; a lock file serialises parallel runs."""
    lock_text = (VSCODE / "package-lock.json").read_bytes()
    folder = cache_root() / "vscode-extension" / hashlib.sha256(lock_text).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "node_modules" / ".medcode-complete"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(VSCODE / name, folder / name)
            result = _run([npm, "ci"], cwd=folder, env=env)
            if result.returncode != 0:
                if registry_unreachable(npm, env):
                    pytest.skip(f"the npm registry cannot be reached (`npm ping` failed), so `npm ci` could not install the extension's tools:\n{tail(result, 15)}")
                pytest.fail(f"`npm ci` failed in {folder} (exit {result.returncode}):\n{tail(result)}")
            done.write_text("installed by tests/vscode_build.py\n")
    return folder / "node_modules"


def build_extension(dest: Path) -> Build:
    """Copy the extension's sources into `dest`, link the cached node_modules, and run every npm
    script the extension's README documents (typecheck, lint, test, package)."""
    node, npm = npm_tools()
    env = {**os.environ, **NPM_ENV}
    node_modules = cached_node_modules(npm, env)
    root = dest / "editor-clients" / "vscode"
    shutil.copytree(
        VSCODE,
        root,
        ignore=lambda _dir, names: [n for n in names if n in BUILD_OUTPUTS or n.endswith(".vsix")] if Path(_dir) == VSCODE else [],
    )
    (dest / GRAMMAR_FIXTURE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / GRAMMAR_FIXTURE, dest / GRAMMAR_FIXTURE)
    (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
    build = Build(root)
    for step in (["run", s] for s in ("typecheck", "lint", "test", "package")):
        result = _run([npm, *step], cwd=root, env=env)
        name = " ".join(["npm", *step])
        if result.returncode != 0:
            pytest.fail(f"`{name}` failed in {root} (exit {result.returncode}):\n{tail(result)}")
        build.outputs[name] = result.stdout + result.stderr
    return build
