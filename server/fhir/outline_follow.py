"""Carrying the outline of FHIR claims (fhir.outline) over edits, without a read of the whole
text: the reader takes seconds on a Bundle of thousands of claims, and the outline would
otherwise wait for the check after every keystroke.

Edits that each lie inside one Claim / ExplanationOfBenefit (between its braces) leave the
rest of the document's JSON as it was: when each edited resource still parses alone as one
such resource, the document reads as before with those resources read again. The entries of
the edited resources are then built from their text alone (what an entry shows comes from its
own resource only), the others move by the length the edits before them added. Any other edit
(between resources, in a Patient, over a resource's brace, a line break on an NDJSON line) may
change what is a resource: the outline must then come from a read of the whole text.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass

from ..x12.outline import Node, Outline
from .outline import FULL_CLAIMS, claim_node, entry_nodes
from .reader import FhirReading, read_claim

# Resources read again in one follow (about 1.5 ms each); an edit over more (a paste, a
# replace-all) is left to the check, which reads them all anyway.
MAX_READ = 64


@dataclass(frozen=True)
class Resources:
    """Where a reading's Claim / ExplanationOfBenefit resources are, in the order of the text:
    what following its outline needs of it (not the reading, which holds every code)."""

    starts: array  # resource k spans text[starts[k]:ends[k]], its braces included
    ends: array
    ndjson: bool

    @classmethod
    def of(cls, reading: FhirReading) -> Resources:
        return cls(array("q", [r.start for r in reading.resources]), array("q", [r.end for r in reading.resources]), reading.ndjson)


def follow(tree: Outline, resources: Resources, text, edits: list[tuple[int, int, int]], limit: int) -> tuple[Outline, Resources] | None:
    """The outline and resources of the text after `edits` (x12.edits.disjoint: in order, each
    (start, end, length) in the coordinates the previous one left), from those of the text
    before them (`tree` as fhir_outline built it with `limit`); None when they must come from a
    read of the whole text. `text` is the text after the edits (a str or an EditedText)."""
    if not edits:
        return tree, resources
    starts, ends = resources.starts, resources.ends
    full = len(starts) <= FULL_CLAIMS
    if full and tree.cut_at is not None:
        return None  # the cut falls among entries whose number an edit may change
    grown: dict[int, int] = {}  # resource -> characters its edits added (negative: removed)
    shift = 0
    for a, b, n in edits:
        old_a = a - shift
        old_b = old_a + (b - a)
        k = bisect_right(starts, old_a) - 1
        if k < 0 or not (starts[k] < old_a and old_b < ends[k]):
            return None  # not inside one resource's braces
        if resources.ndjson and "\n" in text[a : a + n]:
            return None  # a line break splits the resource's line
        grown[k] = grown.get(k, 0) + n - (b - a)
        shift += n - (b - a)
    if len(grown) > MAX_READ:
        return None
    new_starts, new_ends = _moved(starts, ends, grown)
    nodes = list(tree.nodes)
    for k in grown:
        at = new_starts[k]
        res = read_claim(text[at : new_ends[k]])
        if res is None:
            return None  # no longer one Claim / ExplanationOfBenefit of its own
        if k < len(nodes):
            node = claim_node(res)
            if full:
                node.children = entry_nodes(res)
            nodes[k] = _shifted(node, at)
    # The others move by what the edits before them added.
    before = 0
    for k in range(len(nodes)):
        if k in grown:
            before += grown[k]
        elif before:
            nodes[k] = _shifted(nodes[k], before)
    if full and len(nodes) + sum(len(n.children) for n in nodes) > limit:
        return None  # fhir_outline would cut it
    cut_at = new_starts[len(nodes)] if tree.cut_at is not None else None
    return Outline(nodes, cut_at, tree.claims_after, tree.claims), Resources(new_starts, new_ends, resources.ndjson)


def _moved(starts: array, ends: array, grown: dict[int, int]) -> tuple[array, array]:
    """The resources' spans once each resource k has grown by grown[k] characters."""
    new_starts, new_ends = array("q"), array("q")
    before, done = 0, 0
    for k in sorted(grown):
        new_starts.extend(s + before for s in starts[done:k])
        new_ends.extend(e + before for e in ends[done:k])
        new_starts.append(starts[k] + before)
        before += grown[k]
        new_ends.append(ends[k] + before)
        done = k + 1
    new_starts.extend(s + before for s in starts[done:])
    new_ends.extend(e + before for e in ends[done:])
    return new_starts, new_ends


def _shifted(node: Node, by: int) -> Node:
    """A copy of the node and its children, `by` characters further on (the tree followed is
    never changed: a follow that gives up halfway leaves it as it was)."""
    return Node(node.kind, node.name, node.detail, node.start + by, node.end + by, node.name_end + by, [_shifted(c, by) for c in node.children])
