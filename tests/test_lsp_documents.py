"""End to end over LSP stdio for the other file kinds: CMS price files (CSV, JSON), internal
chargemasters and documentation templates; and the settings that switch things on and off.

Same harness as test_lsp_x12.py (one server per client profile, VS Code push / Neovim pull).
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from lsp_session import PROFILES, Session, start, stop
from official_layouts import HPT_TALL_V3

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON_DOC = """{
  "hospital_name": "Medcode Test Hospital",
  "last_updated_on": "2026-03-01",
  "version": "3.0.0",
  "standard_charge_information": [
    {"description": "Diabetes visit", "code_information": [{"code": "E11.9", "type": "ICD"}, {"code": "E1199", "type": "ICD"}],
     "standard_charges": [{"setting": "outpatient", "gross_charge": 100}]}
  ]
}
"""

TEMPLATE = """---
date_of_service: 2026-03-10
codes:
  icd10cm: [E11.9, E11]
---
# Follow-up visit

Assessment: Type 2 diabetes (E11.9), stable.
Dx: E11.65, E1199
Plan: recheck {Sleep Quality:304120106:: "Poor quality"} @SIGNATURE@ BP 120/80.
Bare mention E78.5 in prose.

<!-- medcode: off -->
Dx: Z99.99 is a made-up example here.
<!-- medcode: on -->
"""


def pos(text: str, needle: str, nth: int = 0) -> tuple[int, int, int]:
    """(line, start, end) of the nth occurrence of needle (ASCII text: any position encoding)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    return line, col, col + len(needle)


def keyed(diags) -> set[tuple[str, int, int, int]]:
    return {(d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in diags}


async def test_price_file_csv_codes_checked_by_their_type(lsp: Session):
    uri = "file:///tmp/e2e/docs/00-0000000_medcode-test_standardcharges.csv"
    lsp.open(uri, HPT_TALL_V3, "csv")
    diags = await lsp.diagnostics(uri)
    found = keyed(diags)
    assert ("wrong-code-set", *pos(HPT_TALL_V3, "J1100")) in found
    assert ("unknown-code-type", *pos(HPT_TALL_V3, "WIDGET")) in found
    assert ("not-billable", *pos(HPT_TALL_V3, "E11,ICD")[:2], pos(HPT_TALL_V3, "E11,ICD")[1] + 3) in found
    # The CPT code and the revenue code are fine; no CPT data: one note, not an error.
    assert not [d for d in diags if d.range.start.line == 3 and d.code != "not-in-index"]
    wrong = next(d for d in diags if d.code == "wrong-code-set")
    assert "J1100 is a HCPCS Level II code" in wrong.message
    # The fix rewrites the type cell, not the code.
    actions = await lsp.actions(uri, wrong)
    (fix,) = [a for a in actions if a.title == "Change the type to HCPCS"]
    (edit,) = fix.edit.changes[uri]
    line, start, end = pos(HPT_TALL_V3, "CPT", 1)  # the type cell on J1100's row
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character, edit.new_text) == (line, start, end, "HCPCS")
    lsp.close(uri)


async def test_price_file_hover_and_completion(lsp: Session):
    uri = "file:///tmp/e2e/docs/hover_standardcharges.csv"
    lsp.open(uri, HPT_TALL_V3, "csv")
    await lsp.diagnostics(uri)
    line, start, _ = pos(HPT_TALL_V3, "E11,ICD")
    hover = await lsp.hover(uri, line, start + 1)
    assert "Type 2 diabetes mellitus" in hover.contents.value and "header" in hover.contents.value
    line, start, _ = pos(HPT_TALL_V3, "code|1|type")
    hover = await lsp.hover(uri, line, start + 2)
    assert "code|1|type" in hover.contents.value and "type" in hover.contents.value.lower()
    # In a type cell: the types of the file's version; in an ICD code cell: ICD-10 codes.
    line, start, _ = pos(HPT_TALL_V3, "WIDGET")
    result = await lsp.complete(uri, line, start)
    labels = {i.label for i in result.items}
    assert {"CPT", "HCPCS", "NDC", "RC", "MS-DRG", "CMG"} <= labels
    line, start, _ = pos(HPT_TALL_V3, "E11,ICD")
    result = await lsp.complete(uri, line, start + 3)
    assert "E11.9" in [i.label for i in result.items]
    lsp.close(uri)


