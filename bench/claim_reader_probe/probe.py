"""A claim-at-a-time reader of an 837 (issue 14, research probe; not wired into medcode).

    for claim, codes in claims(text): ...      # what document.walk(text, on_claim) gives on_claim

The walk (server/x12/document.py) runs Python for each segment it reads (about 11 of a claim's
27). This reader runs Python per claim and per service line, and leaves the per-segment work
to C: one regex pass finds the segments that bound claims (CLM, HL, envelope); a claim's text
is cut with str.split; its segment ids and offsets come from map / accumulate; the ids as one
tuple (the claim's *shape*) key a plan made once per shape, which says which segment is the HI,
which are lines, their codes and dates; distinct segment texts are read once each (memos, as
the walk's) and an HI's code tuples are built by zip over columns.

"Regular", the condition for this reader (else the walk does the work):
- whole file: one interchange's delimiters with a one-character terminator, each terminator
  followed by the same separator ("" or "\\n") and no other white space next to a
  terminator; composites use the declared component separator (the walk's first-code-segment
  check would find nothing) and the first code segment is not LIN;
- per claim (its shape): every HI comes before the first LX, no code segment before the first
  LX, at most one DTP per line and it is a 472 (or one the walk does not read), at most one
  SV1 / SV2 per line. Any other claim is read by the walk itself, started at its CLM with
  the reader's state (`_walk_one`): the same code, so the same result.
"""

from __future__ import annotations

import re
from itertools import accumulate, chain, islice, repeat
from operator import add, itemgetter
from typing import Iterator

from medcode.server.x12 import document
from medcode.server.x12.delimiters import detect
from medcode.server.x12.document import (
    LINE_SEGMENTS_MAX,
    PATIENT_SEGMENTS_MAX,
    UNITS_ELEMENT,
    UNREAD_POINTERS,
    Claim,
    ClaimCodes,
    Line,
    _Walk,
    parse_date,
    transaction_kind,
    unread_hi,
)
from medcode.server.x12.slots import (
    CODE_SEGMENTS,
    HI_ELEMENTS_MAX,
    POINTER_ELEMENT,
    _HI_ELEMENT_PLACES,
    _NO_CODE,
    codes_in,
    effective_component,
    hi_codes,
    hi_element,
    pointers_in,
)
from medcode.server.x12.vocabulary import HI_UNREADABLE

_BOUNDS = ("CLM", "HL", "ISA", "IEA", "GS", "GE", "ST", "SE")
_LINE_CODES = CODE_SEGMENTS - {"HI"}
_G0, _G1, _G2, _G3, _G4 = (itemgetter(i) for i in range(5))
_first = itemgetter(0)
_LINE_DATES = frozenset({"472", ""})  # a line DTP the walk reads as the line's date, or not at all
_NONE_QS = "none-qs"


class Irregular(Exception):
    """The file is not one this reader takes: use document.walk."""


class Plan:
    """What a claim shape (its segment ids in order) holds, by segment index. Index `len(shape)`
    is a sentinel empty segment the reader appends: a line without a DTP or without an SV1 /
    SV2 points there, so every line has one of each and the batches stay columns."""

    __slots__ = ("end", "his", "claim_dtps", "cl1s", "lxs", "dtps", "units", "codes", "code_lines")

    def __init__(self, end, his, claim_dtps, cl1s, lxs, dtps, units, codes, code_lines):
        self.end = end  # index of the last segment the walk reads (the claim's end)
        self.his = his
        self.claim_dtps = claim_dtps
        self.cl1s = cl1s
        self.lxs = lxs  # per line: its LX
        self.dtps = dtps  # per line: its DTP, or the sentinel
        self.units = units  # per line: its SV1 / SV2, or the sentinel
        self.codes = codes  # the lines' code segments, in order
        self.code_lines = code_lines  # per code segment: its line's number in lxs


_READ_IN_CLAIM = CODE_SEGMENTS | {"CLM", "LX", "DTP", "HL", "DMG", "SBR", "CL1"}


