"""The outline of an 837: interchange > group > transaction > billing provider > subscriber >
patient > claim (id and total) > service lines. Built on demand, not on every check.

A file of many claims gets a shorter outline (`claims_outline`): interchange > group >
transaction > claim (id and total), one entry per claim instead of four or more, found by a
regex that looks only at the few segment ids it names, so the other segments are never split.
Either outline stops at `limit` entries (an editor cannot show hundreds of thousands) and counts
the claims after the cut.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from itertools import chain
from dataclasses import dataclass, field

from .delimiters import Delimiters
from .segments import Segment, segments_from
from .document import transaction_kind
from .vocabulary import HL_LEVELS

_NAME_OF = {"85": "20", "IL": "22", "QC": "23"}  # NM1 entity -> the HL level it names
_SERVICE = {"SV1": 2, "SV2": 3, "SV3": 2, "SV5": 0}  # segment -> element holding the charge
_NAMED = frozenset({"ISA", "GS", "ST", "HL", "NM1", "CLM", "LX", *_SERVICE})


@dataclass
class Node:
    kind: str
    name: str
    detail: str
    start: int
    end: int
    name_end: int
    children: list[Node] = field(default_factory=list)


WINDOW = 1 << 18  # characters of text split into segments at a time
_WS = " \t\r\n"


@dataclass
class Outline:
    nodes: list[Node]
    cut_at: int | None = None  # where the walk stopped at the limit (None: the whole text)
    claims_after: int = 0  # claims at or after cut_at, not in the outline
    claims: int = 0  # claims in the whole text (counted by claims_outline only)


class _Entries:
    """Adds nodes until `limit` entries, then notes where the outline stops (cut_at)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self.cut_at: int | None = None

    def add(self, kind: str, name: str, detail: str, start: int, end: int, name_end: int, parent: list[Node]) -> Node | None:
        if self.count >= self.limit:
            self.cut_at = start
            return None
        self.count += 1
        node = Node(kind, name, detail, start, end, name_end)
        parent.append(node)
        return node

    def segment(self, kind: str, name: str, detail: str, seg: Segment, parent: list[Node]) -> Node | None:
        return self.add(kind, name, detail, seg.start, seg.end, seg.start + len(seg.id), parent)

    def envelope(self, seg: Segment, parent: list[Node]) -> Node | None:
        """The entry of an ISA, GS or ST."""
        if seg.id == "ISA":
            return self.segment("interchange", f"Interchange {seg.value(13)}", f"{seg.value(6).strip()} → {seg.value(8).strip()}", seg, parent)
        if seg.id == "GS":
            return self.segment("group", f"Group {seg.value(6)} ({seg.value(1)})", seg.value(8), seg, parent)
        version = seg.value(3)
        kind = transaction_kind(version)
        return self.segment("transaction", f"837{kind} {seg.value(2)}" if kind else f"{seg.value(1)} {seg.value(2)}", version, seg, parent)


def _segments(text: str, delims: Delimiters) -> Iterator[tuple[str, int, str]]:
    """iter_raw, a window at a time: stopping early leaves the rest of the text unsplit."""
    return segments_from(text, delims, delims.start, len(text), WINDOW)


def claims_from(text: str, delims: Delimiters, offset: int) -> int:
    """How many CLM segments start at or after offset. The search is for the literal "CLM*"
    (fast); a hit counts when a segment terminator (and whitespace) comes before it."""
    needle = "CLM" + delims.element
    count = 0
    at = text.find(needle, offset)
    while at >= 0:
        before = text[max(0, at - 16) : at].rstrip(" \t")
        if delims.segment in _WS:
            count += not before or before.endswith(("\n", "\r"))
        else:
            count += not before.strip() or before.rstrip(_WS).endswith(delims.segment)
        at = text.find(needle, at + 1)
    return count


