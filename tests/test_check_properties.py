"""Property test: no generated X12, CSV, JSON or template text makes the check pipeline raise.

The texts are built from real fragments of each kind, cut, repeated and mixed with stray
characters (control bytes, quotes, delimiters, non-ASCII), so most examples are nearly valid
files broken in one place: the shapes where a reader's assumptions fail. Seeded and bounded:
about 1,000 examples in all, the same ones every run (derandomize). The pipeline is the one
`medcode check` runs, in process: DocumentChecker.check, then each finding placed as the CLI
prints it (positions.place, which must agree with the editor's LineIndex).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medcode.server.analysis import DocumentChecker
from medcode.server.findings import HPT_STRUCTURE, RULES, Severity
from medcode.server.positions import LineIndex, place
from medcode.server.verdicts import Verdicts

EXAMPLES = 250  # per kind: four kinds, about 1,000 examples

ISA = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260315*1200*^*00501*000000101*0*T*:~"
X12_SEGMENTS = [
    "GS*HC*SUBMITTER*RECEIVER*20260315*1200*101*X*005010X222A1~", "ST*837*0001*005010X222A1~",
    "HL*1**20*1~", "HL*2*1*22*0~", "CLM*A1*100.00***11:B:1*Y*A*Y*Y~", "HI*ABK:E119*ABF:I10~", "HI*BK:25000~",
    "HI*QQ:E119~", "HI*ABK*E119~", "HI*BBR:0DTJ4ZZ:D8:20260101~", "SV1*HC:99213:25:RT*50*UN*1***1:2~",
    "SV2*0450*HC:J1100*10*UN*1~", "SV3*AD:D0120*50****1~", "LX*1~", "DTP*472*D8*20260115~", "DTP*434*RD8*20050101-20050105~",
    "LIN**N4*00002821501~", "LIN**N4*0002-8215-01~", "SE*9*0001~", "GE*1*101~", "IEA*1*000000101~", "GE*x*101~", "SE**~",
]
CSV_ROWS = [
    "hospital_name,last_updated_on,version", "General,2025-01-01,3.0.0", "General,13/45/2025,9.9.9",
    "description,code|1,code|1|type,code|2,code|2|type,payer_name,plan_name,standard_charge|negotiated_dollar",
    "descrption,code|1,code|1|type,standard_charge|[payer_name]|[plan_name]|negotiated_dollar",
    'visit,99213,CPT,0450,RC,Payer,PPO,100', '"a ""quoted"" item",J1100,HCPCS,,,P,Q,1', "x,E11.9,ICD,470,MS-DRG,,,",
    "CPT,Description,Rev Code,NDC", "99213,Office visit,0450,0002-8215-01", '"unclosed,99213', "", ",,,,,",
]
JSON_PARTS = [
    '{"hospital_name": "General", "last_updated_on": "2025-01-01", "version": "3.0.0", "standard_charge_information": [',
    '{"description": "visit", "code_information": [{"code": "99213", "type": "CPT"}, {"code": "0450", "type": "RC"}]}',
    '{"code_information": [{"code": 470, "type": "MS-DRG"}, {"code": "E11.9", "type": "icd"}, {"code": "\\u0041", "type": []}]}',
    '{"code_information": {"code": "x"}}', ", ", "]", "}", "]}", '"version": "9.9.9"', "[[[[[[", "null", '"\\', "1e999",
]
TEMPLATE_LINES = [
    "---", "codes:", "  icd10cm: [E11.9, E11]", "date_of_service: 2026-01-15", "date_of_service: 2026-02-30",
    "ICD-10-CM: E11.9, E11.99", "CPT 99213", "HCPCS: J1100, C9035", "NDC: 0002-8215-01", "Dx: S72.001",
    "| ICD-10-CM | meaning |", "|---|---|", "| E11.9 | diabetes |", "<!-- medcode: off -->", "<!-- medcode: on -->",
    "Type 2 diabetes (E11.9)", "@NAME@ {list} *** {{ x }} {% y %}", "PCS: 0DTJ4ZZ",
]
NOISE = st.text(alphabet=st.sampled_from(list("\x00\x07\x1c\x1d\x1e\r\n\t ~*:^|,\"'{}[]\\é中\ufeff\u2028")), max_size=6)


def mutated(pieces: list[str], joiner: str) -> st.SearchStrategy[str]:
    """Fragments of one kind in any order, each maybe cut short or followed by noise."""
    piece = st.tuples(st.sampled_from(pieces), st.integers(0, 200), NOISE).map(lambda t: t[0][: t[1]] + t[2])
    return st.lists(piece, max_size=25).map(joiner.join)


X12_TEXT = st.tuples(st.sampled_from([ISA, ISA.replace("*", "|"), ISA[:60], ""]), mutated(X12_SEGMENTS, "\n")).map("\n".join)
CSV_TEXT = mutated(CSV_ROWS, "\n")
JSON_TEXT = mutated(JSON_PARTS, "")
TEMPLATE_TEXT = mutated(TEMPLATE_LINES, "\n")

SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_like_the_cli(store, text: str, name: str):
    analysis = DocumentChecker(Verdicts(store)).check(text, name=name)
    index = LineIndex(text)
    for f in analysis.findings:
        assert f.rule in RULES
        assert 0 <= f.start <= f.end <= len(text), f
        index.position(f.start)
        index.position(f.end)
    # The CLI places findings without a LineIndex: the same positions.
    offsets = [x for f in analysis.findings for x in (f.start, f.end)]
    assert place(text, offsets) == index.positions(offsets)
    return analysis


@SETTINGS
@given(text=X12_TEXT)
def test_generated_x12_never_raises(default_store, text):
    check_like_the_cli(default_store, text, "claims.837")


@SETTINGS
@given(text=CSV_TEXT, name=st.sampled_from(["prices.csv", "prices.tsv", "standardcharges"]))
def test_generated_csv_never_raises(default_store, text, name):
    check_like_the_cli(default_store, text, name)


@SETTINGS
@given(text=JSON_TEXT)
def test_generated_json_never_raises_nor_reads_broken_json_as_clean(default_store, text):
    analysis = check_like_the_cli(default_store, text, "standardcharges.json")
    body = text[1:] if text.startswith("\ufeff") else text
    if body.lstrip(" \t\r\n").startswith("{") and '"standard_charge_information"' in body and '"hospital_name"' in body:
        try:
            json.loads(body)
        except ValueError:
            # A price file that is not JSON: an error says where, never silence.
            assert any(f.rule == HPT_STRUCTURE and f.effective_severity == Severity.ERROR for f in analysis.findings), text


@SETTINGS
@given(text=TEMPLATE_TEXT, name=st.sampled_from(["note.md", "note.txt", "smartphrase.j2"]))
def test_generated_templates_never_raise(default_store, text, name):
    check_like_the_cli(default_store, text, name)
