"""The diagnostics cache (server/lsp/diagnostics.py): after any sequence of edits, the
diagnostics converted through the cache equal those converted afresh from the same text and
findings; and the JSON it writes is what lsprotocol reads as the same Diagnostic.

Findings here come from a stand-in rule over the text (every code-like token, and a finding
from each CLM to the end of the next line), so that after an edit most findings are the same
ones moved, as a real re-check's are: the cache then serves them, and must place them right.
"""

from __future__ import annotations

import re

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.protocol import default_converter

from medcode.server.findings import Finding, Fix, Severity
from medcode.server.lsp import diagnostics
from medcode.server.lsp.diagnostics import DiagnosticsCache, diagnostics_json
from medcode.server.lsp.settings import Settings
from medcode.server.positions import UTF8, UTF16, UTF32, LineIndex
from medcode.server.x12.edits import EditLog

TOKEN = re.compile(r"[A-Z][0-9]+")


def findings_of(text: str) -> list[Finding]:
    out = []
    for m in TOKEN.finditer(text):
        token = m.group()
        fixes = [Fix(f"Change to {token[:2]}", m.start(), m.end(), token[:2], preferred=True)] if token[0] == "E" else []
        more = ("icd10cm", token, "FY2026") if token[0] == "S" else None
        severity = Severity.WARNING if token[0] == "W" else None
        out.append(Finding("invalid-code", f"{token} is not a code", m.start(), m.end(), fixes=fixes, more=more, severity=severity))
    for m in re.finditer("CLM", text):
        # Across a line break: from the CLM to the end of the next line.
        nl = text.find("\n", m.end())
        end = len(text) if nl < 0 else (text.find("\n", nl + 1) if text.find("\n", nl + 1) >= 0 else len(text))
        out.append(Finding("x12-structure", "claim", m.start(), end))
    for m in re.finditer("~[\r\n]", text):
        # Ends right after a line break: a \n typed after a \r moves where it ends.
        out.append(Finding("x12-structure", "terminator", m.start(), m.end()))
    out.append(Finding("not-in-index", "no data", 0, min(3, len(text))))  # a duplicate-prone place
    out.append(Finding("not-in-index", "no data", 0, min(3, len(text))))
    out.sort(key=lambda f: (f.start, f.end))
    return out


BASE = (
    "ISA*00~\nGS*HC~\nST*837~\n"
    "CLM*A1*100~\nHI*ABK:E119*ABF:S7200~\nSV1*HC:J1100*50~\n"
    "CLM*A2*100~\r\nHI*ABK:I10*ABF:W123~\r\nSV1*HC:99213*50~\n"
    "CLM*é3*100~\rHI*ABK:E11😀*ABF:Z00~\rSV1*HC:A1*1~\n"
    "SE*9*0001~\nGE*1*1~\nIEA*1*1~\n"
)
PIECES = ["\n", "\r", "\r\n", "E11", "S7", "CLM*", "~\n", "é", "😀", "x", "", "W9", "HI*ABK:E1\nCLM*Q\n"]


@st.composite
def edit_runs(draw):
    """A list of runs; each run is a list of (start fraction, length, new text) edits made
    before the next conversion."""
    # Where: anywhere (a fraction of the text), or at / next to a line break or a finding's
    # end, where a break may join or split and a finding may end right at the edit.
    where = st.one_of(st.floats(0, 1), st.tuples(st.integers(0, 10**6), st.integers(-1, 1)))
    edit = st.tuples(where, st.integers(0, 12), st.lists(st.sampled_from(PIECES), max_size=3).map("".join))
    return draw(st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=8))


def edit_start(text: str, where) -> int:
    if isinstance(where, float):
        return int(where * len(text))
    k, nudge = where
    marks = sorted({m.start() for m in re.finditer("[\r\n]", text)} | {f.end for f in findings_of(text)})
    return max(0, min(len(text), marks[k % len(marks)] + nudge)) if marks else 0


def fresh(text: str, encoding: str, cfg: Settings) -> bytes:
    return diagnostics_json(findings_of(text), LineIndex(text, encoding), cfg).body


def _content(f: Finding) -> tuple:
    return (f.rule, f.message, f.severity, tuple((x.title, x.start - f.start, x.end - f.start, x.text) for x in f.fixes), f.more)


