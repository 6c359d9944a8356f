"""Completion answers written by hand (lsp/completion_json.py) are the JSON pygls' converter
writes for them; answers it does not know go to the converter unchanged. And a header's
children, remembered per release (describe.py), are the ones read the first time."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import orjson
import pytest
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import x12  # noqa: E402
from lsp_session import place  # noqa: E402

from medcode.server import describe as describe_module  # noqa: E402
from medcode.server.lsp import completion, completion_json, hover  # noqa: E402
from medcode.server.lsp.protocol import RawJson  # noqa: E402
from medcode.server.lsp.server import MedcodeServer  # noqa: E402


@pytest.fixture
def server(default_index) -> MedcodeServer:
    return MedcodeServer(str(default_index))


def converted(server: MedcodeServer, result) -> object:
    """What pygls sends for a result: its converter's unstructuring, through json."""
    return json.loads(json.dumps(server.protocol._converter.unstructure(result)))


DAY = dt.date(2026, 1, 5)
# (segment prefix, what is typed in place of the code; the cursor is at its end)
TYPED = [
    ("HI*ABK:", "E11"),  # diagnosis codes, billable before headers
    ("HI*ABK:", "diabet"),  # description words
    ("HI*ABK:", ""),  # nothing typed yet
    ("SV1*HC:", "A04"),  # procedure codes (HCPCS)
    ("SV1*HC:", "A0425:"),  # modifiers
    ("HI*", "AB"),  # qualifiers
]


@pytest.mark.parametrize(("prefix", "typed"), TYPED)
def test_the_written_answer_is_the_converters(server, prefix, typed):
    base = x12("P", [("C1", [("99213", [], 1, DAY)])])
    line_of = {"HI*ABK:": "HI*ABK:E119", "SV1*HC:": "SV1*HC:99213", "HI*": "HI*ABK:E119"}[prefix]
    text = base.replace(line_of, prefix + typed, 1)
    doc = server.documents.open(types.TextDocumentItem("file:///w/c.837", "x12", 1, text))
    line, _, end = place(text, prefix + typed, prefix + typed)
    result = completion.complete(server, doc, types.Position(line, end))
    assert result is not None and result.items
    answer = completion_json.answer(result)
    assert isinstance(answer, RawJson)
    assert orjson.loads(answer.body) == converted(server, result)


def test_other_answers_go_to_the_converter(server):
    edit = types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 1)), "E119")
    plain = types.CompletionItem(label="E119", kind=types.CompletionItemKind.Value, text_edit=edit, data={"set": "icd10cm", "key": "E119"})
    assert isinstance(completion_json.answer(types.CompletionList(is_incomplete=True, items=[plain])), RawJson)
    documented = types.CompletionItem(label="E119", documentation="more")
    replace = types.CompletionItem(label="E119", text_edit=types.InsertReplaceEdit("E119", edit.range, edit.range))
    odd_data = types.CompletionItem(label="E119", data={"at": (1, 2)})
    surrogate = types.CompletionItem(label="E11\ud800")
    for item in (documented, replace, odd_data, surrogate):
        result = types.CompletionList(is_incomplete=False, items=[plain, item])
        assert completion_json.answer(result) is result
    defaults = types.CompletionList(is_incomplete=False, items=[plain], item_defaults=types.CompletionItemDefaults(commit_characters=["."]))
    assert completion_json.answer(defaults) is defaults
    items = [plain]
    assert completion_json.answer(items) is items  # a bare list: as pygls sends it
    assert completion_json.answer(None) is None


def test_a_headers_children_are_read_once_per_release(server, monkeypatch):
    text = x12("P", [("C1", [("99213", [], 1, DAY)])]).replace("HI*ABK:E119", "HI*ABK:E11", 1)
    doc = server.documents.open(types.TextDocumentItem("file:///w/h.837", "x12", 1, text))
    line, col, _ = place(text, "HI*ABK:E11", "E11")
    first = hover.hover(server, doc, types.Position(line, col + 1))
    assert first is not None and "E11.9" in first.contents.value  # a child listed
    reads = []
    real = type(server.store.releases()[0]).records
    monkeypatch.setattr(type(server.store.releases()[0]), "records", lambda rel, *a, **k: reads.append(a) or real(rel, *a, **k))
    again = hover.hover(server, doc, types.Position(line, col + 1))
    assert again == first and not reads
    describe_module._children_seen.clear()  # as a release opened again starts
    assert hover.hover(server, doc, types.Position(line, col + 1)) == first and reads
