"""One fast pass over an X12 837 document for checking: envelopes, claims, lines, dates, codes.

Speed matters (the budget is 20 MB/s on one core), so a regular expression built for the
document's delimiters picks out only the segments that matter (the regex engine skips the
others in C) and each handler splits just its own segment. The walk keeps claims with their
dates and spans, plus envelope problems; each claim's code slots go to a callback as soon as
the claim ends. The outline is built separately, on demand (outline.py).
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from itertools import chain, repeat
from operator import add
from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple

from ..digits import is_digits
from ..priority import pause
from .delimiters import Delimiters, Problem, detect
from .segments import Segment
from .shapes import C004_COMPONENTS, C023_COMPONENTS, C023_WORDS, SEGMENT_ELEMENTS, ShapeProblem, past_components, past_elements
from .slots import CODE_SEGMENTS, POINTER_ELEMENT, CodeTuple, codes_in, effective_component, hi_codes, line_shape, pointers_in
from .vocabulary import HI_UNREADABLE, TRANSACTIONS

_READ = sorted(CODE_SEGMENTS | {"ISA", "IEA", "GS", "GE", "ST", "SE", "CLM", "LX", "DTP", "HL", "DMG", "SBR", "CL1"}, key=len, reverse=True)
_CLAIM_DATES = {"472", "434", "435"}
UNITS_ELEMENT = {"SV1": 4, "SV2": 5}
# The pointers of a claim whose HI segment could not be read, as one place (x12/rules.py).
UNREAD_POINTERS = "unread-pointers"
_DATES: dict[str, dt.date | None] = {}
_BILL_TYPES: dict[str, str] = {}
# Control characters X12 text may not hold (other than the ones the file uses as delimiters).
_CONTROL = "".join(chr(c) for c in (*range(0x20), 0x7F) if chr(c) not in "\t\r\n")
_CONTROL_NAMES = {0: "NUL", 0x7F: "DEL"}
CONTROL_REPORT_MAX = 20  # a binary blob inside a file: the first few, then one summary
LINE_SEGMENTS_MAX = 10_000  # distinct service line segments kept by one walk (a few MB at most, freed with it)
DTPS_MAX = 5_000  # distinct DTP segments kept by one walk
# Distinct SBR, DMG and CLM05 texts kept by one walk, each (a file has a few hundred: the same
# subscriber relations, patients' birth dates and types of bill recur).
PATIENT_SEGMENTS_MAX = 5_000


@dataclass(slots=True)
class Line:
    number: str
    start: int
    date: dt.date | None = None
    units: str = ""  # service units as written (SV104 on 837P, SV205 on 837I)


@dataclass(slots=True)
class Claim:
    id: str
    start: int
    end: int
    transaction: str  # "P", "I", "D" or ""
    statement_from: dt.date | None = None
    admission: dt.date | None = None
    lines: list[Line] = field(default_factory=list)
    diagnoses: int = 0  # HI diagnosis positions (pointers count these)
    # The first HI element that could not be read (pointers past the diagnoses read name it).
    unread_hi: str | None = None
    unread_pointer_lines: int = 0  # service lines whose pointers go past the diagnoses read
    # The patient, for the claim edits (age and sex): DMG of loop 2010CA, else of 2010BA when
    # the subscriber is the patient (SBR02 = 18). None / "" when the claim does not say.
    birth: dt.date | None = None
    sex: str = ""  # DMG03: F, M, U
    through: dt.date | None = None  # statement period end (DTP*434 RD8): the discharge date
    discharge_status: str = ""  # CL103 (837I)
    bill_type: str = ""  # CLM05-1 + CLM05-3 (837I), e.g. "111"

    @property
    def date(self) -> dt.date | None:
        """The claim's date of service: statement start, admission, else the first line date."""
        if self.statement_from or self.admission:
            return self.statement_from or self.admission
        # Asked several times for each claim of a large file: a plain loop, no list.
        first = None
        for ln in self.lines:
            day = ln.date
            if day and (first is None or day < first):
                first = day
        return first

    def line_at(self, offset: int) -> Line | None:
        found = None
        for ln in self.lines:
            if ln.start <= offset:
                found = ln
        return found

    def date_at(self, offset: int) -> dt.date | None:
        line = self.line_at(offset)
        return (line.date if line and line.date else None) or self.date


class Span(NamedTuple):
    start: int
    end: int


SHIFT_BLOCK = 8192  # values shifted between two pauses (shifted)


def shifted(values: array, n: int) -> array:
    """Each value plus n; the array itself when n is 0. For the offsets and counts of every
    claim past an edit (a re-walk): made in blocks with a pause between (a background check
    gives way to the loop's requests: priority.py)."""
    if not n:
        return values
    out = array(values.typecode)
    for i in range(0, len(values), SHIFT_BLOCK):
        out.frombytes(_plus(values[i : i + SHIFT_BLOCK], n))
        pause()
    return out