async def test_price_file_json(lsp: Session):
    uri = "file:///tmp/e2e/docs/00-0000000_medcode-test_standardcharges.json"
    lsp.open(uri, JSON_DOC, "json")
    diags = await lsp.diagnostics(uri)
    assert ("invalid-code", *pos(JSON_DOC, "E1199")) in keyed(diags)
    assert not [d for d in diags if (d.range.start.line, d.range.start.character) == pos(JSON_DOC, "E11.9")[:2]]
    line, start, _ = pos(JSON_DOC, "E11.9")
    hover = await lsp.hover(uri, line, start + 2)
    assert "Type 2 diabetes mellitus without complications" in hover.contents.value
    lsp.close(uri)


async def test_template_codes_only_where_declared(lsp: Session):
    uri = "file:///tmp/e2e/docs/followup.md"
    lsp.open(uri, TEMPLATE, "markdown")
    diags = await lsp.diagnostics(uri)
    found = keyed(diags)
    assert ("not-billable", *pos(TEMPLATE, "E11]")[:2], pos(TEMPLATE, "E11]")[1] + 3) in found
    assert ("invalid-code", *pos(TEMPLATE, "E1199")) in found
    # Declared and valid: silent. Template syntax, vitals, bare words and the off region: silent.
    lines_with_findings = {d.range.start.line for d in diags}
    for quiet in ("Assessment:", "Plan:", "Bare mention", "Z99.99"):
        assert pos(TEMPLATE, quiet)[0] not in lines_with_findings, quiet
    hover = await lsp.hover(uri, *pos(TEMPLATE, "E11.65")[:2])
    assert "Type 2 diabetes mellitus with hyperglycemia" in hover.contents.value
    assert "2026-03-10" in hover.contents.value  # front matter date of service
    # Completion after a prefix, by description word.
    text = TEMPLATE + "Dx: hyperglyc"
    lsp.change(uri, types.TextDocumentContentChangeWholeDocument(text=text))
    line = text.count("\n")
    result = await lsp.complete(uri, line, len("Dx: hyperglyc"))
    assert result.items and all("." in i.label or len(i.label) == 3 for i in result.items)
    assert any("hyperglycemia" in (i.label_details.description or "").lower() for i in result.items)
    # A code action writes the official description after a code.
    line, start, end = pos(text, "E11.65")
    params = types.CodeActionParams(
        lsp.doc(uri), types.Range(types.Position(line, start), types.Position(line, end)), types.CodeActionContext(diagnostics=[])
    )
    actions = await lsp.client.text_document_code_action_async(params)
    (describe,) = [a for a in actions if a.title == "Insert the description of E11.65"]
    (edit,) = describe.edit.changes[uri]
    assert edit.new_text == " (Type 2 diabetes mellitus with hyperglycemia)" and edit.range.start.character == end
    lsp.close(uri)


async def test_settings_switch_kinds_sets_rules_and_bare_hints(default_index):
    """Settings given by the client change what is checked, without restarting."""
    session = await start(PROFILES[0], default_index, settings={"templates": {"bareCodeHints": True}})
    try:
        uri = "file:///tmp/e2e/settings/followup.md"
        session.open(uri, TEMPLATE, "markdown")
        diags = await session.diagnostics(uri)
        # Bare codes are hints at most, never errors; E78.5 is a real code, so nothing.
        assert not [d for d in diags if d.range.start.line == pos(TEMPLATE, "Bare mention")[0]]
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=TEMPLATE + "\nAlso E11.99 mentioned.\n"))
        diags = await session.diagnostics(uri)
        bare = [d for d in diags if d.range.start.line == TEMPLATE.count("\n") + 1]
        assert bare and {d.severity for d in bare} == {types.DiagnosticSeverity.Hint}

        # Turn ICD-10-CM off: its findings go; turn templates off: nothing at all.
        session.settings({"codeSets": {"icd10cm": False}})
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=TEMPLATE))
        diags = await session.diagnostics(uri)
        assert not [d for d in diags if d.code in ("invalid-code", "not-billable")]
        session.settings({"fileKinds": {"templates": False}})
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=TEMPLATE + " "))
        assert await session.diagnostics(uri) == []
        # Severity overrides: not-billable as an error, invalid-code off.
        session.settings({"severity": {"not-billable": "error", "invalid-code": "off"}})
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=TEMPLATE + "  "))
        diags = await session.diagnostics(uri)
        assert {d.code for d in diags} == {"not-billable"}
        assert {d.severity for d in diags} == {types.DiagnosticSeverity.Error}
    finally:
        await stop(session)


# -- documents that are not medcode's, and settings the server cannot use ------------------------
PACKAGE_JSON = '{\n  "name": "my-app",\n  "version": "1.2.3",\n  "scripts": {"test": "jest"}\n}\n'
README_MD = "# my-app\n\nA small web app: run `npm ci`, then `npm test`.\n"


