"""CPT from licensed AMA files, in every layout we accept.

CPT descriptors belong to the AMA: every descriptor and notice below is invented ("Fixture ...");
only the code numbers look real.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from medcode.index_builder.importers import cpt
from medcode.index_builder.model import CODE, MODIFIER
from medcode.index_builder.sources import SourceError

# An invented stand-in for the copyright notice that opens every AMA data file.
NOTICE = (
    "Fixture data file for tests. Not AMA content.\n"
    "Copyright 2025 Fixture Association. All rights reserved.\n"
    "2025 fixture edition: lines like these open the file and are skipped.\n"
    "\n"
)


def write(path, text: str, encoding: str = "utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_zip(path, members: dict[str, str]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


LONGULT = NOTICE + (
    "99202\tFixture procedure one, first of its family\n"
    "99213\tFixture procedure two\n"
    "0001F\tFixture performance measure\n"
    "0042T\tFixture emerging technology\n"
    "0001U\tFixture proprietary lab analysis\n"
    "0001A\tFixture immunization administration\n"
    "0002M\tFixture algorithmic analysis\n"
    "A0021\tFixture HCPCS-shaped row\n"
    "9921\tFixture four-digit junk\n"
    "E11.9\tFixture diagnosis-shaped row\n"
    "25\tFixture modifier twenty-five\n"
    "59\tFixture modifier fifty-nine\n"
)


def test_longult_with_preamble(tmp_path, build_release):
    path = write(tmp_path / "CPT 2026" / "LONGULT.txt", LONGULT)
    result = cpt.from_path(path.parent)
    rel = build_release(result)

    assert rel.set_id == "cpt" and rel.label == "2026"
    assert rel.effective_from == dt.date(2026, 1, 1) and rel.effective_to == dt.date(2026, 12, 31)
    assert rel.title == "CPT 2026 (licensed AMA data, CPT 2026)"
    m = rel.manifest
    assert m.complete is True
    assert m.counts["code"] == 7 and m.counts["modifier"] == 2 and m.counts["records"] == 9

    rec = rel.get("99202")
    assert rec.description == "Fixture procedure one, first of its family" and rec.kind == CODE and rec.short is None
    for code in ("0001F", "0042T", "0001U", "0001A", "0002M"):
        assert rel.get(code).kind == CODE
    assert rel.get("25").kind == MODIFIER
    assert rel.get("25").description == "Fixture modifier twenty-five"
    for junk in ("A0021", "9921", "E119", "E11.9"):
        assert junk not in rel
    # The notice is skipped silently; the three non-CPT rows are counted, naming their codes.
    skipped = [w for w in m.warnings if "not a CPT code" in w]
    assert len(skipped) == 1 and "skipped 3 row(s)" in skipped[0] and "A0021" in skipped[0]
    assert not any("not code rows" in w for w in m.warnings)
    assert m.source.kind == "file" and [f.name for f in m.source.files] == ["LONGULT.txt"]
    assert rel.search("emerging")[0].record.code == "0042T"


def test_header_row_table(tmp_path, build_release):
    text = (
        "Fixture CPT Link export\n"
        "Concept Id\tCPT Code\tLong Descriptor\tMedium Descriptor\tShort Descriptor\n"
        "1000001\t99202\tFixture long descriptor one\tFixture medium one\tFX SHORT ONE\n"
        "1000002\t0042T\tFixture long descriptor two\tFixture medium two\t\n"
        "1000003\tG0008\tFixture HCPCS row\tFixture medium\tFX\n"
    )
    path = write(tmp_path / "cpt_link_2026.txt", text)
    rel = build_release(cpt.from_path(path))
    assert rel.label == "2026"
    one = rel.get("99202")
    assert one.description == "Fixture long descriptor one" and one.short == "FX SHORT ONE"
    two = rel.get("0042T")
    assert two.description == "Fixture long descriptor two" and two.short == "Fixture medium two"
    assert "1000001" not in rel and "G0008" not in rel
    assert rel.manifest.counts["code"] == 2
    assert any("skipped 1 row(s)" in w and "G0008" in w for w in rel.manifest.warnings)


def test_header_names_are_case_insensitive_and_generic(tmp_path, build_release):
    path = write(tmp_path / "list.tsv", "cpt_code\tdescription\n99202\tFixture one\n99203\tFixture two\n")
    rel = build_release(cpt.from_path(path, release="2026"))
    assert rel.get("99203").description == "Fixture two"
    assert rel.manifest.counts["code"] == 2


SHORTU = NOTICE + "99202 FIXTURE PROC ONE\n99203 FIXTURE PROC TWO\n0001F FIXTURE MEASURE\n"
LONGULF = NOTICE + (
    "9920201 Fixture procedure one, a descriptor long enough that it\n"
    "9920202 continues on a second record\n"
    "9920203 and a third one\n"
    "9920301 Fixture procedure two\n"
)


def test_shortu_and_longulf_in_one_zip(tmp_path, build_release):
    path = write_zip(
        tmp_path / "cpt-data-2026.zip",
        {"standard/SHORTU.txt": SHORTU, "standard/LONGULF.txt": LONGULF, "README.txt": "Fixture readme 99999\n"},
    )
    result = cpt.from_path(path)
    rel = build_release(result)
    assert rel.label == "2026"
    one = rel.get("99202")
    assert one.description == (
        "Fixture procedure one, a descriptor long enough that it continues on a second record and a third one"
    )
    assert one.short == "FIXTURE PROC ONE"
    assert rel.get("99203").description == "Fixture procedure two"
    # Only in the short file: its short text is all there is.
    assert rel.get("0001F").description == "FIXTURE MEASURE" and rel.get("0001F").short is None
    assert "99999" not in rel  # the README is not read
    names = [f.name for f in rel.manifest.source.files]
    assert names[0] == "cpt-data-2026.zip" and set(names[1:]) == {"SHORTU.txt", "LONGULF.txt"}
    assert result.meta["files"]["LONGULF.txt"].startswith("sequenced")
    assert rel.manifest.complete is True and rel.manifest.counts["code"] == 3
    assert not rel.manifest.warnings


def test_longulf_cut_at_the_column_joins_without_a_space(tmp_path, build_release):
    # Text 9-80 holds 72 characters; a record that fills them was cut mid-word.
    first = "Fixture procedure whose descriptor fills the whole fixed record and then con"
    first = first.ljust(72, "x")[:72]
    assert len("9920201 " + first) == 80
    text = f"9920201 {first}\n9920202 tinues here\n"
    rel = build_release(cpt.from_path(write(tmp_path / "LONGUF.txt", text), release="2026"))
    assert rel.get("99202").description == first + "tinues here"


def test_medium_is_short_when_no_short_file(tmp_path, build_release):
    folder = tmp_path / "cpt2026"
    write(folder / "MEDU.txt", NOTICE + "99202 FIXTURE MEDIUM DESCRIPTOR ONE\n")
    write(folder / "LONGULT.txt", NOTICE + "99202\tFixture long descriptor one\n")
    rel = build_release(cpt.from_path(folder))
    rec = rel.get("99202")
    assert rec.description == "Fixture long descriptor one" and rec.short == "FIXTURE MEDIUM DESCRIPTOR ONE"


def test_long_beats_short_in_any_file_order(tmp_path, build_release):
    folder = tmp_path / "cpt2026"
    write(folder / "A_SHORTU.txt", "99202 FIXTURE SHORT\n")  # sorted first, still only the short text
    write(folder / "Z_LONGULT.txt", "99202\tFixture long\n")
    rec = build_release(cpt.from_path(folder)).get("99202")
    assert (rec.description, rec.short) == ("Fixture long", "FIXTURE SHORT")


def test_two_column_csv(tmp_path, build_release):
    text = (
        "code,description\n"
        '99202,"Fixture procedure, quoted comma"\n'
        "99203,Fixture procedure, unquoted comma\n"
        "0042T,Fixture emerging\n"
        "J1100,Fixture drug row\n"
        "59,Fixture modifier\n"
    )
    rel = build_release(cpt.from_path(write(tmp_path / "my cpt 2026.csv", text)))
    assert rel.get("99202").description == "Fixture procedure, quoted comma"
    assert rel.get("99203").description == "Fixture procedure, unquoted comma"
    assert rel.get("59").kind == MODIFIER
    assert "J1100" not in rel and "CODE" not in rel
    assert rel.manifest.counts["code"] == 3 and rel.manifest.counts["modifier"] == 1


def test_two_column_csv_without_header(tmp_path, build_release):
    text = "99202,Fixture one\n99203,Fixture two\n"
    rel = build_release(cpt.from_path(write(tmp_path / "cpt.csv", text), release="2026"))
    assert [r.code for r in rel.records("", 10)] == ["99202", "99203"]


def test_modifier_text_file(tmp_path, build_release):
    modul = (
        NOTICE
        + "Appendix A\n\n"
        + "25 Fixture Modifier Title: fixture explanation that\nruns over two lines.\n\n"
        + "59 Fixture Distinct Title: fixture explanation.\n\n"
        + "Category II Modifiers\n\n"
        + "1P Fixture category two modifier: not a 2-digit modifier.\n\n"
    )
    folder = tmp_path / "cpt2026"
    write(folder / "LONGULT.txt", "99202\tFixture one\n")
    write(folder / "MODUL.txt", modul)
    rel = build_release(cpt.from_path(folder))
    mod = rel.get("25")
    assert mod.kind == MODIFIER
    assert mod.description == "Fixture Modifier Title: fixture explanation that runs over two lines."
    assert mod.short == "Fixture Modifier Title"
    assert rel.get("59").kind == MODIFIER
    assert "1P" not in rel
    assert rel.manifest.counts["modifier"] == 2 and rel.manifest.counts["code"] == 1


def test_change_history_tables_are_not_codes(tmp_path, build_release):
    folder = tmp_path / "cpt2026"
    write(folder / "LONGULT.txt", "99202\tFixture one\n")
    write(
        folder / "Deleted_DTK_tab.txt",
        "Concept Id\tCPT Code\tDate Deleted\tDescription\n1\t99201\t20200101\tFixture gone\n",
    )
    write(
        folder / "export.txt",
        "Date\tChange Type\tCPT Code\tPrior Value\tCurrent Value\n20250101\tADDED\t99299\tx\tFixture\n",
    )
    rel = build_release(cpt.from_path(folder))
    assert "99201" not in rel and "99299" not in rel and "99202" in rel
    with pytest.raises(SourceError, match="change history"):
        cpt.from_path(folder / "Deleted_DTK_tab.txt", release="2026")


def test_release_label_needs_a_year_or_the_argument(tmp_path):
    path = write(tmp_path / "LONGULT.txt", LONGULT)
    with pytest.raises(SourceError, match="--release"):
        cpt.from_path(path)
    result = cpt.from_path(path, release="2026")
    assert result.release == "2026" and result.effective_from == dt.date(2026, 1, 1)
    assert result.effective_to == dt.date(2026, 12, 31)
    with pytest.raises(SourceError, match="release label"):
        cpt.from_path(path, release="../2026")


def test_overrides(tmp_path, build_release):
    path = write(tmp_path / "cpt_2025" / "LONGULT.txt", LONGULT)
    result = cpt.from_path(path.parent, release="2026-q2", effective=dt.date(2026, 4, 1))
    rel = build_release(result)
    assert rel.label == "2026-q2"
    assert rel.effective_from == dt.date(2026, 4, 1) and rel.effective_to == dt.date(2026, 12, 31)
    assert rel.title == "CPT 2026-q2 (licensed AMA data, cpt_2025)"
    # A label without a year takes its dates from the name, the effective date overriding the start.
    result = cpt.from_path(path.parent, release="licensed")
    assert result.effective_from == dt.date(2025, 1, 1) and result.effective_to == dt.date(2025, 12, 31)


def test_year_inside_a_longer_number_is_not_a_year(tmp_path):
    path = write(tmp_path / "cpt-20260101.txt", LONGULT)
    with pytest.raises(SourceError, match="--release"):
        cpt.from_path(path)


def test_file_without_cpt_codes(tmp_path):
    path = write(tmp_path / "hcpcs2026.txt", NOTICE + "A0021\tFixture one\nJ1100\tFixture two\n")
    with pytest.raises(SourceError, match=r"hcpcs2026\.txt contains no CPT codes"):
        cpt.from_path(path)
    only_modifiers = write(tmp_path / "mods2026.txt", "25\tFixture modifier\n")
    with pytest.raises(SourceError, match="no CPT codes"):
        cpt.from_path(only_modifiers)
    prose = write(tmp_path / "notes2026.txt", "Fixture prose without any codes.\n")
    with pytest.raises(SourceError, match=r"notes2026\.txt contains no CPT codes"):
        cpt.from_path(prose)


def test_rows_after_the_data_that_are_not_code_rows_are_counted(tmp_path):
    text = NOTICE + "99202\tFixture one\nFixture stray line\n99203\t\n"
    result = cpt.from_path(write(tmp_path / "LONGULT.txt", text), release="2026")
    assert [r.code for r in result.records] == ["99202"]
    assert any("1 row(s) that are not code rows (e.g. line 6)" in w for w in result.warnings)
    assert any("without a descriptor (e.g. 99203)" in w for w in result.warnings)


def test_cp1252_and_bom(tmp_path, build_release):
    path = tmp_path / "LONGULT.txt"
    path.write_bytes(b"\xef\xbb\xbf99202\tFixture caf\xc3\xa9 one\n")
    assert build_release(cpt.from_path(path, release="2026")).get("99202").description == "Fixture café one"
    path.write_bytes(b"99202\tFixture caf\xe9 two\n")
    assert build_release(cpt.from_path(path, release="2026")).get("99202").description == "Fixture café two"


def test_binary_file_is_refused_clearly(tmp_path):
    path = write(tmp_path / "cpt2026.pdf", "%PDF-1.4 fixture")
    with pytest.raises(SourceError, match="not a text file"):
        cpt.from_path(path)


def test_tab_delimited_long_text_beats_the_fixed_width_one(tmp_path, build_release):
    folder = tmp_path / "cpt2026"
    write(folder / "LONGULF.txt", "9920201 Fixture fixed-width\n9920202 text\n")
    write(folder / "LONGULT.txt", "99202\tFixture tab text\n")
    assert build_release(cpt.from_path(folder)).get("99202").description == "Fixture tab text"
