"""NCCI edits: importing the CMS files by layout, and the three claim rules on 837P and 837I.

Fixtures are written in the official layouts (tests/ncci_files.py): real code numbers,
no CPT descriptors. Two quarters: 2026-Q2 (v32.1) and 2026-Q3 (v32.2).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from medcode.index_builder.build import import_ncci
from medcode.index_builder.ncci_index import NCCI, NcciRelease
from medcode.index_builder.reader import IndexStore, Release
from medcode.server import cli
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts

from claims_837 import Line, x12
from ncci_files import OPH_Q3, PTP_Q2, PTP_Q3, Q2, Q3, quarter_files
from publisher_site import file_entry, served, use_catalogue

@pytest.fixture(scope="module")
def ncci_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ncci")
    files = quarter_files(base / "q2", "321", "04-01-2026", "2026Q2", PTP_Q2)
    files += quarter_files(base / "q3", "322", "07-01-2026", "2026Q3", PTP_Q3, OPH_Q3)
    import_ncci(base / "index", files)
    return base / "index"


def check(root: Path, text: str, today: dt.date = Q3):
    return DocumentChecker(Verdicts(IndexStore(root)), today).check(text).findings


def by_rule(findings, *rules):
    return [f for f in findings if f.rule in rules]


def p837(*lines: Line) -> str:
    return x12("P", [("C1", list(lines))])


# -- import -------------------------------------------------------------------------------------
def test_each_quarter_is_a_release_with_its_dates_and_tables(ncci_root):
    store = IndexStore(ncci_root)
    q2, q3 = store.releases(NCCI)
    assert (q2.label, q2.effective_from, q2.effective_to) == ("2026-Q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert (q3.label, q3.effective_from, q3.effective_to) == ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert q3.manifest.counts["ptp-practitioner"] == len(PTP_Q3)
    assert q3.manifest.counts["ptp-outpatient"] == len(OPH_Q3)
    assert set(q3.meta["tables"]) == {"ptp-practitioner", "ptp-outpatient", "mue-practitioner", "mue-outpatient", "aoc"}
    assert "ptp-outpatient" not in q2.meta["tables"]
    assert store.release_for(NCCI, Q2)[0].label == "2026-Q2"
    assert store.release_for(NCCI, Q3)[0].label == "2026-Q3"
    view = NcciRelease(q3)
    (edit,) = view.ptp("practitioner", "20610", "20611")
    assert (edit.indicator, edit.effective, edit.deleted) == ("1", dt.date(2015, 1, 1), dt.date(2026, 7, 1))
    assert view.ptp("practitioner", "36415", "99213") == ()  # pairs are ordered
    assert view.mue("practitioner", "97110").value == 4 and view.mue("practitioner", "97110").mai == "3"
    assert {r.primary for r in view.addon("99417")} == {"99205", "99215"}
    assert Release(q3.path).verify() == []


def test_a_quarter_imported_in_two_commands_keeps_both(tmp_path):
    files = quarter_files(tmp_path / "f", "322", "07-01-2026", "2026Q3", PTP_Q3)
    import_ncci(tmp_path / "index", [files[0]])  # the PTP zip first
    import_ncci(tmp_path / "index", files[1:])  # the MUE and add-on tables later
    (rel,) = IndexStore(tmp_path / "index").releases(NCCI)
    assert set(rel.meta["tables"]) == {"ptp-practitioner", "mue-practitioner", "mue-outpatient", "aoc"}
    assert NcciRelease(rel).ptp("practitioner", "17000", "11900")[0].indicator == "0"


def test_cli_import_several_paths_and_refuse_what_is_not_ncci(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(tmp_path / "index"))
    files = quarter_files(tmp_path / "f", "322", "07-01-2026", "2026Q3", PTP_Q3)
    assert cli.main(["index", "import", "ncci", *map(str, files)]) == 0
    assert "NCCI 2026-Q3 [ncci/2026-Q3]" in capsys.readouterr().err
    other = tmp_path / "notes.txt"
    other.write_text("nothing here\n")
    assert cli.main(["index", "import", "ncci", str(other)]) == 2
    assert "no CMS NCCI PTP, MUE or add-on code table" in capsys.readouterr().err
    assert cli.main(["index", "import", "hcpcs", str(other), str(other)]) == 2


def test_a_file_without_a_quarter_needs_effective(tmp_path):
    path = tmp_path / "ptp-practitioner.txt"
    path.write_text("Column 1\tColumn 2\n99213\t36415\t\t20100101\t*\t1\tx\n")
    with pytest.raises(Exception, match="--effective"):
        import_ncci(tmp_path / "index", [path])
    (built,) = import_ncci(tmp_path / "index", [path], effective=dt.date(2026, 8, 1))
    assert built.result.release == "2026-Q3"


# -- ncci-ptp ---------------------------------------------------------------------------------------
def test_indicator_0_is_an_error_whatever_the_modifiers(ncci_root):
    found = by_rule(check(ncci_root, p837(("17000", ["59"], 1, Q3), ("11900", ["XU"], 1, Q3))), "ncci-ptp")
    assert [(f.code, f.effective_severity.label) for f in found] == [("11900", "error")]
    assert "modifier indicator 0" in found[0].message and "column 2 of 17000" in found[0].message
    assert found[0].fixes == []


def test_indicator_1_without_modifier_is_an_error_with_modifier_fixes(ncci_root):
    text = p837(("36415", [], 1, Q3), ("99213", [], 1, Q3))  # column 2 first: order does not matter
    (f,) = by_rule(check(ncci_root, text), "ncci-ptp")
    assert (f.code, f.effective_severity.label) == ("36415", "error")
    assert "59, XE, XP, XS, XU" in f.message and "NCCI 2026-Q3 practitioner PTP" in f.message
    assert [fix.text for fix in f.fixes] == [":59", ":XE", ":XS", ":XP", ":XU"]
    assert all("caution" in fix.title for fix in f.fixes)
    at = f.fixes[0].start
    assert text[at - 5 : at] == "36415" and f.fixes[0].end == at
    fixed = text[:at] + ":59" + text[at:]
    assert by_rule(check(ncci_root, fixed), "ncci-ptp") == []


@pytest.mark.parametrize("col1_mods, col2_mods", [([], ["59"]), (["XU"], []), (["25"], []), ([], ["LT"])])
def test_indicator_1_modifier_on_either_code_bypasses(ncci_root, col1_mods, col2_mods):
    text = p837(("99213", col1_mods, 1, Q3), ("36415", col2_mods, 1, Q3))
    assert by_rule(check(ncci_root, text), "ncci-ptp") == []


def test_indicator_9_and_other_dates_are_no_edit(ncci_root):
    assert by_rule(check(ncci_root, p837(("93000", [], 1, Q3), ("93005", [], 1, Q3))), "ncci-ptp") == []
    other_day = Q3 + dt.timedelta(days=1)
    assert by_rule(check(ncci_root, p837(("99213", [], 1, Q3), ("36415", [], 1, other_day))), "ncci-ptp") == []


def test_quarters_added_and_deleted_edits(ncci_root):
    added = p837(("97110", [], 1, Q2), ("97140", [], 1, Q2))
    assert by_rule(check(ncci_root, added), "ncci-ptp") == []  # not in Q2
    added_q3 = p837(("97110", [], 1, Q3), ("97140", [], 1, Q3))
    assert [f.code for f in by_rule(check(ncci_root, added_q3), "ncci-ptp")] == ["97140"]
    deleted_q2 = p837(("20610", [], 1, Q2), ("20611", [], 1, Q2))
    assert [f.code for f in by_rule(check(ncci_root, deleted_q2), "ncci-ptp")] == ["20611"]
    deleted_q3 = p837(("20610", [], 1, Q3), ("20611", [], 1, Q3))
    assert by_rule(check(ncci_root, deleted_q3), "ncci-ptp") == []


def test_a_date_after_the_newest_quarter_is_a_warning_naming_it(ncci_root):
    late = dt.date(2026, 11, 2)
    (f,) = by_rule(check(ncci_root, p837(("17000", [], 1, late), ("11900", [], 1, late)), today=late), "ncci-ptp")
    assert f.effective_severity.label == "warning" and "not in force on 2026-11-02" in f.message


# -- mue ------------------------------------------------------------------------------------------------
def test_units_are_summed_per_date_of_service(ncci_root):
    two_lines = p837(("97110", [], 3, Q3), ("97110", ["59"], 2, Q3))
    (f,) = by_rule(check(ncci_root, two_lines), "mue")
    assert "5 units on 2026-08-03 (line 1, 2)" in f.message and "MUE 4" in f.message and "MAI 3" in f.message
    split = p837(("97110", [], 3, Q3), ("97110", [], 2, Q3 + dt.timedelta(days=1)))
    assert by_rule(check(ncci_root, split), "mue") == []
    assert by_rule(check(ncci_root, p837(("97110", [], 4, Q3))), "mue") == []


def test_a_line_edit_counts_each_line_alone(ncci_root):
    assert by_rule(check(ncci_root, p837(("J1100", [], 6, Q3), ("J1100", [], 6, Q3))), "mue") == []
    (f,) = by_rule(check(ncci_root, p837(("J1100", [], 11, Q3))), "mue")
    assert "11 units on line 1" in f.message and "MAI 1" in f.message


# -- add-on-without-primary ---------------------------------------------------------------------------
def test_add_on_codes_by_type(ncci_root):
    (f,) = by_rule(check(ncci_root, p837(("99417", [], 1, Q3), ("99213", [], 1, Q3))), "add-on-without-primary")
    assert f.effective_severity.label == "error" and "99205, 99215" in f.message
    assert by_rule(check(ncci_root, p837(("99215", [], 1, Q3), ("99417", [], 1, Q3))), "add-on-without-primary") == []
    (t2,) = by_rule(check(ncci_root, p837(("15777", [], 1, Q3))), "add-on-without-primary")
    assert t2.effective_severity.label == "warning"
    assert by_rule(check(ncci_root, p837(("15777", [], 1, Q3), ("15100", [], 1, Q3))), "add-on-without-primary") == []
    (t3,) = by_rule(check(ncci_root, p837(("0984T", [], 1, Q3), ("36215", [], 1, Q3))), "add-on-without-primary")
    assert t3.effective_severity.label == "information"


# -- 837I: the outpatient hospital tables ------------------------------------------------------------
def test_institutional_claims_use_the_outpatient_tables(ncci_root):
    lines = [("96372", [], 2, Q3), ("96374", [], 1, Q3), ("96372", ["59"], 2, Q3)]
    found = check(ncci_root, x12("I", [("I1", lines)], bill_type="13"))
    assert [f.code for f in by_rule(found, "ncci-ptp")] == ["96374"]  # once, though two lines carry 96372
    (mue,) = by_rule(found, "mue")  # SV205 units: 2 + 2 over the outpatient MUE of 3
    assert "4 units on 2026-08-03 (line 1, 3)" in mue.message and "outpatient hospital MUE 3" in mue.message
    inpatient = check(ncci_root, x12("I", [("I2", lines)], bill_type="11"))
    assert by_rule(inpatient, "ncci-ptp", "mue", "add-on-without-primary") == []
    # The practitioner pair 99213 / 36415 is not an outpatient hospital edit.
    outpatient = check(ncci_root, x12("I", [("I3", [("99213", [], 1, Q3), ("36415", [], 1, Q3)])]))
    assert by_rule(outpatient, "ncci-ptp") == []


# -- without NCCI data ----------------------------------------------------------------------------------
def test_no_data_is_one_information_note_per_file(tmp_path):
    text = x12("P", [("A", [("99213", [], 1, Q3), ("36415", [], 1, Q3)]), ("B", [("17000", [], 1, Q3)])])
    notes = [f for f in check(tmp_path / "empty", text) if f.code_set == NCCI]
    assert len(notes) == 1
    (note,) = notes
    assert note.rule == "not-in-index" and note.effective_severity.label == "information"
    assert note.message.startswith("NCCI edits not checked: import the CMS NCCI files") and "3 service line(s)" in note.message
    no_lines = x12("P", [("A", [])])
    assert [f for f in check(tmp_path / "empty", no_lines) if f.code_set == NCCI] == []


# -- index fetch ncci -------------------------------------------------------------------------------
def test_fetch_ncci_from_the_catalogue(tmp_path, monkeypatch):
    """`medcode index fetch ncci` downloads a quarter's zips (here from a local server) and
    imports them as one release."""
    files = quarter_files(tmp_path / "f", "323", "10-01-2026", "2026Q4", PTP_Q3)
    with served() as site:
        entries = []
        for path in files:
            data = path.read_bytes()
            if not path.name.endswith(".zip"):
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w") as zf:
                    zf.writestr(path.name, data)
                data = buf.getvalue()
            entries.append(file_entry(site.add(f"/ncci/{path.stem}.zip", data), members=r"(?i)\.(txt|csv)$"))
        use_catalogue(monkeypatch, tmp_path, {"ncci": {"publisher": "CMS (test)", "page": site.url("/ncci/"), "releases": [
            {"label": "2026-Q4", "effective": "2026-10-01", "files": entries},
        ]}})
        monkeypatch.setenv("MEDCODE_INDEX_DIR", str(tmp_path / "idx"))
        assert cli.main(["index", "fetch", "ncci", "--release", "2026-Q4"]) == 0
    (rel,) = IndexStore(tmp_path / "idx").releases(NCCI)
    assert (rel.label, rel.effective_from) == ("2026-Q4", dt.date(2026, 10, 1))
    assert set(rel.meta["tables"]) == {"ptp-practitioner", "mue-practitioner", "mue-outpatient", "aoc"}
    assert rel.manifest.source.kind == "download" and len(rel.manifest.source.downloads) == len(files)


def test_malformed_ptp_rows_are_counted_and_skipped(tmp_path):
    from ncci_files import ptp_text

    path = tmp_path / "ccipra-v322r0-f1.txt"
    path.write_text(ptp_text([("99213", "36415", "20100101", "*", "1")]) + "99213\t3641\t\t20100101\t*\t1\tshort code\n")
    (built,) = import_ncci(tmp_path / "index", [path])
    assert built.result.release == "2026-Q3"
    assert any("1 row(s)" in w for w in built.result.warnings)
    assert Release(built.path).manifest.counts["ptp-practitioner"] == 1


def test_check_cli_reports_ncci_findings_in_json(ncci_root, tmp_path, monkeypatch, capsys):
    import json

    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(ncci_root))
    path = tmp_path / "claims.837"
    path.write_text(p837(("17000", [], 1, Q3), ("11900", [], 1, Q3)))
    assert cli.main(["check", "--format", "json", str(path)]) == 1
    items = [i for i in json.loads(capsys.readouterr().out) if i["code_set"] == NCCI]
    assert [(i["rule"], i["code"], i["severity"]) for i in items] == [("ncci-ptp", "11900", "error")]
    assert (items[0]["line"], items[0]["character"]) == (path.read_text().splitlines().index(next(
        ln for ln in path.read_text().splitlines() if ln.startswith("SV1*HC:11900"))), 7)


def test_repeated_lines_reuse_findings_only_where_the_edits_say_the_same(ncci_root):
    """Findings of the same lines are reused within a quarter, with each claim's own date and
    places, but not across an edit that takes effect mid-quarter."""
    before, after = dt.date(2026, 8, 3), dt.date(2026, 8, 20)
    text = x12("P", [
        ("A", [("97530", [], 1, before), ("97535", [], 1, before)]),
        ("B", [("97530", [], 1, after), ("97535", [], 1, after)]),
        ("C", [("97530", [], 1, before), ("97535", [], 1, before)]),
        ("D", [("99213", [], 1, before), ("36415", [], 1, before)]),
        ("E", [("99213", [], 1, after), ("36415", [], 1, after)]),
    ])
    found = by_rule(check(ncci_root, text), "ncci-ptp")
    assert [(f.code, f.message.split(": ")[0].rsplit(" ", 1)[-1]) for f in found] == [
        ("97535", "2026-08-20"), ("36415", "2026-08-03"), ("36415", "2026-08-20"),
    ]
    starts = [f.start for f in found]
    assert [text[s : s + 5] for s in starts] == ["97535", "36415", "36415"] and len(set(starts)) == 3
    assert [len(f.fixes) for f in found] == [0, 5, 5] and found[1].fixes[0].start != found[2].fixes[0].start
