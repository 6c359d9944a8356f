"""A release that is installed but damaged (its trie unreadable, its manifest unreadable, or
set aside after damage was found in it) is never replaced by its neighbour: every code whose
date falls in it gets an `index-damaged` finding naming the release and the command that
rebuilds it, and `medcode check` does not exit 0. Codes on other dates are judged as before."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from medcode.index_builder import layout
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexCorrupt, IndexStore
from medcode.index_builder.writer import write_release
from official_layouts import claim_837p

DAMAGED_DAY = dt.date(2025, 1, 15)  # in FY2025 / HCPCS 2025
GOOD_DAY = dt.date(2026, 3, 10)  # in FY2026 / HCPCS 2026

ICD = {  # label -> (from, to, codes); E1110 is new in FY2025, so FY2024 does not list it
    "FY2024": (dt.date(2023, 10, 1), dt.date(2024, 9, 30), ["E119", "I10"]),
    "FY2025": (dt.date(2024, 10, 1), dt.date(2025, 9, 30), ["E119", "I10", "E1110"]),
    "FY2026": (dt.date(2025, 10, 1), dt.date(2026, 9, 30), ["E119", "I10", "E1110"]),
}
HCPCS = {
    "2024": (dt.date(2024, 1, 1), dt.date(2024, 12, 31), ["J1100", "A4218"]),
    "2025": (dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["J1100", "A4218"]),
    "2026": (dt.date(2026, 1, 1), dt.date(2026, 12, 31), ["J1100", "A4218"]),
}


def _records(set_id: str, codes: list[str]) -> list[CodeRecord]:
    if set_id == "icd10cm":
        head = [CodeRecord("E11", "Type 2 diabetes (test)", kind="header"), CodeRecord("I10", "Hypertension (test)")]
        return head + [CodeRecord(c, f"Test code {c}", parent="E11") for c in codes if c.startswith("E")]
    return [CodeRecord(c, f"Test code {c}") for c in codes]


def _index(tmp_path: Path, source: Source = Source("package", "test data", "1")) -> Path:
    index = tmp_path / "idx"
    for set_id, releases in (("icd10cm", ICD), ("hcpcs", HCPCS)):
        for label, (start, end, codes) in releases.items():
            title = f"{'ICD-10-CM' if set_id == 'icd10cm' else 'HCPCS Level II'} {label} (test)"
            write_release(index, ImportResult(set_id, label, title, start, end, source, _records(set_id, codes)))
    return index


def _break_trie(index: Path, set_id: str, label: str) -> Path:
    """Overwrite the release's code trie with bytes of the same size (a new file: the other
    releases keep theirs)."""
    trie = index / set_id / label / layout.CODES
    size = trie.stat().st_size
    trie.unlink()
    trie.write_bytes(b"\x5a" * size)
    return trie


def _claims(tmp_path: Path, extra: list[str] = ()) -> Path:
    path = tmp_path / "claims.837"
    path.write_text(claim_837p([
        ("DAMAGED", ["E119", "E1110"], [("J1100", DAMAGED_DAY)]),
        ("GOOD", ["E119", *extra], [("J1100", GOOD_DAY)]),
    ]))
    return path


def _by_claim(findings: list[dict], text: str) -> tuple[list[dict], list[dict]]:
    """Findings of the DAMAGED claim and of the GOOD one (by line: the GOOD claim comes second)."""
    good_from = text[: text.index("CLM*GOOD")].count("\n")
    return [f for f in findings if f["line"] < good_from], [f for f in findings if f["line"] >= good_from]


def test_a_damaged_trie_gives_each_code_of_its_days_a_finding_and_exit_2(run, tmp_path):
    index = _index(tmp_path)
    trie = _break_trie(index, "icd10cm", "FY2025")
    claims = _claims(tmp_path)
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    damaged, good = _by_claim(json.loads(out), claims.read_text())
    dx = {f["code"]: f for f in damaged if f["code_set"] == "icd10cm"}
    # E119 is in FY2024 too and E1110 is not: neither is judged by FY2024.
    assert set(dx) == {"E119", "E1110"}, damaged
    for f in dx.values():
        assert f["rule"] == "index-damaged" and f["severity"] == "warning", f
        assert "ICD-10-CM release FY2025, in force on 2025-01-15, is damaged" in f["message"]
        assert str(trie) in f["message"] and "`medcode index build --set icd10cm`" in f["message"]
        assert "FY2024" not in f["message"]
    assert not [f for f in damaged if f["rule"] == "not-in-index" and f["code_set"] == "icd10cm"]
    # The same file's FY2026 claim is judged normally: E119 is valid there.
    assert not [f for f in good if f["code_set"] == "icd10cm"], good
    assert status == 2, err
    assert "2 finding(s) [index-damaged]" in err and str(trie) in err


def test_errors_still_exit_1_beside_a_damaged_release(run, tmp_path):
    index = _index(tmp_path)
    _break_trie(index, "icd10cm", "FY2025")
    claims = _claims(tmp_path, extra=["E1199"])  # not in FY2026: invalid-code, an error
    status, out, err = run("check", str(claims), index=index)
    assert "[index-damaged]" in out and "[invalid-code]" in out
    assert status == 1


def test_the_other_dated_sets_too_hcpcs(run, tmp_path):
    index = _index(tmp_path, Source("file", "/data/cms/hcpcs 2025.zip"))
    _break_trie(index, "hcpcs", "2025")
    claims = _claims(tmp_path)
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    damaged, good = _by_claim(json.loads(out), claims.read_text())
    (f,) = [f for f in damaged if f["code"] == "J1100"]
    assert f["rule"] == "index-damaged"
    assert "HCPCS Level II release 2025, in force on 2025-01-15, is damaged" in f["message"]
    # A release imported from a file: the command names that file and the release.
    assert "`medcode index import hcpcs '/data/cms/hcpcs 2025.zip' --release 2025`" in f["message"]
    assert not [f for f in good if f["code"] == "J1100"]
    assert status == 2


def test_an_unreadable_manifest_leaves_the_days_no_release_covers_unverified(run, tmp_path):
    index = _index(tmp_path)
    (index / "icd10cm" / "FY2025" / layout.MANIFEST).write_text('{"format": 1, "set": "icd1')
    claims = _claims(tmp_path)
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    damaged, good = _by_claim(json.loads(out), claims.read_text())
    dx = [f for f in damaged if f["code_set"] == "icd10cm"]
    assert len(dx) == 2 and all(f["rule"] == "index-damaged" for f in dx), dx
    assert "its dates are unknown" in dx[0]["message"] and "manifest.json" in dx[0]["message"]
    assert "medcode index import icd10cm PATH" in dx[0]["message"]  # the manifest cannot say which
    assert not [f for f in good if f["code_set"] == "icd10cm"]
    assert status == 2


def test_parallel_workers_report_the_same_exit(run, tmp_path):
    index = _index(tmp_path)
    _break_trie(index, "icd10cm", "FY2025")
    first = _claims(tmp_path)
    second = tmp_path / "more" / "claims.837"
    second.parent.mkdir()
    second.write_text(first.read_text())
    status, out, err = run("check", str(first), str(second), "-j", "2", index=index)
    assert out.count("[index-damaged]") == 4 and status == 2, err


def test_an_intact_index_answers_as_before(run, tmp_path):
    claims = _claims(tmp_path)
    status, out, err = run("check", str(claims), "--format", "json", index=_index(tmp_path))
    assert not [f for f in json.loads(out) if f["code_set"] == "icd10cm"]
    assert status == 0 and "index-damaged" not in err


def test_a_release_set_aside_is_not_replaced_by_its_neighbour(tmp_path):
    """Damage found while reading (the server sets the release aside): the days of that
    release are the damaged release's, not the one before."""
    index = _index(tmp_path)
    store = IndexStore(index)
    folder = index / "icd10cm" / "FY2025"
    assert store.damaged_for("icd10cm", DAMAGED_DAY) is None
    assert store.set_aside(IndexCorrupt(f"{folder / layout.RECORDS_BIN} is damaged (entry 3 cannot be read)", folder))
    damaged = store.damaged_for("icd10cm", DAMAGED_DAY)
    assert damaged is not None and damaged.label == "FY2025" and "records.bin" in damaged.problem
    assert damaged.command == "rebuild it with `medcode index build --set icd10cm`"
    assert store.damaged_for("icd10cm", GOOD_DAY) is None
    assert store.damaged_for("icd10cm", dt.date(2024, 3, 1)) is None  # FY2024's own day
    assert store.damaged_sets() == frozenset({"icd10cm"})