# How deep HL levels nest in the outline. An 837 has three (billing provider, subscriber,
# patient); a file whose every HL names the one before as parent would nest 50,000 deep, which
# the editor's symbols (built and sent as nested JSON) cannot hold: deeper ones become siblings.
HL_DEPTH = 8


def outline(text: str, delims: Delimiters, component: str, limit: int = 5000) -> Outline:
    """The outline tree, cut after `limit` entries (huge files)."""
    top: list[Node] = []
    interchange = group = transaction = claim = line = None
    hl_chain: list[Node] = []
    hl_by_id: dict[str, list[Node]] = {}
    entries = _Entries(limit)
    add = entries.segment

    def container() -> list[Node]:
        for node in (hl_chain[-1] if hl_chain else None, transaction, group, interchange):
            if node is not None:
                return node.children
        return top

    for seg_id, start, raw in _segments(text, delims):
        # Only the segments the outline names are split into elements; the rest only stretch
        # the ends of what is open.
        seg = Segment(seg_id, start, raw, delims) if seg_id in _NAMED else None
        seg_end = start + len(raw)
        if seg_id in ("SE", "GE", "IEA"):
            # Trailers belong to what they close.
            for node in (interchange, group, transaction, *hl_chain, claim, line):
                if node is not None and node.end < seg_end:
                    node.end = seg_end
        if seg_id == "ISA":
            interchange = entries.envelope(seg, top)
            group = transaction = claim = line = None
            hl_chain = []
        elif seg_id == "GS":
            group = entries.envelope(seg, interchange.children if interchange else top)
        elif seg_id == "ST":
            parent = group.children if group else (interchange.children if interchange else top)
            transaction = entries.envelope(seg, parent)
            hl_chain, hl_by_id, claim, line = [], {}, None, None
        elif seg_id == "HL":
            chain = hl_by_id.get(seg.value(2), [])[: HL_DEPTH - 1]
            parent = chain[-1].children if chain else (transaction.children if transaction else top)
            node = add("hl" + seg.value(3), HL_LEVELS.get(seg.value(3), f"Level {seg.value(3)}"), f"HL {seg.value(1)}", seg, parent)
            hl_chain = chain + ([node] if node else [])
            hl_by_id[seg.value(1)] = hl_chain
            claim = line = None
        elif seg_id == "NM1" and claim is None and hl_chain:
            level = _NAME_OF.get(seg.value(1))
            if level and hl_chain[-1].kind == "hl" + level and ":" not in hl_chain[-1].name:
                last, first = seg.value(3), seg.value(4)
                hl_chain[-1].name += ": " + (f"{last}, {first}" if first else last)
        elif seg_id == "CLM":
            charge = seg.value(2)
            claim = add("claim", f"Claim {seg.value(1)}", f"${charge}" if charge else "", seg, container())
            line = None
        elif seg_id == "LX" and claim is not None:
            line = add("line", f"Line {seg.value(1)}", "", seg, claim.children)
        elif seg_id in _SERVICE and line is not None:
            composite = seg.value(2 if seg_id == "SV2" else 1).split(component)
            code = composite[1] if len(composite) > 1 else ""
            if code:
                line.name += f": {code}"
            charge = seg.value(_SERVICE[seg_id]) if _SERVICE[seg_id] else ""
            line.detail = f"${charge}" if charge else ""
        elif seg_id in ("SE", "GE", "IEA"):
            claim = line = None
            if seg_id == "SE":
                transaction, hl_chain = None, []
            elif seg_id == "GE":
                group = None
            else:
                interchange = None
        if seg_id not in ("SE", "GE", "IEA"):
            for node in (interchange, group, transaction, *hl_chain, claim, line):
                if node is not None and node.end < seg_end:
                    node.end = seg_end
        if entries.cut_at is not None:
            # What is still open holds the rest of the file: its trailers are past the cut.
            end = len(text.rstrip())
            for node in (interchange, group, transaction, *hl_chain):
                if node is not None:
                    node.end = max(node.end, end)
            return Outline(top, entries.cut_at, claims_from(text, delims, entries.cut_at))
    return Outline(top)


