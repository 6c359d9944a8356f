"""CMS hospital price transparency files in JSON (template v2.x and v3.0).

Every `standard_charge_information[i].code_information[j]` pair becomes a Slot: the `code`
string with the exact offset of its content in the text, and the set its `type` names.

Positions come from a small walk of our own along the one path that holds codes
(top level -> standard_charge_information[] -> code_information[] -> code / type); every
other value is handed to the json module's C scanner, which validates and skips it in one call.
So the whole text is still checked as JSON (malformed -> None) without building the payer
tree of a file that can run to hundreds of megabytes, and no position is ever guessed by
searching for a string.

Nothing is kept per code entry but its Slot (its place in words and the hover headers of its
`code` and `type` keys are worked out again from the text when asked) and the offsets where
entries begin, so a dense file costs a few times its size, not a dozen.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterator
from json.decoder import scanstring

from .. import reading as r
from .. import repeated_keys
from ..digits import long_integer_at, long_integer_message
from ..findings import HPT_STRUCTURE, UNKNOWN_CODE_TYPE, Finding, Severity
from ..places import Slot
from ..reading import Header, Reading
from .hpt_dates import FORMS, last_updated_on
from .slot_table import SlotTable
from .hpt_vocabulary import GENERAL_HEADERS, TYPE_NAMES, V3_TYPES, types_for, unknown_version, version_label

# Top-level keys: the CSV row-1 elements the JSON shares (one dictionary for both), and the
# JSON's own objects.
TOP_LEVEL_MEANINGS: dict[str, str] = {
    **{key: GENERAL_HEADERS[key] for key in (
        "hospital_name", "last_updated_on", "version", "location_name", "hospital_location",
        "hospital_address", "type_2_npi", "financial_aid_policy", "general_contract_provisions",
    ) if key in GENERAL_HEADERS},
    "license_information": (
        "Hospital licensure information: the hospital license number and the two-letter state or territory that issued it."
    ),
    "attestation": (
        "Attestation (v3.0): the CMS-defined statement that the information is true, accurate and complete, "
        "its confirmation, and the attester's name."
    ),
    "affirmation": (
        "Affirmation (v2.x; the attestation from v3.0): the CMS-defined statement that the hospital has included "
        "all applicable standard charge information, and its confirmation."
    ),
    "modifier_information": "Modifiers that may change the standard charges, with the payer-specific effect of each.",
    "standard_charge_information": (
        "The items and services, each with a description, its codes (code_information) and its standard charges."
    ),
}

CODE_INFORMATION_MEANINGS: dict[str, str] = {
    "code_information": "the codes that identify this item or service, each with its type",
    "code": "a code that identifies the item or service; its set is named by `type`",
    "type": "the code type (CPT, HCPCS, ICD, MS-DRG, RC, NDC, LOCAL, …) that says which set `code` belongs to",
}

_WS = re.compile(r"[ \t\n\r]*")
# Fast paths, taken only where they match (otherwise the exact walk below reads the same
# text, errors included): a key without escapes or control characters and the colon after it;
# the comma or closing bracket after a value; a code entry of just a code and a type string.
_STR = r'"([^"\\\x00-\x1f]*)"'
_KEY = re.compile(r"[ \t\n\r]*" + _STR + r"[ \t\n\r]*:[ \t\n\r]*")
_NEXT = re.compile(r"[ \t\n\r]*([,}\]])[ \t\n\r]*")
_ENTRY = re.compile(
    r"\{[ \t\n\r]*\"(code|type)\"[ \t\n\r]*:[ \t\n\r]*" + _STR
    + r"[ \t\n\r]*,[ \t\n\r]*\"(code|type)\"[ \t\n\r]*:[ \t\n\r]*" + _STR + r"[ \t\n\r]*\}"
)
# The same entry and the comma or closing bracket after it, for runs of entries read from the memo.
_ENTRY_NEXT = re.compile(_ENTRY.pattern + r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_SCAN = json.JSONDecoder().scan_once
_INT = re.compile(r"-?\d+")


class _Malformed(Exception):
    pass


@dataclass(slots=True)
class _Token:
    """One scalar value on the code path: decoded value, content start (inside the quotes for
    strings) and the raw text there."""

    value: object
    start: int
    raw: str

    @property
    def is_string(self) -> bool:
        return isinstance(self.value, str)

    @property
    def exact(self) -> bool:
        """The decoded text is exactly what the document holds at start (no escapes)."""
        return not self.is_string or self.raw == self.value


def looks_like_price_json(text: str) -> bool:
    """Both top-level keys of a CMS price file somewhere in the text (a cheap refusal)."""
    return '"standard_charge_information"' in text and '"hospital_name"' in text


def read(text: str) -> Reading | None:
    """A Reading of a CMS HPT JSON file, or None when the text is not one.

    A file that names both top-level keys but is not valid JSON (a missing comma, a truncated
    file) is still a price file: its reading holds the codes read before the error and an
    `hpt-structure` error at the offending offset, never silence."""
    if not looks_like_price_json(text):
        return None  # cheap refusal for every other JSON document
    walk = _Walk(text)
    try:
        return walk.document()
    except _Malformed as exc:
        where, why = exc.args[0], exc.args[1] if len(exc.args) > 1 else "unexpected text"
    except json.JSONDecodeError as exc:
        where, why = exc.pos, exc.msg
    except (ValueError, StopIteration, IndexError) as exc:
        where, why = walk.at, type(exc).__name__
        at = long_integer_at(text, walk.at) if isinstance(exc, ValueError) else None
        if at is not None:  # valid JSON that int() refuses
            where, why = at, long_integer_message()
    except RecursionError:
        where, why = walk.at, "nested too deeply to read"
    return walk.broken(min(max(where, 0), len(text)), why)


class _Walk:
    def __init__(self, text: str) -> None:
        self.s = text
        self.top: dict[str, _Token | None] = {}
        self.headers: list[Header] = []
        self.out = Reading(r.HPT_JSON, headers=self.headers)
        self.types: dict[str, str] | None = None  # of the version, once "version" was read
        self.pending: list[dict[str, _Token]] = []  # entries read before "version"
        self.at = 0  # where the last value began (for errors without an offset)
        self.top_keys: list[tuple[str, int, int, int]] = []  # (key, its start and end, its value's start)
        self.not_lists: list[tuple[int, int, str]] = []  # code_information keys (and values) whose value is no array
        # Strings every entry repeats, kept once (a 25 MB file has 700,000 code entries).
        self._labels: dict[str | None, str] = {}
        self._type_names: dict[str, str] = {}
        self._plans: dict[tuple[str, str], tuple] = {}  # (code, type) texts -> what entry() does with them
        # (code, type) texts of plain entries that make no finding -> (slot kind or -1 for no slot,
        # the code's lead, whether the type has an offset): such an entry is one add_kind, with
        # no tokens built (most entries of a file repeat a pair already seen).
        self._added: dict[tuple[str, str], tuple[int, int, bool]] = {}
        # Where things begin, in text order: each standard_charge_information array ('['), each of
        # its elements, each code_information key and each element of its array. From these a
        # slot's place and the headers under the cursor are found again (see _Places, _Headers).
        self.arrays, self.items, self.lists, self.entries = array("q"), array("q"), array("q"), array("q")
        self.places = _Places(self.arrays, self.items, self.lists, self.entries)  # shared by every slot
        # The slots as int columns; each is made again as a _JsonSlot when asked for.
        places = self.places
        self.out.slots = SlotTable(lambda text, start, expects, _place, qualifier, qual_start, label: _JsonSlot(
            places, text, start, expects, qualifier, qual_start, label), size=len(self.s))

    # -- JSON primitives (positions tracked, values decoded by the json module) --------------
    def ws(self, i: int) -> int:
        return _WS.match(self.s, i).end()

    def skip(self, i: int) -> tuple[object, int]:
        """Decode (and so validate) one value at i; its value and end."""
        self.at = i
        try:
            return _SCAN(self.s, i)
        except StopIteration:
            raise _Malformed(i, "expecting a value" if i < len(self.s) else "the file ends here") from None

    def scalar(self, i: int) -> tuple[_Token, int]:
        value, end = self.skip(i)
        if self.s.startswith('"', i):
            return _Token(value, i + 1, self.s[i + 1 : end - 1]), end
        return _Token(value, i, self.s[i:end]), end

    def members(self, i: int, member) -> int:
        """Walk an object at i ('{'); member(key, key_start, key_end, value_start) -> value end."""
        s = self.s
        i = _WS.match(s, i + 1).end()
        if s.startswith("}", i):
            return i + 1
        key_match, next_match = _KEY.match, _NEXT.match
        while True:
            m = key_match(s, i)
            if m is not None:
                key = m.group(1)
                key_start, key_end = m.span(1)
                i = m.end()
            else:
                if not s.startswith('"', i):
                    raise _Malformed(i, "expecting a key in double quotes" if i < len(s) else "the file ends inside an object")
                key, end = scanstring(s, i + 1)
                key_start, key_end = i + 1, end - 1
                i = self.ws(end)
                if not s.startswith(":", i):
                    raise _Malformed(i, "expecting ':' after a key")
                i = self.ws(i + 1)
            i = member(key, key_start, key_end, i)
            m = next_match(s, i)
            if m is not None:
                sep = m.group(1)
                if sep == ",":
                    i = m.end()
                    continue
                if sep == "}":
                    return m.end(1)
            i = self.ws(i)
            if self._closes(i, "}", "object"):
                return i + 1
            i = self.ws(i + 1)

    def elements(self, i: int, element) -> int:
        """Walk an array at i ('['); element(value_start) -> value end."""
        i = _WS.match(self.s, i + 1).end()
        if self.s.startswith("]", i):
            return i + 1
        return self.elements_from(i, element)

    def elements_from(self, i: int, element) -> int:
        """Walk the rest of an array from the start of one of its elements."""
        s = self.s
        next_match = _NEXT.match
        while True:
            i = element(i)
            m = next_match(s, i)
            if m is not None:
                sep = m.group(1)
                if sep == ",":
                    i = m.end()
                    continue
                if sep == "]":
                    return m.end(1)
            i = self.ws(i)
            if self._closes(i, "]", "array"):
                return i + 1
            i = self.ws(i + 1)

    def _closes(self, i: int, close: str, container: str) -> bool:
        """After a member or element: True at the closing bracket, False at a comma."""
        s = self.s
        if s.startswith(",", i):
            return False
        if s.startswith(close, i):
            return True
        raise _Malformed(i, f"expecting ',' or '{close}'" if i < len(s) else f"the file ends inside an {container}")

    # -- the code path -----------------------------------------------------------------------
    def document(self) -> Reading | None:
        s = self.s
        i = self.ws(1 if s.startswith("\ufeff") else 0)
        if not s.startswith("{", i):
            return None
        end = self.members(i, self.top_member)
        if self.ws(end) != len(s):
            raise _Malformed(self.ws(end), "text after the end of the JSON document")  # json.loads would refuse it too
        if "hospital_name" not in self.top or "standard_charge_information" not in self.top:
            return None
        return self.reading()

    def broken(self, where: int, why: str) -> Reading:
        """The reading of a file that stops being JSON at `where`: what was read before it,
        and the error."""
        out = self.reading()
        line = self.s.count("\n", 0, where) + 1
        end = min(where + 1, len(self.s))
        if end == where and where > 0:
            where -= 1  # the file ends here: mark its last character
        out.problems.append(Finding(
            HPT_STRUCTURE,
            f"not valid JSON from here (line {line}): {why}; codes after this point are not checked",
            where, max(end, where + 1), severity=Severity.ERROR,
        ))
        out.problems.sort(key=lambda f: f.start)
        return out

    def top_member(self, key: str, ks: int, ke: int, i: int) -> int:
        self.top_keys.append((key, ks, ke, i))
        if key in TOP_LEVEL_MEANINGS:
            self.headers.append(Header(ks, ke, key, TOP_LEVEL_MEANINGS[key]))
        if key == "standard_charge_information" and self.s.startswith("[", i):
            self.top[key] = None
            self.arrays.append(i)
            return self.elements(i, self.charge_item)
        token, end = self.scalar(i)
        self.top[key] = token
        if key == "version":
            self._plans.clear()  # a repeated version key: the messages name the last one
            self._added.clear()
        return end

    def entry_key(self, ks: int, ke: int, key: str) -> None:
        """A code_information, code or type key inside an item: found again on demand (_Headers)."""

    def charge_item(self, i: int) -> int:
        self.items.append(i)
        if not self.s.startswith("{", i):
            return self.skip(i)[1]
        before, others = len(self.lists), len(self.not_lists)
        end = self.members(i, self.item_member)
        if len(self.lists) - before + len(self.not_lists) - others > 1:  # code_information twice: each list was read
            copies = sorted([(ks, scanstring(self.s, ks)[1] - 1, "[") for ks in self.lists[before:]] + self.not_lists[others:])
            spans = [(ks, ke) for ks, ke, _ in copies]
            self.repeated("code_information", spans, [value for _, _, value in copies], repeated_keys.CODES_OF_EACH, "this object")
        return end

    def item_member(self, key: str, ks: int, ke: int, v: int) -> int:
        if key == "code_information":
            if self.s.startswith("[", v):
                self.lists.append(ks)
                self.entry_key(ks, ke, "code_information")
                return self.code_list(v)
            # Not an array: no code in it is read, and a repeat with an array beside it is said.
            end = self.skip(v)[1]
            self.not_lists.append((ks, ke, repeated_keys.written(self.s, v, end)))
            return end
        return self.skip(v)[1]

    def code_list(self, i: int) -> int:
        """The code_information array at i ('['), as elements(i, self.code_entry) reads it; a
        plain {"code": "…", "type": "…"} entry whose pair is in the memo (read before, no
        finding) is one add_kind, and one match with the separator after it."""
        s = self.s
        i = _WS.match(s, i + 1).end()
        if s.startswith("]", i):
            return i + 1
        match, added, entries, add_kind = _ENTRY_NEXT.match, self._added, self.entries, self.out.slots.add_kind  # type: ignore[attr-defined]
        while (m := match(s, i)) is not None:
            k1, v1, k2, v2, sep = m.group(1, 2, 3, 4, 5)
            if k1 == k2:
                break  # one key twice: the exact reading below
            if k1 == "code":
                memo, code_at, kind_at = added.get((v1, v2)), m.start(2), m.start(4)
            else:
                memo, code_at, kind_at = added.get((v2, v1)), m.start(4), m.start(2)
            if memo is None:  # only ever filled once the version is known
                break
            entries.append(i)
            k, lead, qualified = memo
            if k >= 0:
                add_kind(k, code_at + lead, kind_at if qualified else -1)
            if sep == "]":
                return m.end(5)
            i = m.end()
        return self.elements_from(i, self.code_entry)

    def code_entry(self, i: int) -> int:
        self.entries.append(i)
        m = _ENTRY.match(self.s, i)
        if m is not None:
            k1, v1, k2, v2 = m.group(1, 2, 3, 4)
            if k1 != k2:  # one key twice: the exact reading below, which says so
                # {"code": "…", "type": "…"} (either order), no escapes: read in one match.
                key1 = "code" if k1 == "code" else "type"  # the shared strings, as below
                key2 = "code" if k2 == "code" else "type"
                self.entry_key(m.start(1), m.end(1), key1)
                self.entry_key(m.start(3), m.end(3), key2)
                self.entry({key1: _Token(v1, m.start(2), v1), key2: _Token(v2, m.start(4), v2)})
                return m.end()
        if not self.s.startswith("{", i):
            return self.skip(i)[1]
        found: dict[str, _Token] = {}
        earlier: list[tuple[str, _Token]] = []  # the values a repeated code or type key replaced

        def member(key: str, ks: int, ke: int, v: int) -> int:
            if key in ("code", "type"):
                key = "code" if key == "code" else "type"  # the shared string, not one per entry
                self.entry_key(ks, ke, key)
                if key in found:
                    earlier.append((key, found[key]))
                found[key], end = self.scalar(v)  # a repeated type: the last wins, as in json.loads
                return end
            return self.skip(v)[1]

        end = self.members(i, member)
        if earlier:
            self.entry_repeats(i, earlier, found)
        self.entry(found)
        return end

    def entry_repeats(self, i: int, earlier: list[tuple[str, _Token]], found: dict[str, _Token]) -> None:
        """An entry at i that writes `code` or `type` more than once: a finding at each repeat,
        and every code checked (a repeated code would hide one whichever medcode took), with
        the entry's type (the last)."""
        kind = found.get("type")
        for key, code in earlier:
            if key == "code":
                self.entry({"code": code, "type": kind} if kind is not None else {"code": code})
        spans: dict[str, list[tuple[int, int]]] = {"code": [], "type": []}

        def member(key: str, ks: int, ke: int, v: int) -> int:
            if key in spans:
                spans[key].append((ks, ke))
            return self.skip(v)[1]

        self.members(i, member)  # again, for where the keys are (an entry is small)
        for key, reads, where in (("code", repeated_keys.EACH_CODE, "this code_information entry"), ("type", repeated_keys.LAST, "this object")):
            if len(spans[key]) > 1:
                values = [_written(token) for k, token in earlier if k == key] + [_written(found[key])]
                self.repeated(key, spans[key], values, reads, where)

    def repeated(self, key: str, spans: list[tuple[int, int]], values: list[str], reads: str, where: str) -> None:
        """A finding at each repeat of a key: spans are where its copies are (inside their
        quotes), values their values as written (repeated_keys.message)."""
        for at, (ks, ke) in enumerate(spans[1:], start=2):
            self.out.problems.append(Finding(HPT_STRUCTURE, repeated_keys.message(self.s[ks:ke], where, values, at, reads), ks - 1, ke + 1))

    def top_repeats(self) -> None:
        """The top-level keys written more than once; every standard_charge_information array is read."""
        copies: dict[str, list[tuple[int, int, int]]] = {}
        for key, ks, ke, v in self.top_keys:
            copies.setdefault(key, []).append((ks, ke, v))
        for key, spans in copies.items():
            if len(spans) > 1:
                reads = repeated_keys.CODES_OF_EACH if key == "standard_charge_information" else repeated_keys.LAST
                self.repeated(key, [(ks, ke) for ks, ke, _ in spans], [self._written_at(v) for _, _, v in spans], reads, "this object")

    def _written_at(self, v: int) -> str:
        """A top-level value as repeated_keys shows it; in a broken file, perhaps cut short."""
        s = self.s
        if s.startswith(("{", "["), v):
            return s[v]
        try:
            end = _SCAN(s, v)[1]
        except (StopIteration, ValueError, RecursionError):
            end = len(s)
        return repeated_keys.written(s, v, end)

    # -- the reading ---------------------------------------------------------------------------
    def _version(self) -> str | None:
        token = self.top.get("version")
        return token.value if token is not None and token.is_string else None

    def entry(self, found: dict[str, _Token]) -> None:
        """One code_information entry, turned into its slot at once: nothing per entry is
        kept but the slot and its findings (strings shared among entries)."""
        if "version" not in self.top:
            self.pending.append(found)  # its types wait for the version
            return
        out = self.out
        code, kind = found.get("code"), found.get("type")
        # What an entry says hangs on its code and type texts alone, not on where they are:
        # worked out once per distinct pair of plain strings (codes repeat across items).
        key = self._plan_key(code, kind)
        if key is not None:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._plan(code, kind)
        else:
            plan = self._plan(code, kind)
        unknown, lead, slot_text, expects, type_name, qualified, label = plan
        if unknown is None and key is not None and slot_text is None:
            self._added[key] = (-1, lead, qualified)
        if unknown is not None:
            out.problems.append(Finding(UNKNOWN_CODE_TYPE, unknown, kind.start, kind.start + len(kind.raw),  # type: ignore[union-attr]
                                        code=code.value if code is not None and code.is_string else ""))
        if slot_text is None:
            return
        start = code.start + lead  # type: ignore[union-attr]
        if type_name is None:
            out.problems.append(
                Finding(UNKNOWN_CODE_TYPE, f"code {slot_text} has no type: code_information needs a type such as CPT or HCPCS",
                        start, start + len(slot_text), code=slot_text)
            )
        k = out.slots.add(slot_text, start, expects, "", type_name, kind.start if qualified else None, label)  # type: ignore[attr-defined,union-attr]
        if unknown is None and key is not None and type_name is not None:
            self._added[key] = (k, lead, qualified)

    @staticmethod
    def _plan_key(code: _Token | None, kind: _Token | None) -> tuple[str, str] | None:
        """The memo key of an entry whose code and type are strings written as they read."""
        if code is not None and kind is not None and code.raw is code.value and kind.raw is kind.value:
            return code.value, kind.value
        return None

    def _plan(self, code: _Token | None, kind: _Token | None) -> tuple:
        """(unknown-type message or None, the code's lead, its slot text or None, expected set,
        type name, whether the type has an offset, label) of an entry, wherever it is."""
        version = self._version()
        if self.types is None:
            self.types = types_for(version)
        types = self.types
        type_name = kind.value if kind is not None and kind.is_string else None
        expects = unknown = None
        if type_name is not None:
            # CMS's validator accepts code types in any case and with stray spaces (CSV);
            # such a type still says clearly which set is meant.
            expects = types.get(type_name.strip().upper())
            if expects is None and kind.exact:  # type: ignore[union-attr]
                unknown = self._unknown_type(kind, type_name, version, types, code).message  # type: ignore[arg-type]
            type_name = self._type_names.setdefault(type_name, type_name)
        slot_text, start = _code_text(code)
        if slot_text is None:
            return unknown, 0, None, None, None, False, ""
        label = self._labels.get(type_name)
        if label is None:
            label = self._labels[type_name] = f"code (type {type_name})" if type_name is not None else "code (no type)"
        qualified = kind is not None and kind.is_string and kind.exact
        return unknown, start - code.start, slot_text, expects, type_name, qualified, label  # type: ignore[union-attr]

    def reading(self) -> Reading:
        out = self.out
        token = self.top.get("version")
        wrong = unknown_version(token.value) if token is not None and token.is_string else None
        if wrong is not None and token.exact:
            out.problems.append(Finding(HPT_STRUCTURE, wrong, token.start, token.start + len(token.raw)))
        self.top_repeats()
        pending, self.pending = self.pending, []
        self.top.setdefault("version", None)
        for entry in pending:
            self.entry(entry)
        out.version = self._version()
        out.more_headers = _Headers(self.s, self.lists, self.entries, self.types or types_for(out.version))
        token = self.top.get("last_updated_on")
        out.day = _day(token)
        if out.day is None and token is not None and token.is_string and token.value.strip():
            # As in CSV: a date medcode cannot read means codes are judged on another day.
            end = token.start + len(token.raw)
            out.problems.append(Finding(HPT_STRUCTURE, f"last_updated_on {token.value!r} is not a date: write it as {FORMS}", token.start, end))
        out.slots.sort_by_start()  # type: ignore[attr-defined]
        out.problems.sort(key=lambda f: f.start)
        out.headers.sort(key=lambda h: h.start)
        return out

    @staticmethod
    def _unknown_type(kind: _Token, name: str, version: str | None, types: dict[str, str], code: _Token | None) -> Finding:
        which = version_label(version)
        if name.strip().upper() in V3_TYPES:
            message = f'code type "{name}" is new in template version 3.0; {which} does not define it'
        else:
            message = f'"{name}" is not a code type of {which} (one of: {", ".join(types)})'
        return Finding(UNKNOWN_CODE_TYPE, message, kind.start, kind.start + len(kind.raw),
                       code=code.value if code is not None and code.is_string else "")


