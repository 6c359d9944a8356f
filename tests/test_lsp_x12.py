"""End to end over real LSP stdio: `python -m medcode.server serve` driven by pytest-lsp.

Every test runs twice, once per captured client capability profile:

* VS Code 1.65 — no `textDocument.diagnostic`: the server PUSHES diagnostics
  (textDocument/publishDiagnostics), positions in UTF-16;
* Neovim 0.11 — advertises `textDocument.diagnostic`: the server answers PULL requests
  (textDocument/diagnostic) and never publishes; positions in UTF-8.

One server per profile serves the whole module (each test opens its own URIs); the tests
that need a server of their own (settings before initialize, stderr capture) start one.
The index folder is the session's `default_index` (ICD-10-CM FY2026, PCS FY2024, NDC 2019).
"""

from __future__ import annotations

import ast
import asyncio
import sys

import pytest
from lsprotocol import types
from lsp_session import (
    D837,
    ERROR,
    HI_ERR,
    HI_OK,
    I837,
    INFORMATION,
    P837,
    PROFILES,
    STDERR_WRAPPER,
    TIMEOUT,
    WARNING,
    Session,
    after_fixing_dotted,
    as_tuple,
    expected_837p,
    keyed,
    line_of,
    place,
    rng,
    start,
    stop,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


# -- 1. open → diagnostics -----------------------------------------------------------------------
async def test_capabilities_choose_push_or_pull(lsp: Session):
    caps = lsp.init.capabilities
    assert lsp.init.server_info.name == "medcode"
    assert caps.diagnostic_provider is not None and caps.diagnostic_provider.identifier == "medcode"
    assert caps.hover_provider and caps.document_symbol_provider and caps.inlay_hint_provider
    assert caps.completion_provider.resolve_provider is True
    assert lsp.encoding == (types.PositionEncodingKind.Utf8 if lsp.pull else types.PositionEncodingKind.Utf16)


@pytest.mark.parametrize("newline, language_id", [("\n", "x12"), ("\r\n", "plaintext")])
async def test_837p_diagnostics_on_open(lsp: Session, newline: str, language_id: str):
    # X12 is found by content, whatever the languageId; CRLF line ends give the same positions.
    uri = f"file:///tmp/e2e/open/claims-{language_id}.837"
    lsp.open(uri, P837.replace("\n", newline), language_id)
    diags = await lsp.diagnostics(uri)
    assert keyed(diags) == expected_837p()
    assert len(diags) == len(expected_837p())  # no duplicates
    assert {d.source for d in diags} == {"medcode"}
    by_code = {(d.code, d.range.start.character): d for d in diags}
    assert by_code[("invalid-code", place(P837, HI_ERR, "E1199")[1])].message == "E11.99 is not a code in ICD-10-CM FY2026 (CMS MCE v43 tables)"
    assert "ICD-10-PCS" in by_code[("wrong-code-set", place(P837, HI_ERR, "0DTJ4ZZ")[1])].message
    assert "87 billable codes" in by_code[("not-billable", place(P837, HI_ERR, "E11*")[1])].message
    # The valid claim: E119, I10, S72001A, J1100's pointers, the good NDC: nothing but the
    # data note on the first CPT code.
    valid = range(line_of(P837, "CLM*VALID01"), line_of(P837, "HL*3*"))
    assert {d.code for d in diags if d.range.start.line in valid} == {"not-in-index"}
    ok_line = line_of(P837, HI_OK)
    assert not [d for d in diags if d.range.start.line == ok_line]
    assert {d.severity for d in diags if d.code == "not-in-index"} == {INFORMATION}
    lsp.close(uri)


async def test_pull_reports_are_versioned(lsp: Session):
    if not lsp.pull:
        pytest.skip("push client: no textDocument/diagnostic requests")
    uri = "file:///tmp/e2e/pull/claims.837"
    lsp.open(uri, P837)
    first = await lsp.client.text_document_diagnostic_async(types.DocumentDiagnosticParams(lsp.doc(uri)))
    assert first.kind == "full" and first.result_id
    again = await lsp.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(lsp.doc(uri), previous_result_id=first.result_id)
    )
    assert again.kind == "unchanged" and again.result_id == first.result_id
    lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(*place(P837, HI_ERR, "E11.9")), text="E119"))
    after = await lsp.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(lsp.doc(uri), previous_result_id=first.result_id)
    )
    assert after.kind == "full" and after.result_id != first.result_id
    assert len(after.items) == len(first.items) - 1
    lsp.close(uri)