def handed_over(old: list[Finding], new: list[Finding], start: int, end: int, delta: int, anywhere: bool) -> list[Finding]:
    """`new` (the findings of the edited text) as a re-check hands them over (analysis.py):
    the findings the edit did not touch are the old objects, those past it moved in place
    (Finding.move). With `anywhere`, old objects are also reused for findings elsewhere,
    moved to wherever one saying the same is now: the cache must not trust identity alone."""
    pool: dict[tuple, list[Finding]] = {}
    for f in old:
        if f.end < start or f.start >= end:
            where = f.start if f.end < start else f.start + delta
        elif not anywhere:
            continue
        else:
            where = None
        pool.setdefault((_content(f), f.end - f.start, None if anywhere else where), []).append(f)
    out = []
    for g in new:
        same = pool.get((_content(g), g.end - g.start, None if anywhere else g.start))
        if same:
            f = same.pop()
            f.move(g.start - f.start)
            out.append(f)
        else:
            out.append(g)
    return out


@pytest.mark.parametrize("encoding", [UTF16, UTF8, UTF32])
@settings(max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=edit_runs(), flip=st.integers(0, 7), hand=st.sampled_from([None, "near", "anywhere"]))
def test_cached_conversion_after_edits_equals_a_fresh_one(encoding, runs, flip, hand):
    """Findings as new objects (a CSV's re-read), or handed over as the objects of the last
    check (`hand`, as an X12 re-check does: handed_over)."""
    text = BASE
    log = EditLog()
    cache = DiagnosticsCache()
    cfg = Settings()
    findings = findings_of(text)
    assert cache.convert(findings, LineIndex(text, encoding), cfg, log).body == fresh(text, encoding, cfg)
    for n, run in enumerate(runs):
        for at, length, new in run:
            start = edit_start(text, at)
            end = min(len(text), start + length)
            text = text[:start] + new + text[end:]
            log = log.then(start, end, len(new))
            if hand:
                findings = handed_over(findings, findings_of(text), start, end, len(new) - (end - start), hand == "anywhere")
        if n == flip:  # a severity setting changes what the same findings say
            cfg = Settings.from_client({"severity": {"invalid-code": "hint"}})
        got = cache.convert(findings if hand else findings_of(text), LineIndex(text, encoding), cfg, log)
        assert got.body == fresh(text, encoding, cfg), (n, run)
        assert got.count == len(orjson.loads(got.body))


def test_a_line_added_moves_the_findings_past_it_without_writing_them_again(monkeypatch):
    """The cheap path: a line added near the top, the findings past it handed over as the same
    objects, moved. Only the few on the edited line are written again, and the JSON is a
    fresh conversion's."""
    text = BASE * 40
    log = EditLog()
    cache = DiagnosticsCache()
    cfg = Settings()
    findings = findings_of(text)
    cache.convert(findings, LineIndex(text), cfg, log)
    at = text.index("ST*837")
    line = "NTE*ADD*NOTE~\n"
    text = text[:at] + line + text[at:]
    log = log.then(at, at, len(line))
    findings = handed_over(findings, findings_of(text), at, at, len(line), False)
    serialised = []
    real_tail = diagnostics._tail
    monkeypatch.setattr(diagnostics, "_tail", lambda content, handle: serialised.append(content) or real_tail(content, handle))
    keyed = []
    real_key = diagnostics._key
    monkeypatch.setattr(diagnostics, "_key", lambda f, *a: keyed.append(f) or real_key(f, *a))
    got = cache.convert(findings, LineIndex(text), cfg, log)
    monkeypatch.undo()
    assert got.body == fresh(text, UTF16, cfg)
    # No content key is made of the findings the cache knows: only of those on the edited line.
    assert got.count > 1000 and len(serialised) <= 4 and len(keyed) <= 4