def make_plan(shape: tuple[str, ...]) -> Plan | None:
    """The plan of a claim shape, or None when the shape is not regular (see the module)."""
    end = 0
    none = len(shape)
    his: list[int] = []
    claim_dtps: list[int] = []
    cl1s: list[int] = []
    lxs: list[int] = []
    dtps: list[int] = []
    units: list[int] = []
    codes: list[int] = []
    code_lines: list[int] = []
    for i, seg_id in enumerate(shape):
        if seg_id in _READ_IN_CLAIM:
            end = i
        if i == 0:
            continue
        if seg_id == "HI":
            if lxs:
                return None
            his.append(i)
        elif seg_id in _LINE_CODES:
            if not lxs:
                return None
            codes.append(i)
            code_lines.append(len(lxs) - 1)
            if seg_id in UNITS_ELEMENT:
                if units[-1] != none:
                    return None
                units[-1] = i
        elif seg_id == "LX":
            lxs.append(i)
            dtps.append(none)
            units.append(none)
        elif seg_id == "DTP":
            if not lxs:
                claim_dtps.append(i)
            elif dtps[-1] != none:
                return None
            else:
                dtps[-1] = i
        elif seg_id == "CL1":
            cl1s.append(i)
    return Plan(end, tuple(his), tuple(claim_dtps), tuple(cl1s), tuple(lxs), tuple(dtps), tuple(units), tuple(codes), tuple(code_lines))