async def test_push_clears_on_close(lsp: Session):
    if lsp.pull:
        pytest.skip("pull client: nothing is pushed")
    uri = "file:///tmp/e2e/close/claims.837"
    lsp.open(uri, P837)
    assert await lsp.diagnostics(uri)
    lsp.close(uri)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline and lsp.client.diagnostics.get(uri):
        await asyncio.sleep(0.02)
    assert list(lsp.client.diagnostics[uri]) == []


# -- 2. incremental edits ------------------------------------------------------------------------
async def test_incremental_edit_fixes_and_introduces_errors(lsp: Session):
    uri = "file:///tmp/e2e/edit/claims.837"
    lsp.open(uri, P837)
    before = keyed(await lsp.diagnostics(uri))
    assert before == expected_837p()

    # Fix the dotted code with a range edit only: E11.9 -> E119 (one character shorter).
    line, start, end = place(P837, HI_ERR, "E11.9")
    lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(line, start, end), text="E119"))
    after = keyed(await lsp.diagnostics(uri))
    moved = after_fixing_dotted(before, line, start)
    assert after == moved
    assert ("invalid-code", line, start + 10 - 1, start + 10 - 1 + 5, ERROR) in after  # E1199 shifted left

    # A new error elsewhere: an insertion (empty range) turns I10 of the valid claim into I109.
    ok_line, _, i10_end = place(P837, HI_OK, "I10")
    lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(ok_line, i10_end, i10_end), text="9"))
    diags = await lsp.diagnostics(uri)
    assert keyed(diags) == moved | {("invalid-code", ok_line, i10_end - 3, i10_end + 1, ERROR)}
    new = next(d for d in diags if d.range.start.line == ok_line)
    assert new.message == "I10.9 is not a code in ICD-10-CM FY2026 (CMS MCE v43 tables)"

    # Two changes in one notification, applied in order: undo the insertion, then delete the
    # whole HI*BK:25000 line (multi-line range): the ICD-9 finding goes, and the claim's line
    # now points at a diagnosis that no longer exists.
    hi9 = line_of(P837, "HI*BK:25000")
    sv1_line, ptr, _ = place(P837, "SV1*HC:99213", "1~", nth=1)
    lsp.change(
        uri,
        types.TextDocumentContentChangePartial(range=rng(ok_line, i10_end, i10_end + 1), text=""),
        types.TextDocumentContentChangePartial(range=types.Range(types.Position(hi9, 0), types.Position(hi9 + 1, 0)), text=""),
    )
    diags = await lsp.diagnostics(uri)
    final = keyed(diags)
    assert ("wrong-icd-version", hi9, *place(P837, "HI*BK:25000", "25000")[1:], ERROR) not in final
    assert not any(ln == ok_line for _, ln, *_ in final)
    pointer = ("invalid-pointer", sv1_line - 1, ptr, ptr + 1, ERROR)
    # ... and the transaction's segment count in SE01 is now one too many.
    se_line = line_of(P837, "SE*45*0001") - 1
    count = ("x12-structure", se_line, 0, len("SE*45*0001"), WARNING)
    assert final == {k for k in moved if k[0] != "wrong-icd-version"} | {pointer, count}
    messages = {d.code: d.message for d in diags if d.range.start.line in (sv1_line - 1, se_line)}
    assert messages == {
        "invalid-pointer": "diagnosis pointer 1 points to no diagnosis: the claim has no diagnosis codes in HI",
        "x12-structure": "SE01 says 45 segments, the transaction has 44",
    }
    lsp.close(uri)


async def test_whole_document_change(lsp: Session):
    uri = "file:///tmp/e2e/full/claims.837"
    lsp.open(uri, P837)
    assert keyed(await lsp.diagnostics(uri)) == expected_837p()
    lsp.change(uri, types.TextDocumentContentChangeWholeDocument(text=D837))
    assert {d.code for d in await lsp.diagnostics(uri)} == {"bad-format", "invalid-pointer"}
    lsp.close(uri)


async def test_positions_follow_the_negotiated_encoding(lsp: Session):
    """One-line X12 (no newlines, common in real files) with non-ASCII names before the codes:
    UTF-8 (Neovim) and UTF-16 (VS Code) columns differ, and both must be exact."""
    text = P837.replace("\n", "").replace("MEDCODE TEST CLINIC", "CLÍNICA 😀 MEDCODE")
    assert "\n" not in text
    uri = "file:///tmp/e2e/oneline/claims.837"
    lsp.open(uri, text)

    def column(offset: int) -> int:
        prefix = text[:offset]
        if lsp.encoding == types.PositionEncodingKind.Utf8:
            return len(prefix.encode("utf-8"))
        return len(prefix.encode("utf-16-le")) // 2

    dotted = text.index("E11.9")
    assert column(dotted) != dotted  # neither counts code points: the test tells them apart
    diags = await lsp.diagnostics(uri)
    found = {(d.code, as_tuple(d.range)) for d in diags}
    assert ("bad-format", (0, column(dotted), 0, column(dotted + 5))) in found
    assert len(diags) == len(expected_837p())
    ok = text.index("ABK:E119") + 4
    hover = await lsp.hover(uri, 0, column(ok) + 1)
    assert hover is not None and "Type 2 diabetes mellitus without complications" in hover.contents.value
    assert as_tuple(hover.range) == (0, column(ok), 0, column(ok + 4))
    lsp.close(uri)