def test_the_cache_serves_findings_an_edit_did_not_touch(monkeypatch):
    """Adding a line near the top moves every later finding down a line: they come from the
    cache (moved), not placed again; the one on the edited line is placed again."""
    text = BASE
    log = EditLog()
    cache = DiagnosticsCache()
    cfg = Settings()
    cache.convert(findings_of(text), LineIndex(text), cfg, log)
    before = dict(cache._entries)
    at = text.index("ST*837")
    text = text[:at] + "NEW*LINE~\n" + text[at:]
    log = log.then(at, at, len("NEW*LINE~\n"))
    serialised = []
    real_tail = diagnostics._tail
    monkeypatch.setattr(diagnostics, "_tail", lambda content, handle: serialised.append(content) or real_tail(content, handle))
    cache.convert(findings_of(text), LineIndex(text), cfg, log)
    after = cache._entries
    moved = [k for k in after if k[0] >= text.index("CLM")]  # past the line the edit ends on
    assert moved
    # Entries moved by the cache are not serialised again: only their lines change, and the
    # JSON after the range is the very bytes object written before (no copy is made).
    assert len(serialised) <= len(after) - len(moved)
    for k in moved:
        old = before[(k[0] - 10, k[1] - 10, *k[2:])]
        assert after[k][:4] == (old[0] + 1, old[1], old[2] + 1, old[3])
        assert after[k][4] is old[4]


def test_the_json_is_what_lsprotocol_reads():
    """Each diagnostic's JSON structures into an lsprotocol Diagnostic and unstructures back to
    itself, with the range, rule and severity of its finding, and a handle to its fixes."""
    text = BASE
    index = LineIndex(text)
    findings = findings_of(text)
    cache = DiagnosticsCache()
    items = orjson.loads(cache.convert(findings, index, Settings(), None).body)
    converter = default_converter()
    assert len(items) == len(findings)
    for item, f in zip(items, findings):
        d = converter.structure(item, types.Diagnostic)
        assert converter.unstructure(d) == item
        assert (d.range.start.line, d.range.start.character) == index.position(f.start)
        assert (d.range.end.line, d.range.end.character) == index.position(f.end)
        assert (d.code, d.message, d.source) == (f.rule, f.message, "medcode")
        assert d.severity == types.DiagnosticSeverity(int(f.effective_severity))
        quick = cache.quick_fixes(d.data, d.code, d.message)
        if f.fixes or f.more:
            assert [(t, s, e, x, p) for t, s, e, x, p in quick.fixes] == [(x.title, x.start - f.start, x.end - f.start, x.text, x.preferred) for x in f.fixes]
            assert quick.more == f.more
        else:
            assert "data" not in item and quick is None


def test_rules_switched_off_are_left_out():
    cfg = Settings.from_client({"severity": {"invalid-code": "off"}})
    items = orjson.loads(diagnostics_json(findings_of(BASE), LineIndex(BASE), cfg).body)
    assert items and all(d["code"] != "invalid-code" for d in items)


def test_quick_fixes_are_served_by_handle_and_kept_over_a_whole_text_change():
    """A diagnostic carries a handle, not its fixes; the handle finds them after the text is
    replaced whole (until the next publish the client still shows those diagnostics), and
    finds nothing on a diagnostic that says something else."""
    cache = DiagnosticsCache()
    items = orjson.loads(cache.convert(findings_of(BASE), LineIndex(BASE), Settings(), EditLog()).body)
    with_fixes = [d for d in items if "data" in d]
    assert with_fixes and all(isinstance(d["data"], int) for d in with_fixes)
    after = cache.successor()
    assert not after._entries
    for d in with_fixes:
        found = after.quick_fixes(d["data"], d["code"], d["message"])
        assert found is not None and found == cache.quick_fixes(d["data"], d["code"], d["message"])
        assert found.fixes or found.more
        assert after.quick_fixes(d["data"], d["code"], d["message"] + " (another server's)") is None
        assert after.quick_fixes(float(d["data"]), d["code"], d["message"]) == found  # a client's double


def test_handles_of_old_conversions_are_forgotten_and_current_ones_kept():
    """Each edit may make new fixes (new handles): the table keeps those the last two
    conversions wrote, not every one ever made."""
    cache = DiagnosticsCache()
    log = EditLog()
    text = BASE
    for n in range(300):
        at = text.index("HI*ABK:") + len("HI*ABK:")
        code = f"E{n:03d}"
        text = text[:at] + code + text[at + 4 :]
        log = log.then(at, at + 4, 4)
        items = orjson.loads(cache.convert(findings_of(text), LineIndex(text), Settings(), log).body)
    assert len(cache._fixes) <= 64 + 4 * len([d for d in items if "data" in d])
    for d in items:
        if "data" in d:
            assert cache.quick_fixes(d["data"], d["code"], d["message"]) is not None
