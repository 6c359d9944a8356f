"""Damaged ICD-10-PCS tables (the `tables` side data of a release imported with the CMS tables
XML: what each character of a code means). Nothing in a check needs them: a code's validity
and title are its record's. So the release's codes are still checked; only the character
meanings are missing, which hover and lookup say with the damaged file and the command that
rebuilds it, and the damage is named once (stderr, or the editor's message)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_session import place, start, stop
from test_import_icd10pcs import order_text, tables_xml

TEMPLATE = "---\ndate_of_service: 2023-03-01\n---\nProcedure\n\nICD-10-PCS: 0016070\nICD-10-PCS: 0016079\n"  # in FY2023; 0016079 is no code


@pytest.fixture(scope="module")
def pcs_index(tmp_path_factory) -> Path:
    """ICD-10-PCS FY2023 imported from an order file and the tables XML."""
    from medcode.index_builder.build import import_path

    root = tmp_path_factory.mktemp("pcs")
    src = root / "src"
    src.mkdir()
    (src / "icd10pcs_tables_2023.xml").write_text(tables_xml())
    (src / "icd10pcs_order_2023.txt").write_text(order_text())
    import_path(root / "idx", "icd10pcs", src)
    return root / "idx"


def _damaged(pcs_index: Path, tmp_path: Path, truncated: bool) -> tuple[Path, Path]:
    """A copy of the index whose tables are overwritten (same size: found when read) or cut
    to half (found when the release is opened: the manifest lists each file's size)."""
    index = tmp_path / "idx"
    shutil.copytree(pcs_index, index)
    tables = index / "icd10pcs" / "FY2023" / "aux-tables.bin"
    size = tables.stat().st_size
    tables.write_bytes(b"\x5a" * (size // 2 if truncated else size))
    return index, tables


def _template(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text(TEMPLATE)
    return path


@pytest.mark.parametrize("truncated", [False, True], ids=["bytes", "size"])
def test_the_codes_are_still_checked(run, pcs_index, tmp_path, truncated):
    index, tables = _damaged(pcs_index, tmp_path, truncated)
    status, out, err = run("check", str(_template(tmp_path)), index=index)
    assert "index-damaged" not in out + err, out
    assert "0016079 is not a code in ICD-10-PCS FY2023" in out and "[invalid-code]" in out
    assert out.count("\n") == 1  # 0016070 is a code: no finding
    assert status == 1
    if truncated:  # found on open: named on stderr with what is not done and the command
        assert err.count(str(tables)) == 1 and "character meanings" in err
        assert "`medcode index import icd10pcs " in err and "--release FY2023`" in err


@pytest.mark.parametrize("truncated", [False, True], ids=["bytes", "size"])
def test_lookup_answers_and_says_the_meanings_cannot_be_shown(run, pcs_index, tmp_path, truncated):
    index, tables = _damaged(pcs_index, tmp_path, truncated)
    status, out, err = run("lookup", "0016070", "--date", "2023-03-01", "--json", index=index)
    (view,) = json.loads(out)["results"]
    assert view["description"].startswith("Bypass Cerebral Ventricle to Nasopharynx") and view["summary"] == "billable"
    (hint,) = view["hints"]
    assert "cannot be shown" in hint and str(tables) in hint and hint.endswith("--release FY2023`")
    assert view["facts"]["Section"] == "0 = Medical and Surgical"  # what the code alone says
    assert status == 0 and "Traceback" not in err


def test_the_intact_tables_give_the_meanings(run, pcs_index):
    status, out, _ = run("lookup", "0016070", "--date", "2023-03-01", index=pcs_index)
    assert "Body Part" in out and "cannot be shown" not in out and status == 0


async def test_the_editor_hovers_and_keeps_checking_the_release(pcs_index, tmp_path):
    index, tables = _damaged(pcs_index, tmp_path, truncated=False)
    session = await start("visual-studio-code", index)
    try:
        uri = "file:///tmp/e2e/pcs/note.md"
        session.open(uri, TEMPLATE, "markdown")
        before = await session.diagnostics(uri)
        assert [d.code for d in before] == ["invalid-code"], before
        line, col, _ = place(TEMPLATE, "ICD-10-PCS: 0016070", "0016070")
        hover = await session.hover(uri, line, col + 1)
        text = hover.contents.value
        assert "Bypass Cerebral Ventricle to Nasopharynx" in text and "cannot be shown" in text
        assert "aux-tables.bin is damaged" in text and "--release FY2023" in text  # (Markdown escapes the path's _)
        # The release was not set aside: the document's codes are judged as before.
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=TEMPLATE + "\n"))
        after = await session.diagnostics(uri)
        assert [d.code for d in after] == ["invalid-code"], after
        await session.hover(uri, line, col + 1)
        shown = [m.message for m in session.client.messages if str(tables) in m.message]
        assert len(shown) == 1 and "character meanings" in shown[0], shown
    finally:
        await stop(session)
