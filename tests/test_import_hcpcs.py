"""HCPCS Level II importer: fixtures written here in the official CMS layout, then the real
2018-2020 files from ../shared (skipped without them)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from medcode.index_builder import layout, writer
from medcode.index_builder.importers import hcpcs
from medcode.index_builder.model import CODE, MODIFIER
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.sources import SourceError

# Positions (1-based start, length) from CMS's record layout, written out independently of the
# importer's own table so that a slip in one shows up against the other.
POSITIONS = {
    "code": (1, 5),
    "seq": (6, 5),
    "ric": (11, 1),
    "long": (12, 80),
    "short": (92, 28),
    "price": (120, 8),  # 4 x 2
    "mult": (128, 1),
    "cim": (129, 18),  # 3 x 6
    "mcm": (147, 24),  # 3 x 8
    "statute": (171, 10),
    "lab": (181, 24),  # 8 x 3
    "xref": (205, 25),  # 5 x 5
    "cov": (230, 1),
    "asc": (231, 2),
    "asc_dt": (233, 8),
    "opps": (241, 3),
    "opps_pi": (244, 1),
    "opps_dt": (245, 8),
    "procnote": (253, 4),
    "betos": (257, 3),
    "tos": (261, 5),
    "anest": (266, 3),
    "added": (269, 8),
    "eff": (277, 8),
    "term": (285, 8),
    "action": (293, 1),
}


def rec(width: int = 320, **fields: str) -> str:
    """One fixed-width record with each field left-justified at its official position."""
    line = [" "] * width
    for name, value in fields.items():
        start, length = POSITIONS[name]
        assert len(value) <= length, (name, value)
        line[start - 1 : start - 1 + len(value)] = value
    return "".join(line)


def mod(code: str, **fields: str) -> str:
    """Modifier records: positions 1-3 filler, the modifier in 4-5."""
    return rec(code="   " + code, **fields)


DISCLAIMER = [
    "***Disclaimers",
    "",
    "Note regarding coverage and payment indicators for codes in CMS\u2019 2026 HCPCS Update \u2014 "
    "see the 00100 notes",
    "-- Inclusion or exclusion of a procedure, supply, product, or service does not imply coverage.",
    "",
]

RECORDS = [
    rec(code="A4253", seq="00100", ric="3",
        long="Blood glucose test or reagent strips for home blood glucose monitor, per 50",
        short="Blood glucose/reagent strips", price="32", mult="A", cim="60-11",
        cov="D", betos="D1E", tos="P", anest="  0",
        added="19870101", eff="20050101", action="N"),
    # RIC 4 lines stop after the description in newer files: left trimmed to 91 characters.
    rec(width=91, code="A4253", seq="00200", ric="4", long="strips"),
    rec(code="A4466", seq="00100", ric="3",
        long="Garment, belt, sleeve or other covering, elastic or similar stretchable",
        short="Elastic garment/covering", price="00", mult="9", xref="A4467",
        cov="I", procnote="0196", betos="Z2", tos="9", anest="  0",
        added="20100101", eff="20170101", term="20161231", action="D"),
    rec(code="A4466", seq="00200", ric="4", long="material,   any type, each"),
    # Every administrative field filled, in a record trimmed to 293 characters (newer files).
    rec(width=293, code="G0008", seq="00100", ric="3",
        long="Administration of influenza virus vaccine",
        short="Admin influenza virus vac", price="5411", mult="C",
        cim="35-85 60-9", mcm="2049    2050.1", statute="1861S10A",
        lab="340630", xref="G9141Q2034", cov="S", asc="01", asc_dt="20080101",
        opps="123", opps_pi="N", opps_dt="20090101", procnote="0088", betos="O1G",
        tos="V1", anest="  5", added="19940101", eff="19960101", action="P"),
    # cp1252 characters in the descriptions: the registered sign and an em dash.
    rec(code="J0586", seq="00100", ric="3",
        long="Injection, abobotulinumtoxinA (Dysport\u00ae) \u2014 5 units",
        short="Dysport\u00ae 5 units", price="51", mult="A", cov="C", betos="O1E", tos="1P",
        anest="  0", added="20100101", eff="20100101", action="C"),
    # CPT is AMA copyright: a numeric code (with its continuation) and a numeric modifier.
    rec(code="99213", seq="00100", ric="3", long="Office or other outpatient visit for the",
        short="Office o/p est low 20 min", price="11", cov="C", added="19920101", action="N"),
    rec(code="99213", seq="00200", ric="4", long="evaluation and management of an established patient"),
    mod("GA", seq="00100", ric="7",
        long="Waiver of liability statement issued as required by payer policy, individual",
        short="Liability waiver ind case", cov="C", added="19950101", eff="20110101", action="N"),
    mod("GA", seq="00200", ric="8", long="case"),
    mod("25", seq="00100", ric="7", long="Significant, separately identifiable e/m service",
        short="Significant, separate e/m", added="19920101", action="N"),
    mod("LT", seq="00100", ric="7", long="Left side (used to identify procedures performed on the left side of the body)",
        short="Left side", cov="C", added="19920101", eff="19920101", action="N"),
]


def data_text(records: list[str] = RECORDS) -> bytes:
    return "\r\n".join(DISCLAIMER + records + [""]).encode("cp1252")


def make_zip(path: Path, member: str = "HCPC2026_JUL_ANWEB_06172026.txt", data: bytes | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data_text() if data is None else data)
        # Companions CMS ships beside the data file; none of them may be taken for it.
        zf.writestr("HCPC2026_JUL_README.txt", "CENTERS FOR MEDICARE & MEDICAID SERVICES (CMS)\r\n")
        zf.writestr("proc_notes_2026.txt", "PROCESSING NOTES\r\n0088 ...\r\n")
        zf.writestr("HCPC2026_JUL_ANWEB_06172026.xlsx", b"not really a workbook")
        zf.writestr("Changes_by_HCPC.prn", " HCPCS/MOD      TYPE OF CHANGE\r\n")
    return path


@pytest.fixture
def fixture_zip(tmp_path) -> Path:
    return make_zip(tmp_path / "july-2026-alpha-numeric-hcpcs-file.zip")


# -- fixture files ------------------------------------------------------------------------------

def test_fixture_zip_imports_every_field(fixture_zip, build_release):
    result = hcpcs.from_path(fixture_zip)
    assert (result.set_id, result.release) == ("hcpcs", "2026-Q3")
    assert (result.effective_from, result.effective_to) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert result.title == "HCPCS Level II July 2026 (2026-Q3)"
    assert result.complete
    assert [f.name for f in result.source.files] == [fixture_zip.name, "HCPC2026_JUL_ANWEB_06172026.txt"]
    assert len(result.warnings) == 1 and "refused 2 record(s)" in result.warnings[0]

    rel = build_release(result)
    assert sorted(rel.keys()) == ["A4253", "A4466", "G0008", "GA", "J0586", "LT"]
    assert not any(k[0].isdigit() for k in rel.keys())
    assert rel.manifest.counts["code"] == 4 and rel.manifest.counts["modifier"] == 2
    assert rel.manifest.counts["terminated"] == 1

    a4253 = rel.get("A4253")
    assert a4253.kind == CODE
    assert a4253.description == (
        "Blood glucose test or reagent strips for home blood glucose monitor, per 50 strips")
    assert a4253.short == "Blood glucose/reagent strips"
    assert (a4253.added, a4253.effective, a4253.terminated, a4253.action) == (
        "1987-01-01", "2005-01-01", None, "N")
    assert a4253.detail == {
        "pricing_indicators": ["32"],
        "multiple_pricing_indicator": "A",
        "cim_references": ["60-11"],
        "coverage": "D",
        "coverage_meaning": "Special coverage instructions apply",
        "betos": "D1E",
        "type_of_service": ["P"],
        "action_meaning": "No maintenance for this code",
    }

    a4466 = rel.get("A4466")
    # Chunks joined with one space, runs of blanks collapsed.
    assert a4466.description == ("Garment, belt, sleeve or other covering, elastic or similar "
                                 "stretchable material, any type, each")
    assert (a4466.terminated, a4466.action) == ("2016-12-31", "D")
    assert a4466.detail["cross_references"] == ["A4467"]
    assert a4466.detail["processing_note"] == "0196"
    assert a4466.detail["coverage_meaning"] == "Not payable by Medicare"
    assert a4466.detail["action_meaning"] == "Discontinue procedure or modifier code"
    assert rel.flags("A4466") & layout.FLAG_TERMINATED

    g0008 = rel.get("G0008")
    assert g0008.detail == {
        "pricing_indicators": ["54", "11"],
        "multiple_pricing_indicator": "C",
        "cim_references": ["35-85", "60-9"],
        "mcm_references": ["2049", "2050.1"],
        "statute": "1861S10A",
        "lab_certifications": ["340", "630"],
        "cross_references": ["G9141", "Q2034"],
        "coverage": "S",
        "coverage_meaning": "Non-covered by Medicare statute",
        "asc_group": "01",
        "asc_effective": "2008-01-01",
        "opps_group": "123",
        "opps_indicator": "N",
        "opps_effective": "2009-01-01",
        "processing_note": "0088",
        "betos": "O1G",
        "type_of_service": ["V", "1"],
        "anesthesia_base_units": 5,
        "action_meaning": "Payment change",
    }

    j0586 = rel.get("J0586")
    assert j0586.description == "Injection, abobotulinumtoxinA (Dysport\u00ae) \u2014 5 units"
    assert j0586.short == "Dysport\u00ae 5 units"
    assert j0586.detail["action_meaning"] == "Change in long description"
    assert [h.record.code for h in rel.search("dysport")] == ["J0586"]

    ga = rel.get("GA")
    assert ga.kind == MODIFIER
    assert ga.description == ("Waiver of liability statement issued as required by payer policy, "
                              "individual case")
    assert (ga.short, ga.added, ga.effective, ga.action) == (
        "Liability waiver ind case", "1995-01-01", "2011-01-01", "N")
    assert ga.detail == {"coverage": "C", "coverage_meaning": "Carrier judgment",
                         "action_meaning": "No maintenance for this code"}
    assert rel.flags("LT") & layout.FLAG_MODIFIER
    assert "99213" not in rel and "25" not in rel


def test_extracted_txt_and_folder(tmp_path):
    folder = tmp_path / "extracted"
    folder.mkdir()
    txt = folder / "HCPC2020_ANWEB_w_disclaimer.txt"
    txt.write_bytes(data_text())
    (folder / "HCPC2020_README.txt").write_text("2020 ALPHA-NUMERIC\r\n")
    for path in (txt, folder):
        result = hcpcs.from_path(path)
        assert (result.release, result.title) == ("2020", "HCPCS Level II 2020 (annual)")
        assert (result.effective_from, result.effective_to) == (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
        assert [f.name for f in result.source.files] == [txt.name]
        assert {r.code for r in result.records} == {"A4253", "A4466", "G0008", "J0586", "GA", "LT"}


@pytest.mark.parametrize(
    "zip_name, member, label, start, end",
    [
        ("2020-Alpha-Numeric-HCPCS-File.zip", "HCPC2020_ANWEB_w_disclaimer.txt", "2020", "2020-01-01", "2020-12-31"),
        ("hcpcs.zip", "HCPC2019_CONTR_ANWEB.txt", "2019", "2019-01-01", "2019-12-31"),
        ("hcpcs.zip", "HCPC2018_CONTR_ANWEB_disc.txt", "2018", "2018-01-01", "2018-12-31"),
        ("2018-Alpha-Numeric-HCPCS-File.zip", "data.txt", "2018", "2018-01-01", "2018-12-31"),
        ("hcpcs.zip", "HCPC2026_JUL_ANWEB_06172026.txt", "2026-Q3", "2026-07-01", "2026-09-30"),
        ("july-2026-alpha-numeric-hcpcs-file.zip", "data.txt", "2026-Q3", "2026-07-01", "2026-09-30"),
        ("2026-jul-alpha-numeric-hcpcs-file.zip", "data.txt", "2026-Q3", "2026-07-01", "2026-09-30"),
        ("hcpcs.zip", "HCPC2025_JAN_ANWEB_v3.txt", "2025-Q1", "2025-01-01", "2025-03-31"),
        ("april-2025-alpha-numeric-hcpcs-file.zip", "HCPC2025_ANWEB.txt", "2025-Q2", "2025-04-01", "2025-06-30"),
        ("hcpcs.zip", "HCPC2024_OCT_ANWEB.txt", "2024-Q4", "2024-10-01", "2024-12-31"),
    ],
)
def test_release_inferred_from_names(tmp_path, zip_name, member, label, start, end):
    result = hcpcs.from_path(make_zip(tmp_path / zip_name, member))
    assert result.release == label and layout.valid_release_label(label)
    assert (result.effective_from.isoformat(), result.effective_to.isoformat()) == (start, end)


def test_arguments_win_over_names(tmp_path):
    path = make_zip(tmp_path / "2020-Alpha-Numeric-HCPCS-File.zip", "HCPC2020_ANWEB.txt")
    both = hcpcs.from_path(path, release="payer-2020b", effective=dt.date(2020, 3, 15))
    assert (both.release, both.effective_from, both.effective_to) == (
        "payer-2020b", dt.date(2020, 3, 15), dt.date(2020, 12, 31))
    assert both.title == "HCPCS Level II payer-2020b"

    label_only = hcpcs.from_path(path, release="2021-Q2")
    assert (label_only.release, label_only.effective_from, label_only.effective_to) == (
        "2021-Q2", dt.date(2021, 4, 1), dt.date(2021, 6, 30))
    assert label_only.title == "HCPCS Level II April 2021 (2021-Q2)"

    # A plain label takes its dates from the file names.
    custom = hcpcs.from_path(path, release="local")
    assert (custom.effective_from, custom.effective_to) == (dt.date(2020, 1, 1), dt.date(2020, 12, 31))


def test_effective_alone_names_the_release(tmp_path):
    path = make_zip(tmp_path / "hcpcs.zip", "ANWEB.txt")
    result = hcpcs.from_path(path, effective=dt.date(2026, 7, 1))
    assert (result.release, result.effective_from, result.effective_to) == (
        "2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert result.title == "HCPCS Level II July 2026 (2026-Q3)"


def test_no_label_is_an_error(tmp_path):
    path = make_zip(tmp_path / "hcpcs.zip", "ANWEB.txt")
    with pytest.raises(SourceError, match=r"--release LABEL.*--effective YYYY-MM-DD"):
        hcpcs.from_path(path)
    unlabelled = hcpcs.from_path(path, release="mine")
    assert unlabelled.effective_from is None and "--effective" in unlabelled.warnings[-1]
    with pytest.raises(SourceError, match="not usable"):
        hcpcs.from_path(path, release="../up")


def test_zip_without_data_file(tmp_path):
    path = tmp_path / "2020-HCPCS-Record-Layout.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("HCPCS2020_recordlayout.txt", "  CMS RIF REPORT\r\n")
        zf.writestr("notes.txt", "\r\n".join(DISCLAIMER))
    message = r"2020-HCPCS-Record-Layout.zip: no CMS HCPCS alpha-numeric data .* in HCPCS2020_recordlayout.txt, notes.txt"
    with pytest.raises(SourceError, match=message):
        hcpcs.from_path(path)


def test_only_cpt_records_is_an_error(tmp_path):
    path = tmp_path / "HCPC2020_ANWEB.txt"
    path.write_bytes(data_text([r for r in RECORDS if r[:5].strip()[:1].isdigit()]))
    only_cpt = r"HCPC2020_ANWEB.txt holds no HCPCS Level II .*; refused 2 record\(s\) whose code starts"
    with pytest.raises(SourceError, match=only_cpt):
        hcpcs.from_path(path)


# -- the real CMS files in ../shared -----------------------------------------------------------

YEARS = ("2018", "2019", "2020")


@pytest.fixture(scope="module")
def real(shared_dir) -> dict:
    return {y: hcpcs.from_path(shared_dir / "data" / "hcpcs" / f"{y}-Alpha-Numeric-HCPCS-File.zip")
            for y in YEARS}


@pytest.fixture(scope="module")
def store(real, tmp_path_factory) -> IndexStore:
    root = tmp_path_factory.mktemp("hcpcs-index")
    for result in real.values():
        writer.write_release(root, result)
    return IndexStore(root)


@pytest.mark.parametrize("year, codes, modifiers", [("2018", 6205, 354), ("2019", 6440, 360), ("2020", 6710, 369)])
def test_real_counts(real, year, codes, modifiers):
    result = real[year]
    records = list(result.records)
    assert sum(r.kind == CODE for r in records) == codes
    assert sum(r.kind == MODIFIER for r in records) == modifiers
    assert len({r.code for r in records}) == len(records)
    assert not any(r.code[0].isdigit() for r in records)
    assert result.warnings == []
    assert result.source.files[1].name.startswith(f"HCPC{year}_")


def test_real_2020_records(real):
    by_code = {r.code: r for r in real["2020"].records}
    j1100 = by_code["J1100"]
    assert (j1100.description, j1100.short) == (
        "Injection, dexamethasone sodium phosphate, 1 mg", "Dexamethasone sodium phos")
    assert j1100.detail["pricing_indicators"] == ["51"]
    assert j1100.detail["coverage"] == "D" and j1100.detail["betos"] == "O1E"
    assert (j1100.added, j1100.effective, j1100.terminated, j1100.action) == (
        "1982-01-01", "2001-01-01", None, "N")
    assert by_code["E0114"].description.endswith("with pads, tips and handgrips")
    assert by_code["G0008"].detail["pricing_indicators"] == ["54"]
    assert by_code["A4466"].terminated == "2016-12-31"
    assert (by_code["C9014"].added, by_code["C9014"].terminated) == ("2018-01-01", "2018-12-31")
    for m in ("LT", "RT", "GA", "XS"):
        assert by_code[m].kind == MODIFIER


def test_real_years_share_one_index(store):
    rels = {r.label: r for r in store.releases("hcpcs")}
    assert store.problems == []
    assert {label: (str(r.effective_from), str(r.effective_to)) for label, r in rels.items()} == {
        "2018": ("2018-01-01", "2018-12-31"),
        "2019": ("2019-01-01", "2019-12-31"),
        "2020": ("2020-01-01", "2020-12-31"),
    }
    rel, in_force = store.release_for("hcpcs", dt.date(2019, 6, 1))
    assert (rel.label, in_force) == ("2019", True)

    # C9035 was added on 2019-01-01 and discontinued on 2019-09-30: active in the 2019 file,
    # kept with its termination date (action D) in the 2020 file, absent from 2018.
    assert "C9035" not in rels["2018"]
    assert (rel.get("C9035").terminated, rel.get("C9035").action) == (None, "A")
    c9035 = rels["2020"].get("C9035")
    assert c9035.description == "Injection, aripiprazole lauroxil (aristada initio), 1 mg"
    assert (c9035.terminated, c9035.action) == ("2019-09-30", "D")
    assert rels["2020"].flags("C9035") & layout.FLAG_TERMINATED
