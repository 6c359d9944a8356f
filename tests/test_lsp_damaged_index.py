"""A release whose record file was changed in place (same size): the server still publishes
diagnostics and answers hover with no error response, and tells the user which file is damaged
and how to rebuild it."""

from __future__ import annotations

import datetime as dt

import pytest
from lsprotocol import types

from medcode.index_builder import layout
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.writer import write_release
from official_layouts import claim_837p
from lsp_session import place, start, stop


async def test_hover_on_a_damaged_record_shows_the_file_and_the_rebuild_command(tmp_path):
    index = tmp_path / "idx"
    records = [CodeRecord("E11", "Type 2 diabetes mellitus", kind="header"), CodeRecord("E119", "Type 2 diabetes mellitus without complications", parent="E11")]
    folder = write_release(index, ImportResult("icd10cm", "R1", "ICD-10-CM R1 (test)", None, None, Source("file", "x"), records))
    damaged = folder / layout.RECORDS_BIN
    damaged.write_bytes(damaged.read_bytes().replace(b"{", b"#"))  # same size: passes the open check
    session = await start("visual-studio-code", index)
    try:
        text = claim_837p([("C1", ["E119"], [("J1100", dt.date(2026, 3, 10))])])
        uri = "file:///tmp/e2e/damaged/claims.837"
        session.open(uri, text)
        await session.diagnostics(uri)  # the check answers, without the damaged release
        line, col, _ = place(text, "HI*ABK:E119", "E119")
        hover = await session.hover(uri, line, col + 1)  # an error response would raise here
        assert hover is not None
        # Found at start (a file written after the build): said among the index problems.
        said = [m.message for m in session.client.messages if m.type in (types.MessageType.Error, types.MessageType.Warning)]
        # The command is the release's own, from its manifest (the file it was imported from).
        assert any(str(damaged) in m and "`medcode index import icd10cm x --release R1`" in m for m in said)
    finally:
        await stop(session)
