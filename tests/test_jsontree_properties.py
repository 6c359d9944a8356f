"""The FHIR reader's JSON tree (fhir.jsontree) against the json module, on generated JSON: the
same values, an offset for every value and key that holds exactly that value, and for broken
text the json module's own first error. Seeded (derandomize): the same examples every run."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medcode.server.fhir import jsontree as jt

SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Keys from a small alphabet, so that objects repeat keys (the last wins, as in json.loads)
# and `keep` selects some of them; text with quotes, backslashes, control characters and
# characters outside the BMP, which take the general (escaped) path.
KEYS = st.sampled_from(["code", "system", "a", "item", 'q"uote', "back\\slash", "tab\there", "é", "\U0001f600"])
STRINGS = st.one_of(st.sampled_from(["", "E11.9", 'say "x"', "a\\b", "line\nbreak", "\x00", "\u2028"]), st.text(max_size=8))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False), STRINGS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(st.tuples(KEYS, inner), max_size=5)),
    max_leaves=25,
)
LAYOUTS = st.sampled_from([
    {}, {"indent": 2}, {"indent": 0}, {"separators": (",", ":")}, {"separators": (" , ", " : ")},
    {"indent": "\t", "ensure_ascii": False}, {"ensure_ascii": False},
])


def dumped(value, layout: dict) -> str:
    """JSON text of a generated value; a list of pairs is an object (keys may repeat)."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        inner = [f"{json.dumps(k, ensure_ascii=layout.get('ensure_ascii', True))}: {dumped(v, layout)}" for k, v in value]
        return "{" + ", ".join(inner) + "}" if layout.get("indent") is None else "{\n" + ",\n".join(inner) + "\n}"
    if isinstance(value, list):
        return "[" + (", " if layout.get("indent") is None else ",\n").join(dumped(v, layout) for v in value) + "]"
    return json.dumps(value, **layout)


def plain(node: jt.Node):
    if node.kind == jt.OBJECT:
        return {k: plain(m.node) for k, m in node.members.items()}
    if node.kind == jt.ARRAY:
        return [plain(n) for n in node.items]
    return node.value


def every(node: jt.Node):
    yield node
    for m in node.members.values():
        yield from every(m.node)
    for n in node.items:
        yield from every(n)


def every_written(node: jt.Node):
    """Every node, the earlier values of repeated keys too."""
    yield node
    for key in node.members:
        for value in node.values(key):
            yield from every_written(value)
    for n in node.items:
        yield from every_written(n)


def assert_positions(text: str, root: jt.Node) -> None:
    for node in every(root):
        assert json.loads(text[node.start : node.end]) == plain(node)
        if node.kind == jt.STRING:
            assert node.exact == (text[node.start + 1 : node.end - 1] == node.value)
        for key, m in node.members.items():
            assert json.loads('"' + text[m.key_start : m.key_end] + '"') == key


@SETTINGS
@given(value=VALUES, layout=LAYOUTS, pad=st.sampled_from(["", " ", "\n\t "]))
def test_the_tree_holds_what_json_loads_gives_and_where(value, layout, pad):
    text = pad + dumped(value, layout) + pad
    root = jt.parse(text)
    assert plain(root) == json.loads(text)
    assert_positions(text, root)


@SETTINGS
@given(value=VALUES, layout=LAYOUTS, keep=st.sets(KEYS, max_size=4))
def test_skipped_members_hold_their_decoded_values(value, layout, keep):
    text = dumped(value, layout)
    root = jt.parse(text, keep=frozenset(keep))
    assert plain(root) == json.loads(text)
    for node in every(root):
        for key, m in node.members.items():
            assert (m.node.kind == jt.SKIPPED) == (key not in keep)


