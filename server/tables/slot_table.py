"""The code slots of a large table, kept as columns of machine ints.

A 200,000-row price file has hundreds of thousands of codes but only a few thousand distinct
(code, type, column) combinations, because every item repeats for each payer. Kept as one Slot
object each they cost about 180 bytes a code, more than the text itself; here a code costs 12
bytes (its start, its type cell's start, and the number of its combination: 4 bytes each when
the document is under 2 GB, as every file `medcode check` reads is; 20 bytes otherwise), and a
Slot is made when one is asked for: by the rules as they go through the file, by hover for one
code.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence

from ..places import Slot


# Offsets below this fit the 4-byte columns (signed: -1 is "no type cell").
_SMALL = 1 << 31

# Makes a slot from (text, start, expects, place, qualifier, qual_start, label).
SlotMaker = Callable[[str, int, "str | None", str, "str | None", "int | None", str], Slot]


def _plain(text: str, start: int, expects: str | None, place: str, qualifier: str | None, qual_start: int | None, label: str) -> Slot:
    return Slot(text, start, expects, place, qualifier, qual_start, False, None, label)


class SlotTable(Sequence[Slot]):
    """Slots in the order added (callers add them by start, or call sort_by_start, as
    Reading.slots must be sorted). make: the Slot (or subclass) handed out; size: the length
    of the document the offsets are in (None: not known, 8-byte columns)."""

    __slots__ = ("_index", "_kinds", "_make", "_quals", "_starts", "_table")

    def __init__(self, make: SlotMaker = _plain, size: int | None = None) -> None:
        self._make = make
        offset = "i" if size is not None and size < _SMALL else "q"
        self._starts = array(offset)
        self._quals = array(offset)  # the type cell's start, -1: none
        self._kinds = array("I")  # index into _table
        self._table: list[tuple[str, str | None, str, str | None, str]] = []
        self._index: dict[tuple[str, str | None, str, str | None, str], int] = {}

    def add(self, text: str, start: int, expects: str | None, place: str, qualifier: str | None, qual_start: int | None, label: str) -> int:
        """Add a slot; its kind (the number of its combination), for add_kind."""
        key = (text, expects, place, qualifier, label)
        k = self._index.get(key)
        if k is None:
            k = self._index[key] = len(self._table)
            self._table.append(key)
        self._starts.append(start)
        self._quals.append(-1 if qual_start is None else qual_start)
        self._kinds.append(k)
        return k

    def add_kind(self, k: int, start: int, qual_start: int) -> None:
        """Add a slot of a kind add gave (qual_start -1: none)."""
        self._starts.append(start)
        self._quals.append(qual_start)
        self._kinds.append(k)

    def sort_by_start(self) -> None:
        order = sorted(range(len(self)), key=self._starts.__getitem__)
        if any(a > b for a, b in zip(order, order[1:])):
            for name in ("_starts", "_quals", "_kinds"):
                column = getattr(self, name)
                setattr(self, name, array(column.typecode, (column[i] for i in order)))

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def distinct_count(self) -> int:
        return len(self._table)

    def distinct(self) -> list[tuple[int, Slot]]:
        """(kind, slot) for the first slot of each distinct combination, in the order those
        first slots come: a rule that judges each combination once sees them as it would
        have met them going slot by slot."""
        first: dict[int, int] = {}
        n = len(self._table)
        for i, k in enumerate(self._kinds):
            if k not in first:
                first[k] = i
                if len(first) == n:
                    break
        return [(k, self._slot(i)) for k, i in first.items()]

    def placed(self) -> Iterator[tuple[int, int]]:
        """(kind, start) of every slot, in order: where the judgement of each kind goes."""
        return zip(self._kinds, self._starts)

    def _slot(self, i: int) -> Slot:
        text, expects, place, qualifier, label = self._table[self._kinds[i]]
        q = self._quals[i]
        return self._make(text, self._starts[i], expects, place, qualifier, None if q < 0 else q, label)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._slot(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("slot index out of range")
        return self._slot(i)

    def __iter__(self) -> Iterator[Slot]:
        table, make = self._table, self._make
        for k, start, q in zip(self._kinds, self._starts, self._quals):
            text, expects, place, qualifier, label = table[k]
            yield make(text, start, expects, place, qualifier, None if q < 0 else q, label)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SlotTable, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SlotTable({len(self)} slots, {len(self._table)} distinct)"
