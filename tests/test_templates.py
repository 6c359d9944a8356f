"""Clinical documentation templates: codes only where the text declares their set."""

from __future__ import annotations

import datetime as dt

import pytest

from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM, ICD10PCS, NDC
from medcode.server import places
from medcode.server import reading as r
from medcode.server.templates import reader

# Team-written (no public clinical template with codes exists; formats.md §3.1).
TEMPLATE = """---
title: Diabetes follow-up
date_of_service: 2026-01-15
codes:
  icd10cm: [E11.9, "I10"]   # primary first
  cpt:
    - 99214
  hcpcs: J1100
  loinc: [4548-4]
author: Clinic team
---
# Diabetes follow-up visit

Template version V12.3 for {{ patient.name }} ({% if patient.age %}adult{% endif %}).

## Assessment
Dx: E11.65, Z79.4 and I10
Type 2 diabetes (E11.9), sleep {Sleep Quality:304120106:: "Poor quality"}, mood ***.
Hyperlipidemia E78.5 noted; kidney function stable.

## Vitals
BP 120/80, HR 72 bpm, A1c 7.2 %, weight 88 kg.

## Plan
CPT® 99214-25
HCPCS: J1100
NDC: 0002-8215-01 (10 mL vial)
Phone 555-123-4567. Follow up 01/15/2026. ZIP 92832.
Reference: https://www.cdc.gov/nchs/icd/E11.9.html or coder@example.org

| Service | CPT | Notes |
|---------|-----|-------|
| Office visit | 99214 | established |
| A1c | **83036** | *** |
| Not billed | — | |

| Code | System | Description |
| --- | --- | --- |
| E11.9 | ICD-10-CM | Type 2 diabetes mellitus without complications |
| 4548-4 | LOINC | Hemoglobin A1c |

```
ICD-10: Z99.99
```

<!-- medcode: off -->
CPT 99999 (old code list, E11.8)
<!-- medcode: on -->

Signed: @SIGNATURE@
"""


def at(needle: str, inner: str, text: str = TEMPLATE) -> int:
    """Offset of `inner` within a needle that occurs exactly once."""
    assert text.count(needle) == 1, needle
    return text.index(needle) + needle.index(inner)


EXPECTED = {
    # front matter
    ("E11.9", at("[E11.9,", "E11.9"), ICD10CM),
    ("I10", at('"I10"', "I10"), ICD10CM),
    ("99214", at("- 99214", "99214"), CPT),
    ("J1100", at("hcpcs: J1100", "J1100"), HCPCS),
    # tier A prefixes
    ("E11.65", at("Dx: E11.65", "E11.65"), ICD10CM),
    ("Z79.4", at("Z79.4", "Z79.4"), ICD10CM),
    ("I10", at("and I10", "I10"), ICD10CM),
    ("99214", at("CPT® 99214-25", "99214"), CPT),
    ("J1100", at("HCPCS: J1100", "J1100"), HCPCS),
    ("0002-8215-01", at("0002-8215-01", "0002-8215-01"), NDC),
    # tier B: parentheses, tables
    ("E11.9", at("diabetes (E11.9)", "E11.9"), ICD10CM),
    ("99214", at("| 99214 |", "99214"), CPT),
    ("83036", at("83036", "83036"), CPT),
    ("E11.9", at("| E11.9 | ICD-10-CM", "E11.9"), ICD10CM),
}
# The one dotted shape outside every zone and every declared place.
BARE = {("E78.5", at("E78.5", "E78.5"), ICD10CM)}


def triples(reading):
    return {(s.text, s.start, s.expects) for s in reading.slots}


def test_declared_codes_exactly():
    reading = reader.read(TEMPLATE)
    assert reading.kind == r.TEMPLATE
    assert triples(reading) == EXPECTED
    assert len(reading.slots) == len(EXPECTED)
    assert [s.start for s in reading.slots] == sorted(s.start for s in reading.slots)
    for s in reading.slots:
        assert TEMPLATE[s.start : s.end] == s.text
        assert not s.hint


def test_date_of_service_from_front_matter():
    assert reader.read(TEMPLATE).day == dt.date(2026, 1, 15)


