"""The embedded fiscal years' records (defaults/releases.py _fiscal_releases), on small tables:
a code valid in every year is one record shared by all, dated and flagged; a code valid in
some years is a header in the others, from its tabular record, never from its dated one."""

from __future__ import annotations

import datetime as dt

from medcode.index_builder.defaults.releases import Span, _fiscal_releases, _heads
from medcode.index_builder.model import CODE, HEADER, CodeRecord, Source

d = dt.date


def test_steady_codes_are_shared_and_a_code_that_becomes_a_header_keeps_its_tabular_record():
    known = {
        "E119": CodeRecord("E119", "Type 2 diabetes mellitus without complications", kind=HEADER, detail={"section": "E08-E13"}),
        "I420": CodeRecord("I420", "Dilated cardiomyopathy", kind=CODE, notes={"excludes1": ["x"]}),
        "I4200": CodeRecord("I4200", "Dilated cardiomyopathy, unspecified"),
    }
    tabular = {code: (rec.kind, dict(rec.detail)) for code, rec in known.items()}
    spans = {
        "E119": [Span(d(2015, 10, 1), None, "unspecified")],  # every year, flagged
        "I420": [Span(d(2015, 10, 1), d(2026, 9, 30), "")],  # a code to FY2026, a header in FY2027
        "I4200": [Span(d(2026, 10, 1), None, "")],
    }
    fy26, fy27 = _fiscal_releases(
        "icd10cm", "ICD-10-CM", spans, known, {"I420": ["I4200"]}, Source("package", "test"), None, (3, 4), {}, "note", range(2026, 2028)
    )
    by26, by27 = ({r.code: r for r in res.records} for res in (fy26, fy27))
    assert by26["E119"] is by27["E119"] and fy26.records[0] is fy27.records[0] is by26["E119"]  # the lead, first
    e119 = by26["E119"]
    assert e119.kind == CODE and e119.detail == {"section": "E08-E13", "mce": ["unspecified"]} and e119.added is None
    i420 = by26["I420"]
    assert i420.kind == CODE and i420.detail == {"cross_references": ["I4200"]} and i420.terminated is None
    header = by27["I420"]
    assert header.kind == HEADER and header is not i420
    assert header.detail == {} and header.notes == {"excludes1": ["x"]} and header.terminated is None
    assert by27["I4200"].added == "2026-10-01" and "I4200" not in by26
    # The varying codes' tabular records are copied, not changed (a header is made from them).
    assert {c: (known[c].kind, known[c].detail) for c in ("I420", "I4200")} == {c: tabular[c] for c in ("I420", "I4200")}


def test_steady_codes_are_dated_in_place_even_without_a_description_or_from_a_later_start():
    # Steady (valid from the first year on, one set of flags): filled in in place, shared by
    # every year; `added` when it began after the embedded data's first day, its replacements
    # as cross references, and a code the tabular lacks gets a record without description.
    known = {"E1165": CodeRecord("E1165", "Type 2 diabetes mellitus with hyperglycemia", kind=HEADER, detail={"seventh": {}})}
    spans = {
        "E1165": [Span(d(2024, 10, 1), None, "cc,mcc")],  # began after FY2023, before FY2026
        "U071": [Span(d(2015, 10, 1), None, "")],  # not in the tabular
    }
    fy26, fy27 = _fiscal_releases(
        "icd10cm", "ICD-10-CM", spans, known, {"U071": ["U0710"]}, Source("package", "test"), None, (3, 4), {}, "note", range(2026, 2028)
    )
    assert fy26.records[:2] == fy27.records[:2] and all(a is b for a, b in zip(fy26.records[:2], fy27.records[:2]))
    e1165, u071 = fy26.records[:2]
    assert e1165 is known["E1165"] and e1165.kind == CODE and (e1165.added, e1165.terminated) == ("2024-10-01", None)
    assert e1165.detail == {"seventh": {}, "mce": ["cc", "mcc"]}
    assert u071.code == "U071" and u071.detail == {"no_description": True, "cross_references": ["U0710"]} and u071.added is None
    assert fy26.warnings == fy27.warnings == ["note", "1 valid code(s) have no description in the embedded data"]


def test_heads_are_the_prefixes_of_each_length_that_are_not_codes():
    codes = {"A00", "A000", "S7200XA", "S72001A", "S72", "0W9G30Z", "Z9"}
    for lo, hi in ((3, 6), (3, 3), (4, 5), (2, 7)):
        assert _heads(codes, lo, hi) == {c[:n] for c in codes for n in range(lo, hi + 1)} - codes
    assert _heads(codes, 3, 6) == {"S720", "S7200", "S72001", "S7200X", "0W9", "0W9G", "0W9G3", "0W9G30"}