async def test_files_that_do_not_look_medical_get_nothing(lsp: Session):
    """A plain package.json and README.md: no diagnostics, hover or completion; a price JSON
    and a template opened beside them in the same session still get their findings."""
    for uri, text, language in (
        ("file:///tmp/e2e/plain/package.json", PACKAGE_JSON, "json"),
        ("file:///tmp/e2e/plain/README.md", README_MD, "markdown"),
    ):
        lsp.open(uri, text, language)
        assert await lsp.diagnostics(uri) == [], uri
        assert await lsp.hover(uri, 0, 4) is None, uri
        result = await lsp.complete(uri, 0, 4)
        assert result is None or not result.items, uri
        lsp.close(uri)
    for uri, text, language, rule, needle in (
        ("file:///tmp/e2e/plain/prices.json", JSON_DOC, "json", "invalid-code", "E1199"),
        ("file:///tmp/e2e/plain/visit.md", TEMPLATE, "markdown", "invalid-code", "E1199"),
    ):
        lsp.open(uri, text, language)
        assert (rule, *pos(text, needle)) in keyed(await lsp.diagnostics(uri)), uri
        lsp.close(uri)


async def test_bad_setting_shown_once_and_files_exclude_turns_documents_away(default_index):
    """`"debounceMs": "fast"` is named in one warning (and not again when the same section is
    sent again); a file matching `files.exclude` gets nothing although it names a code set,
    while the same text elsewhere gets diagnostics and completion."""
    settings = {"debounceMs": "fast", "files": {"exclude": ["**/excluded/**"]}}
    session = await start(PROFILES[0], default_index, settings=settings)
    try:
        text = "Dx: E1199\nDx: hyperglyc"
        line, character = 1, len("Dx: hyperglyc")
        kept, turned_away = "file:///tmp/e2e/kept/visit.md", "file:///tmp/e2e/excluded/visit.md"
        session.open(kept, text, "markdown")
        session.open(turned_away, text, "markdown")
        assert ("invalid-code", *pos(text, "E1199")) in keyed(await session.diagnostics(kept))
        assert (await session.complete(kept, line, character)).items
        assert await session.diagnostics(turned_away) == []
        assert await session.complete(turned_away, line, character) is None
        assert await session.hover(turned_away, *pos(text, "E1199")[:2]) is None

        def about_debounce() -> list[types.ShowMessageParams]:
            return [m for m in session.client.messages if "debounceMs" in m.message]

        (message,) = about_debounce()
        assert message.type == types.MessageType.Warning
        assert "medcode.debounceMs" in message.message and "a string" in message.message and "200" in message.message
        # VS Code registers for changes of the section (no synchronize.configurationSection).
        (registration,) = [r for r in session.client.registrations if r.method == types.WORKSPACE_DID_CHANGE_CONFIGURATION]
        assert registration.register_options == {"section": "medcode"}
        # The same section again (any change of any setting re-sends it): not shown again.
        session.settings(settings)
        session.change(kept, types.TextDocumentContentChangeWholeDocument(text=text + " "))
        await session.diagnostics(kept)
        assert len(about_debounce()) == 1
        # Fixed: the excluded file stays excluded, and the good value is used without a word.
        session.settings({"debounceMs": 0, "files": {"exclude": ["**/excluded/**"]}})
        session.change(turned_away, types.TextDocumentContentChangeWholeDocument(text=text + " "))
        assert await session.diagnostics(turned_away) == []
        assert len(about_debounce()) == 1
    finally:
        await stop(session)


async def test_settings_answered_late_still_apply(default_index):
    """A client that answers workspace/configuration after the server stopped waiting (one
    starting on a loaded machine): its settings apply from then on, not never. Here its
    files.exclude turns away a document the server first checked with the defaults."""
    from medcode.server.lsp.server import SETTINGS_WAIT

    answered = asyncio.Event()

    settings = {"files": {"exclude": ["**/excluded/**"]}}

    async def slow_configuration(params: types.ConfigurationParams):
        await asyncio.sleep(SETTINGS_WAIT + 1.0)
        answered.set()
        return [settings if item.section == "medcode" else None for item in params.items]

    session = await start(PROFILES[0], default_index, settings=settings, client_features={types.WORKSPACE_CONFIGURATION: slow_configuration})
    try:
        text = "Dx: E1199\n"
        uri = "file:///tmp/e2e/excluded/late.md"
        session.open(uri, text, "markdown")
        # Before the answer: the defaults, which exclude nothing.
        assert ("invalid-code", *pos(text, "E1199")) in keyed(await session.diagnostics(uri))
        await asyncio.wait_for(answered.wait(), SETTINGS_WAIT + 10)
        await asyncio.sleep(0.5)  # the answer travels to the server
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=text + " "))
        assert await session.diagnostics(uri) == []
    finally:
        await stop(session)