def test_nothing_from_zones_or_false_friends():
    texts = {s.text for s in reader.read(TEMPLATE, bare_hints=True).slots}
    for never in ("Z99.99", "99999", "E11.8", "V12.3", "92832", "555", "4567", "120", "80", "2026", "304120106", "7.2", "4548-4", "25"):
        assert never not in texts, never
    # The URL's E11.9 is not a slot, though the same code is elsewhere.
    url = at("icd/E11.9", "E11.9")
    assert url not in {s.start for s in reader.read(TEMPLATE, bare_hints=True).slots}


def test_bare_hints_only_when_asked():
    plain = reader.read(TEMPLATE)
    hinted = reader.read(TEMPLATE, bare_hints=True)
    assert triples(hinted) == EXPECTED | BARE
    bare = [s for s in hinted.slots if s.hint]
    assert [(s.text, s.place) for s in bare] == [("E78.5", "bare")]
    assert not any(s.hint for s in plain.slots)


def test_places_qualifiers_and_labels():
    by_start = {s.start: s for s in reader.read(TEMPLATE).slots}
    front = by_start[at("[E11.9,", "E11.9")]
    assert (front.place, front.qualifier, front.qual_start) == ("front matter codes.icd10cm", "icd10cm", at("icd10cm:", "icd10cm"))
    dx = by_start[at("Dx: E11.65", "E11.65")]
    assert (dx.place, dx.qualifier, dx.qual_start) == ("Dx: prefix", "Dx", at("Dx: E11.65", "Dx"))
    cpt = by_start[at("CPT® 99214-25", "99214")]
    assert (cpt.place, cpt.qualifier) == ("CPT®: prefix", "CPT®")
    table = by_start[at("| 99214 |", "99214")]
    assert (table.place, table.qualifier) == ("table column CPT", "CPT")
    system = by_start[at("| E11.9 | ICD-10-CM", "E11.9")]
    assert (system.place, system.qualifier, system.qual_start) == ("table column Code", "ICD-10-CM", at("| ICD-10-CM |", "ICD-10-CM"))
    paren = by_start[at("diabetes (E11.9)", "E11.9")]
    assert paren.place == "parenthesised ICD-10-CM"
    assert all(s.label for s in by_start.values())


def test_plain_text_with_hash_markers():
    text = "Visit note\nCPT 99213\n# medcode: off\nCPT 99999\nICD-10: Z99.99\n# medcode: on\nHCPCS J1100\n"
    assert triples(reader.read(text)) == {("99213", 15, CPT), ("J1100", text.index("J1100"), HCPCS)}


def test_off_without_on_runs_to_the_end():
    text = "CPT 99213\n<!-- medcode: off -->\nCPT 99214\n"
    assert [s.text for s in reader.read(text).slots] == ["99213"]


