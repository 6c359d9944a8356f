"""JSON read into a tree that remembers where every value sits in the text.

FHIR places are found by walking the resource (diagnosis[].diagnosisCodeableConcept.coding[]
…), and a finding needs the exact offset of the `code` string it names: the json module gives
values without positions, so containers are walked here while every scalar, and every subtree
nobody reads (narrative `text`, extensions, adjudications), goes to the json module's C
scanner, which decodes and validates it in one call. The whole text is still checked as JSON;
no position is ever found by searching for a string.

When the text is not JSON, `parse` raises Malformed with the json module's own message and
offset (the first error, as `json.loads` reports it).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from json.decoder import scanstring

from ..digits import long_integer_at, long_integer_message

_WS = re.compile(r"[ \t\n\r]*")
_SCAN = json.JSONDecoder().scan_once


class _Dropped(Exception):
    """An object inside a checked value wrote a key twice (the C scanner would keep the last)."""


def _once(pairs: list[tuple[str, object]]) -> dict:
    d = dict(pairs)
    if len(d) < len(pairs):
        raise _Dropped
    return d


# The same scan, told of each object's members as written: a value with a repeated key stops it.
_SCAN_CHECKED = json.JSONDecoder(object_pairs_hook=_once).scan_once

OBJECT, ARRAY, STRING, OTHER, SKIPPED = "object", "array", "string", "other", "skipped"


class Malformed(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


class _NoMembers(dict):
    """The members of every value that is not an object: one shared empty mapping, never
    written. A new dict and list per value made a third of a Bundle's tree, and most values
    are strings."""

    __slots__ = ()
    __hash__ = object.__hash__  # a default the dataclass accepts; one object, never compared

    def _refuse(self, *args, **kwargs):
        raise TypeError("a JSON value that is not an object has no members")

    __setitem__ = __delitem__ = setdefault = update = pop = popitem = clear = _refuse


_NO_MEMBERS = _NoMembers()


@dataclass(slots=True)
class Node:
    """One JSON value: [start, end) in the text. Strings: `value` is the decoded text and
    `exact` says whether the text between the quotes is that same text (no escapes)."""

    kind: str
    start: int
    end: int
    value: object = None
    members: dict[str, Member] = _NO_MEMBERS  # objects: their own dict
    items: list[Node] | tuple[()] = ()  # arrays: their own list
    exact: bool = True

    def get(self, key: str) -> Node | None:
        m = self.members.get(key)
        return m.node if m is not None else None

    def each(self, key: str) -> list[Node]:
        """The elements of an array member (or the member itself when it is not an array)."""
        node = self.get(key)
        if node is None:
            return []
        return node.items if node.kind == ARRAY else [node]

    def values(self, key: str) -> list[Node]:
        """Every value of a key, in text order: more than one when the key repeats."""
        m = self.members.get(key)
        return [] if m is None else [each.node for each in m.chain()]

    def text(self, key: str) -> str | None:
        node = self.get(key)
        return node.value if node is not None and node.kind == STRING else None

    @property
    def content_start(self) -> int:
        """Where a string's characters start (inside the quotes)."""
        return self.start + 1 if self.kind == STRING else self.start


@dataclass(slots=True)
class Member:
    key_start: int  # inside the quotes
    key_end: int
    node: Node
    # The member of the same key before this one in its object, when the key repeats (RFC 8259
    # says names SHOULD be unique; readers differ on which value they take). The object's dict
    # holds the last, as json.loads does; the earlier ones stay reachable from it.
    earlier: Member | None = None

    def chain(self) -> list[Member]:
        """This member and the earlier ones of its key, in text order."""
        out = [self]
        while out[-1].earlier is not None:
            out.append(out[-1].earlier)
        return out[::-1]


def parse(text: str, start: int = 0, end: int | None = None, keep: frozenset[str] | None = None,
          repeats: list[tuple[str, Member]] | None = None, checked: frozenset[str] = frozenset(),
          doubled: list[Node] | None = None) -> Node:
    """The single JSON value of text[start:end] (surrounding white space allowed). With `keep`,
    the values of other keys are validated but not built (kind SKIPPED: `value` holds them as
    the json module decodes them, without positions).

    With `repeats`, each repeated key of a built object is appended to it as (key, its member),
    once its value is read (an inner object's repeats come first), the member linked to the one before it (Member.earlier); only when the whole
    text parses. Keys repeated inside a skipped value are not seen: the C scanner keeps the last,
    except in the skipped values of `checked` keys (values a reader decodes): each that holds an
    object writing a key twice, at any depth, is appended to `doubled` (walk it again with
    positions to find where). Told in the same scan: a value without a repeat costs no more."""
    end = len(text) if end is None else end
    walk = _Walk(text, keep, checked)
    try:
        i = walk.ws(start)
        node = walk.value(i)
        rest = walk.ws(node.end)
        if rest < end:
            raise Malformed(rest, "Extra data")
        if node.end > end:
            raise Malformed(end, "Unexpected end of line")
        if repeats is not None:
            repeats.extend(walk.repeats)
        if doubled is not None:
            doubled.extend(walk.doubled)
        return node
    except (Malformed, RecursionError, IndexError, ValueError) as exc:
        raise _explained(text, start, end, exc) from None


