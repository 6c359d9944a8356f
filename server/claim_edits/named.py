"""Indexes over one claim's diagnoses for the tabular edits (tabular.py): which of its codes a
note may name, found by the note's targets rather than by comparing every code with every
other. A claim may list thousands of diagnoses (a generated 837, a FHIR Claim, a template):
the work then follows the codes a note can name, not the claim's length times its codes.

A note names a code by one of its prefixes (its category to the whole code: NoteTargets.prefixes)
or by a range; a range names only codes whose category lies within the range's categories
(category_span), so ranges are looked up by category and each code found is asked
NoteTargets.naming itself.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from medcode.index_builder.tabular_notes import NoteTargets


def may_name(targets: NoteTargets, category: str) -> bool:
    """Whether a note of targets may name codes of the category: naming's first filter (the
    claim's categories a note may name: NoteTargets.may_name), for one category."""
    if category in targets.categories:
        return True
    for lo, hi in targets.category_ranges:
        if lo <= category <= hi:
            return True
    return False


def category_span(lo: str, hi: str) -> tuple[str, str]:
    """The categories (first, last, as compared as text) of the codes a range (lo, hi) can name
    (NoteTargets.naming: code[:len(lo)] >= lo and code[:len(hi)] <= hi); a last code shorter
    than a category (never seen in the tabular) takes every category it begins."""
    return lo[:3], hi[:3] if len(hi) >= 3 else hi + "\U0010ffff"


class EarlierCodes:
    """The distinct codes met so far on a claim, by their first place, for the Excludes1 edit:
    the earlier codes a code's notes may name, and the earlier codes whose notes may name it."""

    __slots__ = ("first", "_with_prefix", "_met", "_named", "_claim", "_sorted", "_order", "_size", "_ranged")

    def __init__(self, categories: list[str]):
        """categories: the claim's (its codes' first three characters), every one."""
        self.first: dict[str, int] = {}  # code -> its first place
        self._with_prefix: dict[str, list[int]] = {}  # category .. whole code -> first places of the codes below it
        self._met: list[str] = []  # the categories of the codes met, sorted
        self._named: dict[str, list[int]] = {}  # a prefix a met code's notes name -> the first places of those codes
        # The ranges met codes' notes name, as spans of the claim's categories in a segment
        # tree (node -> first places of the codes whose ranges cover it): a category's codes
        # are found in log(categories) nodes, however many codes name ranges. Made at the first
        # range (most claims have none).
        self._claim = categories
        self._sorted: list[str] = []
        self._order: dict[str, int] = {}
        self._size = 0
        self._ranged: dict[int, list[int]] = {}

    def add(self, place: int, code: str, targets: NoteTargets) -> None:
        """Meet a code at its place; targets: its Excludes1 notes. Only a code's first place is kept."""
        if code in self.first:
            return
        self.first[code] = place
        with_prefix = self._with_prefix
        for k in range(3, len(code) + 1):
            places = with_prefix.get(code[:k])
            if places is None:
                with_prefix[code[:k]] = [place]
                if k == 3:
                    insort(self._met, code[:3])
            else:
                places.append(place)
        if targets.notes:
            named = self._named
            for p in targets.prefixes:
                places = named.get(p)
                if places is None:
                    named[p] = [place]
                else:
                    places.append(place)
            if targets.ranges and not self._size:
                self._sorted = sorted(set(self._claim))
                self._order = {c: k for k, c in enumerate(self._sorted)}
                self._size = len(self._sorted)
            order = self._sorted
            for lo, hi, _ in targets.ranges:
                first, last = category_span(lo, hi)
                self._cover(bisect_left(order, first), bisect_right(order, last), place)

    def _cover(self, lo: int, hi: int, place: int) -> None:
        """Note place on the tree's nodes that span the categories lo .. hi - 1 (of the claim's, sorted)."""
        tree = self._ranged
        lo += self._size
        hi += self._size
        while lo < hi:
            if lo & 1:
                tree.setdefault(lo, []).append(place)
                lo += 1
            if hi & 1:
                hi -= 1
                tree.setdefault(hi, []).append(place)
            lo >>= 1
            hi >>= 1

    def pairs(self, code: str, targets: NoteTargets) -> list[int]:
        """The first places of the codes met so far that the code's notes (targets) may name, or
        whose notes may name it, in place order: every earlier code of an Excludes1 pair with it
        is among them."""
        found: set[int] = set()
        if targets.notes:
            with_prefix = self._with_prefix
            for p in targets.prefixes:
                places = with_prefix.get(p)
                if places is not None:
                    found.update(places)
            met = self._met
            for lo, hi, _ in targets.ranges:
                first, last = category_span(lo, hi)
                for c in met[bisect_left(met, first) : bisect_right(met, last)]:
                    found.update(with_prefix[c])
        named = self._named
        for k in range(3, len(code) + 1):
            places = named.get(code[:k])
            if places is not None:
                found.update(places)
        tree = self._ranged
        if tree:
            node = self._order[code[:3]] + self._size
            while node:
                places = tree.get(node)
                if places is not None:
                    found.update(places)
                node >>= 1
        return sorted(found)


class NamedPlaces:
    """Where the codes of one claim are, for the first diagnosis a code-first or use-additional
    note names (tabular's _code_first, _use_additional): per note targets, its first two places
    worked out once, from the prefixes and categories its notes name."""

    __slots__ = ("_codes", "_categories", "_with_prefix", "_in_category", "_sorted", "_memo")

    def __init__(self, codes: list[str], categories: list[str]):
        self._codes = codes
        self._categories = categories
        self._with_prefix: dict[str, list[int]] = {}  # category .. whole code -> its first two places
        self._in_category: dict[str, dict[str, list[int]]] = {}  # category -> {code: its first two places}
        self._sorted: list[str] = []  # the categories, sorted
        self._memo: dict[int, tuple[NoteTargets, int, int]] = {}  # id(targets) -> (targets, its first two places)

    def _index(self) -> None:
        """Made at the first question (most claims with notes have no code-first or
        use-additional one)."""
        with_prefix, in_category = self._with_prefix, self._in_category
        for place, code in enumerate(self._codes):
            for k in range(3, len(code) + 1):
                places = with_prefix.get(code[:k])
                if places is None:
                    with_prefix[code[:k]] = [place]
                elif len(places) < 2:
                    places.append(place)
            places = in_category.setdefault(code[:3], {}).setdefault(code, [])
            if len(places) < 2:
                places.append(place)
        self._sorted = sorted(in_category)

    def first(self, targets: NoteTargets, own: int) -> int:
        """The first place but own whose code a note of targets names (after naming's category
        filter, may_name), len(codes) for none."""
        hit = self._memo.get(id(targets))
        if hit is None or hit[0] is not targets:
            if not self._memo:
                self._index()
            hit = self._memo[id(targets)] = (targets, *self._first_two(targets))
        return hit[1] if hit[1] != own else hit[2]

    def _first_two(self, targets: NoteTargets) -> tuple[int, int]:
        none = len(self._codes)
        found: set[int] = set()
        for p in targets.prefixes:
            found.update(self._with_prefix.get(p, ()))
        for lo, hi, _ in targets.ranges:
            first, last = category_span(lo, hi)
            for c in self._sorted[bisect_left(self._sorted, first) : bisect_right(self._sorted, last)]:
                for places in self._in_category[c].values():
                    found.update(places)
        codes, categories = self._codes, self._categories
        named = sorted(k for k in found if may_name(targets, categories[k]) and targets.naming(codes[k]) is not None)
        return (named[0] if named else none), (named[1] if len(named) > 1 else none)
