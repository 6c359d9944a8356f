"""Property test of the language server: generated X12, CSV, JSON and template texts, well
formed and broken, opened in ONE `medcode serve` session (over stdio, pytest-lsp, Neovim's
pull profile); every request gets an answer, no error response, and the server survives.

Bounded and seeded (derandomized, no example database) so that CI runs the same documents
every time; EXAMPLES keeps the run in tens of seconds.

Hypothesis drives a synchronous test; the pytest-lsp client lives on an event loop in a
thread of its own, so that one server serves every example.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities
from lsp_session import P837, SERVE, make_client, place

EXAMPLES = 150
ANSWER_WAIT = 60.0  # seconds for one answer on a busy machine: a hang, not a timing assertion

# -- pieces of documents -------------------------------------------------------------------------
CODES = [
    "E119", "E11.9", "E11", "E1199", "S72001", "S72001A", "0DTJ4ZZ", "J1100", "99213", "0002-8215-01",
    "00002821501", "25000", "Z0000", "478331", "A0", "", "ZZZZZZZZZZZZZZZZ", "E11.65", "0510", "470",
    "I10", "R69", "F32A", "Q", "00", "9999F", "1234T",
]
QUALIFIERS = ["ABK", "ABF", "ABJ", "APR", "BK", "BF", "BBR", "BBQ", "BP", "BO", "DR", "QQ", "", "HC"]
TYPES = ["CPT", "HCPCS", "ICD", "NDC", "RC", "MS-DRG", "CDT", "LOCAL", "WIDGET", "", "cpt"]
NOISE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # no lone surrogates: not UTF-8
code = st.one_of(st.sampled_from(CODES), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", max_size=9))
day = st.sampled_from(["20260315", "20050101", "2026031", "99999999", "", "20151001"])

ISA = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260315*1200*^*00501*000000101*0*T*:"


@st.composite
def x12(draw) -> str:
    seg = draw(st.sampled_from(["~", "~\n", "\n", "'"]))
    el = "*"
    comp = draw(st.sampled_from([":", ">", "^"]))
    # The version sets the TR3 counts of HI (an 837D's holds 4, an 837I principal diagnosis HI01).
    version = draw(st.sampled_from(["005010X222A1", "005010X223A2", "005010X224A2"]))
    segments = [draw(st.sampled_from([ISA, ISA[:60], ISA.replace(":", comp)])), f"GS*HC*S*R*20260315*1200*101*X*{version}", f"ST*837*0001*{version}"]
    # Past a segment's last element (CLM20, DTP03) and past CLM05's 3 components (x12/shapes.py).
    past = draw(st.sampled_from(["", "*X", "*" * 12 + "X"]))
    for n in range(draw(st.integers(0, 4))):
        segments += [f"HL*{n + 2}*1*22*0", f"CLM*C{n}*100.00***11:B:1{draw(st.sampled_from(['', ':9', ':']))}*Y*A*Y*Y{past * 2}"]
        # 5, 13 and 14: past an 837D's HI04, past HI12, which X12 allows (x12/shapes.py).
        hi = [f"{draw(st.sampled_from(QUALIFIERS))}{comp}{draw(code)}" for _ in range(draw(st.sampled_from([0, 1, 2, 3, 4, 5, 13, 14])))]
        segments.append("HI" + "".join(el + h for h in hi))
        for i in range(draw(st.integers(0, 3))):
            mods = "".join(comp + draw(st.sampled_from(["25", "59", "", "ZZ", "LT"])) for _ in range(draw(st.sampled_from([0, 1, 2, 7]))))
            pointer = draw(st.sampled_from(["1", "1:2", "9", "", "A", "1:2:3:1:2", "1::2", ":1"]))
            segments += [f"LX*{i + 1}", f"SV1*HC{comp}{draw(code)}{mods}*50.00*UN*1***{pointer}", f"DTP*472*D8*{draw(day)}{past}"]
            if draw(st.booleans()):
                segments.append(f"LIN**N4*{draw(code)}")
        if draw(st.booleans()):
            segments.append(draw(NOISE))
    segments += [f"SE*{draw(st.integers(-1, 40))}*0001", f"GE*{draw(st.integers(0, 3))}*101", f"IEA*{draw(st.integers(0, 3))}*000000101"]
    return seg.join(segments) + seg


CSV_HEAD = (
    "hospital_name,last_updated_on,version,location_name,hospital_address,license_number|CA\n"
    "Test Hospital,{date},{version},Main,\"1 Main St\",12345\n"
    "description,code|1,code|1|type,code|2,code|2|type,setting,standard_charge|gross\n"
)


@st.composite
def csv(draw) -> str:
    sep = draw(st.sampled_from([",", "\t", ";"]))
    head = CSV_HEAD.format(date=draw(st.sampled_from(["2026-03-01", "", "[date]", "2026-13-45"])), version=draw(st.sampled_from(["3.0.0", "2.2.0", "9.9.9", ""])))
    if draw(st.booleans()):
        head = head.replace("description", draw(st.sampled_from(["descrption", "", "code|1"])), 1)
    if draw(st.booleans()):  # an internal chargemaster instead
        head = draw(st.sampled_from(["CPT,Description,Price\n", "Rev Code,HCPCS,NDC,MS-DRG\n", "title row\n\nCPT/HCPCS,desc\n"]))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        cells = [draw(st.sampled_from(["Visit", "", '"quoted, cell"', '"open quote'])), draw(code), draw(st.sampled_from(TYPES)), draw(code), draw(st.sampled_from(TYPES)), "outpatient", "1.00"]
        rows.append(sep.join(cells[: draw(st.integers(1, len(cells)))]))
    return head.replace(",", sep) + "\n".join(rows) + draw(st.sampled_from(["\n", "", "\r\n"]))


@st.composite
def price_json(draw) -> str:
    items = [
        {
            "description": "item",
            "code_information": [{"code": draw(code), "type": draw(st.sampled_from(TYPES))} for _ in range(draw(st.integers(0, 3)))],
            "standard_charges": [{"setting": "outpatient", "gross_charge": 1}],
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    doc = {"hospital_name": "Test", "last_updated_on": draw(st.sampled_from(["2026-03-01", "", "soon"])), "version": draw(st.sampled_from(["3.0.0", "2.0.0", "9.9.9"])), "standard_charge_information": items}
    text = json.dumps(doc, indent=draw(st.sampled_from([None, 2])))
    cut = draw(st.integers(0, len(text)))
    return text if draw(st.booleans()) else text[:cut] + draw(NOISE)  # truncated or damaged


@st.composite
def template(draw) -> str:
    lines = []
    if draw(st.booleans()):
        lines += ["---", f"date_of_service: {draw(st.sampled_from(['2026-03-10', 'yesterday', '']))}", "codes:", f"  icd10cm: [{draw(code)}, {draw(code)}]", "---"]
    for _ in range(draw(st.integers(0, 8))):
        prefix = draw(st.sampled_from(["ICD-10-CM:", "Dx:", "CPT", "CPT®", "HCPCS:", "NDC:", "PCS:", "Plan:", "| ICD-10-CM | desc |", "<!-- medcode: off -->", "<!-- medcode: on -->"]))
        lines.append(f"{prefix} {draw(code)}{draw(st.sampled_from(['', ', ', ' (E11.9)', ' {SmartList}', ' @NAME@', ' ***']))}{draw(code)}")
        if draw(st.booleans()):
            lines.append(draw(NOISE))
    return "\n".join(lines) + "\n"


KINDS = {"x12": (x12(), ".837", "x12"), "csv": (csv(), ".csv", "csv"), "json": (price_json(), ".json", "json"), "template": (template(), ".md", "markdown")}


@st.composite
def document(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    strategy, ext, language = KINDS[kind]
    text = draw(strategy)
    if draw(st.integers(0, 4)) == 0:  # a random edit anywhere: an insertion of noise
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(NOISE) + text[at:]
    positions = draw(st.lists(st.tuples(st.integers(0, text.count("\n") + 2), st.integers(0, 120)), min_size=1, max_size=4))
    # An edit between two positions in either order (a reversed range must be refused, not
    # applied), possibly past the end of a line or of the text.
    point = st.tuples(st.integers(0, text.count("\n") + 1), st.integers(0, 80))
    edit = draw(st.tuples(point, point, NOISE))
    return kind, ext, language, text, positions, edit


# -- one server for every example ------------------------------------------------------------------
class LoopThread:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lsp-client", daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = ANSWER_WAIT):
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self.loop).result(timeout + 5)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server(default_index: Path):
    loop = LoopThread()

    async def begin():
        config = ClientServerConfig(server_command=SERVE, server_env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}, client_factory=make_client)
        client = await config.start()
        await client.initialize_session(types.InitializeParams(capabilities=client_capabilities("neovim"), root_uri="file:///tmp/medcode-prop"))
        return client

    client = loop.run(begin(), 120)
    yield loop, client
    try:
        loop.run(client.shutdown_session(), 30)
        loop.run(client.stop(), 30)
    finally:
        loop.close()


counter = iter(range(10**9))


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(document())
def test_every_request_is_answered(server, doc):
    loop, client = server
    kind, ext, language, text, positions, (edit_start, edit_end, edit_text) = doc
    uri = f"file:///tmp/medcode-prop/{kind}/{next(counter)}{ext}"
    ident = types.TextDocumentIdentifier(uri)

    async def session():
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(ident))
        assert isinstance(report.items, (list, tuple))
        for line, col in positions:
            position = types.Position(line, col)
            await client.text_document_hover_async(types.HoverParams(ident, position))
            await client.text_document_completion_async(types.CompletionParams(ident, position))
        await client.text_document_document_symbol_async(types.DocumentSymbolParams(ident))
        edit_range = types.Range(types.Position(*edit_start), types.Position(*edit_end))
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                [types.TextDocumentContentChangePartial(range=edit_range, text=edit_text)],
            )
        )
        await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(ident))
        await client.text_document_hover_async(types.HoverParams(ident, types.Position(*positions[0])))
        client.text_document_did_close(types.DidCloseTextDocumentParams(ident))

    loop.run(session())
    assert client.error is None


def test_server_still_right_after_the_examples(server):
    """Runs after the property test (same module, same server): still alive and still right."""
    loop, client = server
    uri = "file:///tmp/medcode-prop/after.837"
    ident = types.TextDocumentIdentifier(uri)

    async def check():
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="x12", version=1, text=P837)))
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(ident))
        line, col, _ = place(P837, "HI*ABK:E119", "E119")
        hover = await client.text_document_hover_async(types.HoverParams(ident, types.Position(line, col + 1)))
        return report, hover

    report, hover = loop.run(check())
    assert {d.code for d in report.items} >= {"not-billable", "invalid-code", "bad-format"}
    assert "Type 2 diabetes" in hover.contents.value
    assert client.error is None
