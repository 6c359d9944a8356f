"""Claim edits in the editor, over real LSP stdio: diagnostics, hover listing the edits and
notes of a code, the duplicate-removal quick fix, and a setting that turns on an off-by-default
rule. One server per client profile (push and pull), as in test_lsp_x12.py."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402
from lsp_session import Session, place  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOV = dt.date(2026, 11, 15)
TEXT = make_837(
    [
        dict(kind="I", day=NOV, birth=dt.date(1960, 1, 1), sex="M", principal="G01", other=["E119", "O24419", "G01"]),
    ]
)
HI_OTHER = "HI*ABF:E119"


def _by_rule(diagnostics) -> dict[str, list[types.Diagnostic]]:
    out: dict[str, list[types.Diagnostic]] = {}
    for d in diagnostics:
        out.setdefault(d.code, []).append(d)
    return out


async def test_claim_edit_diagnostics_hover_and_fix(lsp: Session):
    uri = f"file:///tmp/e2e/claim-edits/{lsp.profile}.837"
    lsp.open(uri, TEXT)
    found = _by_rule(await lsp.diagnostics(uri))
    line, start_, end = place(TEXT, "HI*ABK:G01", "G01")
    manif = found["manifestation-as-principal"][0]
    assert (manif.range.start.line, manif.range.start.character, manif.range.end.character) == (line, start_, end)
    assert manif.severity == types.DiagnosticSeverity.Error and "CMS MCE v44, FY2027" in manif.message
    assert [d.range.start.line for d in found["excludes1"]] == [place(TEXT, HI_OTHER, "O24419")[0]]
    assert "age-conflict" in found  # O24.419 (maternity) at 66
    assert "unspecified-code" not in found  # off by default

    # Hover on E11.9: its notes (inherited from E11) and the edit of the claim that names it.
    e_line, e_start, _ = place(TEXT, HI_OTHER, "E119")
    hover = await lsp.hover(uri, e_line, e_start + 1)
    text = hover.contents.value
    assert "Excludes1 (E11): gestational diabetes (O24.4-)" in text
    assert "[excludes1]" in text and "O24.419 and E11.9" in text
    assert "Claim edits** (CMS MCE v44, FY2027): questionable admission as principal" in text

    # The duplicate of the principal: a quick fix removes it.
    dup = found["duplicate-of-principal"][0]
    actions = await lsp.actions(uri, dup)
    fix = next(a for a in actions if a.title == "Remove the duplicate G01")
    edits = fix.edit.changes[uri]
    assert len(edits) == 1 and edits[0].new_text == ""
    lsp.close(uri)


async def test_los_conflict_diagnostic_and_hover(lsp: Session):
    """5A1955Z (ventilation > 96 hours) on a 3-day stay: the diagnostic on the code, and its
    hover names the flag."""
    text = make_837([dict(kind="I", day=NOV, birth=dt.date(1960, 1, 1), sex="M", principal="J9601", procedures=["5A1955Z"], admission=NOV - dt.timedelta(days=3))])
    uri = f"file:///tmp/e2e/claim-edits/los-{lsp.profile}.837"
    lsp.open(uri, text)
    found = _by_rule(await lsp.diagnostics(uri))
    line, start_, end = place(text, "HI*BBR:5A1955Z", "5A1955Z")
    (los,) = found["los-conflict"]
    assert (los.range.start.line, los.range.start.character, los.range.end.character) == (line, start_, end)
    assert los.severity == types.DiagnosticSeverity.Warning and "length of stay of 3 days" in los.message
    hover = await lsp.hover(uri, line, start_ + 1)
    assert "Claim edits** (CMS MCE v44, FY2027): only with a length of stay of 4 days or more" in hover.contents.value
    lsp.close(uri)


async def test_setting_turns_on_an_off_by_default_rule(lsp: Session):
    uri = f"file:///tmp/e2e/claim-edits/unspecified-{lsp.profile}.837"
    lsp.settings({"severity": {"unspecified-code": "warning"}})
    try:
        text = make_837([dict(kind="I", day=NOV, birth=dt.date(1960, 1, 1), sex="M", principal="I214", other=["G8190"])])
        lsp.open(uri, text)
        for _ in range(50):  # the server re-pulls its settings asynchronously
            found = _by_rule(await lsp.diagnostics(uri))
            if "unspecified-code" in found:
                break
            lsp.close(uri)
            lsp.open(uri, text)
        assert found["unspecified-code"][0].severity == types.DiagnosticSeverity.Warning
    finally:
        lsp.settings({})
        lsp.close(uri)