# The segments the short outline reads: the envelopes, CLM, and HL (a claim ends where the next
# subscriber or patient level starts, not at the next CLM).
_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
_SHORT = (*_ENVELOPE, "HL", "CLM")
_HEADERS = {"ST": 1, "GS": 2, "ISA": 3}  # how many of (transaction, group, interchange) each ends


def _short_pattern(d: Delimiters, ids: tuple[str, ...] = _SHORT) -> re.Pattern[str]:
    """A segment id the short outline reads, right after a terminator (a literal first
    character lets the regex engine skip ahead fast): group 1 the id, at its offset."""
    t, e = re.escape(d.segment), re.escape(d.element)
    return re.compile(rf"{t}[ \t\r\n]*({'|'.join(ids)})(?={e}|{t}|$)")


def _end_of_text(text, term: str) -> int:
    """Where the last segment ends (its terminator and trailing whitespace left out)."""
    lo = max(0, len(text) - 4096)
    tail = text[lo : len(text)].rstrip(_WS)
    if tail.endswith(term):
        tail = tail[: -len(term)].rstrip(_WS)
    return lo + len(tail)


def _before(chunk: str, at: int, pos: int, term: str) -> int:
    """Where the segment before the one at chunk[at] ends (its terminator left out)."""
    j = chunk.rfind(term, 0, at)
    if j < 0:  # it ended the previous window, which stops right after a terminator
        return max(0, pos - len(term))
    while j > 0 and chunk[j - 1] in _WS:
        j -= 1
    return pos + j


def _first_id(chunk: str, elem: str, term: str) -> tuple[str, int] | None:
    """The id the window's first segment starts with, when the short outline reads it:
    windows end right after a terminator, so the pattern (which starts at one) misses it."""
    at = len(chunk) - len(chunk.lstrip(_WS))
    for seg_id in _SHORT:
        after = at + len(seg_id)
        if chunk.startswith(seg_id, at) and (after == len(chunk) or chunk[after] in (elem, term)):
            return seg_id, at
    return None