# -- 3. hover ------------------------------------------------------------------------------------
@pytest.fixture
def hover_uri(lsp: Session, request) -> str:
    uri = f"file:///tmp/e2e/hover/{request.node.originalname}.837"
    lsp.open(uri, P837)
    yield uri
    lsp.close(uri)


async def test_hover_icd10cm_code(lsp: Session, hover_uri):
    line, start, end = place(P837, HI_OK, "E119")
    hover = await lsp.hover(hover_uri, line, start + 2)
    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    text = hover.contents.value
    assert "Type 2 diabetes mellitus without complications" in text
    assert "ICD-10-CM FY2026" in text
    assert "· billable" in text and "not billable" not in text
    assert "Principal diagnosis" in text and "date of service 2026-03-10" in text
    assert as_tuple(hover.range) == (line, start, line, end)


async def test_hover_qualifier_segment_and_seventh_character(lsp: Session, hover_uri):
    line, start, end = place(P837, HI_OK, "ABK")
    hover = await lsp.hover(hover_uri, line, start + 1)
    assert "Principal diagnosis" in hover.contents.value
    assert as_tuple(hover.range) == (line, start, line, end)

    clm = line_of(P837, "CLM*VALID01")
    hover = await lsp.hover(hover_uri, clm, 1)
    assert hover.contents.value.startswith("**CLM** — Claim information")
    assert as_tuple(hover.range) == (clm, 0, clm, 3)

    line, start, end = place(P837, HI_OK, "S72001A")
    hover = await lsp.hover(hover_uri, line, end - 1)
    text = hover.contents.value
    assert "7th character: A = initial encounter for closed fracture" in text
    assert "S72.001A" in text and as_tuple(hover.range) == (line, start, line, end)


async def test_hover_ndc_and_pointer(lsp: Session, hover_uri):
    line, start, end = place(P837, "LIN**N4*00002821501", "00002821501")
    hover = await lsp.hover(hover_uri, line, start + 5)
    text = hover.contents.value
    assert "Humulin" in text and "Eli Lilly" in text and "FDA NDC Directory 2019-04-29" in text
    assert as_tuple(hover.range) == (line, start, line, end)

    line, start, _ = place(P837, "SV1*HC:J1100", "1:2")
    first = await lsp.hover(hover_uri, line, start)
    second = await lsp.hover(hover_uri, line, start + 2)
    assert "→ ABK `E119`" in first.contents.value and "diagnosis 1 of 3" in first.contents.value
    assert "→ ABF `I10`" in second.contents.value
    assert as_tuple(second.range) == (line, start + 2, line, start + 3)



async def test_hover_on_pointers_in_other_digits(lsp: Session):
    # "²" is a digit to str.isdigit() that int() refuses; Arabic-Indic "١" one it reads as 1:
    # neither points to a diagnosis, and the hover still answers.
    uri = "file:///tmp/e2e/hover/other-digits.837"
    text = P837.replace("SV1*HC:J1100:RT*50.00*UN*1***1:2~", "SV1*HC:J1100:RT*50.00*UN*1***\u00b2:\u0661~")
    lsp.open(uri, text)
    line, start, _ = place(text, "SV1*HC:J1100", "\u00b2")
    # Both are one UTF-16 unit and two UTF-8 bytes: the second starts after the first and ":".
    width = 2 if lsp.encoding == types.PositionEncodingKind.Utf8 else 1
    for at, digit in ((start, "\u00b2"), (start + width + 1, "\u0661")):
        hover = await lsp.hover(uri, line, at)
        assert hover.contents.value.startswith(f"**Diagnosis pointer {digit}**"), hover.contents.value
        assert "→" not in hover.contents.value
    lsp.close(uri)

async def test_hover_on_findings_and_nothing(lsp: Session, hover_uri):
    await lsp.diagnostics(hover_uri)  # the check has run: hovers show its findings
    line, start, _ = place(P837, HI_ERR, "E1199")
    hover = await lsp.hover(hover_uri, line, start + 1)
    assert "is not a code in ICD-10-CM FY2026" in hover.contents.value
    # Between segments / on a plain element of no interest: no hover.
    per = line_of(P837, "PER*IC*BILLING")
    assert await lsp.hover(hover_uri, per, 8) is None