def test_an_april_update_damaged_over_its_october_release(tmp_path):
    """Among releases in force the latest wins (release_for): a damaged April update is the
    one in force from April, its October release before April."""
    index = _index(tmp_path)
    write_release(index, ImportResult("icd10cm", "FY2025-Apr", "ICD-10-CM FY2025 April (test)", dt.date(2025, 4, 1), dt.date(2025, 9, 30),
                                      Source("package", "test data", "1"), _records("icd10cm", ["E119"])))
    _break_trie(index, "icd10cm", "FY2025-Apr")
    store = IndexStore(index)
    assert store.damaged_for("icd10cm", dt.date(2025, 5, 1)).label == "FY2025-Apr"
    assert store.damaged_for("icd10cm", DAMAGED_DAY) is None  # the October release answers


@pytest.mark.parametrize("profile", ["visual-studio-code", "neovim"])
async def test_the_editor_shows_the_damaged_release_once_and_at_each_code(tmp_path, profile):
    """Over real LSP stdio (push and pull clients): one window message names the damaged
    file; the codes dated in it get index-damaged diagnostics, the others none; the server's
    stderr holds no document text."""
    import sys

    from lsprotocol import types
    from lsp_session import STDERR_WRAPPER, place, start, stop

    index = _index(tmp_path)
    trie = _break_trie(index, "icd10cm", "FY2025")
    text = _claims(tmp_path).read_text().replace("DOE*JANE", "PRIVATEPATIENTNAME")
    stderr = tmp_path / "server.stderr"
    session = await start(profile, index, command=[sys.executable, str(STDERR_WRAPPER), str(stderr), "INFO"])
    try:
        uri = "file:///tmp/e2e/damaged-release/claims.837"
        session.open(uri, text)
        diags = await session.diagnostics(uri)
        damaged = [d for d in diags if d.code == "index-damaged"]
        line, col, end = place(text, "HI*ABK:E119", "E119")  # the first claim's: 2025-01-15
        assert len(damaged) == 2 and {d.range.start.line for d in damaged} == {line}, [d.message for d in diags]
        first = min(damaged, key=lambda d: d.range.start.character)
        assert (first.range.start.character, first.range.end.character) == (col, end)
        assert first.severity == types.DiagnosticSeverity.Warning
        assert "ICD-10-CM release FY2025, in force on 2025-01-15, is damaged" in first.message
        assert "`medcode index build --set icd10cm`" in first.message
        good_line, _, _ = place(text, "HI*ABK:E119", "E119", nth=1)  # the second claim's: 2026-03-10
        assert not [d for d in diags if d.range.start.line == good_line], [d.message for d in diags]
        shown = [m.message for m in session.client.messages if str(trie) in m.message]
        assert len(shown) == 1 and "medcode index build" in shown[0], shown
    finally:
        await stop(session)
    assert "PRIVATEPATIENTNAME" not in stderr.read_text(errors="replace")