def claims_outline(text, delims: Delimiters, limit: int = 5000, claims_total: int | None = None) -> Outline:
    """Interchange > group > transaction > claim (id and total), for files of many claims.

    `text` is a str or anything with len(), plain slices and find() (an open document's
    EditedText): it is read a window at a time and never joined. Every claim in the text is
    counted (`claims`), also those after a cut at `limit` entries, unless the caller knows
    how many there are (`claims_total`, from a check of this very text): then the reading
    stops at the cut."""
    top: list[Node] = []
    interchange = group = transaction = claim = None
    claims = shown = 0
    entries = _Entries(limit)
    term, elem = delims.segment, delims.element
    pattern, clm = _short_pattern(delims), _short_pattern(delims, ("CLM",))

    pos, n = delims.start, len(text)
    while pos < n:
        cut = text.find(term, pos + WINDOW)
        hi = n if cut < 0 else cut + len(term)
        chunk = text[pos:hi]
        first = _first_id(chunk, elem, term)
        if entries.cut_at is not None and claims_total is not None:
            break
        if entries.cut_at is not None:  # past the cut only claims are counted, in C
            claims += (first is not None and first[0] == "CLM") + len(clm.findall(chunk))
            pos = hi
            continue
        hits = ((m.group(1), m.start(1)) for m in pattern.finditer(chunk))
        for seg_id, at in chain((first,), hits) if first else hits:
            if entries.cut_at is not None:
                claims += (seg_id == "CLM") + len(clm.findall(chunk, at + 1))
                break
            # Each of these ends the open claim; a header also ends what cannot hold it.
            if claim is not None:
                claim.end, claim = _before(chunk, at, pos, term), None
            if seg_id in _HEADERS:
                before = _before(chunk, at, pos, term)
                for node in (transaction, group, interchange)[: _HEADERS[seg_id]]:
                    if node is not None and node.end < before:
                        node.end = before  # no trailer came: it ends before the next header
            elif seg_id == "HL":
                continue
            stop = chunk.find(term, at)
            raw = chunk[at : len(chunk) if stop < 0 else stop].rstrip(_WS)
            if seg_id == "CLM":
                claims += 1
                # Only CLM01 and CLM02 are read: the rest of the segment is not split.
                _, claim_id, charge, *_ = (*raw.split(elem, 3), "", "")
                holder = transaction or group or interchange
                start = pos + at
                parent = holder.children if holder is not None else top
                claim = entries.add("claim", f"Claim {claim_id}", f"${charge}" if charge else "", start, start + len(raw), start + 3, parent)
                shown += claim is not None
                continue
            seg = Segment(seg_id, pos + at, raw, delims)
            if seg_id == "ISA":
                interchange = entries.envelope(seg, top)
                group = transaction = None
            elif seg_id == "GS":
                group = entries.envelope(seg, interchange.children if interchange else top)
                transaction = None
            elif seg_id == "ST":
                transaction = entries.envelope(seg, group.children if group else (interchange.children if interchange else top))
            else:  # a trailer belongs to what it closes, and to what holds that
                closed = {"SE": (transaction,), "GE": (transaction, group), "IEA": (transaction, group, interchange)}[seg_id]
                for node in (*closed, group, interchange):
                    if node is not None and node.end < seg.end:
                        node.end = seg.end
                if seg_id == "SE":
                    transaction = None
                elif seg_id == "GE":
                    group = transaction = None
                else:
                    interchange = group = transaction = None
        pos = hi
    # What is still open (no trailer, or cut off) reaches the end of the last segment.
    end = _end_of_text(text, term)
    for node in (interchange, group, transaction, claim):
        if node is not None and node.end < end:
            node.end = end
    cut_at = entries.cut_at
    if cut_at is not None and claims_total is not None:
        claims = max(claims_total, shown)
    return Outline(top, cut_at, claims - shown if cut_at is not None else 0, claims)