# -- 4. completion ------------------------------------------------------------------------------
async def complete_typed(lsp: Session, uri: str, typed: str) -> tuple[types.CompletionList | None, int]:
    """Open the 837P up to the valid claim's HI line, then `typed` as the last line, and ask
    for completion at its end: (the answer, that line)."""
    n = line_of(P837, HI_OK)
    lsp.open(uri, "\n".join(P837.splitlines()[:n] + [typed]))
    return await lsp.complete(uri, n, len(typed)), n


async def test_completion_after_code_prefix(lsp: Session):
    uri = "file:///tmp/e2e/complete/e11.837"
    result, line = await complete_typed(lsp, uri, "HI*ABK:E11")
    assert isinstance(result, types.CompletionList)
    assert result.is_incomplete is True
    assert 0 < len(result.items) <= 50
    labels = [i.label for i in result.items]
    assert "E119" in labels and all(label.startswith("E11") for label in labels)
    e119 = result.items[labels.index("E119")]
    assert as_tuple(e119.text_edit.range) == (line, 7, line, 10)  # exactly the typed E11
    assert e119.text_edit.new_text == "E119"
    assert e119.label_details.description == "Type 2 diabetes mellitus without complications"
    assert "ICD-10-CM FY2027" in e119.detail and "not billable" not in e119.detail  # today's release
    assert {as_tuple(i.text_edit.range) for i in result.items} == {(line, 7, line, 10)}

    # completionItem/resolve fills in the markdown documentation.
    resolved = await lsp.client.completion_item_resolve_async(e119)
    assert resolved.documentation.kind == types.MarkupKind.Markdown
    assert "Type 2 diabetes mellitus without complications" in resolved.documentation.value
    assert "ICD-10-CM FY2027" in resolved.documentation.value
    lsp.close(uri)


async def test_completion_billable_before_headers(lsp: Session):
    typed = "HI*ABK:E1132"
    uri = "file:///tmp/e2e/complete/e1132.837"
    result, line = await complete_typed(lsp, uri, typed)
    billable = [i for i in result.items if "not billable" not in i.detail]
    headers = [i for i in result.items if "not billable" in i.detail]
    assert billable and headers
    assert "E113211" in {i.label for i in billable} and "E11321" in {i.label for i in headers}
    assert max(i.sort_text for i in billable) < min(i.sort_text for i in headers)
    assert {i.kind for i in headers} == {types.CompletionItemKind.Folder}
    assert all(i.label.startswith("E1132") for i in result.items)
    lsp.close(uri)


async def test_completion_by_description_words(lsp: Session):
    typed = "HI*ABK:diabet"
    uri = "file:///tmp/e2e/complete/diabet.837"
    result, line = await complete_typed(lsp, uri, typed)
    assert result.is_incomplete is True and 10 <= len(result.items) <= 50
    labels = {i.label for i in result.items}
    assert {"E119", "E109"} <= labels
    for item in result.items:
        assert as_tuple(item.text_edit.range) == (line, 7, line, 13)
        if "diabet" not in item.label_details.description.lower():
            # e.g. E83.110 Hereditary hemochromatosis, found by its inclusion term "Bronzed diabetes"
            resolved = await lsp.client.completion_item_resolve_async(item)
            assert "diabet" in resolved.documentation.value.lower(), item.label
    lsp.close(uri)


async def test_completion_procedure_and_ndc(lsp: Session):
    typed = "SV1*HC:"
    uri = "file:///tmp/e2e/complete/sv1.837"
    result, line = await complete_typed(lsp, uri, typed)
    # HCPCS Level II from the embedded CMS I/OCE tables; no CPT data, so no CPT code offered.
    assert result is not None and result.items
    assert all(i.data["set"] == "hcpcs" and i.label[0].isalpha() for i in result.items)

    typed = "LIN**N4*0000282"
    uri2 = "file:///tmp/e2e/complete/lin.837"
    result, line = await complete_typed(lsp, uri2, typed)
    labels = [i.label for i in result.items]
    assert "00002821501" in labels and all(label.startswith("0000282") for label in labels)
    assert {as_tuple(i.text_edit.range) for i in result.items} == {(line, 8, line, 15)}
    item = result.items[labels.index("00002821501")]
    resolved = await lsp.client.completion_item_resolve_async(item)
    assert "Humulin" in resolved.documentation.value and "Eli Lilly" in resolved.documentation.value

    # Qualifiers: after "HI*AB" the ICD-10-CM diagnosis qualifiers.
    typed = "HI*AB"
    uri3 = "file:///tmp/e2e/complete/qual.837"
    result, line = await complete_typed(lsp, uri3, typed)
    by_label = {i.label: i for i in result.items}
    assert "ABK" in by_label and by_label["ABK"].detail.startswith("Principal diagnosis")
    assert all(label.startswith("AB") for label in by_label)
    assert as_tuple(by_label["ABK"].text_edit.range) == (line, 3, line, 5)
    for u in (uri, uri2, uri3):
        lsp.close(u)


