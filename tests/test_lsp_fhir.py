"""End to end over LSP stdio on FHIR claims: an ExplanationOfBenefit's diagnostics at exact
positions (UTF-16 for VS Code, UTF-8 for Neovim), hover, completion in a `code` value, quick
fixes, display-mismatch switched on by the settings, and malformed JSON.

Same harness as test_lsp_x12.py (one server per client profile, push or pull diagnostics).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lsprotocol import types
from fhir_resources import eob, patient, text_of
from lsp_session import PROFILES, Session, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
EOB = (FIXTURES / "eob-seeded-errors.json").read_text(encoding="utf-8")
MALFORMED = (FIXTURES / "eob-malformed.json").read_text(encoding="utf-8")
ERROR, WARNING, INFORMATION = types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning, types.DiagnosticSeverity.Information


def units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def where(text: str, needle: str, encoding: str, after: str = "") -> tuple[int, int, int]:
    """(line, start, end) in the session's units of needle (the first after `after`)."""
    at = text.index(needle, text.index(after) if after else 0)
    line = text.count("\n", 0, at)
    line_start = text.rfind("\n", 0, at) + 1
    start = units(text[line_start:at], encoding)
    return line, start, start + units(needle, encoding)


def keyed(diags) -> set[tuple[str, int, int, int, int]]:
    return {(d.code, d.range.start.line, d.range.start.character, d.range.end.character, d.severity) for d in diags}


def expected(enc: str) -> set[tuple[str, int, int, int, int]]:
    return {
        ("not-billable", *where(EOB, "E11", enc, after='"sequence": 2'), WARNING),
        ("bad-format", *where(EOB, "E1.19", enc), ERROR),
        ("fhir-structure", *where(EOB, "4", enc, after='{"sequence": 4, "diagnosisCodeableConcept": {"coding": [{"system": "https://bluebutton'), WARNING),
        ("wrong-code-set", *where(EOB, "E11.9", enc, after='"procedure"'), ERROR),
        ("wrong-icd-version", *where(EOB, "0DTJ4ZZ", enc), ERROR),
        ("bad-format", *where(EOB, "1234", enc, after='"supportingInfo"'), ERROR),
        ("invalid-pointer", *where(EOB, "9", enc, after='"diagnosisSequence": [1, '), ERROR),
        ("not-in-index", *where(EOB, "99213", enc), INFORMATION),
        ("bad-format", *where(EOB, "X!", enc), ERROR),
        ("bad-format", *where(EOB, "45", enc, after='"revenue"'), ERROR),
        ("bad-format", *where(EOB, "1234567890", enc), ERROR),
    }


async def test_eob_diagnostics_at_exact_positions(lsp: Session):
    uri = "file:///tmp/e2e/fhir/eob.json"
    lsp.open(uri, EOB, "json")
    diags = await lsp.diagnostics(uri)
    assert keyed(diags) == expected(lsp.encoding)
    lsp.close(uri)


async def test_eob_hover_on_code_pointer_and_system(lsp: Session):
    uri = "file:///tmp/e2e/fhir/eob-hover.json"
    lsp.open(uri, EOB, "json")
    await lsp.diagnostics(uri)
    line, start, _ = where(EOB, "E11", lsp.encoding, after='"sequence": 2')
    hover = await lsp.hover(uri, line, start + 1)
    assert "Type 2 diabetes mellitus" in hover.contents.value and "header" in hover.contents.value
    assert "2026-03-10" in hover.contents.value  # the EOB's billablePeriod, not today
    line, start, _ = where(EOB, "0DTJ4ZZ", lsp.encoding)
    hover = await lsp.hover(uri, line, start + 2)
    assert "Resection of Appendix" in hover.contents.value and "2015-06-01" in hover.contents.value
    line, start, _ = where(EOB, "9", lsp.encoding, after='"diagnosisSequence": [1, ')
    hover = await lsp.hover(uri, line, start)
    assert "points to no diagnosis" in hover.contents.value
    line, start, _ = where(EOB, "1", lsp.encoding, after='"diagnosisSequence": [1')
    hover = await lsp.hover(uri, line, start)
    assert "→ `E11.9`" in hover.contents.value
    line, start, _ = where(EOB, "2", lsp.encoding, after='"diagnosisSequence": [2')
    hover = await lsp.hover(uri, line, start)
    assert "→ `E11`" in hover.contents.value and "diagnosis sequence 2" in hover.contents.value
    line, start, _ = where(EOB, "http://www.ama-assn.org/go/cpt", lsp.encoding)
    hover = await lsp.hover(uri, line, start + 3)
    assert "CPT" in hover.contents.value
    lsp.close(uri)


async def test_eob_completion_inside_a_code_whose_system_is_known(lsp: Session):
    uri = "file:///tmp/e2e/fhir/eob-complete.json"
    text = EOB.replace('"code": "E11", "display": "Type 2 diabetes mellitus"', '"code": "E11.6", "display": "Type 2 diabetes mellitus"')
    lsp.open(uri, text, "json")
    await lsp.diagnostics(uri)
    line, start, end = where(text, "E11.6", lsp.encoding)
    result = await lsp.complete(uri, line, end)
    labels = [i.label for i in result.items]
    assert "E11.65" in labels and all(label.startswith("E11.6") for label in labels)
    # In a code whose system medcode does not know (claim type), nothing is offered.
    line, start, end = where(text, "professional", lsp.encoding)
    result = await lsp.complete(uri, line, end)
    assert result is None or not result.items
    lsp.close(uri)


