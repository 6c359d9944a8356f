"""Releases that share their files (writer.write_family): each folder reads as a complete
release of its own, lists only its codes, and gives each code its kind in that release."""

from __future__ import annotations

import datetime as dt

from medcode.index_builder import layout
from medcode.index_builder.model import CODE, HEADER, CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.writer import write_family

d = dt.date


def result(label: str, start: dt.date, end: dt.date, records: list[CodeRecord]) -> ImportResult:
    return ImportResult("icd10cm", label, f"ICD-10-CM {label}", start, end, Source("package", "test"), records)


def test_fiscal_years_share_files_but_not_codes_or_kinds(tmp_path):
    i420 = CodeRecord("I420", "Dilated cardiomyopathy")
    e119 = CodeRecord("E119", "Type 2 diabetes mellitus without complications")
    i4200 = CodeRecord("I4200", "", added="2026-10-01")
    header = CodeRecord("I420", "Dilated cardiomyopathy", kind=HEADER)
    paths = write_family(tmp_path, [
        result("FY2026", d(2025, 10, 1), d(2026, 9, 30), [i420, e119]),
        result("FY2027", d(2026, 10, 1), d(2027, 9, 30), [header, e119, i4200]),
    ])
    store = IndexStore(tmp_path)
    fy26, fy27 = store.releases("icd10cm")
    assert (fy26.label, fy27.label) == ("FY2026", "FY2027")
    assert "I4200" not in fy26 and fy26.get("I4200") is None and list(fy26.keys("I42")) == ["I420"]
    assert fy26.get("I420").kind == CODE and fy27.get("I420").kind == HEADER
    assert fy27.count("I42", layout.FLAG_CODE) == 1 and len(fy26) == 2 and len(fy27) == 3
    assert fy26.manifest.counts == {"records": 2, CODE: 2, HEADER: 0, "modifier": 0, "terminated": 0}
    assert [h.record.code for h in fy26.search("cardiomyopathy")] == ["I420"]
    # One copy on disk: the code and record files are the same file in both folders.
    assert (paths[0] / layout.RECORDS_BIN).stat().st_ino == (paths[1] / layout.RECORDS_BIN).stat().st_ino
    assert fy26.verify() == [] and fy27.verify() == []
    assert not [p for p in (tmp_path / "icd10cm").iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_shared_lead_and_each_release_s_own_records_give_each_its_flags_and_counts(tmp_path):
    # The embedded defaults list the records every year shares first (the same objects): the
    # writer indexes that lead once, and each release's own records after it.
    steady = [CodeRecord("E119", "Type 2 diabetes mellitus without complications"), CodeRecord("E11", "Type 2 diabetes", kind=HEADER)]
    ends = CodeRecord("A001", "Cholera due to Vibrio cholerae 01, biovar eltor", terminated="2026-03-31")
    added = CodeRecord("I4200", "", added="2026-10-01")
    i42 = CodeRecord("I420", "Dilated cardiomyopathy", kind=HEADER)
    write_family(tmp_path, [
        result("FY2026", d(2025, 10, 1), d(2026, 9, 30), [*steady, ends]),
        result("FY2027", d(2026, 10, 1), d(2027, 9, 30), [*steady, added, i42]),
    ])
    fy26, fy27 = IndexStore(tmp_path).releases("icd10cm")
    assert fy26.flags("E119") == fy27.flags("E119") == layout.FLAG_CODE
    assert fy26.flags("E11") == fy27.flags("E11") == layout.FLAG_HEADER
    assert fy26.flags("A001") == layout.FLAG_CODE | layout.FLAG_TERMINATED and "A001" not in fy27
    assert "I4200" not in fy26 and fy27.flags("I4200") == layout.FLAG_CODE and fy27.get("I420").kind == HEADER
    assert fy26.manifest.counts == {"records": 3, CODE: 2, HEADER: 1, "modifier": 0, "terminated": 1}
    assert fy27.manifest.counts == {"records": 4, CODE: 2, HEADER: 2, "modifier": 0, "terminated": 0}


def test_a_code_twice_in_a_release_counts_once_and_takes_its_last_kind(tmp_path):
    e119 = CodeRecord("E119", "Type 2 diabetes mellitus without complications")
    i420 = CodeRecord("I420", "Dilated cardiomyopathy")
    header = CodeRecord("I420", "Dilated cardiomyopathy", kind=HEADER)
    write_family(tmp_path, [
        result("FY2026", d(2025, 10, 1), d(2026, 9, 30), [e119, i420]),
        result("FY2027", d(2026, 10, 1), d(2027, 9, 30), [e119, i420, header]),  # the lead's I420 again
    ])
    fy26, fy27 = IndexStore(tmp_path).releases("icd10cm")
    assert fy26.get("I420").kind == CODE and fy27.get("I420").kind == HEADER
    # The code's record is the newest code's (I42.0 keeps its data), its kind the release's last.
    assert fy27.get("I420").description == "Dilated cardiomyopathy"
    assert fy27.manifest.counts == {"records": 2, CODE: 2, HEADER: 0, "modifier": 0, "terminated": 0}
    assert fy26.manifest.counts == {"records": 2, CODE: 2, HEADER: 0, "modifier": 0, "terminated": 0}


def test_the_union_s_flags_are_not_made_only_each_release_s(tmp_path, monkeypatch):
    """The family's shared files are written once for the union of its releases; flags are
    each release's own, so none are worked out for the union (it cost ICD-10-CM and PCS
    about 40 ms of a build, thrown away)."""
    from medcode.index_builder import writer

    made = []
    real = writer._flags
    monkeypatch.setattr(writer, "_flags", lambda *args: made.append(args) or real(*args))
    e119 = CodeRecord("E119", "Type 2 diabetes mellitus without complications", terminated="2026-03-31")
    write_family(tmp_path, [
        result("FY2026", d(2025, 10, 1), d(2026, 9, 30), [e119]),
        result("FY2027", d(2026, 10, 1), d(2027, 9, 30), [e119, CodeRecord("I420", "Dilated cardiomyopathy")]),
    ])  # fmt: skip
    assert made == []
    fy26, fy27 = IndexStore(tmp_path).releases("icd10cm")
    assert fy26.flags("E119") == fy27.flags("E119") == layout.FLAG_CODE | layout.FLAG_TERMINATED
    assert fy27.manifest.counts["terminated"] == 1 and fy27.manifest.counts["records"] == 2


def test_a_side_store_every_release_holds_alike_is_written_once_and_linked(tmp_path, monkeypatch):
    """The embedded ICD-10-CM fiscal years carry one tabular's notes (the same object): the
    side store is written once and hard-linked into each release, as the union's files are;
    one that differs by release is written into each of its releases."""
    from medcode.index_builder import writer

    written = []
    real = writer._write_keyed
    monkeypatch.setattr(writer, "_write_keyed", lambda folder, names, *a: written.append(names[0]) or real(folder, names, *a))
    notes = {"E11": {"x1": [["type 1 diabetes mellitus (E10.-)", ["E10"]]]}}
    e119 = CodeRecord("E119", "Type 2 diabetes mellitus without complications")
    releases = [
        result("FY2026", d(2025, 10, 1), d(2026, 9, 30), [e119]),
        result("FY2027", d(2026, 10, 1), d(2027, 9, 30), [e119, CodeRecord("I420", "Dilated cardiomyopathy")]),
    ]
    for r, own in zip(releases, ({"E119": 1}, {"E119": 2})):
        r.aux = {"tabular-edits": notes, "own": own}
    paths = write_family(tmp_path, releases)
    assert sorted(written) == ["aux-own.marisa", "aux-own.marisa", "aux-tabular-edits.marisa"]
    for name in layout.aux_files("tabular-edits"):
        assert (paths[0] / name).stat().st_ino == (paths[1] / name).stat().st_ino
    assert (paths[0] / "aux-own.bin").stat().st_ino != (paths[1] / "aux-own.bin").stat().st_ino
    fy26, fy27 = IndexStore(tmp_path).releases("icd10cm")
    for rel, own in ((fy26, 1), (fy27, 2)):
        assert rel.aux("tabular-edits", "E11") == notes["E11"] and rel.aux("own", "E119") == own
        assert rel.manifest.aux == ["own", "tabular-edits"] and rel.verify() == []
        assert rel.manifest.files["aux-tabular-edits.bin"] == fy26.manifest.files["aux-tabular-edits.bin"]