def _explained(text: str, start: int, end: int, exc: Exception) -> Malformed:
    """The json module's own message and position for the first error."""
    try:
        json.loads(text[start:end])
    except json.JSONDecodeError as e:
        return Malformed(start + e.pos, e.msg)
    except RecursionError:
        return Malformed(start, "nested too deeply")
    except ValueError:  # valid JSON that int() refuses (see digits.long_integer_at)
        at = long_integer_at(text, start, end)
        if at is not None:
            return Malformed(at, long_integer_message())
    if isinstance(exc, Malformed):
        return exc
    return Malformed(start, "nested too deeply" if isinstance(exc, RecursionError) else str(exc))


# The common shapes in one match each (a plain key with its colon, a plain string, the
# separator after a value): most of the walk's cost was the calls per member. Anything else
# (escapes, control characters, errors) takes the general path, which the json module checks.
_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_IN_OBJECT = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_IN_ARRAY = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


class _Walk:
    def __init__(self, text: str, keep: frozenset[str] | None, checked: frozenset[str] = frozenset()):
        self.s = text
        self.keep = keep
        self.checked = checked
        self.repeats: list[tuple[str, Member]] = []
        self.doubled: list[Node] = []

    def ws(self, i: int) -> int:
        return _WS.match(self.s, i).end()

    def value(self, i: int) -> Node:
        s = self.s
        c = s[i : i + 1]
        if c == "{":
            return self.obj(i)
        if c == "[":
            return self.arr(i)
        if c == '"':
            m = _PLAIN_STRING.match(s, i)
            if m is not None:
                return Node(STRING, i, m.end(), m.group(1))
            value, end = scanstring(s, i + 1)
            return Node(STRING, i, end, value, exact=(end - i - 2 == len(value) and s.find("\\", i, end) < 0))
        return self.scalar(i, OTHER)

    def scalar(self, i: int, kind: str) -> Node:
        try:
            value, end = _SCAN(self.s, i)
        except StopIteration:
            raise Malformed(i, "Expecting value") from None
        return Node(kind, i, end, value)

    def obj(self, i: int) -> Node:
        # The loop every member goes through: locals instead of attribute look-ups.
        s, ws, keep, checked, members, key_at, after, intern = self.s, _WS.match, self.keep, self.checked, {}, _KEY.match, _IN_OBJECT.match, sys.intern
        node = Node(OBJECT, i, i, members=members)
        i = ws(s, i + 1).end()
        if s.startswith("}", i):
            node.end = i + 1
            return node
        while True:
            m = key_at(s, i)
            if m is not None:
                # One string per key name, not one per member (a Bundle repeats a few names
                # millions of times).
                key, key_start, key_end, i = intern(m.group(1)), i + 1, m.end(1), m.end()
            else:
                if not s.startswith('"', i):
                    raise Malformed(i, "Expecting property name")
                key, kend = scanstring(s, i + 1)
                key_start, key_end = i + 1, kend - 1
                i = ws(s, kend).end()
                if not s.startswith(":", i):
                    raise Malformed(i, "Expecting ':'")
                i = ws(s, i + 1).end()
            if keep is not None and key not in keep:
                doubled = False
                try:
                    if key in checked:
                        try:
                            value, vend = _SCAN_CHECKED(s, i)
                        except _Dropped:
                            doubled = True
                            value, vend = _SCAN(s, i)  # its value (and first error) as ever
                    else:
                        value, vend = _SCAN(s, i)
                except StopIteration:
                    raise Malformed(i, "Expecting value") from None
                child = Node(SKIPPED, i, vend, value)  # decoded anyway: kept for readers that need no positions
                if doubled:
                    self.doubled.append(child)
            else:
                child = self.value(i)
            if key in members:  # a repeated key: the last wins, as in json.loads
                member = Member(key_start, key_end, child, members[key])
                self.repeats.append((key, member))
                members[key] = member
            else:
                members[key] = Member(key_start, key_end, child)
            m = after(s, child.end)
            if m is None:
                raise Malformed(ws(s, child.end).end(), "Expecting ',' delimiter")
            if m.group(1) == "}":
                node.end = m.end(1)
                return node
            i = m.end()

    def arr(self, i: int) -> Node:
        s, after = self.s, _IN_ARRAY.match
        items: list[Node] = []
        node = Node(ARRAY, i, i, items=items)
        i = self.ws(i + 1)
        if s.startswith("]", i):
            node.end = i + 1
            return node
        while True:
            child = self.value(i)
            items.append(child)
            m = after(s, child.end)
            if m is None:
                raise Malformed(self.ws(child.end), "Expecting ',' delimiter")
            if m.group(1) == "]":
                node.end = m.end(1)
                return node
            i = m.end()