async def test_completion_typed_by_incremental_changes(lsp: Session):
    """Typing character by character into an open claim, as an editor sends it."""
    uri = "file:///tmp/e2e/complete/typing.837"
    lsp.open(uri, P837)
    line, _, end = place(P837, HI_OK, "S72001A")
    lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(line, end, end), text="*"))
    col = end + 1
    for ch in "ABF:I1":
        lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(line, col, col), text=ch))
        col += 1
    result = await lsp.complete(uri, line, col)
    labels = [i.label for i in result.items]
    assert labels[0] == "I10"  # shortest first: the 3-character code before I11.0, I12.0…
    assert {as_tuple(i.text_edit.range) for i in result.items} == {(line, col - 2, line, col)}
    lsp.close(uri)


# -- 5. code actions ----------------------------------------------------------------------------
async def test_code_actions_from_diagnostics(lsp: Session):
    uri = "file:///tmp/e2e/actions/claims.837"
    lsp.open(uri, P837)
    diags = await lsp.diagnostics(uri)

    def diag(rule: str, needle: str) -> types.Diagnostic:
        line, start, _ = place(P837, HI_ERR, needle)
        return next(d for d in diags if d.code == rule and (d.range.start.line, d.range.start.character) == (line, start))

    dotted = diag("bad-format", "E11.9")
    actions = await lsp.actions(uri, dotted)
    assert [(a.title, a.kind, a.is_preferred) for a in actions] == [("Change to E119", types.CodeActionKind.QuickFix, True)]
    (edit,) = actions[0].edit.changes[uri]
    assert edit.new_text == "E119" and as_tuple(edit.range) == as_tuple(dotted.range)
    line, start, end = place(P837, HI_ERR, "E11.9")
    assert as_tuple(edit.range) == (line, start, line, end)

    header = diag("not-billable", "E11*")
    actions = await lsp.actions(uri, header)
    replace, more = actions[:-1], actions[-1]
    assert len(replace) == 5 and all(a.title.startswith("Replace with ") for a in replace)
    assert replace[0].title == "Replace with E11.9 — Type 2 diabetes mellitus without complications"
    for a in replace:
        (e,) = a.edit.changes[uri]
        assert as_tuple(e.range) == as_tuple(header.range) and e.new_text.startswith("E11") and len(e.new_text) > 3
    # "More": the server offers a longer list and writes the code the user picks. lsprotocol's
    # client-side parser reads a code action that has a command as a bare Command whose
    # `command` is the printed dict (editors parse it right); read the command back from it.
    assert more.title == "More billable codes under E11…"
    command = ast.literal_eval(more.command) if isinstance(more, types.Command) else vars(more.command)
    assert command["command"] == "medcode.chooseCode"
    picked = await lsp.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
    )
    offered = lsp.client.message_requests[-1]
    assert "Billable codes under E11 (the first 20 of 87" in offered.message and len(offered.actions) == 20
    assert picked == offered.actions[1].title.split(" — ")[0].replace(".", "")
    (applied,) = lsp.client.applied_edits[-1].changes[uri]
    assert applied.new_text == picked and as_tuple(applied.range) == as_tuple(header.range)

    seventh = diag("not-billable", "S72001")
    actions = await lsp.actions(uri, seventh)
    assert actions[0].title.startswith("Add 7th character A: S72.001A")
    assert all(a.title.startswith("Add 7th character ") for a in actions)
    assert [a.edit.changes[uri][0].new_text for a in actions][:2] == ["S72001A", "S72001B"]

    # Applying the quick fix as the editor would: the finding goes away, the rest stay.
    lsp.change(uri, types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    after = keyed(await lsp.diagnostics(uri))
    assert len(after) == len(diags) - 1 and not any(k[0] == "bad-format" and k[1] == dotted.range.start.line for k in after)

    # Diagnostics of other tools are left alone.
    foreign = types.Diagnostic(range=dotted.range, message="x", source="other", data={"fixes": [{"t": "Bad", "s": 0, "e": 1, "x": "?"}]})
    assert await lsp.actions(uri, foreign) == []
    # The fixes stay in the server, the diagnostic carries only a handle to them: one the
    # client kept from another session, on a diagnostic saying something else, finds none.
    assert isinstance(header.data, int) and not isinstance(header.data, bool)
    other = types.Diagnostic(range=header.range, message="E11 is something else", code=header.code, source=header.source, data=header.data)
    assert await lsp.actions(uri, other) == []
    lsp.close(uri)


# -- 6. document symbols -------------------------------------------------------------------------
async def test_document_symbols_outline(lsp: Session):
    uri = "file:///tmp/e2e/symbols/claims.837"
    lsp.open(uri, P837)
    symbols = await lsp.symbols(uri)
    assert len(symbols) == 1
    interchange = symbols[0]
    assert interchange.name.startswith("Interchange") and interchange.kind == types.SymbolKind.Package
    (group,) = interchange.children
    (transaction,) = group.children
    assert group.kind == types.SymbolKind.Namespace and transaction.kind == types.SymbolKind.Module
    assert transaction.name.startswith("837P")
    (provider,) = transaction.children
    assert provider.name.startswith("Billing provider") and "MEDCODE TEST CLINIC" in provider.name
    assert len(provider.children) == 3 and all(s.name.startswith("Subscriber") for s in provider.children)
    subscriber = provider.children[0]
    (claim,) = subscriber.children
    assert claim.name == "Claim VALID01" and claim.kind == types.SymbolKind.Object
    assert [line.name for line in claim.children] == ["Line 1: J1100", "Line 2: 99213"]
    assert all(line.kind == types.SymbolKind.Field for line in claim.children)
    assert [c.children[0].name for c in provider.children] == ["Claim VALID01", "Claim ERRORS01", "Claim ICD9LATE"]
    # Ranges nest and start where the segments are.
    clm = line_of(P837, "CLM*VALID01")
    assert claim.range.start.line == clm and claim.selection_range.start.line == clm
    assert claim.children[0].range.start.line == line_of(P837, "LX*1")

    def inside(inner: types.Range, outer: types.Range) -> bool:
        return (outer.start.line, outer.start.character) <= (inner.start.line, inner.start.character) and (
            inner.end.line,
            inner.end.character,
        ) <= (outer.end.line, outer.end.character)

    def check(node) -> None:
        assert inside(node.selection_range, node.range)
        for child in node.children or []:
            assert inside(child.range, node.range), (child.name, node.name)
            check(child)

    check(interchange)
    lsp.close(uri)


# -- 7. inlay hints ------------------------------------------------------------------------------
async def test_inlay_hints_off_by_default_then_on(lsp: Session):
    uri = "file:///tmp/e2e/inlay/claims.837"
    lsp.open(uri, P837)
    last = len(P837.splitlines())
    assert await lsp.inlay(uri, 0, last) == []

    lsp.settings({"inlayHints": {"enabled": True}})
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        hints = []
        while not hints and loop.time() < deadline:  # the server pulls the new settings first
            hints = await lsp.inlay(uri, 0, last)
            await asyncio.sleep(0.02)
        ok = line_of(P837, HI_OK)
        by_pos = {(h.position.line, h.position.character): h.label for h in hints}
        assert by_pos[(ok, place(P837, HI_OK, "E119")[2])].startswith("Type 2 diabetes mellitus")
        assert by_pos[(ok, place(P837, HI_OK, "I10")[2])] == "Essential (primary) hypertension"
        assert by_pos[place(P837, "LIN**N4*00002821501", "00002821501")[::2]] == "Humulin R"
        assert all(len(h.label) <= 40 and h.padding_left for h in hints)
        # Invalid or malformed codes get no description.
        assert (line_of(P837, HI_ERR), place(P837, HI_ERR, "E1199")[2]) not in by_pos
        # Only the requested lines.
        only = await lsp.inlay(uri, ok, ok)
        assert {h.position.line for h in only} == {ok} and len(only) == 3
    finally:
        lsp.settings({})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while await lsp.inlay(uri, 0, last) and loop.time() < deadline:
            await asyncio.sleep(0.02)
    assert await lsp.inlay(uri, 0, last) == []
    lsp.close(uri)


@pytest.mark.parametrize("profile", PROFILES)
async def test_settings_before_initialize(default_index, profile: str):
    """Settings present when the server first asks (workspace/configuration right after
    initialized): hints on and rule severities changed from the first diagnostics on."""
    settings = {"inlayHints": {"enabled": True}, "severity": {"not-billable": "error", "not-in-index": "off"}}
    session = await start(profile, default_index, settings=settings)
    try:
        uri = "file:///tmp/e2e/settings/claims.837"
        session.open(uri, P837)
        diags = keyed(await session.diagnostics(uri))
        expected = {
            (r, ln, a, b, ERROR if r == "not-billable" else sev) for r, ln, a, b, sev in expected_837p() if r != "not-in-index"
        }
        assert diags == expected
        ok = line_of(P837, HI_OK)
        assert len(await session.inlay(uri, ok, ok)) == 3
    finally:
        await stop(session)


async def test_severity_setting_changes_open_documents(lsp: Session):
    """workspace/didChangeConfiguration: the server re-pulls its settings; a push client gets
    the open document's diagnostics again, a pull client gets a new full report."""
    uri = "file:///tmp/e2e/severity/claims.837"
    lsp.open(uri, P837)
    before = await lsp.diagnostics(uri)
    result_id = None
    if lsp.pull:
        report = await lsp.client.text_document_diagnostic_async(types.DocumentDiagnosticParams(lsp.doc(uri)))
        result_id = report.result_id
    invalid = place(P837, HI_ERR, "E1199")

    async def current() -> set:
        if lsp.pull:
            report = await lsp.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(lsp.doc(uri), previous_result_id=result_id)
            )
            return keyed(report.items) if report.kind == "full" else keyed(before)
        return keyed(lsp.client.published[uri][-1].diagnostics)

    async def until(predicate) -> set:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not predicate(found := await current()) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return found

    try:
        lsp.settings({"severity": {"invalid-code": "hint", "bad-format": "off"}})
        found = await until(lambda k: ("invalid-code", *invalid, types.DiagnosticSeverity.Hint) in k)
        assert found == {
            (r, ln, a, b, types.DiagnosticSeverity.Hint if r == "invalid-code" else sev)
            for r, ln, a, b, sev in keyed(before)
            if r != "bad-format"
        }
    finally:
        lsp.settings({})
    found = await until(lambda k: k == keyed(before))
    assert found == keyed(before) == expected_837p()
    lsp.close(uri)


