"""The server with an index folder whose ICD-10-CM release cannot be opened (manifest missing
or damaged): it says so (window message, the file's note, hover), never "no data installed",
and it does not start a first-run build over the user's data."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from lsp_session import P837, place, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="function")


def damaged(tmp_path: Path, how: str) -> Path:
    """An index folder whose only release, ICD-10-CM, has its manifest missing or not JSON."""
    index = tmp_path / "index"
    release = index / "icd10cm" / "FY2026"
    release.mkdir(parents=True)
    (release / "codes.marisa").write_bytes(b"\0" * 64)
    if how == "damaged":
        (release / "manifest.json").write_text('{"format": 1, "set_id": "icd10cm", "lab')
    return index


@pytest.mark.parametrize("how", ["missing", "damaged"])
async def test_damaged_index_is_reported_as_damaged(tmp_path: Path, how: str):
    index = damaged(tmp_path, how)
    session = await start("visual-studio-code", index)
    try:
        uri = f"file:///tmp/e2e/damaged/{how}.837"
        session.open(uri, P837)
        diags = await session.diagnostics(uri)
        # Its dates unknown, the release may be the one in force: each ICD-10-CM code says so.
        notes = [d for d in diags if d.code == "index-damaged" and "ICD-10-CM" in d.message]
        assert notes, [d.message for d in diags]
        for d in notes:
            assert "no ICD-10-CM data installed" not in d.message
            assert "ICD-10-CM release FY2026 is damaged" in d.message and "manifest.json" in d.message
            assert d.severity == types.DiagnosticSeverity.Warning
        line, col, _ = place(P837, "HI*ABK:E119", "E119")
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "no data installed" not in hover and "index cannot be read" in hover, hover
        warnings = [m.message for m in session.client.messages if m.type == types.MessageType.Warning]
        assert any("manifest.json" in m and "medcode index build" in m for m in warnings), warnings
        # The user's folder is not taken for a first run: nothing is built over it.
        assert not [m for m in session.client.messages if "building the code indexes" in m.message]
        assert sorted(p.name for p in index.iterdir()) == ["icd10cm"]
    finally:
        await stop(session)
