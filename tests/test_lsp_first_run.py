"""A first run in an editor, and every later index reload, end to end over LSP stdio.

* `medcode serve` on an empty index folder builds the embedded defaults in the background,
  then reopens the indexes and re-checks the open documents: the client gets the real
  findings (not-billable, invalid-code) without touching the file.
* After a reload (the medcode.reloadIndexes command, an indexDir setting), pull clients that
  advertise workspace.diagnostics.refreshSupport get workspace/diagnostic/refresh; push
  clients get the documents re-published.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities
from lsp_session import HI_ERR, P837, Session, make_client, place, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="function")

BUILD_WAIT = 600.0  # seconds: building every default takes 20 s on a quiet machine, minutes on a busy one
MEDCODE = [sys.executable, "-m", "medcode.server"]


def findings(diagnostics) -> set[tuple[str, int, int]]:
    return {(d.code, d.range.start.line, d.range.start.character) for d in diagnostics}


E11 = ("not-billable", *place(P837, HI_ERR, "E11*")[:2])
E1199 = ("invalid-code", *place(P837, HI_ERR, "E1199")[:2])


async def until(what: str, predicate, timeout: float):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def published(session: Session, uri: str) -> list[list[types.Diagnostic]]:
    return [list(p.diagnostics) for p in session.client.published.get(uri, [])]


async def test_first_run_builds_the_defaults_then_rechecks_open_documents(tmp_path: Path):
    index = tmp_path / "empty-index"
    index.mkdir()
    session = await start("visual-studio-code", index)
    try:
        uri = "file:///tmp/e2e/first-run/claims.837"
        session.open(uri, P837)
        first = await session.diagnostics(uri)
        # Before the data is there: shape-only findings, and a note that ICD-10-CM is missing.
        assert E11 not in findings(first) and E1199 not in findings(first)
        # Then, with no edit: the findings that need the data.
        await until(
            "not-billable and invalid-code after the first-run build",
            lambda: any({E11, E1199} <= findings(d) for d in published(session, uri)),
            BUILD_WAIT,
        )
        messages = [m.message for m in session.client.messages]
        assert any("building the code indexes" in m for m in messages), messages
        assert not [m for m in session.client.messages if m.type == types.MessageType.Error], messages
        assert list((index / "icd10cm").rglob("manifest.json"))
        # Hover answers from the new data too.
        line, col, _ = place(P837, "HI*ABK:E119", "E119")
        hover = await session.hover(uri, line, col + 1)
        assert "Type 2 diabetes mellitus without complications" in hover.contents.value
        assert session.client.error is None
    finally:
        await stop(session)


async def start_refreshing(index: Path) -> Session:
    """A pull client (Neovim's profile) that advertises workspace/diagnostic/refresh, as the
    Neovim plugin does."""
    config = ClientServerConfig(
        server_command=[*MEDCODE, "serve"],
        server_env={**os.environ, "MEDCODE_INDEX_DIR": str(index)},
        client_factory=make_client,  # pytest-lsp counts refreshes: client.diagnostic_refresh_count
    )
    client = await config.start()
    caps = client_capabilities("neovim")
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    init = await client.initialize_session(types.InitializeParams(capabilities=caps, root_uri="file:///tmp/medcode-e2e"))
    return Session(client, "neovim", init)


def build(index: Path, *sets: str) -> None:
    args = [a for s in sets for a in ("--set", s)]
    subprocess.run([*MEDCODE, "--index-dir", str(index), "index", "build", *args], check=True, capture_output=True)


@pytest.fixture
def pcs_only(tmp_path) -> Path:
    """An index with ICD-10-PCS only (quick to build): ICD-10-CM codes are shape-checked."""
    index = tmp_path / "index"
    build(index, "icd10pcs")
    return index


async def test_reload_command_refreshes_pull_clients(pcs_only: Path):
    session = await start_refreshing(pcs_only)
    try:
        uri = "file:///tmp/e2e/reload/claims.837"
        session.open(uri, P837)
        assert E11 not in findings(await session.diagnostics(uri))
        build(pcs_only, "icd10cm")
        await session.client.workspace_execute_command_async(types.ExecuteCommandParams(command="medcode.reloadIndexes", arguments=[]))
        await until("workspace/diagnostic/refresh", lambda: session.client.diagnostic_refresh_count >= 1, 30)
        assert {E11, E1199} <= findings(await session.diagnostics(uri))
    finally:
        await stop(session)


async def test_index_dir_setting_republishes_to_push_clients(pcs_only: Path, default_index: Path):
    session = await start("visual-studio-code", pcs_only)
    try:
        uri = "file:///tmp/e2e/reload/setting.837"
        session.open(uri, P837)
        assert E11 not in findings(await session.diagnostics(uri))
        before = len(published(session, uri))
        session.settings({"indexDir": str(default_index)})
        await until(
            "a re-published check from the other index folder",
            lambda: any({E11, E1199} <= findings(d) for d in published(session, uri)[before:]),
            30,
        )
    finally:
        await stop(session)