class Reader:
    def __init__(self, text: str, batch: bool = True):
        self.batch = batch  # lines and HI codes as columns (True) or a Python step each (False)
        detection = detect(text)
        d = detection.delimiters
        if d is None:
            raise Irregular("not X12")
        self.text, self.d = text, d
        t, e = d.segment, d.element
        if len(t) != 1 or t in "\r\n \t" or len(e) != 1:
            raise Irregular("terminator")
        # The last terminator (trailing white space after it is nothing to the walk). No copy
        # of the text and no regex that tries every position: str.count / str.find over the
        # whole text, each in C at memory speed (a 38 MB text and a copy cost 0.3 s more).
        last = len(text)
        while last and text[last - 1] in " \t\r\n":
            last -= 1
        if last and text[last - 1] == t:
            last -= 1
        self.end = last
        n = text.count(t, d.start, last)
        sep = "\n" if n and text.count(t + "\n", d.start, last) == n else ""
        if text.count("\n", d.start, last) != (n if sep else 0) or text.find("\r", d.start, last) >= 0:
            raise Irregular("line ends other than one newline after each terminator")
        if any(text.find(x, d.start, last + 1) >= 0 for x in (t + sep + " ", t + sep + "\t", " " + t, "\t" + t, "\n" + t)):
            raise Irregular("white space next to a terminator")
        self.sep = t + sep
        self.L = len(self.sep)
        # The walk's component check: on the first code segment (any, in or out of a claim).
        # Each pattern starts with the terminator, a literal: the regex engine skips to it in C.
        first = re.compile(rf"{re.escape(self.sep)}((HI|SV1|SV2|SV3|SV5|SVD|LIN)(?={re.escape(e)}|{re.escape(t)})[^{re.escape(t)}]*)").search(text, d.start)
        if first is not None and (first.group(2) == "LIN" or effective_component(first.group(2), first.group(1), e, d.component) is not None):
            raise Irregular("component separator")
        self.comp = d.component
        ids = "|".join(_BOUNDS)
        self.bounds = re.compile(rf"{re.escape(self.sep)}({ids})(?={re.escape(e)}|{re.escape(t)}|$)")
        self.demo_segs = re.compile(rf"{re.escape(self.sep)}((?:SBR|DMG)(?={re.escape(e)}|{re.escape(t)})[^{re.escape(t)}]*)")
        self.plans: dict[tuple, Plan | None] = {}
        self.hi_memo: dict[str, tuple] = {}
        self.line_memo: dict[str, tuple] = {"": ((), 0, "", 0, False)}  # "": the sentinel
        self.lx_memo: dict[str, str] = {}
        self.dtp_memo: dict[str, tuple] = {"": ("", None, False, None)}  # "": the sentinel
        self.bills: dict[str, str] = {}
        self.highest: dict[str, int] = {}
        self.fallbacks = 0
        self.fast = 0

    # -- state outside claims (few segments a claim: the walk's own handling, inline) --

    def claims(self) -> Iterator[tuple[Claim, ClaimCodes]]:
        text, d, L = self.text, self.d, self.L
        e = d.element
        ms = list(self.bounds.finditer(text, d.start, self.end))
        starts = list(map(re.Match.start, ms, repeat(1)))
        ids = list(map(re.Match.group, ms, repeat(1)))
        nexts = starts[1:] + [self.end + L]  # one past each bound's region (less the separator)
        level, sub_dmg, sub_is_patient, pat_dmg = "", None, False, None
        kind = ""
        gs = ""
        read_claim = self.read_claim
        demo_memo: dict[tuple, tuple] = {}
        for seg_id, s, nxt in zip(ids, starts, nexts):
            if seg_id == "CLM":
                dmg = pat_dmg if level == "23" else (sub_dmg if sub_is_patient else None)
                yield read_claim(s, nxt - L, kind, dmg, level, sub_dmg, sub_is_patient, pat_dmg)
                continue
            j = text.find(d.segment, s, nxt)
            head = text[s : j if j >= 0 else nxt]
            if seg_id == "HL":
                values = head.split(e)
                level = values[3] if len(values) > 3 else ""
                if level != "23":
                    sub_dmg, sub_is_patient = None, False
                pat_dmg = None
            elif seg_id == "GS":
                values = head.split(e)
                gs = values[8] if len(values) > 8 else ""
            elif seg_id == "ST":
                values = head.split(e)
                kind = transaction_kind((values[3] if len(values) > 3 else "") or gs)
            elif seg_id == "GE" or seg_id == "IEA":
                if seg_id == "GE":
                    gs = ""
            # SBR / DMG outside claims, in this bound's region, in order (the walk's rules):
            # the same few recur, so what they make of the state is kept by their texts.
            raws = tuple(self.demo_segs.findall(text, s - self.L, nxt))
            if seg_id != "HL":
                if raws:
                    sub_dmg, sub_is_patient, pat_dmg = self._demo(level, raws, sub_dmg, sub_is_patient, pat_dmg)
            else:
                key = (level, raws) if level != "23" else (level, raws, sub_dmg, sub_is_patient)
                after = demo_memo.get(key)
                if after is None:
                    after = self._demo(level, raws, sub_dmg, sub_is_patient, pat_dmg)
                    if len(demo_memo) < PATIENT_SEGMENTS_MAX:
                        demo_memo[key] = after
                sub_dmg, sub_is_patient, pat_dmg = after

    def _demo(self, level, raws, sub_dmg, sub_is_patient, pat_dmg):
        e = self.d.element
        for raw in raws:
            values = raw.split(e, 4)
            if raw.startswith("SBR"):
                sub_is_patient = len(values) > 2 and values[2] == "18"
            else:
                found = (parse_date(values[2]), values[3] if len(values) > 3 else "") if len(values) > 2 and values[1] == "D8" else None
                if found is not None:
                    if level == "23":
                        pat_dmg = found
                    elif level == "22":
                        sub_dmg = found
        return sub_dmg, sub_is_patient, pat_dmg

    # -- one claim --

    def read_claim(self, s: int, end: int, kind: str, dmg, level, sub_dmg, sub_is_patient, pat_dmg) -> tuple[Claim, ClaimCodes]:
        text = self.text
        segs = text[s:end].split(self.sep)
        e = self.d.element
        shape = tuple(map(_first, map(str.partition, segs, repeat(e))))
        plan = self.plans.get(shape, self)
        if plan is self:
            plan = self.plans[shape] = make_plan(shape)
        if plan is None:
            self.fallbacks += 1
            return self._walk_one(s, kind, level, sub_dmg, sub_is_patient, pat_dmg)
        self.fast += 1
        offs = list(accumulate(map(add, map(len, segs), repeat(self.L)), initial=s))
        values = segs[0].split(e, 6)
        last = plan.end
        claim = Claim(values[1] if len(values) > 1 else "", s, offs[last] + len(segs[last]), kind)
        if dmg is not None:
            claim.birth, claim.sex = dmg
        if len(values) > 5 and values[5]:
            facility = values[5]
            bill = self.bills.get(facility)
            if bill is None:
                parts = facility.split(self.comp)
                bill = self.bills[facility] = parts[0] + (parts[2] if len(parts) > 2 else "")
            claim.bill_type = bill
        codes: ClaimCodes = []
        if self.batch:
            for i in plan.his:
                self._hi(claim, codes, offs[i], segs[i])
        else:
            for i in plan.his:
                found, diagnoses, unreadable = hi_codes(offs[i], segs[i], e, self.comp, self.hi_memo)
                if diagnoses:
                    claim.diagnoses += diagnoses
                if unreadable and claim.unread_hi is None:
                    claim.unread_hi = unread_hi(found)
                codes.append((None, found))
        for i in plan.claim_dtps:
            self._claim_dtp(claim, segs[i])
        for i in plan.cl1s:
            cv = segs[i].split(e, 4)
            if len(cv) > 3:
                claim.discharge_status = cv[3]
        if plan.lxs:
            try:
                (self._lines if self.batch else self._lines_loop)(claim, codes, plan, segs, offs)
            except _LineDtp:  # a line's DTP the walk reads as a claim date: its own order
                self.fast -= 1
                self.fallbacks += 1
                return self._walk_one(s, kind, level, sub_dmg, sub_is_patient, pat_dmg)
        return claim, codes

    def _hi(self, claim: Claim, codes: ClaimCodes, start: int, raw: str) -> None:
        elements = raw[3:].split(self.d.element, 12)
        memo = self.hi_memo
        reads = list(map(memo.get, elements))
        if None in reads:
            comp = self.comp
            for v, r in zip(elements, reads):
                if r is None and len(memo) < HI_ELEMENTS_MAX:
                    memo[v] = hi_element(v, comp)
            reads = list(map(memo.get, elements))
        if None in reads or _NO_CODE in reads or len(elements) > 12 or HI_UNREADABLE in map(_G0, reads):
            # Not the common case: the walk's own function, at the same offset.
            found, diagnoses, unreadable = hi_codes(start, raw, self.d.element, self.comp, memo)
            if diagnoses:
                claim.diagnoses += diagnoses
            if unreadable and claim.unread_hi is None:
                claim.unread_hi = unread_hi(found)
            codes.append((None, found))
            return
        at = list(accumulate(map(add, map(len, elements), repeat(1)), initial=start + 3))
        expects, code, offset, qual, diagnosis = zip(*reads)
        claim.diagnoses += sum(diagnosis)
        codes.append((None, list(zip(expects, code, map(add, at, offset), qual, at, _HI_ELEMENT_PLACES, diagnosis))))

    def _claim_dtp(self, claim: Claim, raw: str) -> None:
        read = self.dtp_memo.get(raw) or self._read_dtp(raw)
        q, day, period, through = read
        if q == "472":
            if claim.statement_from is None:
                claim.statement_from = day
        elif q == "434":
            claim.statement_from = day
            if period:
                claim.through = through
        elif q:
            claim.admission = day

    def _read_dtp(self, raw: str) -> tuple:
        values = raw.split(self.d.element)
        qualifier = values[1] if len(values) > 1 else ""
        if qualifier not in ("472", "434", "435"):
            read = ("", None, False, None)
        else:
            period = qualifier == "434" and len(values) > 3 and len(values[3]) == 17
            read = (qualifier, parse_date(values[3]) if len(values) > 3 else None, period, parse_date(values[3][9:]) if period else None)
        self.dtp_memo[raw] = read
        return read

    def _lines(self, claim: Claim, codes: ClaimCodes, plan: Plan, segs: list[str], offs: list[int]) -> None:
        """The claim's lines and their codes, as columns: no Python step per line or code but
        the Line objects' own __init__ (and a memo miss)."""
        get = segs.__getitem__
        segs.append("")  # the sentinel (Plan)
        raws = list(map(get, plan.lxs))
        numbers = list(map(self.lx_memo.get, raws))
        if None in numbers:
            numbers = [self._lx(raw) for raw in raws]
        raws = list(map(get, plan.dtps))
        dates = list(map(self.dtp_memo.get, raws))
        if None in dates:
            dates = [self.dtp_memo.get(raw) or self._read_dtp(raw) for raw in raws]
        qualifiers = set(map(_G0, dates))
        if not qualifiers <= _LINE_DATES:
            raise _LineDtp
        line_get = self.line_memo.get
        raws = list(map(get, plan.codes))
        reads = list(map(line_get, raws))
        if None in reads:
            reads = [line_get(raw) or self._read_line_segment(shape_id(raw, self.d.element), raw) for raw in raws]
        units = list(map(_G2, map(line_get, map(get, plan.units))))
        lines = list(map(Line, numbers, map(offs.__getitem__, plan.lxs), map(_G1, dates), units))
        claim.lines = lines
        starts = list(map(offs.__getitem__, plan.codes))
        owners = list(map(lines.__getitem__, plan.code_lines))
        counts = list(map(_G1, reads))
        if _NONE_QS in map(_G4, reads):  # a revenue code (qualifier start None): one by one
            for line, (places, _, _, _, _), start in zip(owners, reads, starts):
                codes.append((line, [(e_, x, p + start, q_, qs if qs is None else qs + start, pl, dx) for e_, x, p, q_, qs, pl, dx in places]))
        elif sum(counts):
            at = list(chain.from_iterable(map(repeat, starts, counts)))
            e_, x, p, q_, qs, pl, dx = zip(*chain.from_iterable(map(_G0, reads)))
            flat = iter(list(zip(e_, x, map(add, p, at), q_, map(add, qs, at), pl, dx)))
            codes.extend(zip(owners, map(list, map(islice, repeat(flat), counts))))
        else:
            codes.extend(zip(owners, map(list, repeat((), len(owners)))))
        limit = min(claim.diagnoses, 12)
        if max(map(_G3, reads), default=0) > limit:
            self._pointers(claim, codes, owners, raws, reads, starts, limit)

    def _lines_loop(self, claim: Claim, codes: ClaimCodes, plan: Plan, segs: list[str], offs: list[int]) -> None:
        """As _lines, a Python step per line and per code segment (the walk's own inner work,
        without its per-segment regex match and dispatch)."""
        lx_get, line_get, dtp_get = self.lx_memo.get, self.line_memo.get, self.dtp_memo.get
        segs.append("")  # the sentinel (Plan)
        lines = claim.lines
        for lx, dtp in zip(plan.lxs, plan.dtps):
            raw = segs[lx]
            number = lx_get(raw)
            if number is None:
                number = self._lx(raw)
            read = dtp_get(segs[dtp]) or self._read_dtp(segs[dtp])
            if read[0] and read[0] != "472":
                raise _LineDtp
            lines.append(Line(number, offs[lx], read[1]))
        append = codes.append
        failing = False
        limit = min(claim.diagnoses, 12)
        for i, k in zip(plan.codes, plan.code_lines):
            raw = segs[i]
            read = line_get(raw)
            if read is None:
                read = self._read_line_segment(shape_id(raw, self.d.element), raw)
            places, n, units, top, _ = read
            start = offs[i]
            line = lines[k]
            if n == 1:
                e_, x, p, q_, qs, pl, dx = places[0]
                append((line, [(e_, x, p + start, q_, qs if qs is None else qs + start, pl, dx)]))
            else:
                append((line, [(e_, x, p + start, q_, qs if qs is None else qs + start, pl, dx) for e_, x, p, q_, qs, pl, dx in places]))
            if units:
                line.units = units
            if top > limit:
                failing = True
        if failing:
            owners = list(map(lines.__getitem__, plan.code_lines))
            raws = list(map(segs.__getitem__, plan.codes))
            self._pointers(claim, codes, owners, raws, list(map(line_get, raws)), list(map(offs.__getitem__, plan.codes)), limit)

    def _pointers(self, claim, codes, owners, raws, reads, starts, limit) -> None:
        """Pointers past the claim's diagnoses (_Walk._close_claim): rare, one by one."""
        failing = []
        for line, raw, read, start in zip(owners, raws, reads, starts):
            if read[3] > limit:
                failing.append((line, pointers_in(shape_id(raw, self.d.element), start, raw, self.d.element, self.comp)))
        if claim.unread_hi is not None:
            claim.unread_pointer_lines = len(failing)
            line, first = failing[0]
            text = self.text[first[0][2] : first[-1][2] + len(first[-1][1])]
            failing = [(line, [(UNREAD_POINTERS, text, first[0][2], None, None, first[0][5], False)])]
        codes.extend(failing)

    def _lx(self, raw: str) -> str:
        number = self.lx_memo.get(raw)
        if number is None:
            number = raw.split(self.d.element, 2)[1] if self.d.element in raw else ""
            if len(self.lx_memo) < LINE_SEGMENTS_MAX:
                self.lx_memo[raw] = number
        return number

    def _read_line_segment(self, seg_id: str, raw: str) -> tuple:
        element, comp = self.d.element, self.comp
        values = raw.split(element)
        places = tuple(codes_in(seg_id, 0, raw, element, comp, False, values))
        n = UNITS_ELEMENT.get(seg_id)
        p = POINTER_ELEMENT.get(seg_id)
        pointers = values[p] if p is not None and p < len(values) else ""
        top = 0
        if pointers:
            top = self.highest.get(pointers)
            if top is None:
                top = 0
                for ptr in pointers.split(comp):
                    if ptr:
                        k = int(ptr) if ptr.isdecimal() else 0
                        top = max(top, k if 0 < k <= 12 else 13)
                self.highest[pointers] = top
        units = values[n] if n is not None and len(values) > n else ""
        # (places at offset 0, how many, units ("" as a Line's default when none), highest pointer,
        # whether a place has no qualifier start)
        read = (places, len(places), units, top, _NONE_QS if any(t[4] is None for t in places) else False)
        if len(self.line_memo) < LINE_SEGMENTS_MAX:
            self.line_memo[raw] = read
        return read

    # -- the fallback: the walk itself, for one claim --

    def _walk_one(self, s: int, kind, level, sub_dmg, sub_is_patient, pat_dmg) -> tuple[Claim, ClaimCodes]:
        got: list = []
        w = _Walk(self.text, self.d, [], lambda c, k: got.append((c, k)), keep_claims=False)
        w.kind, w.level, w.subscriber_dmg, w.subscriber_is_patient, w.patient_dmg = kind, level, sub_dmg, sub_is_patient, pat_dmg
        w.component_checked = True
        w.converge = lambda at, start, walk: start != s
        w.run(resume=s - self.L)
        return got[0]


class _LineDtp(Exception):
    pass


def shape_id(raw: str, element: str) -> str:
    return raw.partition(element)[0]


def claims(text: str) -> Iterator[tuple[Claim, ClaimCodes]]:
    """Each claim of the text and its codes, as document.walk hands them to on_claim; the walk
    itself when the file is not regular."""
    try:
        reader = Reader(text)
    except Irregular:
        got: list = []
        document.walk(text, lambda c, k: got.append((c, k)))
        yield from got
        return
    yield from reader.claims()
