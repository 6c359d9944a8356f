"""NCCI edits in the editor, end to end over LSP stdio: diagnostics, hover on a service line's
code listing the edits that touch it on this claim, and the modifier quick fix."""

from __future__ import annotations


import pytest
from lsprotocol import types

from medcode.index_builder.build import import_ncci

from lsp_session import Session, place
from claims_837 import x12
from ncci_files import PTP_Q3, Q3, quarter_files

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLAIM = x12("P", [("NCCI1", [("99213", [], 1, Q3), ("36415", [], 3, Q3), ("17000", [], 1, Q3), ("11900", ["59"], 1, Q3)])])


@pytest.fixture(scope="module")
def lsp_index(tmp_path_factory):
    """The `lsp` servers of this module read an index of NCCI edits alone."""
    base = tmp_path_factory.mktemp("lsp-ncci")
    import_ncci(base / "index", quarter_files(base / "files", "322", "07-01-2026", "2026Q3", PTP_Q3))
    return base / "index"


async def test_ncci_diagnostics_hover_and_modifier_fix(lsp: Session):
    uri = "file:///tmp/e2e/ncci/claim.837"
    lsp.open(uri, CLAIM)
    diags = await lsp.diagnostics(uri)
    ncci = sorted((d.code, d.range.start.line, d.range.start.character) for d in diags if d.code in ("ncci-ptp", "mue"))
    assert ncci == sorted([
        ("ncci-ptp", *place(CLAIM, "SV1*HC:36415", "36415")[:2]),
        ("mue", *place(CLAIM, "SV1*HC:36415", "36415")[:2]),
        ("ncci-ptp", *place(CLAIM, "SV1*HC:11900", "11900")[:2]),
    ])

    # Hover on the column 1 code lists the edit it takes part in, from the other side.
    line, col, _ = place(CLAIM, "SV1*HC:99213", "99213")
    hover = await lsp.hover(uri, line, col + 1)
    text = hover.contents.value
    assert "**NCCI edits on this claim**" in text and "NCCI 2026-Q3 (practitioner)" in text
    assert "PTP: column 1 with 36415 (line 2), modifier indicator 1" in text
    line, col, _ = place(CLAIM, "SV1*HC:36415", "36415")
    text = (await lsp.hover(uri, line, col + 1)).contents.value
    assert "PTP: column 2 with 99213 (line 1)" in text and "MUE (practitioner): 2 (MAI 2: per date of service, policy); 3 unit(s) here" in text
    line, col, _ = place(CLAIM, "SV1*HC:11900", "11900")
    assert "modifier indicator 0: never payable together" in (await lsp.hover(uri, line, col + 1)).contents.value

    # The quick fix adds a modifier to the column 2 code, with a caution in its title.
    ptp = next(d for d in diags if d.code == "ncci-ptp" and d.range.start.line == place(CLAIM, "SV1*HC:36415", "36415")[0])
    actions = await lsp.actions(uri, ptp)
    assert [a.title.split(" (")[0] for a in actions] == [f"Add modifier {m} to 36415" for m in ("59", "XE", "XS", "XP", "XU")]
    assert all("caution: only if the record documents" in a.title for a in actions)
    (edit,) = actions[0].edit.changes[uri]
    line, _, end = place(CLAIM, "SV1*HC:36415", "36415")
    assert edit.new_text == ":59" and (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (line, end, end)
    lsp.change(uri, types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    after = await lsp.diagnostics(uri)
    assert sorted(d.code for d in after if d.code in ("ncci-ptp", "mue")) == ["mue", "ncci-ptp"]
    lsp.close(uri)


async def test_hover_reads_the_kind_of_the_transaction_around_the_claim(lsp: Session):
    """A file with an 837I and an 837P: a service line's claim notes follow its own
    transaction's kind (hover reads the ST only for them, not for every code)."""
    institutional = x12("I", [("INST1", [("99213", [], 1, Q3), ("36415", [], 3, Q3)])])
    practitioner = x12("P", [("PROF1", [("99213", [], 1, Q3), ("36415", [], 3, Q3)])])
    group = practitioner[practitioner.index("GS*") : practitioner.index("IEA*")]
    text = institutional.replace("IEA*", group + "IEA*")
    uri = "file:///tmp/e2e/ncci/two-kinds.837"
    lsp.open(uri, text)
    await lsp.diagnostics(uri)
    line, col, _ = place(text, "SV1*HC:99213", "99213")
    shown = (await lsp.hover(uri, line, col + 1)).contents.value
    assert "NCCI 2026-Q3 (practitioner)" in shown and "PTP: column 1 with 36415 (line 2)" in shown
    line, col, _ = place(text, "SV2*0450*HC:99213", "99213")
    hover = await lsp.hover(uri, line, col + 1)
    assert hover is None or "(practitioner)" not in hover.contents.value
    lsp.close(uri)
