"""document.shifted: every value of an array plus n, whatever the values (the fast path adds
them as one big integer, which holds only while no value leaves [0, 2**63))."""

from __future__ import annotations

import random
from array import array

from medcode.server.x12.document import shifted


def test_shifted_equals_adding_to_each_value():
    rng = random.Random(14)
    for typecode in "qlbBhHiIL":
        size = array(typecode).itemsize
        signed = typecode.islower()
        top = (1 << (8 * size - signed)) - 1
        bottom = -(1 << (8 * size - 1)) if signed else 0
        for _ in range(200):
            picks = (0, 1, 2, top, top - 1, bottom, bottom + 1, -1 if signed else 3)
            values = [rng.choice((rng.choice(picks), rng.randint(bottom, top), rng.randint(0, 50))) for _ in range(rng.randint(0, 30))]
            n = rng.choice((1, -1, 7, -7, rng.randint(-(1 << 20), 1 << 20)))
            want = [v + n for v in values]
            if any(not bottom <= w <= top for w in want):
                continue
            got = shifted(array(typecode, values), n)
            assert got.typecode == typecode and list(got) == want, (typecode, values, n)


def test_a_shift_across_a_block_boundary_and_past_zero():
    values = array("q", [*range(0, 20_000, 3), 1 << 40, (1 << 63) - 10])
    assert list(shifted(values, 9)) == [v + 9 for v in values]  # the last one leaves the fast path
    assert list(shifted(values, -1)) == [v - 1 for v in values]  # 0 - 1: a negative value, not a borrow
    assert list(shifted(array("q", [-1, 5, -1]), 2)) == [1, 7, 1]
    for values in ([5, 0, 7], [5, 7, 0], [0, 5, 7], [(1 << 62) - 1, 3], [3, 1 << 62], [2, (1 << 62) + 5]):
        for n in (-1, 1, -(1 << 61), (1 << 61), (1 << 62) + 1):
            want = [v + n for v in values]
            if all(-(1 << 63) <= w < 1 << 63 for w in want):
                assert list(shifted(array("q", values), n)) == want, (values, n)