# -- 8. other X12 kinds, non-X12 and garbage ----------------------------------------------------
async def test_837i_diagnostics(lsp: Session):
    uri = "file:///tmp/e2e/kinds/claims_i.837"
    lsp.open(uri, I837)
    diags = keyed(await lsp.diagnostics(uri))
    bbq = "HI*BBR:02703ZZ"
    assert diags >= {
        ("wrong-code-set", *place(I837, bbq, "E119"), ERROR),
        ("bad-format", *place(I837, bbq, "0DTJ4ZO"), ERROR),
        ("bad-format", *place(I837, "SV2*305", "305"), ERROR),
        ("invalid-code", *place(I837, "HI*ABF:Z9999", "Z9999"), ERROR),  # FY2024 is in force
    }
    hi = line_of(I837, "HI*ABK:I214")
    assert not [k for k in diags if k[1] == hi]  # I214, principal diagnosis: valid
    assert ("wrong-code-set", *place(I837, bbq, "02703ZZ"), ERROR) not in diags
    # The BBR procedure code is PCS: hover says so.
    line, start, _ = place(I837, bbq, "02703ZZ")
    hover = await lsp.hover(uri, line, start + 1)
    assert "ICD-10-PCS" in hover.contents.value
    lsp.close(uri)


async def test_837d_diagnostics(lsp: Session):
    uri = "file:///tmp/e2e/kinds/claims_d.837"
    lsp.open(uri, D837)
    line, col, _ = place(D837, "SV3*AD:2391", "1:3")
    assert keyed(await lsp.diagnostics(uri)) == {
        ("bad-format", *place(D837, "SV3*AD:2391", "2391"), ERROR),
        ("invalid-pointer", line, col + 2, col + 3, ERROR),
    }
    symbols = await lsp.symbols(uri)
    assert symbols[0].children[0].children[0].name.startswith("837D")
    lsp.close(uri)