def follow_edits(tree: Outline, text, delims: Delimiters, edits: list[tuple[int, int, int]]) -> list[Node] | None:
    """Carry a short outline (claims_outline) over edits apart from each other (edits.disjoint:
    in order, each as (start, end, length) in the coordinates the previous one left), when the
    caller has made sure that none of them removed or added a segment terminator or a line
    break: each then stays inside one segment. Offsets past a segment that changed move; ends
    in it move to where it now ends (its last character that is not whitespace); a CLM's id
    and charge are read again. Returns the nodes whose symbol changed beyond a move of its
    lines (renamed, or ending in an edited segment), or None, with the tree untouched, when an
    edit reaches a segment id or an envelope segment (what the outline is built from): then it
    must be built again."""
    term, elem = delims.segment, delims.element
    # The edited segments, in order: where each starts in the tree's (old) offsets, and in
    # them its terminator; the new offset of its content's end (its last character that is not
    # whitespace); the change in length before it and up to its end.
    old_starts: list[int] = []
    old_stops: list[int] = []
    ends: list[int] = []
    shift_at: list[int] = []
    shift_past: list[int] = []
    segment_ids: list[str] = []
    shift = 0
    last_id_start = -1
    for a, b, n in edits:
        cut = text.rfind(term, delims.start, a) if a > delims.start else -1
        if cut < 0:
            return None  # in the ISA
        body = text[cut + len(term) : a].lstrip(_WS)
        sep = body.find(elem)
        if sep < 0:
            return None  # in the whitespace before a segment or in its id
        seg_id, id_start = body[:sep], a - len(body)
        if seg_id in _ENVELOPE:
            return None
        stop = text.find(term, a + n)
        if stop < 0:
            return None  # in the last segment, unterminated: it ends where the text does
        if id_start != last_id_start:  # else another edit in the segment the last one is in
            old_starts.append(id_start - shift)
            shift_at.append(shift)
            segment_ids.append(seg_id)
            old_stops.append(0)
            ends.append(0)
            shift_past.append(0)
        shift += n - (b - a)
        old_stops[-1], shift_past[-1] = stop - shift, shift
        ends[-1] = id_start + len(text[id_start:stop].rstrip(_WS))
        last_id_start = id_start
    moved: list[Node] = []
    if not old_starts:
        return moved
    first = old_starts[0]

    def new_start(x: int) -> int:
        k = bisect_right(old_starts, x) - 1
        return x if k < 0 else x + (shift_at[k] if x == old_starts[k] else shift_past[k])

    last_stop, last_shift = old_stops[-1], shift_past[-1]

    def walk(nodes: list[Node]) -> None:
        for node in nodes:
            if node.end < first and not node.children:
                continue  # before every edit (most claims, for an edit past the cut)
            if node.start > last_stop:
                # Past every edited segment (the thousands of claims after the last edit): it
                # moves as the text after that segment did, without the look-ups below.
                node.start += last_shift
                node.end += last_shift
                node.name_end += last_shift
                walk(node.children)
                continue
            start = new_start(node.start)
            k = bisect_right(old_starts, node.end) - 1
            if k >= 0 and node.end <= old_stops[k]:  # it ends in an edited segment
                end = ends[k]
                moved.append(node)
            else:
                end = node.end + (shift_past[k] if k >= 0 else 0)
            if node.kind == "claim" and (k := bisect_right(old_starts, node.start) - 1) >= 0 and old_starts[k] == node.start and segment_ids[k] == "CLM":
                moved.append(node)
            node.name_end += start - node.start
            node.start, node.end = start, end
            walk(node.children)

    walk(tree.nodes)
    if tree.cut_at is not None:
        tree.cut_at = new_start(tree.cut_at)
    for node in moved:
        if node.kind == "claim":
            stop = text.find(term, node.start)
            raw = text[node.start : len(text) if stop < 0 else stop].rstrip(_WS)
            _, claim_id, charge, *_ = (*raw.split(elem, 3), "", "")
            node.name, node.detail = f"Claim {claim_id}", f"${charge}" if charge else ""
    return moved


def follow_insertions(tree: Outline, text, delims: Delimiters, edits: list[tuple[int, int, int]]) -> list[Node] | None:
    """Carry a short outline cut at its limit over insertions past the cut (edits.disjoint,
    each removing nothing), which may hold terminators, line breaks, whole segments and claims:
    past the cut the outline only counts claims, and each insertion's segments are read again
    with the text it went into (from the terminator before it to the one after it), once as they
    are and once without it. The claims left out are counted again; what is still open at the
    cut ends where the text now does. Returns those nodes (their ends moved), or None, with the
    tree untouched, when an insertion is not past the cut: then it must be built again."""
    term = delims.segment
    if tree.cut_at is None or term in _WS:  # (a line break as terminator: blanks would hold them)
        return None
    clm = _short_pattern(delims, ("CLM",))
    claims = 0
    region_end = -1
    for a, b, n in edits:
        before = text.rfind(term, 0, a)
        after = text.find(term, a + n)
        # The region must start past the cut segment's id, read no other insertion, and end
        # before the text does (it ends the segment after the insertion).
        if b != a or before < 0 or after < 0 or before < region_end or before <= tree.cut_at + len(term) + 3:
            return None
        with_it = text[before : after + 1]
        cut = a - before
        claims += len(clm.findall(with_it)) - len(clm.findall(with_it[:cut] + with_it[cut + n :]))
        region_end = after
    # The cut's offset (before every insertion) holds; what is open at the cut ends where the
    # text's last segment does (claims_outline).
    end = _end_of_text(text, term)
    moved: list[Node] = []

    def walk(nodes: list[Node]) -> None:
        for node in nodes:
            if node.end > tree.cut_at:
                node.end = end
                moved.append(node)
                walk(node.children)

    walk(tree.nodes)
    tree.claims_after += claims
    tree.claims += claims
    return moved


