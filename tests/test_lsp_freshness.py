"""The server, started over stdio, says once when the installed data is stale (a window
message, like `medcode index status`), and hover names the release that answered."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from lsprotocol import types

from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.writer import write_release
from official_layouts import claim_837p
from lsp_session import place, start, stop

TODAY = dt.date.today()
OLD_START, NEW_START = TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=30)


def index_with(root, label: str, start: dt.date, end: dt.date | None):
    records = [CodeRecord("E11", "Type 2 diabetes mellitus", kind="header"), CodeRecord("E119", "Type 2 diabetes mellitus without complications", parent="E11")]
    write_release(root, ImportResult("icd10cm", label, f"ICD-10-CM {label} (test)", start, end, Source("file", "x"), records))


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    """OLD and NEW releases, NEW in force since a month ago (dates relative to today)."""
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"format": 1, "sets": {"icd10cm": {"page": "https://example.org", "releases": [
        {"label": "OLD", "effective": OLD_START.isoformat(), "files": [{"url": "https://example.org/old.zip"}]},
        {"label": "NEW", "effective": NEW_START.isoformat(), "files": [{"url": "https://example.org/new.zip"}]},
    ]}}}))
    monkeypatch.setenv("MEDCODE_CATALOGUE", str(path))  # start() passes os.environ to the server
    return path


async def warnings_after_first_check(session, uri: str, text: str) -> list[str]:
    """The window messages received by the time the first diagnostics arrive (the stale check
    runs right after the settings are read, before any check can be published)."""
    session.open(uri, text)
    await session.diagnostics(uri)
    return [m.message for m in session.client.messages if m.type == types.MessageType.Warning]


async def test_stale_data_is_announced_once_and_hover_names_the_release(tmp_path, catalogue):
    index = tmp_path / "idx"
    index_with(index, "OLD", OLD_START, NEW_START - dt.timedelta(days=1))
    session = await start("visual-studio-code", index)
    try:
        text = claim_837p([("C1", ["E119"], [("J1100", TODAY)])])
        uri = "file:///tmp/e2e/fresh/claims.837"
        warnings = await warnings_after_first_check(session, uri, text)
        assert warnings == [
            (
                "medcode: code data is out of date: ICD-10-CM (NEW is not installed, OLD answers). "
                "Get current data: medcode index fetch icd10cm"
            )
        ]
        line, col, _ = place(text, "HI*ABK:E119", "E119")
        hover = await session.hover(uri, line, col + 1)
        assert "ICD-10-CM OLD (test)" in hover.contents.value  # the release that answered
        # Reopening documents or changing settings does not repeat it: once per start.
        session.settings({"debounceMs": 50})
        session.open("file:///tmp/e2e/fresh/other.837", text)
        await session.diagnostics("file:///tmp/e2e/fresh/other.837")
        await asyncio.sleep(0.2)
        assert len([m for m in session.client.messages if m.type == types.MessageType.Warning]) == 1
    finally:
        await stop(session)


async def test_current_data_gets_no_warning(tmp_path, catalogue):
    index = tmp_path / "idx"
    index_with(index, "NEW", NEW_START, TODAY + dt.timedelta(days=300))
    session = await start("visual-studio-code", index)
    try:
        text = claim_837p([("C1", ["E119"], [("J1100", TODAY)])])
        assert await warnings_after_first_check(session, "file:///tmp/e2e/fresh/current.837", text) == []
    finally:
        await stop(session)


async def test_a_broken_catalogue_does_not_stop_the_server(tmp_path, catalogue):
    catalogue.write_text("{ not json")
    index = tmp_path / "idx"
    index_with(index, "OLD", OLD_START, NEW_START - dt.timedelta(days=1))
    session = await start("visual-studio-code", index)
    try:
        text = claim_837p([("C1", ["E119"], [("J1100", TODAY)])])
        assert await warnings_after_first_check(session, "file:///tmp/e2e/fresh/broken.837", text) == []
        line, col, _ = place(text, "HI*ABK:E119", "E119")
        assert "Type 2 diabetes" in (await session.hover("file:///tmp/e2e/fresh/broken.837", line, col + 1)).contents.value
    finally:
        await stop(session)

