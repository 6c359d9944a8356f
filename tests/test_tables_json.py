"""CMS hospital price transparency JSON: code slots at exact offsets, types, problems."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter

import pytest

from medcode.index_builder.codesets import CPT, HCPCS, NDC
from medcode.server import places
from medcode.server import reading as r
from medcode.server.findings import HPT_STRUCTURE, RULES, UNKNOWN_CODE_TYPE
from medcode.server.tables import hpt_json

# Team-written fixture in the v3.0 layout: nested payers, escapes in other strings, and decoys
# (a `"code"` key outside code_information, a description that spells out a code pair).
V3 = r"""{
  "hospital_name": "West Mercy Hospital",
  "last_updated_on": "2026-04-01",
  "version": "3.0.0",
  "location_name": ["West Mercy Hospital"],
  "hospital_address": ["12 Main Street, Fullerton, CA  92832"],
  "license_information": {"state": "CA", "license_number": "50056"},
  "type_2_npi": ["0000000001"],
  "attestation": {"attestation": "To the best \"of\" its knowledge\u2026", "confirm_attestation": true, "attester_name": "Leigh"},
  "modifier_information": [{"description": "bilateral", "code": "50", "modifier_payer_information": [{"payer_name": "P", "plan_name": "Q", "description": "x"}]}],
  "standard_charge_information": [
    {
      "description": "Caf\u00e9 \"MRI\" with {\"code\": \"99999\", \"type\": \"CPT\"} in its text",
      "code_information": [
        {"code": "611", "type": "RC"},
        {"type": "CPT", "code": "70551"}
      ],
      "standard_charges": [
        {"setting": "outpatient", "gross_charge": 5000,
         "payers_information": [
           {"payer_name": "Platform", "plan_name": "PPO", "standard_charge_dollar": 2000,
            "methodology": "fee schedule", "code": "88888", "additional_payer_notes": "[\"nested\"]"}
         ]}
      ]
    },
    {
      "description": "Hip replacement",
      "drug_information": {"unit": 1, "type": "UN"},
      "code_information": [
        {"code": "470", "type": "MS-DRG"},
        {"code": "0093-8739-01", "type": "NDC"},
        {"code": "J1450", "type": "HCPCS"},
        {"code": "E11.9", "type": "ICD"},
        {"code": "1", "type": "CMG"},
        {"code": "X1", "type": "BOGUS"}
      ],
      "standard_charges": []
    }
  ]
}"""

V2 = """{
  "hospital_name": "Old Mercy",
  "last_updated_on": "2024-07-01",
  "version": "2.0.0",
  "hospital_location": ["Old Mercy"],
  "hospital_address": ["1 Road"],
  "license_information": {"state": "CA"},
  "affirmation": {"affirmation": "To the best of its knowledge", "confirm_affirmation": true},
  "standard_charge_information": [
    {"description": "d", "code_information": [
      {"code": "H0017", "type": "hcpcs"},
      {"code": "2", "type": "CMG"},
      {"code": "175869", "type": "LOCAL"},
      {"code": " 92626 ", "type": "CPT"},
      {"code": "\\u0037\\u0030\\u0035\\u0035\\u0031", "type": "CPT"},
      {"code": 99213, "type": "CPT"},
      {"code": "", "type": "CPT"},
      {"code": "G0008"}
    ], "standard_charges": []}
  ]
}"""


def at(text: str, needle: str, inner: str | None = None) -> int:
    """Offset of `inner` (default: the content of the quoted needle) within a unique needle."""
    assert text.count(needle) == 1, needle
    inner = inner if inner is not None else needle.strip('"')
    return text.index(needle) + needle.index(inner)


def slots_of(text: str):
    reading = hpt_json.read(text)
    assert reading is not None
    return reading, [(s.text, s.start, s.expects, s.qualifier, s.qual_start) for s in reading.slots]


def test_v3_slots_exact_offsets_and_types():
    reading, slots = slots_of(V3)
    assert reading.kind == r.HPT_JSON
    assert reading.version == "3.0.0"
    assert reading.day == dt.date(2026, 4, 1)
    assert slots == [
        ("611", at(V3, '"code": "611"', "611"), places.REVENUE, "RC", at(V3, '"611", "type": "RC"', "RC")),
        ("70551", at(V3, '"70551"'), CPT, "CPT", at(V3, '{"type": "CPT", "code"', "CPT")),
        ("470", at(V3, '"470"'), places.MS_DRG, "MS-DRG", at(V3, '"MS-DRG"')),
        ("0093-8739-01", at(V3, '"0093-8739-01"'), NDC, "NDC", at(V3, '"NDC"')),
        ("J1450", at(V3, '"J1450"'), HCPCS, "HCPCS", at(V3, '"HCPCS"')),
        ("E11.9", at(V3, '"E11.9"'), places.ICD_ANY, "ICD", at(V3, '"ICD"')),
        ("1", at(V3, '"code": "1"', "1"), places.CMG, "CMG", at(V3, '"CMG"')),
        ("X1", at(V3, '"X1"'), None, "BOGUS", at(V3, '"BOGUS"')),
    ]
    for s in reading.slots:
        assert V3[s.start : s.end] == s.text
        assert V3[s.qual_start : s.qual_start + len(s.qualifier)] == s.qualifier
    # Decoys: the description's spelled-out pair, a payer's "code", a modifier's "code".
    assert {"99999", "88888", "50"}.isdisjoint(s.text for s in reading.slots)


def test_v3_places_labels_and_unknown_type():
    reading = hpt_json.read(V3)
    places = [s.place for s in reading.slots]
    assert places[:2] == ["standard_charge_information[0].code_information[0]", "standard_charge_information[0].code_information[1]"]
    assert places[-1] == "standard_charge_information[1].code_information[5]"
    assert reading.slots[1].label == "code (type CPT)"
    assert [(f.rule, V3[f.start : f.end]) for f in reading.problems] == [(UNKNOWN_CODE_TYPE, "BOGUS")]
    assert RULES[UNKNOWN_CODE_TYPE][0].label == "error"
    assert "BOGUS" in reading.problems[0].message


def test_v3_headers_for_hover():
    reading = hpt_json.read(V3)
    by_text = {}
    for h in reading.all_headers():
        assert V3[h.start : h.end] == h.text
        by_text.setdefault(h.text, []).append(h)
    for key in ("hospital_name", "last_updated_on", "version", "location_name", "attestation", "standard_charge_information", "code_information"):
        assert key in by_text and by_text[key][0].meaning
    assert by_text["hospital_name"][0].start == at(V3, '"hospital_name"')
    assert len(by_text["code_information"]) == 2
    assert len(by_text["code"]) == 8  # only code_information's code keys, not the decoys
    assert "Revenue" in by_text["RC"][0].meaning or "revenue" in by_text["RC"][0].meaning


def test_dense_file_keeps_no_header_per_entry_yet_hover_and_places_find_them():
    # 2,000 items of two entries each, minified; a second standard_charge_information array
    # (json.loads keeps the last) and a non-object element restart and shift the counts.
    entries = [json.dumps({"description": f"d{n}", "code_information": [{"code": "611", "type": "RC"}, {"type": "CPT", "code": "70551"}]}, separators=(",", ":")) for n in range(2_000)]
    text = ('{"hospital_name":"H","version":"3.0.0","standard_charge_information":[' + ",".join(entries) + '],'
            '"standard_charge_information":[7,{"code_information":[5,{"code":"J1450","type":"hcpcs"}]}]}')
    reading = hpt_json.read(text)
    assert len(reading.slots) == 4_001
    assert len(reading.headers) == 4  # the top-level keys only: nothing kept per entry
    assert reading.slots[2_001].place == "standard_charge_information[1000].code_information[1]"
    last = reading.slots[-1]
    assert (last.text, last.place) == ("J1450", "standard_charge_information[1].code_information[1]")
    # Hover still finds the keys and the type value of any entry, worked out from the text.
    late = text.rfind('"type":"CPT"')
    assert reading.header_at(late + 3).text == "type" and reading.header_at(late + 1).start == late + 1
    assert reading.header_at(late + 10).meaning.startswith("code type CPT")
    assert reading.header_at(text.rfind('"code":"J1450"') + 2).text == "code"
    assert reading.header_at(text.rfind('"hcpcs"') + 2).text == "hcpcs"
    assert reading.header_at(text.rfind('"code_information"') + 5).text == "code_information"
    assert reading.header_at(text.rfind('"611"') + 1) is None  # a code: hover explains it as a slot
    assert reading.header_at(text.rfind('"d1999"') + 1) is None
    assert len(reading.all_headers()) == 4 + 2_001 + 2 * 4_001 + 4_001


def test_v2_types_case_spaces_escapes_and_version_only_types():
    reading, slots = slots_of(V2)
    assert reading.version == "2.0.0"
    assert reading.day == dt.date(2024, 7, 1)
    assert [(t, s, e) for t, s, e, _, _ in slots] == [
        ("H0017", at(V2, '"H0017"'), HCPCS),  # lowercase type: still HCPCS
        ("2", at(V2, '"code": "2"', "2"), None),  # CMG is new in v3.0
        ("175869", at(V2, '"175869"'), places.LOCAL),
        ("92626", at(V2, '" 92626 "', "92626"), CPT),  # surrounding spaces left out
        # the escaped "70551" is skipped: its text is not what the document holds
        ("99213", at(V2, "99213"), CPT),  # a number where a string belongs: still the code as written
        ("G0008", at(V2, '"G0008"'), None),  # no type
    ]
    problems = [(f.rule, V2[f.start : f.end]) for f in reading.problems]
    assert problems == [(UNKNOWN_CODE_TYPE, "CMG"), (UNKNOWN_CODE_TYPE, "G0008")]
    assert "3.0" in reading.problems[0].message
    assert reading.slots[-1].label == "code (no type)"
    assert {h.text for h in reading.headers} >= {"hospital_location", "affirmation"}


def test_bom_shifts_offsets_by_one():
    plain = hpt_json.read(V3)
    bom = hpt_json.read("\ufeff" + V3)
    assert bom is not None
    assert [(s.text, s.start) for s in bom.slots] == [(s.text, s.start + 1) for s in plain.slots]
    assert [(f.start) for f in bom.problems] == [f.start + 1 for f in plain.problems]


def test_agrees_with_json_module():
    data = json.loads(V3)
    expected = [c["code"] for item in data["standard_charge_information"] for c in item["code_information"]]
    assert [s.text for s in hpt_json.read(V3).slots] == expected


@pytest.mark.parametrize("text", ["", "{", "[]", "null"])
def test_foreign_json_is_none(text):
    assert hpt_json.read(text) is None


@pytest.mark.parametrize(
    "text, at_text",
    [
        (V3[:-2], None),  # truncated: the error is at the end
        (V3 + " x", " x"),  # trailing data
        (V3.replace('{"code": "611", "type": "RC"},', '{"code": "611", "type": "RC"},,'), ",,"),  # double comma
        (V3.replace('"type": "RC"}', '"type": "RC",}', 1), ',}'),  # trailing comma in an object
        (V3.replace('"611"', "'611'"), "'611'"),  # single quotes
        (V3.replace('"Hip replacement"', '"Hip\nreplacement"'), '"Hip\nreplacement"'),  # raw newline inside a string
        ('{"hospital_name": "x", "standard_charge_information": [}', "}"),
        ('{"hospital_name": "x", "standard_charge_information": [{"code_information": [{"code": "1" "type": "RC"}]}]}', ' "type"'),
    ],
)
def test_malformed_price_json_is_an_error_at_the_offending_offset(text, at_text):
    reading = hpt_json.read(text)
    assert reading is not None and reading.kind == r.HPT_JSON
    errors = [f for f in reading.problems if f.rule == HPT_STRUCTURE]
    assert len(errors) == 1
    error = errors[0]
    assert error.effective_severity.label == "error"
    assert "not valid JSON" in error.message
    if at_text is None:
        assert error.end >= len(text) - 1
    else:
        where = text.index(at_text)
        assert where <= error.start <= where + len(at_text), (error, text[error.start - 10 : error.start + 10])


def test_codes_before_a_json_error_are_still_checked():
    expected = [c["code"] for item in json.loads(V3)["standard_charge_information"] for c in item["code_information"]]
    cut = V3.index('"Hip replacement"')
    broken = V3[:cut] + V3[cut:].replace("},", "}", 1)  # a missing comma in the second item
    reading = hpt_json.read(broken)
    codes = [s.text for s in reading.slots]
    assert codes and codes == expected[: len(codes)]
    assert len(codes) >= 2  # the first item's codes
    assert any(f.rule == HPT_STRUCTURE and f.start > cut for f in reading.problems)


def test_other_json_documents_are_none():
    assert hpt_json.read('{"name": "package", "version": "1.0.0"}') is None
    # Both keys, but not at the top level.
    assert hpt_json.read('{"x": {"hospital_name": "a", "standard_charge_information": []}}') is None
    assert hpt_json.read('[{"hospital_name": "a", "standard_charge_information": []}]') is None


def test_minimal_and_odd_shapes_do_not_crash():
    text = '{"hospital_name": "a", "standard_charge_information": [1, "x", {"code_information": "none"}, {"code_information": [null, {"code": null, "type": "CPT"}]}]}'
    reading = hpt_json.read(text)
    assert reading is not None and reading.slots == [] and reading.version is None and reading.day is None
    deep = '{"hospital_name": "a", "standard_charge_information": [{"x": ' + "[" * 5000 + "]" * 5000 + "}]}"
    assert hpt_json.read(deep) is None or hpt_json.read(deep).slots == []


# -- real files (shared/corpora) ---------------------------------------------------------------


def _counts(path) -> tuple[object, Counter]:
    text = path.read_text(encoding="utf-8")
    reading = hpt_json.read(text)
    assert reading is not None, path
    for s in reading.slots:
        assert text[s.start : s.end] == s.text
        assert text[s.qual_start : s.qual_start + len(s.qualifier)] == s.qualifier
        assert s.expects is not None
    assert reading.problems == []
    return reading, Counter(s.qualifier for s in reading.slots)


def test_cms_v3_example(shared_dir):
    path = shared_dir / "corpora/cms-hospital-price-transparency/JSON/v3_json_format_example.json"
    reading, counts = _counts(path)
    assert reading.version == "3.0.0"
    assert reading.day == dt.date(2026, 4, 1)
    assert counts == Counter({"RC": 7, "CPT": 4, "MS-DRG": 4, "HCPCS": 7, "NDC": 7})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [s.text for s in reading.slots] == [c["code"] for i in data["standard_charge_information"] for c in i["code_information"]]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sample-valid.json", {"MS-DRG": 1, "LOCAL": 1, "CPT": 1, "HCPCS": 1, "RC": 1}),
        ("sample-valid-bom.json", {"MS-DRG": 1, "LOCAL": 1, "CPT": 1, "HCPCS": 1, "RC": 1}),
        ("sample-valid-drug-info.json", {"MS-DRG": 1, "LOCAL": 1, "CPT": 1, "HCPCS": 1, "RC": 1, "NDC": 1}),
    ],
)
def test_cms_validator_v2_samples(shared_dir, name, expected):
    path = shared_dir / "corpora/cms-hpt-validator" / name
    reading, counts = _counts(path)
    assert reading.version == "2.0.0"
    assert counts == Counter(expected)
    if name == "sample-valid-bom.json":
        assert path.read_text(encoding="utf-8").startswith("\ufeff")


def _reading_view(reading: r.Reading | None) -> tuple | None:
    if reading is None:
        return None
    return (
        [(s.text, s.start, s.expects, s.qualifier, s.qual_start, s.label, s.place) for s in reading.slots],
        [(p.rule, p.message, p.start, p.end, p.code) for p in reading.problems],
        list(reading.headers),
        list(reading.more_headers.all()),
        reading.version,
        reading.day,
    )


def test_fast_paths_read_as_the_exact_walk(monkeypatch):
    """The one-match shortcuts (keys, separators, {code, type} entries) and the per-pair memo
    read every document as the exact walk alone does: random shapes, whitespace, escapes,
    repeated and extra keys, control characters, a late version, and cuts at any point."""
    rng = random.Random(14)
    spaces = ["", " ", "\n  ", "\t"]
    codes = ['"99213"', '" 99214 "', '"\\u0039\\u0039213"', "99215", '"J1040"', '""', '"0270"', '"a\tb"', "null"]
    types = ['"CPT"', '"HCPCS"', '"rc"', '"BOGUS"', '"C\\u0050T"', "7", '"ICD"']

    def ws() -> str:
        return rng.choice(spaces)

    def entry() -> str:
        members = [f'"code"{ws()}:{ws()}{rng.choice(codes)}', f'"type"{ws()}:{ws()}{rng.choice(types)}']
        rng.shuffle(members)
        if rng.random() < 0.1:
            members.append(f'"code":{ws()}{rng.choice(codes)}')  # a repeated key: the last wins
        if rng.random() < 0.1:
            members.insert(1, f'"modifiers": ["{ws()}"]')
        if rng.random() < 0.05:
            members = members[:1]
        elif rng.random() < 0.05:
            members = [f'"code": {rng.choice(codes)}', f'"code": {rng.choice(codes)}']  # the same key twice, nothing else
        return "{" + ws() + f"{ws()},{ws()}".join(members) + ws() + "}"

    def item() -> str:
        info = "[" + ws() + f",{ws()}".join(entry() for _ in range(rng.randint(0, 3))) + ws() + "]"
        return "{" + f'"description":{ws()}"d \\"x\\""' + f',{ws()}"code_information":{ws()}{info}' + f', "standard_charges": [{{"setting": "both"}}]{ws()}}}'

    def document() -> str:
        items = "[" + ", ".join(item() for _ in range(rng.randint(0, 6))) + "]"
        top = ['"hospital_name": "H"', f'"last_updated_on":{ws()}"2026-04-01"', f'"standard_charge_information":{ws()}{items}']
        version = f'"version":{ws()}"{rng.choice(["3.0.0", "2.2.0"])}"'
        top.insert(rng.choice([0, len(top)]), version)  # before or after the codes
        if rng.random() < 0.15:
            top.insert(rng.randint(0, len(top)), '"version": "2.2.0"')  # a repeated key: the last wins
        return "{" + ws() + f",{ws()}".join(top) + ws() + "}"

    for trial in range(300):
        text = document()
        if rng.random() < 0.3:
            cut = rng.randrange(len(text))
            text = text[:cut] + rng.choice(["", ",", "}", "\x01", '"'])  # broken at any point
        fast = _reading_view(hpt_json.read(text))
        with monkeypatch.context() as m:
            never = re.compile(r"(?!)")
            for name in ("_KEY", "_NEXT", "_ENTRY", "_ENTRY_NEXT"):
                m.setattr(hpt_json, name, never)
            m.setattr(hpt_json._Walk, "_plan_key", staticmethod(lambda code, kind: None))
            exact = _reading_view(hpt_json.read(text))
        assert fast == exact, (trial, text)


def test_repeated_pairs_each_get_their_slot_and_findings():
    """A {code, type} pair read before is added again from the memo at its own offsets; a pair
    with a finding (an unknown type) is never taken from the memo, so each copy is reported."""
    pairs = ['{"code": "99213", "type": "CPT"}', '{"code": "X1", "type": "BOGUS"}', '{"code": " 70551", "type": "CPT"}']
    items = ", ".join(
        '{"description": "d", "code_information": [' + ", ".join(pairs[k] for k in order) + '], "standard_charges": []}'
        for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0, 0])
    )
    text = '{"hospital_name": "H", "version": "3.0.0", "standard_charge_information": [' + items + "]}"
    reading, slots = slots_of(text)
    starts = [m.start() + len('{"code": "') for m in re.finditer(r'\{"code": "99213"', text)]
    assert [s for s in slots if s[0] == "99213"] == [("99213", i, CPT, "CPT", i + len('99213", "type": "')) for i in starts]
    starts = [m.start() + len('{"code": " ') for m in re.finditer(r'\{"code": " 70551"', text)]
    assert [s[1] for s in slots if s[0] == "70551"] == starts
    unknown = [p for p in reading.problems if p.rule == UNKNOWN_CODE_TYPE]
    assert [p.start for p in unknown] == [m.start(1) for m in re.finditer(r'"type": "(BOGUS)"', text)]
    assert [s[1] for s in slots if s[0] == "X1"] == [m.start(1) for m in re.finditer(r'"code": "(X1)"', text)]