def test_ignore_next_line():
    text = "<!-- medcode: ignore-next-line -->\nCPT 99215\nCPT 99213\n"
    assert [s.text for s in reader.read(text).slots] == ["99213"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ICD-10-CM: E11.9", [("E11.9", ICD10CM)]),
        ("ICD-10: E11.9; I10", [("E11.9", ICD10CM), ("I10", ICD10CM)]),
        ("ICD10 E11.9", [("E11.9", ICD10CM)]),
        ("ICD10CM: e11.9", [("e11.9", ICD10CM)]),
        ("ICD-10 codes: E11.9, I10 for diabetes", [("E11.9", ICD10CM), ("I10", ICD10CM)]),
        ("ICD-10-PCS: 0DTJ4ZZ", [("0DTJ4ZZ", ICD10PCS)]),
        ("PCS: 0DTJ4ZZ tracked", [("0DTJ4ZZ", ICD10PCS)]),
        ("CPT 99213", [("99213", CPT)]),
        ("CPT(R) 99213/99214", [("99213", CPT), ("99214", CPT)]),
        ("**CPT FAST 93308 / 76705**", [("93308", CPT), ("76705", CPT)]),
        ("Add CPT w Thoracic 76604", [("76604", CPT)]),
        ("CPT code 99213", [("99213", CPT)]),
        ("CPT codes: 99202-99205", [("99202", CPT), ("99205", CPT)]),
        ("CPT 0001U and 2024F", [("0001U", CPT), ("2024F", CPT)]),
        ("CPT 9921 (typo)", [("9921", CPT)]),  # near a code's shape: the rules say what is wrong
        ("HCPCS II: J1100:JW, J2000", [("J1100", HCPCS), ("J2000", HCPCS)]),
        ("HCPCS Level II G0008", [("G0008", HCPCS)]),
        ("NDC: 00002-1433-80", [("00002-1433-80", NDC)]),
        ("CDT: D2391", [("D2391", places.CDT)]),
        ("MS-DRG: 470, 871", [("470", places.MS_DRG), ("871", places.MS_DRG)]),
        ("DRG 470 for 3 days", [("470", places.MS_DRG)]),
        ("icd10cm:E11.9 cpt:99213 ndc:00002-1433-80", [("E11.9", ICD10CM), ("99213", CPT), ("00002-1433-80", NDC)]),
        # A 7th character G after digits is no "423 g" of a dose: the code and the rest of its list are read.
        ("Dx: S72.423G, Q99.99", [("S72.423G", ICD10CM), ("Q99.99", ICD10CM)]),
        ("ICD-10-CM: E11.9; S52.042G; I10", [("E11.9", ICD10CM), ("S52.042G", ICD10CM), ("I10", ICD10CM)]),
        ("Hgb 12.5 g, Dx: I10", [("I10", ICD10CM)]),
        # nothing
        ("CPT 2026 guidelines", []),
        ("Dx pending workup", []),
        ("PCS symptoms persist", []),
        ("CPT and HCPCS codes apply", []),
        ("CPT 2 units", []),
        ("ICD-10:\nE11.9", []),  # a list never runs onto the next line
        ("Hemoglobin (A1C), hypertension (I10), diabetes (E11.9 controlled)", []),
        ("E11.9 alone", []),
        ("non-CPT 99213", []),
    ],
)
def test_prefixes(text, expected):
    reading = reader.read(text)
    assert [(s.text, s.expects) for s in reading.slots] == expected
    for s in reading.slots:
        assert text[s.start : s.end] == s.text


def test_parenthesised_list_after_words():
    text = "Diabetes with hyperglycemia (E11.65, Z79.4)"
    assert [(s.text, s.start) for s in reader.read(text).slots] == [("E11.65", text.index("E11.65")), ("Z79.4", text.index("Z79.4"))]


@pytest.mark.parametrize(
    "text",
    [
        "CPT {ProcList:19197} 99213",  # a SmartList between prefix and code: no longer declared
        "CPT @PROCCODE@",
        "CPT ***",
        "CPT {{ visit.cpt }}",
        "HR 72 bpm, CPT 120 mmHg",
        "Call 555-123-4567 re CPT",
        "ICD-10: https://example.org/E11.9",
    ],
)
def test_template_syntax_never_yields(text):
    assert reader.read(text, bare_hints=True).slots == []


def test_front_matter_shapes():
    text = (
        "---\n"
        "date_of_service: '2025-10-01'\n"
        "codes:\n"
        "  ICD-10-CM:\n"
        "  - E11.9\n"
        "  - 'I10'   # quoted\n"
        "\n"
        "  cpt: [ 99213-25 , 0001U ]\n"
        "  PCS: 0DTJ4ZZ\n"
        "  snomed: [44054006]\n"
        "other: [E99.9]\n"
        "---\n"
        "Body without codes.\n"
    )
    reading = reader.read(text)
    assert reading.day == dt.date(2025, 10, 1)
    got = [(s.text, s.start, s.expects, s.place) for s in reading.slots]
    assert got == [
        ("E11.9", text.index("E11.9"), ICD10CM, "front matter codes.ICD-10-CM"),
        ("I10", text.index("I10"), ICD10CM, "front matter codes.ICD-10-CM"),
        ("99213", text.index("99213"), CPT, "front matter codes.cpt"),
        ("0001U", text.index("0001U"), CPT, "front matter codes.cpt"),
        ("0DTJ4ZZ", text.index("0DTJ4ZZ"), ICD10PCS, "front matter codes.PCS"),
    ]