def test_a_damaged_ncci_quarter_is_not_replaced_by_the_quarter_before(tmp_path):
    from medcode.index_builder.build import import_ncci
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    from claims_837 import x12
    from ncci_files import OPH_Q3, PTP_Q2, PTP_Q3, Q2, Q3, quarter_files

    files = quarter_files(tmp_path / "q2", "321", "04-01-2026", "2026Q2", PTP_Q2)
    files += quarter_files(tmp_path / "q3", "322", "07-01-2026", "2026Q3", PTP_Q3, OPH_Q3)
    index = tmp_path / "index"
    import_ncci(index, files)
    (label,) = [p.name for p in (index / "ncci").iterdir() if p.name.endswith("Q3")]
    trie = _break_trie(index, "ncci", label)
    text = x12("P", [("Q3", [("17000", [], 1, Q3), ("11900", [], 1, Q3)]), ("Q2", [("20610", [], 1, Q2), ("20611", [], 1, Q2)])])
    findings = DocumentChecker(Verdicts(IndexStore(index)), Q3).check(text).findings
    (damaged,) = [f for f in findings if f.rule == "index-damaged"]
    assert damaged.code == "17000" and damaged.code_set == "ncci"
    assert f"the NCCI quarter {label}, in force on that date, is damaged" in damaged.message and str(trie) in damaged.message
    assert "medcode index import ncci " in damaged.message and "--release" not in damaged.message
    # The Q2 claim is judged by Q2, as before; nothing is judged by Q2 for the Q3 claim.
    assert [f.code for f in findings if f.rule == "ncci-ptp"] == ["20611"]


def test_the_tabular_notes_of_a_damaged_release_are_not_borrowed(run, default_index, tmp_path):
    """The embedded defaults with FY2025 damaged: a 2025 claim gets no excludes1 from FY2024's
    notes (its codes say the release is damaged); a 2026 claim gets its excludes1 as usual."""
    import os
    import shutil

    index = tmp_path / "idx"
    shutil.copytree(default_index, index, copy_function=os.link)  # linked: _break_trie unlinks first
    _break_trie(index, "icd10cm", "FY2025")
    claims = tmp_path / "claims.837"
    claims.write_text(claim_837p([
        ("DAMAGED", ["E119", "I10", "O24419"], [("J1100", DAMAGED_DAY)]),
        ("GOOD", ["E119", "I10", "O24419"], [("J1100", GOOD_DAY)]),
    ]))
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    damaged, good = _by_claim(json.loads(out), claims.read_text())
    assert sorted(f["code"] for f in damaged if f["rule"] == "index-damaged") == ["E119", "I10", "O24419"]
    assert not [f for f in damaged if f["rule"] in ("excludes1", "code-first", "use-additional-code")], damaged
    assert [f["code"] for f in good if f["rule"] == "excludes1"] == ["O24419"]
    assert status == 2


def test_damaged_mce_tables_are_named_not_passed_over(run, default_index, tmp_path):
    """The MCE tables are no code set, but their damage is named (check's stderr, index verify)
    with the command that rebuilds them, rather than the MCE edits silently not running."""
    import os
    import shutil

    index = tmp_path / "idx"
    shutil.copytree(default_index, index, copy_function=os.link)
    mce = index / ".edits" / "mce"
    (release,) = [p.name for p in mce.iterdir() if not p.name.startswith(".")]
    trie = _break_trie(index / ".edits", "mce", release)
    status, out, err = run("index", "verify", index=index)
    assert status == 1 and str(trie) in out and "`medcode index build --set icd10cm`" in out
    claims = _claims(tmp_path)
    status, out, err = run("check", str(claims), index=index)
    assert f"warning: {trie}" in err and "the claim edits that need it are not run" in err
