"""A release whose records are damaged in place (same size: opening it finds nothing, reading
the damaged entry does) while `medcode check` runs: the run goes on, as the language server
does, without that release. The codes of its days get `index-damaged` findings naming the file
and the command that rebuilds it, the file's other findings still come, stderr names the
damaged file once, and the exit status follows the contract, whatever -j and file order."""

from __future__ import annotations

import datetime as dt
import json
from array import array
from pathlib import Path

import marisa_trie
import pytest

from medcode.index_builder import layout
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.writer import write_family, write_release
from official_layouts import claim_837p

DAMAGED_DAY = dt.date(2025, 1, 15)  # FY2025
GOOD_DAY = dt.date(2026, 3, 10)  # FY2026
REBUILD = "`medcode index build --set icd10cm`"
YEARS = {
    "FY2024": (dt.date(2023, 10, 1), dt.date(2024, 9, 30)),
    "FY2025": (dt.date(2024, 10, 1), dt.date(2025, 9, 30)),
    "FY2026": (dt.date(2025, 10, 1), dt.date(2026, 9, 30)),
}


def _results() -> list[ImportResult]:
    records = [
        CodeRecord("E11", "Type 2 diabetes (test)", kind="header"),
        CodeRecord("E119", "Test code E119", parent="E11"),
        CodeRecord("E1110", "Test code E1110", parent="E11"),
        CodeRecord("I10", "Hypertension (test)"),
    ]
    source = Source("package", "test data", "1")
    return [ImportResult("icd10cm", label, f"ICD-10-CM {label} (test)", start, end, source, records) for label, (start, end) in YEARS.items()]


def _index(tmp_path: Path, family: bool = False) -> Path:
    index = tmp_path / "idx"
    if family:  # one records file, hard-linked into each year's folder (as the defaults are)
        write_family(index, _results())
    else:
        for result in _results():
            write_release(index, result)
    write_release(index, ImportResult("hcpcs", "2026", "HCPCS (test)", dt.date(2024, 1, 1), None, Source("package", "test data", "1"), [CodeRecord("J1100", "Test J1100")]))
    return index


def _damage_entry(index: Path, label: str, code: str) -> Path:
    """Overwrite one record's bytes in place (the file keeps its size, and its links)."""
    folder = index / "icd10cm" / label
    trie = marisa_trie.Trie()
    trie.mmap(str(folder / layout.CODES))
    offsets = array(layout.OFFSET_TYPE)
    offsets.frombytes((folder / layout.RECORDS_IDX).read_bytes())
    i = trie[code]
    path = folder / layout.RECORDS_BIN
    with open(path, "r+b") as fh:
        fh.seek(offsets[i])
        fh.write(b"\x5a" * (offsets[i + 1] - offsets[i]))
    return path