@SETTINGS
@given(
    value=VALUES, layout=LAYOUTS, at=st.integers(0, 10**6), structural=st.booleans(),
    change=st.sampled_from(["", ",", "}", "]", '"', ":", "\\", "\x01", "x", " "]),
)
def test_broken_text_gives_the_json_modules_first_error(value, layout, at, structural, change):
    """One character replaced (or deleted), half the time one of the JSON punctuation."""
    text = dumped(value, layout)
    punctuation = [i for i, c in enumerate(text) if c in ',:{}[]"']
    at = punctuation[at % len(punctuation)] if structural and punctuation else at % (len(text) + 1)
    broken = text[:at] + change + text[at + 1 :]
    try:
        expected = json.loads(broken)
    except json.JSONDecodeError as e:
        with pytest.raises(jt.Malformed) as raised:
            jt.parse(broken)
        assert (raised.value.message, raised.value.offset) == (e.msg, e.pos)
    else:
        root = jt.parse(broken)
        assert plain(root) == expected
        assert_positions(broken, root)


@SETTINGS
@given(value=VALUES, layout=LAYOUTS, keep=st.one_of(st.none(), st.sets(KEYS, max_size=4)))
def test_every_value_of_a_repeated_key_is_kept_and_each_repeat_reported(value, layout, keep):
    """A key written more than once: the object holds the last (json.loads' value), values()
    gives each in text order, and `repeats` names every copy after the first."""
    text = dumped(value, layout)
    repeats: list = []
    root = jt.parse(text, keep=None if keep is None else frozenset(keep), repeats=repeats)
    expected = []
    for node in every_written(root):
        if node.kind != jt.OBJECT:
            continue
        pairs = json.loads(text[node.start : node.end], object_pairs_hook=list)
        for key, m in node.members.items():
            written = [v for k, v in pairs if k == key]
            values = node.values(key)
            assert [json.loads(text[n.start : n.end], object_pairs_hook=list) for n in values] == written
            chain = m.chain()
            assert chain[-1] is m and [c.node for c in chain] == values
            for c in chain:
                assert json.loads('"' + text[c.key_start : c.key_end] + '"') == key
            expected += [(key, c.key_start) for c in chain[1:]]
    assert sorted(expected, key=lambda e: e[1]) == sorted(((key, m.key_start) for key, m in repeats), key=lambda e: e[1])


@SETTINGS
@given(value=VALUES, layout=LAYOUTS)
def test_a_checked_skipped_value_is_doubled_exactly_when_a_key_repeats_inside(value, layout):
    """`checked` keys' skipped values are decoded as any skipped value (the same value) and
    listed in `doubled` when, and only when, an object inside writes a key twice."""
    text = dumped(value, layout)
    wrapped = '{"skip": ' + text + ', "other": ' + text + "}"
    doubled: list = []
    root = jt.parse(wrapped, keep=frozenset(), checked=frozenset({"skip"}), doubled=doubled)
    node = root.get("skip")
    assert node.kind == jt.SKIPPED and node.value == json.loads(text)
    repeats: list = []
    jt.parse(wrapped, node.start, node.end, repeats=repeats)
    assert doubled == ([node] if repeats else [])
    assert all(d is node for d in doubled)  # never the unchecked key's value


@SETTINGS
@given(
    value=VALUES, layout=LAYOUTS, at=st.integers(0, 10**6),
    change=st.sampled_from(["", ",", "}", "]", '"', ":", "\\", "x"]),
)
def test_a_broken_checked_value_gives_the_json_modules_first_error(value, layout, at, change):
    text = '{"skip": ' + dumped(value, layout) + "}"
    at = 9 + at % (len(text) - 9)
    broken = text[:at] + change + text[at + 1 :]
    try:
        expected = json.loads(broken)
    except json.JSONDecodeError as e:
        with pytest.raises(jt.Malformed) as raised:
            jt.parse(broken, keep=frozenset(), checked=frozenset({"skip"}), doubled=[])
        assert (raised.value.message, raised.value.offset) == (e.msg, e.pos)
    else:
        assert plain(jt.parse(broken, keep=frozenset(), checked=frozenset({"skip"}), doubled=[])) == expected
