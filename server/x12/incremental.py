"""Re-walking only the part of an 837 an edit touched, with exactly the outcome of a whole walk.

A walk (document.py) reads segments in order with a small state: the open envelopes and their
counts, the transaction kind, the component separator in use, and the patient context of the
subscriber loop (HL, SBR, DMG) that the next claims take. A WalkRecord keeps, for each claim, that
state as it was at the claim's CLM (shared tuples, as it changes rarely) and how many problems
had been found before it. After an edit of the old text's [start, end):

- the walk restarts at the last CLM that ends before the edit, from the state recorded there
  (claims before it are closed by that CLM, so nothing before it can change);
- it stops at the first CLM wholly past the edit where its state equals the old walk's state
  at the same claim: from there on the old walk's claims, results and problems are the same,
  shifted by the edit's change of length;
- one thing past that point does depend on the text before it: the SE that closes the open
  transaction counts its segments from the ST, so that SE is checked again.

An edit of the ISA header (which sets the delimiters) or anything this cannot line up gives
None, and the caller walks the whole text.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Callable

from ..priority import pause
from .delimiters import Delimiters, Problem, detect
from .document import Claim, ClaimCodes, ClaimSpans, X12Document, _CONTROL, _Walk, control_problems, segment_pattern, shifted
from .segments import Segment

# Checked claims' results, in claim order (whatever the caller's on_claim returns).
OnClaim = Callable[[Claim, ClaimCodes], Any]


@dataclass(slots=True, eq=False)
class WalkRecord:
    """One walk of a text, kept to re-walk the next version of it."""

    delims: Delimiters
    header_end: int  # edits before this change the delimiters: walk everything again
    length: int  # of the text walked
    detection: list[Problem]
    problems: list[Problem]  # found by the walk, in walk order
    control: list[Problem]
    claims: ClaimSpans  # the Claim objects are not kept: on_claim has seen them
    results: list[Any]  # per claim, what on_claim returned
    envs: list[tuple]  # per claim: the walk's envelope state at its CLM
    demos: list[tuple]  # per claim: the walk's patient state at its CLM
    marks: array  # per claim: problems found before its CLM
    se_starts: array  # per SE: where its id starts
    se_marks: array  # per SE: problems found before it
    se_sts: array  # per SE: where the ST it closes starts (-1: none)
    segs: array  # per claim: segment terminators before its CLM (an SE's count, see _Counted)
    component: str
    kinds: set[str]
    # For a re-walk: its claims [first, new_end) replaced the old record's [first, old_end),
    # and the claims after them are the old ones, moved.
    spliced: tuple[int, int, int] | None = None

    def document(self) -> X12Document:
        return X12Document(self.delims, self.component, self.detection + self.problems + self.control, self.claims, set(self.kinds))


def header_end(text: str, d: Delimiters) -> int:
    """Where the text that decides the delimiters (and what detect() reports) ends."""
    if not d.has_isa:
        return d.start + 4096  # a GS/ST fragment: detect() looks at its first 4096 characters
    if d.isa16_offset is None:
        return d.start + 400  # an incomplete ISA: detect() read a 400-character window
    j = d.isa16_offset + 1
    while j < len(text) and text[j] == " ":
        j += 1
    # The checker's claim results are also keyed on the first 128 characters.
    return max(j + 1, 128)


def first_walk(text: str, on_claim: OnClaim) -> WalkRecord | None:
    """Walk the whole text (document.walk), keeping what a re-walk needs; None if not X12."""
    detection = detect(text)
    d = detection.delimiters
    if d is None:
        return None
    results: list[Any] = []
    w = _Walk(text, d, [], _collect(on_claim, results), keep_claims=False)
    w.run()
    return WalkRecord(
        d, header_end(text, d), len(text), list(detection.problems), w.problems, control_problems(text, d),
        w.spans, results, w.envs, w.demos, w.marks, w.se_starts, w.se_marks, w.se_sts, w.segs, w.component, w.kinds,
    )  # fmt: skip


def rewalk(old: WalkRecord, text: str, start: int, end: int, length: int, on_claim: OnClaim) -> WalkRecord | None:
    """The record of `text`, made from the record of the text it was before the old text's
    [start, end) became `length` characters; None when the edit cannot be bounded (then walk
    everything). On success `old` is used up: the envelope segments its states hold past the
    edit are shifted in place."""
    delta = length - (end - start)
    if len(text) != old.length + delta or start < old.header_end or start > old.length or end > old.length:
        return None
    d = old.delims
    claims = old.claims
    starts = claims.starts
    # The restart: the last claim whose CLM (and the character after it) lies before the edit.
    first = bisect_right(starts, start - 4) - 1
    results: list[Any] = []
    if first >= 0:
        at = starts[first]
        resume = text.rfind(d.segment, 0, at)
        if resume < d.start or text[resume + 1 : at].strip(" \t\r\n"):
            return None
        base = old.marks[first]
        counted = (at, old.segs[first])  # terminators before the restart's CLM: unchanged
    else:
        first, resume, base = 0, None, 0
        counted = (0, 0)
    w = _Walk(text, d, [], _collect(on_claim, results), keep_claims=False, counted=counted)
    if resume is not None:
        w.restore(old.envs[first], old.demos[first])
    new_end = start + length
    found: list[int] = []  # the old claim where the walk stopped

    def converge(match_start: int, clm: int, walk: _Walk) -> bool:
        if match_start < new_end:
            return False
        k = bisect_left(starts, clm - delta)
        if k == len(starts) or starts[k] != clm - delta:
            return False
        if walk.demo() != old.demos[k] or not _same_env(walk.env(), old.envs[k], start, end, delta):
            return False
        found.append(k)
        return True

    w.converge = converge
    w.run(resume)
    # The walk's tail and each step below (arrays of every claim past the edit, moved when the
    # edit changed the length) end at a pause: a background re-check gives way to the loop's
    # requests between them (priority.py).
    pause()

    if w.stopped_at is None:
        k = len(claims)
        tail_problems: list[Problem] = []
    else:
        k = found[0]
        tail_problems = old.problems[old.marks[k] :]
        moved_problems = [_shift(p, start, end, delta) for p in tail_problems]
        if None in moved_problems:
            return None
        tail_problems = moved_problems  # type: ignore[assignment]
    cut = old.marks[k] if k < len(claims) else len(old.problems)
    moved = len(w.problems) + base - cut  # how far the tail's problem counts move

    # SEs: the old ones before the restart, the re-walk's, the old ones past where it stopped.
    se_keep = bisect_left(old.se_starts, resume) if resume is not None else 0
    x = starts[k] if k < len(claims) else old.length + 1
    se_tail = bisect_left(old.se_starts, x)
    se_starts = old.se_starts[:se_keep] + w.se_starts + shifted(old.se_starts[se_tail:], delta)
    se_marks = old.se_marks[:se_keep] + shifted(w.se_marks, base) + shifted(old.se_marks[se_tail:], moved)
    se_sts = old.se_sts[:se_keep] + w.se_sts + array("q", (s if s < start else s + delta for s in old.se_sts[se_tail:]))
    problems = old.problems[:base] + w.problems + tail_problems
    pause()
    spans = claims.spliced(first, k, w.spans, delta)
    pause()
    segs = w.segs
    if k < len(claims):  # the old claims past the stop, with the terminators the edit added
        at, n = (w.spans.starts[-1], segs[-1]) if segs else counted
        segs += shifted(old.segs[k:], n + text.count(d.segment, at, starts[k] + delta) - old.segs[k])
    segs = old.segs[:first] + segs
    pause()
    split, more = len(claims), 0  # tail claims from `split` on come after a re-checked SE
    if w.stopped_at is not None and se_tail < len(old.se_starts) and 0 <= old.se_sts[se_tail] < x:
        # The SE closing the transaction open where the walk stopped counts segments from its
        # ST, before the edit: check it again (its problems may now be more or fewer).
        j = se_keep + len(w.se_starts)
        more = _recheck_se(w, _Counted(text, d.segment, spans.starts, segs), se_starts[j], se_marks[j], problems)
        if more is None:
            return None
        if more:
            split = bisect_right(starts, old.se_starts[se_tail])
            for i in range(j + 1, len(se_marks)):
                se_marks[i] += more

    pause()
    control = _control(old, text, start, end, length, delta)
    # Everything checked: now the old record's tail becomes the new one's.
    if delta:
        _shift_segments(old.envs[k:], end, delta)
        pause()
    marks = old.marks[:first] + shifted(w.marks, base) + shifted(old.marks[k:split], moved)
    pause()
    marks += shifted(old.marks[max(k, split) :], moved + more)
    pause()
    stopped = w.stopped_at is not None
    return WalkRecord(
        d, old.header_end, len(text), old.detection, problems, control,
        spans, old.results[:first] + results + old.results[k:],
        old.envs[:first] + w.envs + old.envs[k:], old.demos[:first] + w.demos + old.demos[k:], marks,
        se_starts, se_marks, se_sts, segs,
        old.component if stopped else w.component, old.kinds if stopped else w.kinds,
        (first, first + len(w.spans), k),
    )  # fmt: skip


class _Counted:
    """The text as _Walk._se reads it to check an SE's segment count: document.count_between
    asks text.count(terminator, a, b) a window at a time over the whole transaction (40 MB in
    one big 837). Here each answer is the claims' running counts (WalkRecord.segs) at b minus
    at a, plus the text from the claim before each: a re-check reads what it walked, not the
    whole transaction again."""

    __slots__ = ("text", "t", "starts", "segs")

    def __init__(self, text: str, t: str, starts: array, segs: array):
        self.text, self.t, self.starts, self.segs = text, t, starts, segs

    def count(self, sub: str, a: int, b: int) -> int:
        if sub != self.t:
            return self.text.count(sub, a, b)
        return self._before(b) - self._before(a)

    def _before(self, at: int) -> int:
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return self.text.count(self.t, 0, at)
        return self.segs[i] + self.text.count(self.t, self.starts[i], at)


def _collect(on_claim: OnClaim, results: list[Any]) -> Callable[[Claim, ClaimCodes], None]:
    """The walk's callback: each claim's result kept in order. Between claims a background
    check gives way to the editor's requests (priority.py)."""

    def collected(claim: Claim, codes: ClaimCodes) -> None:
        results.append(on_claim(claim, codes))
        pause()

    return collected