def test_front_matter_only_at_the_top():
    text = "Intro\n---\ncodes:\n  cpt: [99213]\n---\n"
    assert reader.read(text).slots == []
    assert reader.read(text).day is None
    unclosed = "---\ncodes:\n  cpt: [99213]\n"
    assert reader.read(unclosed).slots == []


def test_table_cells_lists_placeholders_and_fences():
    text = (
        "| ICD-10 codes | HCPCS |\n"
        "|:---|---:|\n"
        "| E11.9, I10 | `J1100` |\n"
        "| N/A | {Drug:123} |\n"
        "\n"
        "```markdown\n"
        "| CPT |\n"
        "|-----|\n"
        "| 99213 |\n"
        "```\n"
    )
    got = [(s.text, s.start, s.expects, s.place) for s in reader.read(text).slots]
    assert got == [
        ("E11.9", text.index("E11.9"), ICD10CM, "table column ICD-10 codes"),
        ("I10", text.index("I10"), ICD10CM, "table column ICD-10 codes"),
        ("J1100", text.index("J1100"), HCPCS, "table column HCPCS"),
    ]


@pytest.mark.parametrize(
    "text", ["", "\n", "---", "---\n---\n", "|", "| CPT |\n|---|\n|", "(", "CPT", "Dx:", "\ufeff", "{{", "<!-- medcode: off -->"]
)
def test_degenerate_documents(text):
    reading = reader.read(text, bare_hints=True)
    assert reading.kind == r.TEMPLATE
    assert reading.slots == []


# Every spelling of every prefix group the template reader knows, and a code of each set.
PREFIX_SPELLINGS = {
    "icd10pcs": ["ICD-10-PCS", "ICD10PCS", "icd 10 pcs", "PCS"],
    "icd10cm": ["ICD-10-CM", "ICD10CM", "icd-10", "ICD 10", "Dx"],
    "cpt": ["CPT", "CPT®", "CPT(R)", "CPT-4", "cpt4"],
    "hcpcs": ["HCPCS", "HCPC", "HCPCS II", "HCPCS Level II", "hcpcs level 2"],
    "ndc": ["NDC"],
    "cdt": ["CDT"],
    "ms_drg": ["MS-DRG", "MSDRG", "DRG"],
    "revenue": ["Rev code", "Revenue code", "Rev. code"],
}
EXAMPLE_CODES = {
    ICD10CM: "E11.9", ICD10PCS: "0DTJ4ZZ", CPT: "99213", HCPCS: "J1450", NDC: "00002-8215-01",
    places.CDT: "D0120", places.MS_DRG: "470", places.REVENUE: "0450",
}


def test_completion_offers_the_set_the_diagnostics_read_after_every_prefix():
    from medcode.server.templates.patterns import PREFIX_SETS, typing_after_prefix

    assert set(PREFIX_SPELLINGS) == set(PREFIX_SETS)  # a new prefix group needs spellings here
    for group, spellings in PREFIX_SPELLINGS.items():
        set_id = PREFIX_SETS[group]
        code = EXAMPLE_CODES[set_id]
        for spelling in spellings:
            for sep in (": ", " ", " # ", " code "):
                read = reader.read(f"Plan {spelling}{sep}{code}\n")
                assert [(s.text, s.expects) for s in read.slots] == [(code, set_id)], (spelling, sep)
                # Completion while the code is being typed, first in a list and after another.
                for line in (f"Plan {spelling}{sep}", f"Plan {spelling}{sep}{code[:2]}", f"Plan {spelling}{sep}{code}, {code[:2]}"):
                    assert typing_after_prefix(line) == (set_id, line.rpartition(" ")[2]), line


def test_completion_needs_a_prefix_the_diagnostics_would_read():
    from medcode.server.templates.patterns import typing_after_prefix

    # Inside a word, or a prefix followed by prose: no set for the word being typed.
    for line in ("xCPT: 992", "ACPT 99", "Dxy: E11", "NDC2: 0002", "CPT is billed with 992"):
        assert typing_after_prefix(line) is None, line