def _claims(path: Path, claims: list[tuple[str, list[str], dt.date]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(claim_837p([(cid, dx, [("J1100", day)]) for cid, dx, day in claims]))
    return path


def _findings(out: str) -> dict[tuple[str, str, int], dict]:
    return {(Path(f["path"]).name, f["code"], f["line"]): f for f in json.loads(out)}


def test_codes_of_the_damaged_release_say_so_and_the_rest_of_the_file_is_checked(run, tmp_path):
    index = _index(tmp_path)
    damaged = _damage_entry(index, "FY2025", "E119")
    claims = _claims(tmp_path / "claims.837", [("OLD", ["E119", "E1110"], DAMAGED_DAY), ("NEW", ["E119", "E1199"], GOOD_DAY)])
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    found = json.loads(out)
    old = [f for f in found if f["code_set"] == "icd10cm" and f["rule"] == "index-damaged"]
    assert {f["code"] for f in old} == {"E119", "E1110"}, found  # E1110 was readable: its release is not
    for f in old:
        assert "the ICD-10-CM release FY2025, in force on 2025-01-15, is damaged" in f["message"]
        assert str(damaged) in f["message"] and f["message"].endswith(REBUILD)
    # The FY2026 claim is judged as usual: E11.99 is no code, E11.9 is fine.
    (invalid,) = [f for f in found if f["rule"] == "invalid-code"]
    assert invalid["code"] == "E1199"
    assert status == 1  # an error among the findings
    assert err.count(f"{damaged} is damaged") == 1 and REBUILD in err
    assert "2 finding(s) [index-damaged]" in err and "Traceback" not in err


def test_without_errors_the_run_exits_2(run, tmp_path):
    index = _index(tmp_path)
    _damage_entry(index, "FY2025", "E119")
    claims = _claims(tmp_path / "claims.837", [("OLD", ["E119"], DAMAGED_DAY), ("NEW", ["E119"], GOOD_DAY)])
    status, out, err = run("check", str(claims), index=index)
    assert out.count("[index-damaged]") == 1 and "E11.9 cannot be verified" in out
    assert status == 2, err


@pytest.mark.parametrize("spawned", [False, True], ids=["forked", "spawned"])
def test_a_file_checked_before_the_damage_was_met_is_judged_the_same_with_any_jobs(run, tmp_path, monkeypatch, spawned):
    """The first file's I10 reads fine; only the second file meets the damage. The first file
    is judged without the damaged release too, as it would be checked after the second.
    Spawned workers (macOS, Windows, a process with threads) send the damage back pickled."""
    if spawned:
        from medcode.server import check_pool

        monkeypatch.setattr(check_pool, "_forking", lambda: False)
    index = _index(tmp_path)
    damaged = _damage_entry(index, "FY2025", "E119")
    first = _claims(tmp_path / "a" / "first.837", [("A", ["I10"], DAMAGED_DAY), ("B", ["E1199"], GOOD_DAY)])
    second = _claims(tmp_path / "b" / "second.837", [("C", ["E119"], DAMAGED_DAY)])
    runs = {jobs: run("check", str(first), str(second), "--format", "json", "-j", jobs, index=index) for jobs in ("1", "2")}
    for jobs, (status, out, err) in runs.items():
        found = _findings(out)
        assert [f["rule"] for k, f in found.items() if k[1] == "I10"] == ["index-damaged"], (jobs, found)
        assert [f["rule"] for k, f in found.items() if k[1] == "E119"] == ["index-damaged"], (jobs, found)
        assert [f["rule"] for k, f in found.items() if k[1] == "E1199"] == ["invalid-code"], (jobs, found)
        assert status == 1 and err.count(f"{damaged} is damaged") == 1, (jobs, err)
        assert "Traceback" not in err
    assert runs["1"][1] == runs["2"][1]


def test_a_file_shared_by_a_family_of_releases_is_named_once_and_sets_them_all_aside(run, tmp_path):
    index = _index(tmp_path, family=True)
    damaged = _damage_entry(index, "FY2026", "E119")
    claims = _claims(tmp_path / "claims.837", [("OLD", ["I10"], DAMAGED_DAY), ("NEW", ["E119"], GOOD_DAY)])
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    found = json.loads(out)
    assert {(f["code"], f["rule"]) for f in found if f["code_set"] == "icd10cm"} == {("I10", "index-damaged"), ("E119", "index-damaged")}
    # One file, one line: the releases that link it go with it (named in that line).
    assert err.count("records.bin is damaged") == 1 and "which are damaged too" in err and REBUILD in err
    assert status == 2


def test_a_code_the_trie_lists_but_cannot_find_is_damage_not_a_crash(run, tmp_path, monkeypatch):
    """A trie changed in place (same size) may list a key under a prefix that its look-up then
    cannot find: the header's billable codes below it (not-billable) met None and `check`
    ended with exit 3. It is the trie's damage, said like the records'."""
    from medcode.index_builder.reader import Release

    index = _index(tmp_path)
    real = Release._id
    monkeypatch.setattr(Release, "_id", lambda self, key: None if key == "E1110" else real(self, key))
    claims = _claims(tmp_path / "claims.837", [("NEW", ["E11", "I10"], GOOD_DAY)])
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    found = json.loads(out)
    assert {(f["code"], f["rule"]) for f in found if f["code_set"] == "icd10cm"} == {("E11", "index-damaged"), ("I10", "index-damaged")}, found
    trie = index / "icd10cm" / "FY2026" / layout.CODES
    assert err.count(f"{trie} is damaged (it lists 'E1110' but cannot find it)") == 1 and REBUILD in err
    assert status == 2 and "Traceback" not in err