def _moved(pos: int, start: int, end: int, delta: int) -> int | None:
    """Where an old offset is in the new text; None inside the edited range."""
    if pos < start:
        return pos
    if pos >= end:
        return pos + delta
    return None


def _shift(p: Problem, start: int, end: int, delta: int) -> Problem | None:
    s = _moved(p.start, start, end, delta)
    e = p.end if p.end <= start else (p.end + delta if p.end >= end else None)
    if s is None or e is None or (s < start and p.end > start):
        return None
    return p if s == p.start and e == p.end else Problem(s, e, p.message, p.fix, p.error)


def _same_segment(new: Segment | None, old: Segment | None, start: int, end: int, delta: int) -> bool:
    if new is None or old is None:
        return new is old
    return new.id == old.id and new.text == old.text and new.start == _moved(old.start, start, end, delta)


def _same_env(new: tuple, old: tuple, start: int, end: int, delta: int) -> bool:
    return (
        new[3:] == old[3:]
        and _same_segment(new[0], old[0], start, end, delta)
        and _same_segment(new[1], old[1], start, end, delta)
        and _same_segment(new[2], old[2], start, end, delta)
    )


def _shift_segments(envs: list[tuple], end: int, delta: int) -> None:
    """The envelope segments the tail's states hold, past the edit, move with it (once each)."""
    seen: set[int] = set()
    last = None
    for env in envs:
        if env is last:
            continue
        last = env
        for seg in env[:3]:
            if seg is not None and seg.start >= end and id(seg) not in seen:
                seen.add(id(seg))
                seg.start += delta


def _recheck_se(w: _Walk, counted: _Counted, se: int, mark: int, problems: list[Problem]) -> int | None:
    """Replace the problems the SE at `se` gave (they start at its id) with what it gives now;
    how many more there are (None: the SE is not where it should be)."""
    text = counted.text
    m = segment_pattern(w.d, first=True).match(text, se)
    if m is None or m.group(2) != "SE" or m.start(1) != se:
        return None
    i = mark
    while i < len(problems) and problems[i].start == se:
        i += 1
    check = _Walk(counted, w.d, [], None)  # type: ignore[arg-type] # _se only counts in its text
    check.st = w.st
    check._se(Segment("SE", se, m.group(1).rstrip(), w.d))
    problems[mark:i] = check.problems
    return len(check.problems) - (i - mark)


def _control(old: WalkRecord, text: str, start: int, end: int, length: int, delta: int) -> list[Problem]:
    """The control-character problems: none stay none unless the edit put one in."""
    if not old.control:
        d = old.delims
        allowed = {d.element, d.component, d.segment, d.repetition}
        inserted = text[start : start + length]
        if not any(c in inserted for c in _CONTROL if c not in allowed):
            return []
    return control_problems(text, old.delims)