async def test_eob_quick_fixes_dotted_code_and_system(lsp: Session):
    uri = "file:///tmp/e2e/fhir/eob-fix.json"
    lsp.open(uri, EOB, "json")
    diags = await lsp.diagnostics(uri)
    header = next(d for d in diags if d.code == "not-billable")
    actions = await lsp.actions(uri, header)
    texts = {a.edit.changes[uri][0].new_text for a in actions if isinstance(a, types.CodeAction) and a.edit}
    assert "E11.9" in texts and all("." in t for t in texts)
    # "More billable codes…": the code the user picks is written dotted too (see test_lsp_x12
    # for why the action comes back as a bare Command).
    more = actions[-1]
    command = ast.literal_eval(more.command) if isinstance(more, types.Command) else vars(more.command)
    picked = await lsp.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
    )
    (applied,) = lsp.client.applied_edits[-1].changes[uri]
    assert applied.new_text == picked and "." in picked and picked.startswith("E11.")
    wrong = next(d for d in diags if d.code == "wrong-code-set")
    actions = await lsp.actions(uri, wrong)
    (edit,) = next(a for a in actions if isinstance(a, types.CodeAction) and a.is_preferred).edit.changes[uri]
    assert edit.new_text == "http://hl7.org/fhir/sid/icd-10-cm"
    line, start, end = where(EOB, "http://www.cms.gov/Medicare/Coding/ICD10", lsp.encoding)
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (line, start, end)
    lsp.close(uri)


async def test_display_mismatch_switched_on_in_settings_with_exact_non_ascii_range(default_index):
    session = await start(PROFILES[0], default_index, settings={"severity": {"display-mismatch": "warning"}})
    try:
        uri = "file:///tmp/e2e/fhir/eob-display.json"
        session.open(uri, EOB, "json")
        diags = await session.diagnostics(uri)
        mismatches = {(d.range.start.line, d.range.start.character, d.range.end.character) for d in diags if d.code == "display-mismatch"}
        assert mismatches == {where(EOB, "Heart attack", session.encoding), where(EOB, "Café 😀", session.encoding)}
        # UTF-16: the emoji counts two units.
        line, first, last = where(EOB, "Café 😀", session.encoding)
        assert last - first == 7
        session.settings({"severity": {}})
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=EOB + " "))
        assert not [d for d in await session.diagnostics(uri) if d.code == "display-mismatch"]
    finally:
        await stop(session)


async def test_malformed_json_is_a_diagnostic(lsp: Session):
    uri = "file:///tmp/e2e/fhir/broken.json"
    lsp.open(uri, MALFORMED, "json")
    diags = await lsp.diagnostics(uri)
    assert [(d.code, d.severity, d.range.start.line) for d in diags] == [("fhir-structure", ERROR, 5)]
    lsp.close(uri)


async def test_claim_edits_on_an_eob_at_exact_positions(lsp: Session):
    """The claim edits of X12 on an EOB: an age conflict with its contained Patient and an
    Excludes1 pair, at the codes' positions."""
    text = text_of(eob(dx=[(1, "E11.9", None), (2, "A48.51", None), (3, "O24.419", None)], contained=[patient("pt", "1990-01-01")], patient="#pt"))
    uri = "file:///tmp/e2e/fhir/eob-edits.json"
    lsp.open(uri, text, "json")
    diags = await lsp.diagnostics(uri)
    edits = {k for k in keyed(diags) if k[0] in ("age-conflict", "excludes1")}
    assert edits == {
        ("age-conflict", *where(text, "A48.51", lsp.encoding), ERROR),
        ("excludes1", *where(text, "O24.419", lsp.encoding), WARNING),
    }
    lsp.close(uri)


async def test_a_repeated_code_key_is_a_diagnostic_and_both_codes_are_checked(lsp: Session):
    """The bundle of session 32's brief: `"code": "E119", "code": "ZZZZ9"` (the last hid E119)."""
    text = (FIXTURES / "claim-bundle.json").read_text(encoding="utf-8").replace('"code": "E119"}', '"code": "E119", "code": "ZZZZ9"}')
    uri = "file:///tmp/e2e/fhir/repeated-code.json"
    lsp.open(uri, text, "json")
    diags = await lsp.diagnostics(uri)
    after = '"E119", '
    assert {k for k in keyed(diags) if k[0] in ("fhir-structure", "bad-format")} == {
        ("fhir-structure", *where(text, '"code"', lsp.encoding, after=after), WARNING),
        ("bad-format", *where(text, "ZZZZ9", lsp.encoding), ERROR),
    }
    [said] = [d for d in diags if d.code == "fhir-structure"]
    assert 'checks both codes ("E119" and "ZZZZ9")' in said.message
    lsp.close(uri)


async def test_a_repeat_in_a_value_read_without_positions_is_a_diagnostic_saying_what_was_used(lsp: Session):
    """Session 33: a repeated `code` in the Claim's type (a value decoded in one call, without
    positions) was taken silently; it is said at the repeated key, with the claim type used."""
    ct = "http://terminology.hl7.org/CodeSystem/claim-type"
    text = (FIXTURES / "claim-bundle.json").read_text(encoding="utf-8").replace(
        '"use": "claim",', f'"use": "claim",\n      "type": {{"coding": [{{"system": "{ct}", "code": "institutional", "code": "professional"}}]}},')
    uri = "file:///tmp/e2e/fhir/repeated-type-code.json"
    lsp.open(uri, text, "json")
    diags = await lsp.diagnostics(uri)
    said = [d for d in diags if d.code == "fhir-structure"]
    assert keyed(said) == {("fhir-structure", *where(text, '"code"', lsp.encoding, after='"institutional", '), WARNING)}
    assert ('medcode reads this last value ("professional"), not the earlier one ("institutional"), '
            "so this Claim is checked as a professional claim (837P-like edits)") in said[0].message
    lsp.close(uri)
