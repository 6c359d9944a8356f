"""`medcode check`: the same findings as the editor, for files and folders, with CI exit codes."""

from __future__ import annotations

import json
from pathlib import Path


from medcode.server.check import read_text

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = FIXTURES / "claims_837p.x12"
JSON_FIELDS = {"path", "line", "character", "end_line", "end_character", "code", "code_set", "rule", "severity", "message"}


def clean_claims(tmp_path: Path) -> Path:
    """The 837P fixture cut down to its valid claim (and a matching SE count)."""
    lines = P837.read_text().splitlines()
    end = lines.index("HL*3*1*22*0~")
    trailer = lines.index("SE*45*0001~")
    kept = lines[:end] + lines[trailer:]
    kept[kept.index("SE*45*0001~")] = f"SE*{end - 2 + 1}*0001~"
    path = tmp_path / "clean.837"
    path.write_text("\n".join(kept) + "\n")
    return path


def test_text_output_like_a_compiler_and_exit_1_on_errors(run_check):
    code, out, err = run_check(str(P837))
    assert code == 1
    lines = out.splitlines()
    assert f"{P837}:32:16: error: E11.9 is not in X12 form: ICD-10-CM codes are sent without dots, spaces or lower case (E119) [bad-format]" in lines
    assert any(line.endswith("[invalid-pointer]") and ":34:30: error:" in line for line in lines)
    assert "7 error(s), 2 warning(s), 2 information(s)" in err  # CPT syntax only; NCCI edits not checked


def test_json_output_has_the_design_fields_in_lsp_positions(run_check):
    code, out, _ = run_check("--format", "json", str(P837))
    assert code == 1
    items = json.loads(out)
    assert all(set(item) == JSON_FIELDS for item in items)
    dotted = next(i for i in items if i["code"] == "E11.9")
    assert (dotted["line"], dotted["character"], dotted["end_line"], dotted["end_character"]) == (31, 15, 31, 20)
    assert (dotted["rule"], dotted["severity"], dotted["code_set"]) == ("bad-format", "error", "icd10cm")


def test_clean_file_exits_0(run_check, tmp_path):
    path = clean_claims(tmp_path)
    code, out, err = run_check(str(path), "--format", "json")
    assert code == 0
    assert {i["severity"] for i in json.loads(out)} <= {"information"}


def test_folders_many_files_and_files_that_are_not_claims(run_check, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.837").write_bytes(P837.read_bytes())
    (tmp_path / "b.edi").write_bytes((FIXTURES / "claims_837d.x12").read_bytes())
    (tmp_path / "notes.txt").write_text("E11.9 is only text here\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.837").write_bytes(P837.read_bytes())
    code, out, _ = run_check("--format", "json", str(tmp_path), str(clean_claims(tmp_path)))
    assert code == 1
    paths = {Path(i["path"]).name for i in json.loads(out)}
    assert paths == {"a.837", "b.edi", "clean.837"}


def test_missing_path_is_a_usage_error(run_check, tmp_path):
    code, _, err = run_check(str(tmp_path / "nope.837"))
    assert code == 2 and "does not exist" in err


def test_real_corpora_without_false_errors(run_check, shared_dir):
    """Every 837 in ../shared/corpora: no crash, no error; ICD-9 codes on pre-2015 claims are
    accepted; the files whose composites disagree with ISA16 are pointed out."""
    code, out, _ = run_check("--format", "json", str(shared_dir / "corpora"))
    items = json.loads(out)
    assert not [i for i in items if i["severity"] == "error" and not _true_hcpcs_deletion(i)]
    structure = {Path(i["path"]).name for i in items if i["rule"] == "x12-structure"}
    assert structure == {"demo.example6.837", "Spec_3.1.1.txt"}
    assert not [i for i in items if i["rule"] == "wrong-icd-version"]  # BK on 1996-2006 dates is right
    ndc = [i for i in items if i["code_set"] == "ndc"]
    assert ndc and all(i["severity"] == "warning" and "FDA NDC Directory 2019-04-29" in i["message"] for i in ndc)
    cpt = [i for i in items if i["code_set"] == "cpt"]
    assert cpt and all(i["severity"] == "information" for i in cpt)


def test_real_price_files_and_chargemasters(run_check, shared_dir):
    """Every CSV and JSON in ../shared/corpora: no crash, no false error; codes are checked by
    their declared types; files without codes give nothing."""
    corpora = shared_dir / "corpora"
    code, out, _ = run_check("--format", "json", str(corpora / "cms-hospital-price-transparency"), str(corpora / "cms-hpt-validator"), str(corpora / "vsoch-hospital-chargemaster"))
    items = json.loads(out)
    assert not [i for i in items if i["severity"] == "error" and not _true_hcpcs_deletion(i)]
    by_file: dict[str, list[dict]] = {}
    for i in items:
        by_file.setdefault(Path(i["path"]).name, []).append(i)
    assert "sample-no-data.csv" not in by_file  # no items, nothing to say
    assert "chatham-published-charges.csv" not in by_file  # no header row: no code columns
    assert {i["rule"] for i in by_file["V3.0.0_Tall_CSV_Format_Template.csv"]} == {"hpt-structure"}  # placeholders
    bad = by_file["sample-bad-header.csv"]
    assert any(i["rule"] == "hpt-structure" and "July 1 2024" in i["message"] for i in bad)
    # The chargemasters' CPT / HCPCS columns are read: CPT without data gets one note; HCPCS
    # codes are judged by the embedded CMS I/OCE tables, which end 2026-Q2, so on today's date
    # a code they lack cannot be verified.
    davis = {i["code_set"] for i in by_file["CDM.csv"] if i["rule"] == "not-in-index"}
    assert davis == {"cpt", "hcpcs"}
    assert any(_true_hcpcs_deletion(i) and i["code"] == "J1170" for i in by_file["CDM.csv"])


def _true_hcpcs_deletion(item: dict) -> bool:
    """Undated chargemasters are judged on today's date, and list HCPCS codes CMS has since
    terminated (J1170, last day 2024-09-30 in the I/OCE tables): true findings, not false errors."""
    return item["rule"] == "deleted-code" and item["code_set"] == "hcpcs" and "terminated" in item["message"]


def test_readers_see_every_code_of_the_cms_examples(shared_dir):
    """The CMS v3 examples, code types counted as corpora/SOURCES.md lists them."""
    from collections import Counter

    from medcode.server import kinds

    corpora = shared_dir / "corpora" / "cms-hospital-price-transparency"
    expected = {
        "Tall_Format_Examples/V3.0.0_Tall_CSV_Format_Example.csv": {"RC": 15, "CPT": 8, "MS-DRG": 8, "HCPCS": 10, "NDC": 12},
        "Wide_Format_Examples/V3.0.0_Wide_CSV_Format_Example.csv": {"RC": 8, "CPT": 4, "MS-DRG": 4, "HCPCS": 7, "NDC": 7},
        "JSON/v3_json_format_example.json": {"RC": 7, "CPT": 4, "MS-DRG": 4, "HCPCS": 7, "NDC": 7},
    }
    for name, types in expected.items():
        path = corpora / name
        reading = kinds.read(read_text(path), name=str(path))
        assert Counter(s.qualifier.strip() for s in reading.slots) == types, name
