"""The outline of an 837: interchange > group > transaction > billing provider > subscriber >
patient > claim (id and total) > service lines. Built on demand, not on every check."""

from __future__ import annotations

from dataclasses import dataclass, field

from .delimiters import Delimiters
from .segments import Segment, iter_raw
from .document import transaction_kind
from .vocabulary import HL_LEVELS

_NAME_OF = {"85": "20", "IL": "22", "QC": "23"}  # NM1 entity -> the HL level it names
_SERVICE = {"SV1": 2, "SV2": 3, "SV3": 2, "SV5": 0}  # segment -> element holding the charge


@dataclass
class Node:
    kind: str
    name: str
    detail: str
    start: int
    end: int
    name_end: int
    children: list[Node] = field(default_factory=list)


def outline(text: str, delims: Delimiters, component: str, limit: int = 5000) -> tuple[list[Node], int]:
    """The outline tree and how many nodes were left out past `limit` (huge files)."""
    top: list[Node] = []
    interchange = group = transaction = claim = line = None
    hl_chain: list[Node] = []
    hl_by_id: dict[str, list[Node]] = {}
    count = dropped = 0

    def add(kind: str, name: str, detail: str, seg: Segment, parent: list[Node]) -> Node | None:
        nonlocal count, dropped
        if count >= limit:
            dropped += 1
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

    for seg_id, start, raw in iter_raw(text, delims):
        seg = Segment(seg_id, start, raw, delims)
        if seg_id in ("SE", "GE", "IEA"):
            # Trailers belong to what they close.
            for node in (interchange, group, transaction, *hl_chain, claim, line):
                if node is not None and node.end < seg.end:
                    node.end = seg.end
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
                if node is not None and node.end < seg.end:
                    node.end = seg.end
    return top, dropped