def _plus(block: array, n: int) -> bytes:
    """The bytes of block's values plus n. Added as one integer whose digits in base 2**bits
    are the values: no int object per value, which cost 3 ms per array of 25,000 (a line
    added mid-file moves four such). Only while every value, before and after, lies in
    [0, 2**(bits-2)): the top byte of each says so (a value that left it would have carried
    into the next digit)."""
    size = block.itemsize
    raw = block.tobytes()
    if raw and abs(n) < 1 << (8 * size - 2) and not raw[size - 1 :: size].translate(None, _LOW):
        ones = int.from_bytes(b"\x01".ljust(size, b"\x00") * len(block), "little")
        try:
            out = (int.from_bytes(raw, "little") + n * ones).to_bytes(len(raw), "little")
        except OverflowError:  # the last value went below 0
            out = b""
        if out and not out[size - 1 :: size].translate(None, _LOW):
            return out
    return array(block.typecode, map(add, block, repeat(n))).tobytes()


_LOW = bytes(range(0x40))  # top bytes of values in [0, 2**(bits-2))


class ClaimSpans:
    """Where each claim of a walk starts and ends, in claim order: what the checker keeps of
    its claims once their rules have run (x12/incremental.py). Two arrays, not a Claim object
    (with its lines, id and dates) per claim: 50,000 claims held about 27 MB as objects."""

    __slots__ = ("starts", "ends")

    def __init__(self, starts: array | None = None, ends: array | None = None):
        self.starts = array("q") if starts is None else starts
        self.ends = array("q") if ends is None else ends

    def append(self, start: int, end: int) -> None:
        self.starts.append(start)
        self.ends.append(end)

    def __len__(self) -> int:
        return len(self.starts)

    def spliced(self, first: int, k: int, new: ClaimSpans, delta: int) -> ClaimSpans:
        """These spans with those of claims [first, k) replaced by `new`, and those from k on
        moved by delta characters (a re-walk: incremental.py)."""

        return ClaimSpans(self.starts[:first] + new.starts + shifted(self.starts[k:], delta), self.ends[:first] + new.ends + shifted(self.ends[k:], delta))

    def __getitem__(self, i: int) -> Span:
        return Span(self.starts[i], self.ends[i])

    def __iter__(self) -> Iterator[Span]:
        return map(Span, self.starts, self.ends)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClaimSpans) and self.starts == other.starts and self.ends == other.ends

    def __repr__(self) -> str:
        return f"ClaimSpans({list(self)!r})"


@dataclass
class X12Document:
    delims: Delimiters
    component: str  # the separator composites really use (see slots.effective_component)
    problems: list[Problem]
    claims: list[Claim] | ClaimSpans  # a check's document keeps only the spans (ClaimSpans)
    transaction_kinds: set[str]


def unread_hi(codes: list[CodeTuple]) -> str | None:
    """Why an HI segment's diagnoses could not all be read, in words; None when they could."""
    for t in codes:
        if t[0] == HI_UNREADABLE:
            where = t[5][:4]
            if t[3] is None:
                return f"{where} {t[1]!r} has no component separator between qualifier and code"
            return f"{where} qualifier {t[3]!r} is not an HI qualifier medcode knows"
    return None


def parse_date(text: str) -> dt.date | None:
    """D8 (CCYYMMDD), RD8 (CCYYMMDD-CCYYMMDD, start taken) or DT (CCYYMMDDHHMM)."""
    text = text[:8]
    day = _DATES.get(text, _DATES)
    if day is not _DATES:
        return day
    day = None
    if len(text) == 8 and is_digits(text):
        try:
            day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            day = None
    if len(_DATES) < 100_000:  # a file has a few hundred distinct dates
        _DATES[text] = day
    return day


def transaction_kind(version_id: str) -> str:
    for stem, meaning in TRANSACTIONS.items():
        if stem in version_id:
            return meaning[3]  # "837P ..." -> "P"
    return ""


def _alternatives(ids: list[str]) -> str:
    """The ids as a regular expression that branches on one character at a time
    ("C(?:L[1M])|D(?:MG|TP)|..."): the regex engine tries each branch in turn, so at each of a
    claim file's 1.4 million terminators this fails in a few steps, not twenty."""
    heads: dict[str, list[str]] = {}
    for i in sorted(ids):
        heads.setdefault(i[0], []).append(i[1:])
    out = []
    for head, tails in heads.items():
        rest = [x for x in tails if x]
        if not rest:
            out.append(re.escape(head))
            continue
        if len(rest) == 1:
            sub = re.escape(rest[0]) if len(rest[0]) == 1 or len(rest) == len(tails) else f"(?:{re.escape(rest[0])})"
        elif all(len(x) == 1 for x in rest):
            sub = f"[{re.escape(''.join(rest))}]"
        else:
            sub = f"(?:{_alternatives(rest)})"
        out.append(re.escape(head) + sub + ("?" if len(rest) < len(tails) else ""))
    return "|".join(out)


_IDS = _alternatives(_READ)