async def test_non_x12_documents_get_no_diagnostics(lsp: Session):
    uri = "file:///tmp/e2e/kinds/notes.txt"
    text = "Patient seen for E11.9 and HI*ABK:E11.\nNo claim file here.\n"
    lsp.open(uri, text, language_id="plaintext")
    assert await lsp.diagnostics(uri) == []
    assert await lsp.hover(uri, 0, 18) is None
    assert await lsp.complete(uri, 1, 3) is None
    assert await lsp.symbols(uri) == []
    assert await lsp.inlay(uri, 0, 2) == []
    lsp.close(uri)


GARBAGE = [
    "\x00\x01\x02\x03\ufffd\ufffe garbage \x7f\x80\x9f",
    "ISA*00*",  # an envelope that stops short
    "ISA" + "*" * 300 + "~" * 50,
    "\ufeffISA*00*          *00*          *ZZ*S              *ZZ*R              *260316*1200*^*00501*000000001*0*T*:~HI*ABK:" + "\x00" * 20,
    P837[:700] + "\x1c\x1d\x1e" + bytes(range(32)).decode("latin-1") + P837[700:900],
    "".join(chr(c) for c in range(0x20, 0x3000, 7)),
    "~" * 5000,
    "",
]


async def test_garbage_does_not_crash_the_server(lsp: Session):
    for n, text in enumerate(GARBAGE):
        uri = f"file:///tmp/e2e/garbage/{n}.bin"
        lsp.open(uri, text, language_id="plaintext")
        diags = await lsp.diagnostics(uri)
        assert isinstance(diags, list)
        for position in [(0, 0), (0, 5), (0, 200), (3, 1)]:
            await lsp.hover(uri, *position)
            await lsp.complete(uri, *position)
        await lsp.symbols(uri)
        await lsp.inlay(uri, 0, 5)
        lsp.change(uri, types.TextDocumentContentChangePartial(range=rng(0, 0, 0), text="ISA*"))
        await lsp.diagnostics(uri)
        lsp.close(uri)
    # Still alive and still right.
    uri = "file:///tmp/e2e/garbage/after.837"
    lsp.open(uri, P837)
    assert keyed(await lsp.diagnostics(uri)) == expected_837p()
    line, start, _ = place(P837, HI_OK, "E119")
    assert "Type 2 diabetes" in (await lsp.hover(uri, line, start)).contents.value
    assert lsp.client.error is None
    lsp.close(uri)


