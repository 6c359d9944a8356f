"""Indexes over one claim's diagnoses for the tabular edits (tabular.py): which of its codes a
note may name, found from the categories the note names rather than by comparing every code
with every other. A claim may list thousands of diagnoses (a generated 837, a FHIR Claim, a
template): the work then follows the codes of the categories a note names, not the claim's
length times its codes.

The candidates are exactly the codes that pass naming's first filter (NoteTargets.may_name:
a note's categories and its ranges' categories); each is then asked what the old walk asked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from medcode.index_builder.tabular_notes import NoteTargets


class EarlierCodes:
    """The distinct codes met so far on a claim, by their first place, for the Excludes1 edit:
    the earlier codes of the categories a code's notes may name, and the earlier codes whose
    notes may name its category."""

    __slots__ = ("first", "_in_category", "_met", "_named", "_claim", "_sorted", "_order", "_size", "_ranged")

    def __init__(self, categories: list[str]):
        """categories: the claim's (its codes' first three characters), every one."""
        self.first: dict[str, int] = {}  # code -> its first place
        self._in_category: dict[str, list[int]] = {}  # category -> first places of the codes met of it
        self._met: list[str] = []  # the categories met, sorted
        self._named: dict[str, list[int]] = {}  # a category met codes' notes name -> their first places
        # The ranges met codes' notes name, as spans of the claim's categories in a segment
        # tree (node -> first places of the codes whose ranges cover it): a category's codes
        # are found in log(categories) nodes, however many codes name ranges. Made at the first
        # range (most claims have none).
        self._claim = categories
        self._sorted: list[str] = []  # the claim's categories, sorted
        self._order: dict[str, int] = {}  # their places in _sorted
        self._size = 0
        self._ranged: dict[int, list[int]] = {}

    def add(self, place: int, code: str, category: str, targets: NoteTargets) -> None:
        """Meet a code of the category at its place; targets: its Excludes1 notes. Only a
        code's first place is kept."""
        if code in self.first:
            return
        self.first[code] = place
        places = self._in_category.get(category)
        if places is None:
            self._in_category[category] = [place]
            insort(self._met, category)
        else:
            places.append(place)
        if targets.notes:
            named = self._named
            for c in targets.categories:
                places = named.get(c)
                if places is None:
                    named[c] = [place]
                else:
                    places.append(place)
            if targets.category_ranges:
                self._cover(targets.category_ranges, place)

    def _cover(self, ranges: tuple[tuple[str, str], ...], place: int) -> None:
        """Note place on the tree's nodes that span the claim's categories in the ranges."""
        if not self._size:
            self._sorted = sorted(set(self._claim))
            self._order = {c: k for k, c in enumerate(self._sorted)}
            self._size = len(self._sorted)
        order = self._sorted
        tree = self._ranged
        for first, last in ranges:
            lo = bisect_left(order, first) + self._size
            hi = bisect_right(order, last) + self._size
            while lo < hi:
                if lo & 1:
                    tree.setdefault(lo, []).append(place)
                    lo += 1
                if hi & 1:
                    hi -= 1
                    tree.setdefault(hi, []).append(place)
                lo >>= 1
                hi >>= 1

    def pairs(self, category: str, targets: NoteTargets) -> list[int]:
        """The first places of the codes met so far whose category the code's notes (targets)
        may name, or whose notes may name the code's category, in place order: the earlier
        codes the walk over every pair would have compared it with."""
        found: set[int] = set()
        if targets.notes:
            in_category = self._in_category
            for c in targets.categories:
                places = in_category.get(c)
                if places is not None:
                    found.update(places)
            met = self._met
            for first, last in targets.category_ranges:
                for c in met[bisect_left(met, first) : bisect_right(met, last)]:
                    found.update(in_category[c])
        places = self._named.get(category)
        if places is not None:
            found.update(places)
        tree = self._ranged
        if tree:
            node = self._order[category] + self._size
            while node:
                places = tree.get(node)
                if places is not None:
                    found.update(places)
                node >>= 1
        return sorted(found)


class NamedPlaces:
    """Where the codes of one claim are, for the first diagnosis a code-first or use-additional
    note names (tabular's _code_first, _use_additional): per note targets, its first two places
    worked out once, from the codes of the categories it names."""

    __slots__ = ("_codes", "_categories", "_in_category", "_sorted", "_memo")

    def __init__(self, codes: list[str], categories: list[str]):
        self._codes = codes
        self._categories = categories
        self._in_category: dict[str, dict[str, list[int]]] = {}  # category -> {code: its first two places}
        self._sorted: list[str] = []  # the categories, sorted
        self._memo: dict[int, tuple[NoteTargets, int, int]] = {}  # id(targets) -> (targets, its first two places)

    def _index(self) -> None:
        """Made at the first question (most claims with notes have no code-first or
        use-additional one)."""
        in_category = self._in_category
        for place, (code, category) in enumerate(zip(self._codes, self._categories)):
            codes = in_category.get(category)
            if codes is None:
                in_category[category] = {code: [place]}
                continue
            places = codes.get(code)
            if places is None:
                codes[code] = [place]
            elif len(places) < 2:
                places.append(place)
        self._sorted = sorted(in_category)

    def first(self, targets: NoteTargets, own: int) -> int:
        """The first place but own whose category a note of targets may name and whose code
        it names (NoteTargets.may_name, naming), len(codes) for none."""
        hit = self._memo.get(id(targets))
        if hit is None or hit[0] is not targets:
            if not self._memo:
                self._index()
            hit = self._memo[id(targets)] = (targets, *self._first_two(targets))
        return hit[1] if hit[1] != own else hit[2]

    def _first_two(self, targets: NoteTargets) -> tuple[int, int]:
        in_category = self._in_category
        categories = set(targets.categories)
        for first, last in targets.category_ranges:
            categories.update(self._sorted[bisect_left(self._sorted, first) : bisect_right(self._sorted, last)])
        # A code's first two places are the only ones of it that can be the first two.
        found = sorted(p for c in categories if c in in_category for code, places in in_category[c].items() if targets.naming(code) is not None for p in places)
        none = len(self._codes)
        return (found[0] if found else none), (found[1] if len(found) > 1 else none)