def segment_pattern(d: Delimiters, first: bool = False) -> re.Pattern[str]:
    """Matches the segments the walk reads: group 1 the segment from its id (at its exact
    offset) up to its terminator, group 2 the id. Each match starts at a terminator (a literal
    first character lets the regex engine skip ahead fast); `first` gives the pattern for the
    document's first segment, which has none before it."""
    t, e = re.escape(d.segment), re.escape(d.element)
    ids = _IDS
    body = r"[^\r\n]*" if d.segment == "\n" else f"[^{t}]*"
    lead = "" if first else t
    return re.compile(rf"{lead}[ \t\r\n]*(({ids})(?={e}|{t}|$){body})")


def _matches(text: str, d: Delimiters) -> Iterator[re.Match[str]]:
    head = segment_pattern(d, first=True).match(text, d.start)
    rest = segment_pattern(d).finditer(text, d.start)
    return rest if head is None else chain((head,), rest)  # chain: no Python frame per segment


# The codes of one claim as the walk found them: per segment, its service line (None for HI)
# and its code tuples (slots.codes_in).
ClaimCodes = list[tuple["Line | None", list[CodeTuple]]]


class _Walk:
    def __init__(self, text: str, delims: Delimiters, problems: list[Problem], on_claim, keep_claims: bool = True, counted: tuple[int, int] = (0, 0)):
        self.text = text
        self.d = delims
        self.problems = problems
        self.on_claim = on_claim
        self.component = delims.component
        self.component_checked = False
        # Without keep_claims, each claim's Claim object lives only until on_claim has seen it;
        # its span is kept.
        self.claims: list[Claim] | None = [] if keep_claims else None
        self.spans = ClaimSpans()
        self.kinds: set[str] = set()
        self.kind = ""
        # The kind again when the transaction's TR3 is 005010's, whose HI counts shapes.HI_LIMITS
        # holds ("" for 4010: its 837I writes principal, admitting and E-code in one HI).
        self.tr3_kind = ""
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.st: Segment | None = None
        # Transaction sets in the open group, groups in the open interchange (GE01, IEA01).
        self.sets_in_group = 0
        self.groups_in_interchange = 0
        self.claim: Claim | None = None
        self.claim_codes: ClaimCodes = []
        self.claim_pointers: list[tuple[Line | None, str, int, str, str]] = []
        self.line: Line | None = None
        # Demographics seen before the claim: the hierarchical level we are in (HL03),
        # the subscriber's DMG, whether the subscriber is the patient, the patient's DMG.
        self.level = ""
        self.subscriber_dmg: tuple[dt.date | None, str] | None = None
        self.subscriber_is_patient = False
        self.patient_dmg: tuple[dt.date | None, str] | None = None
        # What a re-walk needs to start at a claim (incremental.py): per claim, the walk's
        # state at its CLM (shared tuples: they change at envelope and HL segments only) and the
        # number of problems found before it; per SE, where it is, the problems before it and
        # where its ST is.
        self.envs: list[tuple] = []
        self.demos: list[tuple] = []
        self.marks = array("q")
        self.se_starts = array("q")
        self.se_marks = array("q")
        self.se_sts = array("q")  # per SE: where the ST it closes starts (-1: none)
        # Segment terminators counted once, as the walk goes: before each claim's CLM (an SE's
        # count is read from these, incremental.py) and before the open ST (this walk's SE
        # checks). `counted`: (offset, terminators before it) the count starts from.
        self.segs = array("q")
        self.count_at, self.count_n = counted
        self.st_count: int | None = None  # terminators before the open ST, when this walk saw it
        self._env: tuple | None = None
        self._demo: tuple | None = None
        self._demos: dict[tuple, tuple] = {}
        # A re-walk stops at the first CLM where this says the old walk goes on unchanged.
        self.converge: Callable[[int, int, _Walk], bool] | None = None
        self.highest: dict[str, int] = {}  # pointer element -> its highest pointer (_highest)
        self._line_segments: dict[str, tuple] = {}  # raw -> _read_line_segment (this component)
        self._dtps: dict[str, tuple] = {}  # raw -> _read_dtp
        self._hi_elements: dict[str, tuple] = {}  # HI element -> slots.hi_element (this component)
        self._hi_pasts: dict[str, ShapeProblem] = {}  # HI elements past C022 (slots.hi_codes; this component)
        # Segments that repeat across a file's claims, read once each: SBR -> whether the
        # subscriber is the patient, DMG -> (birth, sex) or None, LX -> its number, CLM05 ->
        # its type of bill (this component).
        self._sbrs: dict[str, bool] = {}
        self._dmgs: dict[str, tuple | None] = {}
        self._lxs: dict[str, str] = {}
        self._bills: dict[str, str] = {}
        self.stopped_at: int | None = None

    def _problem(self, start: int, end: int, message: str, fix: str | None = None) -> None:
        self.problems.append(Problem(start, end, message, fix))

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        # Diagnosis pointers are checked in bulk: only a segment with a pointer past the
        # claim's diagnoses hands its pointers to the rules (they say which one is wrong).
        failing = None
        if self.claim_pointers:
            limit = min(claim.diagnoses, 12)
            for line, seg_id, start, raw, top in self.claim_pointers:
                if top > limit:
                    if failing is None:
                        failing = []
                    failing.append((line, pointers_in(seg_id, start, raw, self.d.element, self.component)))
        if failing:
            if claim.unread_hi is not None:
                # The pointers are not wrong, the HI segment is: one finding that says so, on
                # the first line, rather than one per line.
                claim.unread_pointer_lines = len(failing)
                line, first = failing[0]
                text = self.text[first[0][2] : first[-1][2] + len(first[-1][1])]
                failing = [(line, [(UNREAD_POINTERS, text, first[0][2], None, None, first[0][5], False)])]
            self.claim_codes.extend(failing)
        if self.claims is not None:
            self.claims.append(claim)
        spans = self.spans
        spans.starts.append(claim.start)
        spans.ends.append(claim.end)
        self.on_claim(claim, self.claim_codes)
        self.claim = None
        self.claim_codes = []
        if self.claim_pointers:
            self.claim_pointers = []
        self.line = None

    def _read_line_segment(self, seg_id: str, raw: str) -> tuple[tuple[CodeTuple, ...], str | None, int, tuple[ShapeProblem, ...] | None]:
        """A code segment other than HI, read at offset 0: its places (slots.codes_in, without
        pointers), its units (SV104 / SV205; None when it has no such element), its highest
        diagnosis pointer (_highest; 0 when it has none) and what it writes past the limits of
        its composites (slots.line_shape; None when nothing is). Kept by text, for the component separator in use
        (the memo is emptied when that changes)."""
        element, comp = self.d.element, self.component
        # One split serves the codes, the units and the pointers.
        values = raw.split(element)
        places = tuple(codes_in(seg_id, 0, raw, element, comp, False, values))
        n = UNITS_ELEMENT.get(seg_id)
        p = POINTER_ELEMENT.get(seg_id)
        pointers = values[p] if p is not None and p < len(values) else ""
        top = 0
        if pointers:
            top = self.highest.get(pointers)
            if top is None:
                top = self._highest(pointers)
        read = (places, values[n] if n is not None and len(values) > n else None, top, line_shape(seg_id, values, comp, element) or None)
        if len(self._line_segments) < LINE_SEGMENTS_MAX:
            self._line_segments[raw] = read
        return read

    def _highest(self, pointers: str) -> int:
        """The highest pointer of a pointer element ("1:2:3" -> 3), or 13 (past any claim's
        diagnoses) when one is not a number 1-12: the same few elements recur, so kept. Those
        past the fourth are not read (shapes.py)."""
        top = 0
        for p in pointers.split(self.component)[:C004_COMPONENTS]:
            if p:
                n = int(p) if is_digits(p) else 0
                top = max(top, n if 0 < n <= 12 else 13)
        if len(self.highest) < 10_000:
            self.highest[pointers] = top
        return top

    def _past_segment(self, start: int, raw: str) -> bool:
        """Report a segment (at `start`) with a value past its last element (shapes.past_elements);
        whether it has one. The memoized reads do not keep such a segment, so each copy is
        reported; callers ask once per distinct text (a memo miss), or when a cheap count
        says it may be (HL, CLM: every segment)."""
        found = past_elements(raw, self.d.element)
        if found is None:
            return False
        self._shape(start, (found,))
        return True

    def _shape(self, start: int, shape) -> None:
        """A segment's text past the limits of its elements or composites (shapes.py), its
        problems `start` characters before the document's offsets."""
        for s, e, message, error in shape:
            self.problems.append(Problem(start + s, start + e, message, None, error))

    def env(self) -> tuple:
        """The envelope part of the walk's state (what changes only at envelope segments)."""
        env = self._env
        if env is None:
            env = self._env = (self.isa, self.gs, self.st, self.sets_in_group, self.groups_in_interchange, self.kind, self.tr3_kind, frozenset(self.kinds), self.component, self.component_checked)
        return env

    def demo(self) -> tuple:
        """The patient part of the walk's state (what changes at HL, SBR and DMG segments)."""
        demo = self._demo
        if demo is None:
            # Shared by value: most subscriber loops of a file give the same few tuples.
            demo = (self.level, self.subscriber_dmg, self.subscriber_is_patient, self.patient_dmg)
            demo = self._demo = self._demos.setdefault(demo, demo)
        return demo

    def restore(self, env: tuple, demo: tuple) -> None:
        """Start from the state another walk had at a claim (incremental.py)."""
        self.isa, self.gs, self.st, self.sets_in_group, self.groups_in_interchange, self.kind, self.tr3_kind, kinds, self.component, self.component_checked = env
        self.kinds = set(kinds)
        self.level, self.subscriber_dmg, self.subscriber_is_patient, self.patient_dmg = demo
        self._env, self._demo = env, demo

    def run(self, resume: int | None = None) -> None:
        """Walk the text; from `resume` (a terminator before a segment) when given, else from
        the start. Stops early when `converge` says so (stopped_at is then that CLM)."""
        d = self.d
        envelope = {"ISA": self._isa, "IEA": self._iea, "GS": self._gs, "GE": self._ge, "ST": self._st, "SE": self._se}
        element = d.element
        matches = _matches(self.text, d) if resume is None else segment_pattern(d).finditer(self.text, resume)
        # Names the loop reads for each of a large file's half a million segments, as locals.
        claim_codes_append = self.claim_codes.append
        code_segments, line_memo, dtp_memo, hi_memo, hi_pasts = CODE_SEGMENTS, self._line_segments, self._dtps, self._hi_elements, self._hi_pasts
        sbr_memo, dmg_memo, lx_memo = self._sbrs, self._dmgs, self._lxs
        text, terminator, segs_append = self.text, d.segment, self.segs.append
        # Past HL04 / CLM20 (shapes.SEGMENT_ELEMENTS), asked of every HL and CLM: as locals
        # (a global looked up there, or str.count on every CLM, cost 1,700 instructions a
        # segment: callgrind).
        hl_values, clm_rest = SEGMENT_ELEMENTS["HL"] + 1, SEGMENT_ELEMENTS["CLM"] - 5
        for m in matches:
            raw, seg_id = m.groups()
            raw = raw.rstrip()  # the same string when there is nothing to strip
            start = m.start(1)
            claim = self.claim
            # The per-claim segments are handled inline: they are most of a large file.
            if seg_id in code_segments:
                if not self.component_checked:
                    self._check_component(seg_id, start, raw)
                if claim is None:
                    continue
                if seg_id == "HI":
                    codes, diagnoses, unreadable, shape = hi_codes(start, raw, element, self.component, hi_memo, hi_pasts, self.tr3_kind)
                    if shape is not None:
                        self._shape(0, shape)
                    if diagnoses:
                        claim.diagnoses += diagnoses
                    if unreadable and claim.unread_hi is None:
                        claim.unread_hi = unread_hi(codes)
                    claim_codes_append((None, codes))
                else:
                    # Service line segments repeat (the same code, charge, units and pointers
                    # on many lines): each distinct one is read once, its places kept relative
                    # to its start, and each copy only shifts them.
                    line = self.line
                    read = line_memo.get(raw)
                    if read is None:
                        read = self._read_line_segment(seg_id, raw)
                    places, units, top, shape = read
                    if shape is not None:
                        self._shape(start, shape)
                    if len(places) == 1:  # most lines: one code, no list comprehension's frame
                        e, x, p, q, qs, pl, dx = places[0]
                        shifted = [(e, x, p + start, q, qs if qs is None else qs + start, pl, dx)]
                    else:
                        shifted = [(e, x, p + start, q, qs if qs is None else qs + start, pl, dx) for e, x, p, q, qs, pl, dx in places]
                    claim_codes_append((line, shifted))
                    if units is not None and line is not None:
                        line.units = units
                    # A claim's diagnoses only grow: a pointer within them now stays within
                    # them at the claim's end (_close_claim), so only the others are kept.
                    if top > claim.diagnoses or top > 12:
                        self.claim_pointers.append((line, seg_id, start, raw, top))
                claim.end = start + len(raw)
                continue
            if seg_id == "DTP":
                if claim is not None:
                    # A file holds a few hundred distinct DTP segments: each is read once.
                    read = dtp_memo.get(raw)
                    if read is None:
                        read = self._read_dtp(start, raw)
                    if read[0] == "472" and self.line is not None:  # a service line's date: most DTPs
                        self.line.date = read[1]
                    elif read[0]:
                        self._dtp(*read)
                    if read[0] and (read[1] is None or (read[2] and read[3] is None)):
                        self._no_date(start, raw, 3, "the codes it dates are judged as if it gave none")
                    claim.end = start + len(raw)
                continue
            if seg_id == "LX":
                if claim is not None:
                    number = lx_memo.get(raw)
                    if number is None:
                        number = raw.split(element, 2)[1] if element in raw else ""
                        if not self._past_segment(start, raw) and len(lx_memo) < LINE_SEGMENTS_MAX:
                            lx_memo[raw] = number  # (one past its last element is not kept: reported each time)
                    self.line = line = Line(number, start)
                    claim.lines.append(line)
                    claim.end = start + len(raw)
                continue
            if seg_id == "CLM":
                if claim is not None:
                    self._close_claim()
                    claim_codes_append = self.claim_codes.append
                if self.converge is not None and self.converge(m.start(), start, self):
                    self.stopped_at = start
                    return
                self.envs.append(self._env or self.env())
                self.demos.append(self._demo or self.demo())
                self.marks.append(len(self.problems))
                # Terminators before the CLM: _count_to, inline for one claim's text.
                at = self.count_at
                n = self.count_n + (text.count(terminator, at, start) if start - at <= COUNT_CHUNK else count_between(text, terminator, at, start))
                self.count_at = start
                self.count_n = n
                segs_append(n)
                # CLM01 (the claim id) and CLM05 (the facility composite) are all the walk reads.
                values = raw.split(element, 6)
                if len(values) > 6 and len(values[6]) >= clm_rest and values[6].count(element) >= clm_rest:  # CLM21 or more
                    self._past_segment(start, raw)
                self.claim = claim = Claim(values[1] if len(values) > 1 else "", start, start + len(raw), self.kind)
                # The patient: DMG of loop 2010CA, else of 2010BA when the subscriber is the patient.
                dmg = self.patient_dmg if self.level == "23" else (self.subscriber_dmg if self.subscriber_is_patient else None)
                if dmg is not None:
                    claim.birth, claim.sex = dmg
                if len(values) > 5 and values[5]:
                    facility = values[5]
                    bill = self._bills.get(facility)
                    claim.bill_type = bill if bill is not None else self._bill_type(facility, start + sum(map(len, values[:5])) + 5)
                continue
            if seg_id == "HL":
                if claim is not None:
                    self._close_claim()
                    claim_codes_append = self.claim_codes.append
                values = raw.split(element)
                level = values[3] if len(values) > 3 else ""
                if len(values) > hl_values:
                    self._past_segment(start, raw)
                if level != "23":  # a new subscriber (or provider): nothing seen so far applies
                    self.subscriber_dmg = None
                    self.subscriber_is_patient = False
                self.patient_dmg = None
                self.level = level
                self._demo = None
            elif seg_id == "SBR" or seg_id == "DMG":
                if claim is not None:  # inside a claim these are not the patient (other subscriber loops)
                    claim.end = start + len(raw)
                    continue
                self._demo = None
                if seg_id == "SBR":
                    is_patient = sbr_memo.get(raw)
                    if is_patient is None:
                        values = raw.split(element, 3)
                        is_patient = len(values) > 2 and values[2] == "18"
                        if not self._past_segment(start, raw) and len(sbr_memo) < PATIENT_SEGMENTS_MAX:
                            sbr_memo[raw] = is_patient  # (as LX)
                    self.subscriber_is_patient = is_patient
                else:
                    found = dmg_memo.get(raw, dmg_memo)
                    if found is dmg_memo:
                        found = self._read_dmg(start, raw)
                    if found is not None:
                        if found[0] is None:
                            self._no_date(start, raw, 2, "the claim edits take the patient's age as unknown")
                        if self.level == "23":
                            self.patient_dmg = found
                        elif self.level == "22":
                            self.subscriber_dmg = found
            elif seg_id == "CL1":
                if claim is None:
                    self._demo = None
                else:
                    values = raw.split(element, 4)
                    if len(values) > 3:
                        claim.discharge_status = values[3]
                    if len(values) > 4 and element in values[4]:  # CL105 or more
                        self._past_segment(start, raw)
                    claim.end = start + len(raw)
            else:
                if claim is not None:
                    self._close_claim()
                    claim_codes_append = self.claim_codes.append
                if seg_id == "SE":
                    self.se_starts.append(start)
                    self.se_marks.append(len(self.problems))
                    self.se_sts.append(-1 if self.st is None else self.st.start)
                envelope[seg_id](Segment(seg_id, start, raw, d))
                # After the handler: an SE's own problems come first (incremental._recheck_se).
                self._past_segment(start, raw)
                self._env = None
        self._close_claim()
        for seg, what in ((self.st, "transaction has no SE trailer"), (self.gs, "functional group has no GE trailer"), (self.isa, "interchange has no IEA trailer")):
            if seg is not None:
                self._problem(seg.start, seg.start + len(seg.id), what)

    def _isa(self, seg: Segment) -> None:
        if self.isa is not None:
            self._problem(self.isa.start, self.isa.start + 3, "interchange has no IEA trailer")
        self.isa = seg
        self.groups_in_interchange = 0

    def _iea(self, seg: Segment) -> None:
        if self.isa is None:
            self._problem(seg.start, seg.start + 3, "IEA without an ISA")
            return
        self._count(seg, "IEA01", "functional group(s)", self.groups_in_interchange)
        if seg.value(2) != self.isa.value(13):
            self._problem(seg.start, seg.end, f"IEA02 {seg.value(2)} does not match ISA13 {self.isa.value(13)}")
        self.isa = None

    def _gs(self, seg: Segment) -> None:
        if self.gs is not None:
            self._problem(self.gs.start, self.gs.start + 2, "functional group has no GE trailer")
        self.gs = seg
        self.sets_in_group = 0
        self.groups_in_interchange += 1

    def _ge(self, seg: Segment) -> None:
        if self.gs is None:
            self._problem(seg.start, seg.start + 2, "GE without a GS")
            return
        self._count(seg, "GE01", "transaction set(s)", self.sets_in_group)
        if seg.value(2) != self.gs.value(6):
            self._problem(seg.start, seg.end, f"GE02 {seg.value(2)} does not match GS06 {self.gs.value(6)}")
        self.gs = None

    def _st(self, seg: Segment) -> None:
        if self.st is not None:
            self._problem(self.st.start, self.st.start + 2, f"transaction {self.st.value(2)} has no SE trailer")
        self.st = seg
        self.st_count = self._count_to(seg.start)
        self.sets_in_group += 1
        version = seg.value(3) or (self.gs.value(8) if self.gs else "")
        self.kind = transaction_kind(version)
        self.tr3_kind = self.kind if version.startswith("005010") else ""
        if self.kind:
            self.kinds.add(self.kind)

    def _count(self, seg: Segment, name: str, what: str, actual: int) -> None:
        """A trailer's count element (GE01, IEA01) against what the envelope really holds."""
        count = seg.value(1).strip()
        if not is_digits(count):
            self._problem(seg.start, seg.end, f"{name} should be the number of {what} ({actual}), not {count!r}")
        elif int(count) != actual:
            self._problem(seg.start, seg.end, f"{name} says {int(count)} {what}, the envelope has {actual}")

    def _count_to(self, pos: int) -> int:
        """Terminators before `pos` (at or past the last offset asked: the walk goes forward)."""
        at = self.count_at
        # Mostly one claim's text: one str.count, not count_between's loop of chunks.
        n = self.count_n + (self.text.count(self.d.segment, at, pos) if pos - at <= COUNT_CHUNK else count_between(self.text, self.d.segment, at, pos))
        self.count_at, self.count_n = pos, n
        return n

    def _se(self, seg: Segment) -> None:
        if self.st is None:
            self._problem(seg.start, seg.start + 2, "SE without an ST")
            return
        count = seg.value(1).strip()
        # Counting terminators between ST and SE is done by str.count, in C: from the
        # walk's running count when it saw the ST, else over the transaction's text.
        if self.st_count is not None:
            actual = self._count_to(seg.start) - self.st_count + 1
        else:
            actual = count_between(self.text, self.d.segment, self.st.start, seg.start) + 1
        if not is_digits(count):
            self._problem(seg.start, seg.end, f"SE01 should be the number of segments ({actual}), not {count!r}")
        elif int(count) != actual:
            self._problem(seg.start, seg.end, f"SE01 says {count} segments, the transaction has {actual}")
        if seg.value(2) != self.st.value(2):
            self._problem(seg.start, seg.end, f"SE02 {seg.value(2)} does not match ST02 {self.st.value(2)}")
        self.st = None
        self.st_count = None

    def _read_dmg(self, start: int, raw: str) -> tuple[dt.date | None, str] | None:
        """A DMG segment before a claim: (birth date, sex) when it gives a D8 date, else None
        (the patient it would describe is left as it was). Kept by text, unless it goes past
        DMG11 (_past_segment)."""
        values = raw.split(self.d.element, 4)
        found = (parse_date(values[2]), values[3] if len(values) > 3 else "") if len(values) > 2 and values[1] == "D8" else None
        if self._past_segment(start, raw):
            return found
        if len(self._dmgs) < PATIENT_SEGMENTS_MAX:
            self._dmgs[raw] = found
        return found

    def _bill_type(self, facility: str, at: int) -> str:
        """The type of bill of a CLM05 composite (at `at`): CLM05-1 + CLM05-3. Kept by text, and
        shared: a file has a few types of bill, and 50,000 claims would hold a copy each. One
        past C023's 3 components is reported, each time (it is not kept), and read without
        what lies past them."""
        parts = facility.split(self.component)
        bill = parts[0] + (parts[2] if len(parts) > 2 else "")
        bill = _BILL_TYPES.setdefault(bill, bill) if len(_BILL_TYPES) < 10_000 else bill
        if len(parts) > C023_COMPONENTS:
            past = past_components(facility, self.component, C023_COMPONENTS, C023_WORDS)
            if past is not None:
                self._shape(at, ((past[0], past[1], f"CLM05 {past[2]}", past[3]),))
                return bill
        if len(self._bills) < PATIENT_SEGMENTS_MAX:
            self._bills[facility] = bill
        return bill

    def _no_date(self, start: int, raw: str, n: int, consequence: str) -> None:
        """A D8 / RD8 / DT date element (DTP03, DMG02) that is no calendar date: the claim is
        read without it, which must not pass unseen. Placed on the element, or on the segment
        when the element is empty or missing."""
        values = raw.split(self.d.element)
        value = values[n] if len(values) > n else ""
        at = start + sum(len(v) + 1 for v in values[:n])
        where = (at, at + len(value)) if value else (start, start + len(raw))
        self._problem(*where, f"{raw[:3]}{n:02d} {value!r} is not a date (CCYYMMDD): {consequence}")

    def _read_dtp(self, start: int, raw: str) -> tuple[str, dt.date | None, bool, dt.date | None]:
        """A DTP segment's claim date: its qualifier ("" when not one the walk reads), the day,
        whether it gives a period end (RD8) and that end. Kept by text, unless it goes past
        DTP03 (_past_segment)."""
        values = raw.split(self.d.element)
        qualifier = values[1] if len(values) > 1 else ""
        if qualifier not in _CLAIM_DATES:
            read = ("", None, False, None)
        else:
            period = qualifier == "434" and len(values) > 3 and len(values[3]) == 17
            read = (qualifier, parse_date(values[3]) if len(values) > 3 else None, period, parse_date(values[3][9:]) if period else None)
        if len(values) > 4 and self._past_segment(start, raw):
            return read
        if len(self._dtps) < DTPS_MAX:
            self._dtps[raw] = read
        return read

    def _dtp(self, qualifier: str, day: dt.date | None, period: bool, through: dt.date | None) -> None:
        claim = self.claim
        if qualifier == "472":
            if self.line is not None:
                self.line.date = day
            elif claim.statement_from is None:
                claim.statement_from = day
        elif qualifier == "434":
            claim.statement_from = day
            if period:
                claim.through = through
        else:
            claim.admission = day

    def _check_component(self, seg_id: str, start: int, raw: str) -> None:
        actual = effective_component(seg_id, raw, self.d.element, self.component)
        if actual is None:
            self.component_checked = seg_id != "LIN"
            self._env = None
            return
        self.component_checked = True
        self._env = None
        where = self.d.isa16_offset
        if where is not None:
            self._problem(where, where + 1, f"ISA16 declares {self.component!r} as component separator, but composites use {actual!r}", actual)
        else:
            self._problem(start, start + len(raw), f"composites use {actual!r} as component separator")
        self.component = actual
        # The memos read with the separator: cleared in place (the walk's loop holds them).
        self._line_segments.clear()
        self.highest.clear()
        self._hi_elements.clear()
        self._hi_pasts.clear()
        self._bills.clear()