def count_terminators(text, term: str, lo: int = 0, hi: int | None = None) -> int:
    """Segment terminators in text[lo:hi] (a str or an EditedText), counted a window at a time."""
    hi = len(text) if hi is None else hi
    return sum(text[i : min(hi, i + WINDOW)].count(term) for i in range(lo, hi, WINDOW))


@dataclass
class Terminators:
    """The segment terminators of a text counted per block (WINDOW characters when counted),
    kept with an outline carried over edits that add none: whether they removed one is then
    found by counting again only in the blocks they removed text from (a 38 MB file counted
    whole took 40-45 ms of CPU per outline request)."""

    starts: array  # block i is text[starts[i] : starts[i + 1]]; the last entry is len(text)
    counts: array  # the terminators in each block

    @classmethod
    def of(cls, text, term: str, size: int | None = None) -> Terminators:
        n, size = len(text), size or WINDOW
        starts = array("q", range(0, n, size))
        counts = array("q", (text[i : min(n, i + size)].count(term) for i in starts))
        starts.append(n)
        return cls(starts, counts)

    def touched(self, edits: list[tuple[int, int, int]]) -> int:
        """The blocks the edits (edits.disjoint) removed text from."""
        return len(self._removals(self._old(edits)))

    def moved(self, text, term: str, edits: list[tuple[int, int, int]]) -> array | None:
        """The blocks' starts in the edited text (edits.disjoint, none adding a terminator),
        or None when a block they removed text from holds fewer terminators than it did."""
        old = self._old(edits)
        starts = self._starts(old)
        for k in self._removals(old):
            if count_terminators(text, term, starts[k], starts[k + 1]) != self.counts[k]:
                return None
        return starts

    def inserted(self, text, term: str, edits: list[tuple[int, int, int]]) -> Terminators:
        """The blocks of the text after insertions (edits.disjoint, each removing nothing, and
        which may hold terminators): those they went into are counted again."""
        starts = self._starts(self._old(edits))
        counts = array("q", self.counts)
        for a, _, n in edits:
            if n:
                k = bisect_right(starts, a) - 1  # (an insertion at a block's start ends the block before)
                counts[k] = count_terminators(text, term, starts[k], starts[k + 1])
        return Terminators(starts, counts)

    def _starts(self, old: list[tuple[int, int, int, int]]) -> array:
        starts = array("q")
        e, shift = 0, 0
        for s in self.starts:
            while e < len(old) and old[e][1] <= s:  # edits up to s (an insertion at s: before it)
                a, b, before, n = old[e]
                shift, e = before + n - (b - a), e + 1
            if e < len(old) and old[e][0] < s:  # in what an edit removed: the block starts after what it put there
                starts.append(old[e][0] + old[e][2] + old[e][3])
            else:
                starts.append(s + shift)
        return starts

    @staticmethod
    def _old(edits: list[tuple[int, int, int]]) -> list[tuple[int, int, int, int]]:
        """Each edit as the old text's [a, b), the change in length before it, and its length."""
        old, shift = [], 0
        for a, b, n in edits:
            old.append((a - shift, b - shift, shift, n))
            shift += n - (b - a)
        return old

    def _removals(self, old: list[tuple[int, int, int, int]]) -> list[int]:
        blocks: set[int] = set()
        for a, b, _, _ in old:
            if b > a:
                first = max(0, bisect_right(self.starts, a) - 1)
                last = min(len(self.counts) - 1, bisect_right(self.starts, b - 1) - 1)
                blocks.update(range(first, last + 1))
        return sorted(blocks)