async def test_requests_for_unknown_documents(lsp: Session):
    uri = "file:///tmp/e2e/never-opened.837"
    assert await lsp.hover(uri, 0, 0) is None
    assert await lsp.complete(uri, 0, 0) is None
    if lsp.pull:
        report = await lsp.client.text_document_diagnostic_async(types.DocumentDiagnosticParams(lsp.doc(uri)))
        assert list(report.items) == []


# -- 9. no document text on stderr ---------------------------------------------------------------
MARKER = "ZZMARKERQQ"


def marked_837p() -> str:
    # In a patient name, in a code that yields a finding (bad-format), and in a claim id.
    text = P837.replace("NM1*IL*1*DOE*JANE", f"NM1*IL*1*{MARKER}*JANE")
    text = text.replace("ABF:E11.9", f"ABF:E{MARKER}", 1).replace("CLM*ERRORS01", f"CLM*{MARKER}9")
    assert text.count(MARKER) == 3
    return text


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("level", [None, "DEBUG"])
async def test_no_document_text_on_stderr(default_index, tmp_path, level, profile):
    """`medcode serve` with its stderr in a file, at its own log level and at DEBUG (where
    pygls logs every message it sends and receives): the marker never appears."""
    stderr = tmp_path / "stderr.txt"
    command = [sys.executable, str(STDERR_WRAPPER), str(stderr)] + ([level] if level else [])
    text = marked_837p()
    session = await start(profile, default_index, command=command, settings={"inlayHints": {"enabled": True}})
    uri = "file:///tmp/e2e/phi/claims.837"
    try:
        session.open(uri, text)
        diags = await session.diagnostics(uri)
        marked = [d for d in diags if MARKER in d.message]
        assert marked, "the finding on the marked code reaches the client"
        for d in marked:
            await session.actions(uri, d)
        for n, line in enumerate(text.splitlines()):
            if MARKER in line:
                col = line.index(MARKER)
                await session.hover(uri, n, col + 1)
                await session.complete(uri, n, col + 3)
        symbols = await session.symbols(uri)
        assert MARKER in str(symbols)  # the outline (to the client) does carry it
        await session.inlay(uri, 0, len(text.splitlines()))
        line = line_of(text, HI_ERR)
        session.change(uri, types.TextDocumentContentChangePartial(range=rng(line, 0, 0), text=f"NTE*ADD*{MARKER}~\n"))
        await session.diagnostics(uri)
        await session.hover(uri, line, 9)
        session.close(uri)
        client_logs = [m.message for m in session.client.log_messages] + [m.message for m in session.client.messages]
        assert not [m for m in client_logs if MARKER in m]
    finally:
        await stop(session)
    written = stderr.read_text(errors="replace")
    assert MARKER not in written, written[:2000]
    if level == "DEBUG":
        # The capture works: the server did write its own log lines there.
        assert "medcode INFO medcode.lsp: checked" in written
        assert "withheld" in written