COUNT_CHUNK = 1 << 20  # characters per str.count call in count_between


def count_between(text: str, sub: str, start: int, end: int) -> int:
    """text.count(sub, start, end), a megabyte per call: one call over a 40 MB transaction
    holds the GIL for tens of milliseconds, and a re-check runs in a worker thread beside the
    editor's event loop. Chunks only for one character (a delimiter): nothing straddles them."""
    if len(sub) != 1:
        return text.count(sub, start, end)
    n = 0
    for at in range(start, end, COUNT_CHUNK):
        n += text.count(sub, at, min(at + COUNT_CHUNK, end))
    return n


def walk(text: str, on_claim: Callable[[Claim, ClaimCodes], None] | None = None) -> X12Document | None:
    """Check-oriented pass over an 837 document; None when the text is not X12 at all."""
    detection = detect(text)
    if detection.delimiters is None:
        return None
    problems = list(detection.problems)
    w = _Walk(text, detection.delimiters, problems, on_claim or (lambda c, s: None))
    w.run()
    problems += control_problems(text, detection.delimiters)
    return X12Document(detection.delimiters, w.component, problems, w.claims, w.kinds)


CONTROL_CHUNK = 1 << 18  # characters searched at a time by _held: they stay in the CPU's cache


def _held(text: str, chars: list[str]) -> str:
    """Those of `chars` that occur in text, in their order. Each search runs at memory speed
    (memchr); 31 searches of the whole of a 40 MB file read it from memory 31 times (0.2 s),
    so the text is searched a cache-sized chunk at a time, each chunk read from memory once."""
    found: set[str] = set()
    left = chars
    for at in range(0, len(text), CONTROL_CHUNK):
        end = at + CONTROL_CHUNK
        hit = [c for c in left if text.find(c, at, end) >= 0]
        if hit:
            found.update(hit)
            left = [c for c in left if c not in found]
            if not left:
                break
    return "".join(c for c in chars if c in found)


def control_problems(text: str, d: Delimiters) -> list[Problem]:
    """Control bytes (a NUL, a BEL) inside the interchange: each is reported, as a file
    damaged this way is not clean even when every code in it is."""
    allowed = {d.element, d.component, d.segment, d.repetition}
    chars = _held(text, [c for c in _CONTROL if c not in allowed])
    if not chars:
        return []
    pattern = re.compile("[" + re.escape(chars) + "]")
    out: list[Problem] = []
    for m in pattern.finditer(text, d.start):
        if len(out) == CONTROL_REPORT_MAX:
            rest = sum(1 for _ in pattern.finditer(text, m.start()))
            out.append(Problem(m.start(), m.start() + 1, f"{rest} more control characters after this point: the file looks damaged"))
            break
        code = ord(m.group())
        name = _CONTROL_NAMES.get(code, "control")
        out.append(Problem(m.start(), m.start() + 1, f"{name} byte (U+{code:04X}) inside the interchange: X12 text allows no control characters here"))
    return out
