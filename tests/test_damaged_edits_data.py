"""Damage in what the claim edits read beside the code lists (a release's ICD-10-CM tabular
notes, aux-tabular-edits.*; the MCE tables under .edits/mce), and in the release a hover or a
lookup would answer from. The codes' own findings still come; the edits that could not run
give one `index-damaged` finding per claim naming the file and the command that rebuilds it;
`check` names the file on stderr and does not exit 0; hover and lookup never answer from the
neighbouring release. On the embedded defaults, damaged by hand as a user's disk would."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from claims_837 import make_837
from official_layouts import claim_837p

OLD_DAY = dt.date(2025, 3, 10)  # FY2025
NEW_DAY = dt.date(2026, 3, 10)  # FY2026
REBUILD = "`medcode index build --set icd10cm`"


def _copy(default_index: Path, tmp_path: Path) -> Path:
    index = tmp_path / "idx"
    shutil.copytree(default_index, index, copy_function=os.link)  # linked: _damage unlinks first
    return index


def _damage(path: Path, truncated: bool = False) -> Path:
    """Overwrite a file with bytes of the same size (a new file: the linked copies keep theirs);
    same size, so only reading it finds out. Truncated: half of them, which opening the release
    finds out (its manifest lists each file's size)."""
    size = path.stat().st_size
    path.unlink()
    path.write_bytes(b"\x5a" * (size // 2 if truncated else size))
    return path


def _tabular(index: Path, label: str, suffix: str) -> Path:
    return index / "icd10cm" / label / f"aux-tabular-edits.{suffix}"


def _mce_file(index: Path, name: str) -> Path:
    (release,) = [p for p in (index / ".edits" / "mce").iterdir() if not p.name.startswith(".")]
    return release / name


def _claims(tmp_path: Path, extra: list[str] = ()) -> Path:
    """Two 837P claims whose E11.9 and E10.9 are an Excludes1 pair: FY2026's, then FY2025's."""
    path = tmp_path / "claims.837"
    path.write_text(claim_837p([
        ("NEW", ["E119", "E109", *extra], [("J1100", NEW_DAY)]),
        ("OLD", ["E119", "E109"], [("J1100", OLD_DAY)]),
    ]))
    return path


def _split(findings: list[dict], text: str) -> tuple[list[dict], list[dict]]:
    old_from = text[: text.index("CLM*OLD")].count("\n")
    return [f for f in findings if f["line"] < old_from], [f for f in findings if f["line"] >= old_from]


# Found on opening the trie / while reading / by its size when the release is opened, which
# must not set the release's codes aside with it.
@pytest.mark.parametrize(("suffix", "truncated"), [("marisa", False), ("bin", False), ("marisa", True)], ids=["trie", "bytes", "size"])
def test_damaged_tabular_notes_leave_the_other_findings_and_say_so_per_claim(run, default_index, tmp_path, suffix, truncated):
    index = _copy(default_index, tmp_path)
    damaged = _damage(_tabular(index, "FY2026", suffix), truncated)
    claims = _claims(tmp_path, extra=["E1199"])  # not a code: invalid-code, an error
    status, out, err = run("check", str(claims), "--format", "json", index=index)
    new, old = _split(json.loads(out), claims.read_text())
    (note,) = [f for f in new if f["rule"] == "index-damaged"]
    assert note["code"] == "E119" and note["severity"] == "warning"  # the claim's first diagnosis
    assert "Tabular edits (excludes1, code-first, use-additional-code) not checked on 2026-03-10" in note["message"]
    assert str(damaged) in note["message"] and note["message"].endswith(REBUILD)
    assert not [f for f in new if f["rule"] in ("excludes1", "code-first", "use-additional-code")], new
    assert [f["code"] for f in new if f["rule"] == "invalid-code"] == ["E1199"]  # the codes are still checked
    assert [f["rule"] for f in old] == ["excludes1"]  # FY2025's notes are intact
    assert status == 1  # the error wins over index-damaged (exit 2)
    assert str(damaged) in err and REBUILD in err and "Traceback" not in err
    assert "1 finding(s) [index-damaged]" in err


def test_one_damaged_note_sets_the_whole_tabular_aside_whichever_codes_a_claim_has(run, default_index, tmp_path):
    """The notes are read all at once (a release's gates are worked out from all of them): a
    document damaged in place is found at the first claim of its dates, whatever its codes,
    not only by the claims whose codes it holds. Damaged here: one document far from E10 /
    E11's, in the middle of the file."""
    index = _copy(default_index, tmp_path)
    path = _tabular(index, "FY2026", "bin")
    data = bytearray(path.read_bytes())
    idx = _tabular(index, "FY2026", "idx").read_bytes()
    offsets = [int.from_bytes(idx[i : i + 4], sys.byteorder) for i in range(0, len(idx), 4)]
    start = offsets[len(offsets) // 2]
    assert b"E10" not in data[start : offsets[len(offsets) // 2 + 1]] and b"E11" not in data[start : offsets[len(offsets) // 2 + 1]]
    data[start : start + 8] = b"\x5a" * 8
    path.unlink()
    path.write_bytes(bytes(data))
    claims = _claims(tmp_path)
    _, out, err = run("check", str(claims), "--format", "json", index=index)
    new, old = _split(json.loads(out), claims.read_text())
    (note,) = [f for f in new if f["rule"] in ("index-damaged", "excludes1")]
    assert note["rule"] == "index-damaged" and str(path) in note["message"]
    assert [f["rule"] for f in old if f["rule"] in ("index-damaged", "excludes1")] == ["excludes1"]  # FY2025's notes are intact
    assert "Traceback" not in err and "1 finding(s) [index-damaged]" in err


def test_damaged_tabular_notes_alone_do_not_exit_0(run, default_index, tmp_path):
    index = _copy(default_index, tmp_path)
    _damage(_tabular(index, "FY2026", "bin"))
    status, out, err = run("check", str(_claims(tmp_path)), index=index)
    assert out.count("[index-damaged]") == 1 and "[excludes1]" in out
    assert status == 2


def test_parallel_workers_find_the_same(run, default_index, tmp_path):
    index = _copy(default_index, tmp_path)
    damaged = _damage(_tabular(index, "FY2026", "bin"))
    first = _claims(tmp_path)
    second = tmp_path / "more" / "claims.837"
    second.parent.mkdir()
    second.write_text(first.read_text())
    status, out, err = run("check", str(first), str(second), "-j", "2", index=index)
    assert out.count("[index-damaged]") == 2 and out.count("[excludes1]") == 2 and status == 2, err
    # Found in a worker (only reading the bytes finds it): still named on stderr, once.
    assert err.count(str(damaged)) == 1 and REBUILD in err, err


def _inpatient(tmp_path: Path) -> Path:
    """Two 837I claims whose principal I10 is a questionable admission (MCE)."""
    path = tmp_path / "inpatient.837"
    path.write_text(make_837([
        dict(kind="I", day=NEW_DAY, birth=dt.date(1950, 1, 1), sex="F", principal="I10"),
        dict(kind="I", day=OLD_DAY, birth=dt.date(1950, 1, 1), sex="F", principal="I10"),
    ]))
    return path


def test_the_claims_check_the_mce_edits_on_an_intact_index(run, default_index, tmp_path):
    status, out, err = run("check", str(_inpatient(tmp_path)), "--format", "json", index=default_index)
    assert [f["rule"] for f in json.loads(out) if f["code"] == "I10"] == ["questionable-admission"] * 2


@pytest.mark.parametrize("name", ["codes.marisa", "records.bin"])  # found on open / found while reading
def test_damaged_mce_tables_give_index_damaged_where_the_edits_would_run(run, default_index, tmp_path, name):
    index = _copy(default_index, tmp_path)
    damaged = _damage(_mce_file(index, name))
    status, out, err = run("check", str(_inpatient(tmp_path)), "--format", "json", index=index)
    findings = [f for f in json.loads(out) if f["code"] == "I10"]
    assert [f["rule"] for f in findings] == ["index-damaged"] * 2, findings  # one per claim
    for f, day in zip(findings, (NEW_DAY, OLD_DAY)):
        assert f"MCE edits not checked on {day}" in f["message"]
        assert str(damaged) in f["message"] and f["message"].endswith(REBUILD)
        assert "index import mce" not in f["message"]  # not the generic hint: the one command
    assert status == 2
    assert str(damaged) in err and REBUILD in err and "Traceback" not in err


def test_lookup_on_a_date_whose_release_is_damaged_says_so(run, default_index, tmp_path):
    index = _copy(default_index, tmp_path)
    trie = _damage(index / "icd10cm" / "FY2025" / "codes.marisa")
    status, out, err = run("lookup", "E11.9", "--date", "2025-01-15", index=index)
    assert "the ICD-10-CM release FY2025, in force on 2025-01-15, is damaged" in out, out
    assert str(trie) in out and REBUILD in out.replace("\n      ", " ")
    assert "FY2024" not in out and "not in force" not in out and "Type 2 diabetes" not in out
    assert status == 2
    status, out, err = run("lookup", "E11.9", "--date", "2025-01-15", "--json", index=index)
    (view,) = json.loads(out)["results"]
    assert view["status"] == "unverified" and not view["found"] and view["release_label"] == "FY2025"
    assert str(trie) in view["data_problem"] and REBUILD in view["data_problem"]
    status, out, err = run("lookup", "E11.9", "--date", "2026-01-15", index=index)  # FY2026 answers
    assert status == 0 and "Type 2 diabetes" in out


async def test_the_editor_reports_damaged_edits_data_once_and_publishes_the_rest(default_index, tmp_path):
    """Over real LSP stdio: tabular notes damaged in their bytes (found while checking) and MCE
    tables damaged on open: one window message per damaged file, the claims' index-damaged
    diagnostics and their other findings; no document text on the server's stderr."""
    from lsp_session import STDERR_WRAPPER, place, start, stop

    index = _copy(default_index, tmp_path)
    notes = _damage(_tabular(index, "FY2026", "bin"))
    mce = _damage(_mce_file(index, "codes.marisa"))
    text = _claims(tmp_path, extra=["E1199"]).read_text().replace("DOE*JANE", "PRIVATEPATIENTNAME")
    stderr = tmp_path / "server.stderr"
    session = await start("visual-studio-code", index, command=[sys.executable, str(STDERR_WRAPPER), str(stderr), "INFO"])
    try:
        uri = "file:///tmp/e2e/damaged-edits/claims.837"
        session.open(uri, text)
        diags = await session.diagnostics(uri)
        line, col, end = place(text, "HI*ABK:E119", "E119")  # the FY2026 claim's first diagnosis
        damaged = [d for d in diags if d.code == "index-damaged"]
        at_new = [d.message for d in damaged if d.range.start.line == line]
        assert len(at_new) == 2, [d.message for d in diags]  # tabular and MCE, once each
        assert any(str(notes) in m and REBUILD in m for m in at_new) and any(str(mce) in m for m in at_new)
        old_line, _, _ = place(text, "HI*ABK:E119", "E119", nth=1)
        at_old = [d.message for d in damaged if d.range.start.line == old_line]
        assert len(at_old) == 1 and str(mce) in at_old[0]  # FY2025's notes are intact
        assert [d.code for d in diags if d.code == "invalid-code"] == ["invalid-code"]
        assert [d.range.start.line for d in diags if d.code == "excludes1"] == [old_line]
        # Hover on the damaged day: the edits that could not run, not an error response.
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "E11.9" in hover and str(notes).replace("_", "\\_") in hover.replace("\\-", "-"), hover
        session.open(uri.replace("claims", "again"), text)  # another check: no second message
        await session.diagnostics(uri.replace("claims", "again"))
        for path in (notes, mce):
            shown = [m.message for m in session.client.messages if str(path) in m.message]
            assert len(shown) == 1 and REBUILD in shown[0], shown
    finally:
        await stop(session)
    logged = stderr.read_text(errors="replace")
    assert "PRIVATEPATIENTNAME" not in logged and "Traceback" not in logged


async def test_hover_on_a_date_whose_release_is_damaged_says_so(default_index, tmp_path):
    from lsp_session import place, start, stop

    index = _copy(default_index, tmp_path)
    trie = _damage(index / "icd10cm" / "FY2025" / "codes.marisa")
    text = _claims(tmp_path).read_text()
    session = await start("neovim", index)
    try:
        uri = "file:///tmp/e2e/damaged-hover/claims.837"
        session.open(uri, text)
        await session.diagnostics(uri)
        line, col, _ = place(text, "HI*ABK:E119", "E119", nth=1)  # 2025-03-10: FY2025
        hover = (await session.hover(uri, line, col + 1)).contents.value
        plain = hover.replace("\\", "")
        assert "the ICD-10-CM release FY2025, in force on 2025-03-10, is damaged" in plain, hover
        assert str(trie) in plain and "medcode index build --set icd10cm" in plain
        assert "FY2024" not in plain and "not in force" not in plain
        line, col, _ = place(text, "HI*ABK:E119", "E119")  # 2026-03-10: FY2026 answers
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "Type 2 diabetes mellitus without complications" in hover and "damaged" not in hover
    finally:
        await stop(session)


async def test_mce_tables_damaged_in_their_bytes_are_named_once_whoever_reads_them_first(default_index, tmp_path):
    """Hover (which reads the MCE flags) and the check both meet the damage in records.bin:
    one window message, hover answers without an error, the claims get index-damaged."""
    from lsprotocol import types
    from lsp_session import place, start, stop

    index = _copy(default_index, tmp_path)
    damaged = _damage(_mce_file(index, "records.bin"))
    text = _inpatient(tmp_path).read_text()
    session = await start("visual-studio-code", index)
    try:
        uri = "file:///tmp/e2e/damaged-mce/inpatient.837"
        session.open(uri, text)
        line, col, _ = place(text, "HI*ABK:I10", "I10")
        hover = await session.hover(uri, line, col + 1)
        assert hover is not None and "I10" in hover.contents.value
        diags = await session.diagnostics(uri)
        notes = [d.message for d in diags if d.code == "index-damaged"]
        assert len(notes) == 2 and all(str(damaged) in m and REBUILD in m for m in notes), [d.message for d in diags]
        assert not [d for d in diags if d.code == "questionable-admission"]
        hover = (await session.hover(uri, line, col + 1)).contents.value
        assert "MCE edits not checked on 2026-03-10" in hover.replace("\\", ""), hover
        shown = [m for m in session.client.messages if str(damaged) in m.message]
        assert len(shown) == 1 and REBUILD in shown[0].message, [m.message for m in shown]
        assert shown[0].type in (types.MessageType.Warning, types.MessageType.Error)
    finally:
        await stop(session)