class _EntryHeaders(_Walk):
    """The walk of one code_information entry again, keeping what hover explains: its code and
    type keys, and its type value when that names a type of the file's version."""

    def __init__(self, text: str, types: dict[str, str]) -> None:
        super().__init__(text)
        self.types = types
        self.top["version"] = None  # entries are judged at once, never left pending

    def entry_key(self, ks: int, ke: int, key: str) -> None:
        self.headers.append(Header(ks, ke, key, CODE_INFORMATION_MEANINGS[key]))

    def entry_repeats(self, i: int, earlier: list[tuple[str, _Token]], found: dict[str, _Token]) -> None:
        """Said by the first walk; the type's header is the entry's, made once (entry())."""

    def entry(self, found: dict[str, _Token]) -> None:
        kind = found.get("type")
        if kind is not None and kind.is_string and kind.exact and self.types.get(kind.value.strip().upper()) is not None:
            self.headers.append(Header(kind.start, kind.start + len(kind.raw), kind.value, _type_meaning(kind.value)))

    def headers_at(self, i: int) -> list[Header]:
        try:
            self.code_entry(i)
        except (_Malformed, ValueError, StopIteration, IndexError, RecursionError):
            pass  # a broken file: the headers read before the error, as the first walk had them
        return self.headers


class _Headers:
    """The headers inside standard_charge_information, found from the text when asked."""

    def __init__(self, text: str, lists: array, entries: array, types: dict[str, str]) -> None:
        self.s, self.lists, self.entries, self.types = text, lists, entries, types

    def _list_key(self, ks: int) -> Header:
        return Header(ks, scanstring(self.s, ks + 1)[1] - 1, "code_information", CODE_INFORMATION_MEANINGS["code_information"])

    def at(self, offset: int) -> Header | None:
        k = bisect_right(self.lists, offset) - 1
        if k >= 0:
            header = self._list_key(self.lists[k])
            if header.start <= offset <= header.end:
                return header
        k = bisect_right(self.entries, offset) - 1
        if k < 0:
            return None
        entry = _EntryHeaders(self.s, self.types).headers_at(self.entries[k])
        return next((h for h in entry if h.start <= offset <= h.end), None)

    def all(self) -> Iterator[Header]:
        for ks in self.lists:
            yield self._list_key(ks)
        for i in self.entries:
            yield from _EntryHeaders(self.s, self.types).headers_at(i)


