"""FHIR claims in the editor as X12 claims are, end to end over LSP stdio: the outline (one
symbol per Claim / ExplanationOfBenefit, its diagnoses, procedures and items under it), hover
lines of the claim edits scoped to the code's own resource (not a Bundle's other claims'), and
the NCCI notes of an item's code."""

from __future__ import annotations

import pytest
from lsprotocol import types

from medcode.index_builder.build import import_ncci

from fhir_resources import bundle, text_of
from lsp_session import Session, start, stop
from ncci_files import PTP_Q3, quarter_files
from test_fhir_outline import BUNDLE, claim
from test_lsp_fhir import where

pytestmark = pytest.mark.asyncio(loop_scope="module")

Q3 = "2026-08-03"


def names(symbols) -> list[str]:
    return [s.name for s in symbols]


# -- end to end ----------------------------------------------------------------------------------
async def test_outline_of_a_bundle(lsp: Session):
    uri = "file:///tmp/e2e/fhir-claims/bundle.json"
    lsp.open(uri, BUNDLE, "json")
    await lsp.diagnostics(uri)
    symbols = await lsp.symbols(uri)
    assert names(symbols) == ["ExplanationOfBenefit eob-a (professional) · Patient/p1", "ExplanationOfBenefit eob-b (professional)"]
    a, b = symbols
    assert a.kind == types.SymbolKind.Object and a.detail == "2026-11-15 · $1,250.50"
    assert names(a.children) == ["Diagnosis 1: E11.9", "Diagnosis 2: O24.419", "Procedure 1: 0DTJ4ZZ"]
    assert names(b.children) == ["Diagnosis 1: E11.9", "Item 1: 99213", "Item 2: 36415"]
    assert [c.kind for c in b.children] == [types.SymbolKind.Key, types.SymbolKind.Field, types.SymbolKind.Field]
    # The item's selection is its code, at its exact place (the session's position units).
    line, start, end = where(BUNDLE, "99213", lsp.encoding)
    sel = b.children[1].selection_range
    assert (sel.start.line, sel.start.character, sel.end.line, sel.end.character) == (line, start, line, end)
    assert a.range.end.line < b.range.start.line
    # An edit: the outline follows the new text.
    edited = BUNDLE.replace('"id": "eob-b"', '"id": "eob-renamed"')
    lsp.change(uri, types.TextDocumentContentChangeWholeDocument(text=edited))
    assert names(await lsp.symbols(uri))[1] == "ExplanationOfBenefit eob-renamed (professional)"
    lsp.close(uri)


async def test_other_json_has_no_outline(lsp: Session):
    uri = "file:///tmp/e2e/fhir-claims/other.json"
    lsp.open(uri, '{"resourceType": "Patient", "id": "p1"}\n', "json")
    await lsp.diagnostics(uri)
    assert not await lsp.symbols(uri)
    lsp.close(uri)


async def test_hover_shows_only_the_claim_edits_of_the_codes_own_claim(lsp: Session):
    uri = "file:///tmp/e2e/fhir-claims/hover.json"
    lsp.open(uri, BUNDLE, "json")
    diags = await lsp.diagnostics(uri)
    assert [d.code for d in diags if d.code == "excludes1"] == ["excludes1"]
    line, start, _ = where(BUNDLE, "E11.9", lsp.encoding)  # eob-a's
    own = (await lsp.hover(uri, line, start + 1)).contents.value
    assert "[excludes1]" in own and "O24.419" in own
    line, start, _ = where(BUNDLE, "E11.9", lsp.encoding, after='"id": "eob-b"')
    other = (await lsp.hover(uri, line, start + 1)).contents.value
    assert "Type 2 diabetes mellitus" in other and "[excludes1]" not in other and "O24.419" not in other
    lsp.close(uri)


@pytest.fixture(scope="module")
def ncci_index(tmp_path_factory):
    base = tmp_path_factory.mktemp("lsp-fhir-ncci")
    import_ncci(base / "index", quarter_files(base / "files", "322", "07-01-2026", "2026Q3", PTP_Q3))
    return base / "index"


async def test_hover_on_an_item_code_lists_its_ncci_edits(ncci_index):
    items = [("99213", [], 1, Q3), ("36415", [], 3, Q3), ("17000", [], 1, Q3)]
    text = text_of(bundle(claim("ncci-1", items=items), claim("ncci-2", items=[("36415", [], 1, Q3)])))
    session = await start("visual-studio-code", ncci_index)
    try:
        uri = "file:///tmp/e2e/fhir-claims/ncci.json"
        session.open(uri, text, "json")
        await session.diagnostics(uri)
        line, col, _ = where(text, "99213", session.encoding)
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "**NCCI edits on this claim**" in hover and "NCCI 2026-Q3 (practitioner)" in hover
        assert "PTP: column 1 with 36415 (line 2), modifier indicator 1" in hover
        line, col, _ = where(text, "36415", session.encoding)
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "PTP: column 2 with 99213 (line 1)" in hover and "3 unit(s) here" in hover
        # The second claim's 36415 is alone on its claim: no pair, its own units.
        line, col, _ = where(text, "36415", session.encoding, after='"id": "ncci-2"')
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "PTP" not in hover and "3 unit(s)" not in hover
    finally:
        await stop(session)
