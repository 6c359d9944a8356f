"""The outline of an 837: interchange > group > transaction > billing provider > subscriber >
patient > claim (id and total) > service lines. Built on demand, not on every check.

A 50,000-claim file has hundreds of thousands of entries, more than an editor can show: the walk
stops at `limit` entries (the text is read window by window, so the rest of the file is never
split into segments) and the claims after the cut are counted with one regex scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .delimiters import Delimiters
from .segments import Segment, iter_raw
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


def _segments(text: str, delims: Delimiters) -> Iterator[tuple[str, int, str]]:
    """iter_raw, a window at a time: stopping early leaves the rest of the text unsplit."""
    pos, term = delims.start, delims.segment
    while pos < len(text):
        cut = text.find(term, pos + WINDOW)
        hi = len(text) if cut < 0 else cut + len(term)
        yield from iter_raw(text, delims, pos, hi)
        pos = hi


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


def outline(text: str, delims: Delimiters, component: str, limit: int = 5000) -> Outline:
    """The outline tree, cut after `limit` entries (huge files)."""
    top: list[Node] = []
    interchange = group = transaction = claim = line = None
    hl_chain: list[Node] = []
    hl_by_id: dict[str, list[Node]] = {}
    count = 0
    cut_at: int | None = None

    def add(kind: str, name: str, detail: str, seg: Segment, parent: list[Node]) -> Node | None:
        nonlocal count, cut_at
        if count >= limit:
            cut_at = seg.start
            return None
        count += 1
        node = Node(kind, name, detail, seg.start, seg.end, seg.start + len(seg.id))
        parent.append(node)
        return node

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
            interchange = add("interchange", f"Interchange {seg.value(13)}", f"{seg.value(6).strip()} → {seg.value(8).strip()}", seg, top)
            group = transaction = claim = line = None
            hl_chain = []
        elif seg_id == "GS":
            group = add("group", f"Group {seg.value(6)} ({seg.value(1)})", seg.value(8), seg, interchange.children if interchange else top)
        elif seg_id == "ST":
            version = seg.value(3)
            kind = transaction_kind(version)
            parent = group.children if group else (interchange.children if interchange else top)
            transaction = add("transaction", f"837{kind} {seg.value(2)}" if kind else f"{seg.value(1)} {seg.value(2)}", version, seg, parent)
            hl_chain, hl_by_id, claim, line = [], {}, None, None
        elif seg_id == "HL":
            chain = hl_by_id.get(seg.value(2), [])
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
        if cut_at is not None:
            # What is still open holds the rest of the file: its trailers are past the cut.
            end = len(text.rstrip())
            for node in (interchange, group, transaction, *hl_chain):
                if node is not None:
                    node.end = max(node.end, end)
            return Outline(top, cut_at, claims_from(text, delims, cut_at))
    return Outline(top)