class _Places:
    """A slot's place in words ("standard_charge_information[3].code_information[1]") from the
    offsets where arrays and their elements begin: kept as one string per slot, the places of a
    dense file would outweigh the file."""

    def __init__(self, arrays: array, items: array, lists: array, entries: array) -> None:
        self.arrays, self.items, self.lists, self.entries = arrays, items, lists, entries

    @staticmethod
    def _index(elements: array, containers: array, offset: int) -> int:
        """Which element of its container (an array, or the key before it) offset lies in."""
        container = containers[bisect_right(containers, offset) - 1]
        return bisect_right(elements, offset) - 1 - bisect_right(elements, container)

    def of(self, offset: int) -> str:
        n = self._index(self.items, self.arrays, offset)
        j = self._index(self.entries, self.lists, offset)
        return f"standard_charge_information[{n}].code_information[{j}]"


class _JsonSlot(Slot):
    """A Slot whose place is worked out when asked (hover), not kept as a string, and whose
    type's offset is kept as its distance from the code: nearly always a small int, which
    Python shares, where an offset is an object of its own."""

    __slots__ = ("_places", "_qual")

    def __init__(self, places: _Places, text: str, start: int, expects: str | None, qualifier: str | None,
                 qual_start: int | None, label: str) -> None:
        self._places = places
        self.text, self.start, self.expects = text, start, expects
        self.qualifier, self.label = qualifier, label
        self._qual = None if qual_start is None else qual_start - start
        self.diagnosis, self.line, self.hint = False, None, False

    @property
    def place(self) -> str:  # type: ignore[override]
        return self._places.of(self.start)

    @property
    def qual_start(self) -> int | None:  # type: ignore[override]
        return None if self._qual is None else self.start + self._qual


def _type_meaning(name: str) -> str:
    key = name.strip().upper()
    return f"code type {key}: {TYPE_NAMES.get(key, key)}"


def _code_text(code: _Token | None) -> tuple[str | None, int]:
    """The code as written and where it starts, or None when there is nothing to check.

    Surrounding spaces are left out of the slot; a string with JSON escapes is skipped, as its
    decoded text is not what the document holds at that offset (and codes never need one).
    An integer written where a string belongs is still a code as written."""
    if code is None:
        return None, 0
    if code.is_string:
        if not code.exact:
            return None, 0
        text = code.value
        stripped = text.strip()
        if not stripped:
            return None, 0
        return stripped, code.start + (len(text) - len(text.lstrip()))
    if isinstance(code.value, int) and not isinstance(code.value, bool) and _INT.fullmatch(code.raw):
        return code.raw, code.start
    return None, 0


def _written(token: _Token) -> str:
    """A scalar value as written (repeated_keys.message)."""
    return repeated_keys.written(f'"{token.raw}"' if token.is_string else token.raw, 0, len(token.raw) + 2)


def _day(token: _Token | None) -> dt.date | None:
    if token is None or not token.is_string:
        return None
    return last_updated_on(token.value)
