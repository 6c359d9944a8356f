"""Codes in clinical documentation templates (Markdown or plain text).

A code is read only where the text says which set it belongs to (formats.md §3.2):

- tier A, prefixes: `ICD-10-CM: E11.9, I10`, `CPT® 99214-25`, `HCPCS: J1100`, `cpt:99213`;
- tier B, structure: YAML front matter `codes:`, Markdown tables whose header names a set,
  and a dotted ICD-10-CM code in parentheses after words (`Type 2 diabetes (E11.9)`);
- tier C, bare dotted ICD-10-CM shapes: only with bare_hints, and only ever as hints.

Nothing is read inside an exclusion zone: `medcode: off` regions, fenced code blocks, template
syntax (SmartLinks, SmartLists, `***`, Jinja), URLs, e-mail addresses, dates, times, phone
numbers, vitals and other small fractions, numbers with units, version strings.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from itertools import pairwise
from dataclasses import dataclass

from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM

from .. import reading as r
from ..places import Slot, set_label
from ..reading import Reading
from . import patterns as p

_FRONT_OPEN = re.compile(r"\ufeff?---[ \t]*\r?\n")
_FRONT_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_FM_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w\-]*)[ \t]*:(?:[ \t]+|$)(?P<value>.*)$")
_FM_CHILD = re.compile(r"^(?P<indent>[ \t]+)(?P<q>[\"']?)(?P<key>[^\"':#\s][^\"':#]*?)(?P=q)[ \t]*:(?:[ \t]+|$)(?P<value>.*)$")
_FM_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<value>.*)$")
_FLOW_ITEM = re.compile(r"[^,\[\]]+")
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
_PLACEHOLDERS = frozenset({"-", "--", "—", "–", "n/a", "na", "none", "tbd", "?", "...", "…", "x"})
_WRAPPERS = "*_`\"'"


@dataclass(slots=True)
class _Line:
    start: int
    text: str  # without the line break

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def read(text: str, bare_hints: bool = False) -> Reading:
    """Every code place of a Markdown / text document (always a Reading, maybe without slots)."""
    out = Reading(r.TEMPLATE)
    lines = _lines(text)
    body_start, found, out.day = _front_matter(text, lines)
    zones = _Zones(text, lines, body_start)
    found += _tables(text, lines, zones)
    found += _prefixed(text, zones)
    found += _parenthesised(text, zones)
    if bare_hints:
        found += _bare(text, zones)
    seen: set[int] = set()
    for slot in found:  # earlier (more trusted) readings win where two claim the same place
        if slot.start not in seen and slot.text:
            seen.add(slot.start)
            out.slots.append(slot)
    out.slots.sort(key=lambda s: s.start)
    return out


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        out.append(_Line(pos, body))
        pos += len(raw)
    return out


# -- exclusion zones -------------------------------------------------------------------------------


class _Zones:
    """Sorted, merged [start, end) ranges where nothing is recognised."""

    def __init__(self, text: str, lines: list[_Line], body_start: int) -> None:
        regions = _off_regions(text) + _fences(lines) + ([(0, body_start)] if body_start else [])
        spans = list(regions)
        for pattern in p.ZONE_PATTERNS:
            spans += [m.span() for m in pattern.finditer(text, body_start)]
        spans += [m.span() for m in p.IGNORE_NEXT_LINE_RE.finditer(text, body_start)]
        spans.sort()
        merged: list[list[int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]
        # Fences and off regions also hide table structure (a table inside a code block).
        self.regions = sorted(regions)

    def hit(self, start: int, end: int) -> bool:
        """Does [start, end) overlap a zone?"""
        i = bisect_right(self.starts, start) - 1
        if i >= 0 and self.ends[i] > start:
            return True
        j = i + 1
        return j < len(self.starts) and self.starts[j] < end

    def in_region(self, pos: int) -> bool:
        return any(s <= pos < e for s, e in self.regions)


def _off_regions(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    while True:
        off = p.OFF_RE.search(text, pos)
        if off is None:
            return out
        on = p.ON_RE.search(text, off.end())
        end = on.end() if on else len(text)
        out.append((off.start(), end))
        pos = end


def _fences(lines: list[_Line]) -> list[tuple[int, int]]:
    """Fenced code blocks (``` or ~~~), an unclosed one running to the end."""
    out = []
    opening: tuple[int, str] | None = None
    for line in lines:
        m = p.FENCE_RE.match(line.text)
        if opening is None:
            if m:
                opening = (line.start, m.group(1))
        elif m and m.group(1)[0] == opening[1][0] and len(m.group(1)) >= len(opening[1]) and not line.text[m.end():].strip():
            out.append((opening[0], line.end))
            opening = None
    if opening is not None:
        out.append((opening[0], lines[-1].end))
    return out


# -- front matter ------------------------------------------------------------------------------------


def _front_matter(text: str, lines: list[_Line]) -> tuple[int, list[Slot], dt.date | None]:
    """(where the body starts, the codes of `codes:`, date_of_service) of a YAML front matter.

    Read line by line for exactly the shapes documented (a mapping of set names to a flow list,
    a block list or one scalar), so every offset is exact; other keys are ignored."""
    if not _FRONT_OPEN.match(text) or len(lines) < 2:
        return 0, [], None
    close = next((i for i in range(1, len(lines)) if _FRONT_CLOSE.match(lines[i].text)), None)
    if close is None:
        return 0, [], None
    body_start = lines[close + 1].start if close + 1 < len(lines) else len(text)
    inner = lines[1:close]
    slots: list[Slot] = []
    day = None
    i = 0
    while i < len(inner):
        line = inner[i]
        m = _FM_KEY.match(line.text)
        i += 1
        if not m:
            continue
        key = m.group("key")
        if key.lower() == "date_of_service":
            value, _ = _scalar(m.group("value"), 0)
            try:
                day = dt.date.fromisoformat(value[:10])
            except ValueError:
                pass
        elif key.lower() == "codes":
            while i < len(inner) and (not inner[i].text.strip() or inner[i].text[:1] in " \t" or inner[i].text.lstrip().startswith("#")):
                child = _FM_CHILD.match(inner[i].text)
                i += 1
                if not child:
                    continue
                name = child.group("key")
                set_id = p.set_of(name)
                if set_id is None:
                    continue
                key_start = inner[i - 1].start + child.start("key")
                place = f"front matter codes.{name}"
                label = f"{set_label(set_id)} code in the front matter"
                value_start = inner[i - 1].start + child.start("value")
                items = list(_values(child.group("value"), value_start))
                if not items and not _strip_comment(child.group("value")).strip():
                    # A block list below the key: `- E11.9` lines, at the key's indent or deeper.
                    indent = len(child.group("indent"))
                    while i < len(inner):
                        item = _FM_ITEM.match(inner[i].text)
                        if not item or len(item.group("indent")) < indent:
                            if not inner[i].text.strip() or inner[i].text.lstrip().startswith("#"):
                                i += 1
                                continue
                            break
                        items += list(_values(item.group("value"), inner[i].start + item.start("value")))
                        i += 1
                for value, start in items:
                    value, start = _code_part(set_id, value, start)
                    slots.append(Slot(value, start, set_id, place, name, key_start, label=label))
    return body_start, slots, day


def _strip_comment(value: str) -> str:
    m = re.search(r"(?:^|[ \t])#", value)
    return value[: m.start()] if m else value


def _scalar(value: str, start: int) -> tuple[str, int]:
    """A plain or quoted scalar, without comment, quotes and surrounding space."""
    value = _strip_comment(value)
    lead = len(value) - len(value.lstrip())
    value = value.strip()
    start += lead
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip(), start + 1 + (len(value[1:-1]) - len(value[1:-1].lstrip()))
    return value, start


def _values(value: str, start: int):
    """The items of `[E11.9, I10]` or of a single scalar, with their offsets."""
    body = _strip_comment(value)
    stripped = body.strip()
    if not stripped:
        return
    if stripped.startswith("["):
        open_at = body.index("[")
        close_at = body.find("]", open_at)
        inner = body[open_at + 1 : close_at if close_at >= 0 else len(body)]
        for m in _FLOW_ITEM.finditer(inner):
            text, at = _scalar(m.group(), start + open_at + 1 + m.start())
            if text:
                yield text, at
        return
    text, at = _scalar(body, start)
    if text:
        yield text, at


def _code_part(set_id: str, text: str, start: int) -> tuple[str, int]:
    """`99214-25` -> `99214`: a CPT / HCPCS code's slot leaves its modifiers out."""
    if set_id in (CPT, HCPCS):
        m = p.CODE_SHAPES[set_id].fullmatch(text) or p.NEAR_SHAPES[set_id].fullmatch(text)
        if m:
            return m.group("code"), start + m.start("code")
    return text, start


# -- tables --------------------------------------------------------------------------------------------


def _cells(line: _Line) -> list[tuple[int, int, str]]:
    """The cells of a table row: (start, end, text) trimmed, split at `|` outside code spans."""
    text = line.text
    bounds, tick, i = [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "`":
            tick = not tick
        elif c == "|" and not tick:
            bounds.append(i)
        i += 1
    edges = [-1, *bounds, len(text)]
    cells = []
    for a, b in pairwise(edges):
        raw = text[a + 1 : b]
        lead = len(raw) - len(raw.lstrip())
        cells.append((line.start + a + 1 + lead, line.start + a + 1 + len(raw.rstrip()), raw.strip()))
    # A leading / trailing pipe leaves an empty edge cell that is no column.
    if text.lstrip().startswith("|") and cells:
        cells = cells[1:]
    if text.rstrip().endswith("|") and not text.rstrip().endswith("\\|") and cells:
        cells = cells[:-1]
    return cells


def _unwrap(text: str, start: int) -> tuple[str, int]:
    """`**E11.9**` / `` `E11.9` `` -> E11.9 (start moves with it)."""
    while len(text) >= 2 and text[0] in _WRAPPERS and text[-1] == text[0]:
        inner = text.strip(text[0])
        if not inner.strip():
            break
        start += len(text) - len(text.lstrip(text[0])) + len(inner) - len(inner.lstrip())
        text = inner.strip()
    return text, start


def _tables(text: str, lines: list[_Line], zones: _Zones) -> list[Slot]:
    out: list[Slot] = []
    i = 0
    while i + 1 < len(lines):
        head, rule = lines[i], lines[i + 1]
        if "|" not in head.text or not _TABLE_DELIMITER.match(rule.text) or "|" not in rule.text or zones.in_region(head.start):
            i += 1
            continue
        headers = _cells(head)
        columns: list[tuple[int, str | None, int | None, str]] = []  # (column, set id, system column, header)
        names = [p.set_of(h[2]) for h in headers]
        systems = [n for n, h in enumerate(headers) if _norm(h[2]) in p.SYSTEM_HEADERS]
        for n, (_, _, name) in enumerate(headers):
            if names[n] is not None:
                columns.append((n, names[n], None, name))
            elif _norm(name) in p.CODE_HEADERS and systems:
                columns.append((n, None, systems[0], name))
        i += 2
        while i < len(lines) and "|" in lines[i].text and lines[i].text.strip() and not zones.in_region(lines[i].start):
            row = _cells(lines[i])
            for n, set_id, system, header in columns:
                if n >= len(row):
                    continue
                qualifier, qual_start = header, headers[n][0]
                if system is not None:
                    if system >= len(row):
                        continue
                    qualifier, qual_start = row[system][2], row[system][0]
                    set_id = p.set_of(_unwrap(qualifier, 0)[0])
                    if set_id is None:
                        continue
                label = f"{set_label(set_id)} code in a table"
                for piece, start in _cell_codes(row[n][2], row[n][0]):
                    if zones.hit(start, start + len(piece)):
                        continue
                    piece, start = _code_part(set_id, piece, start)
                    out.append(Slot(piece, start, set_id, f"table column {header}", qualifier, qual_start, label=label))
            i += 1
    return out


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip(_WRAPPERS + " :").lower())


def _cell_codes(cell: str, start: int):
    """The codes of a code column's cell: `E11.9`, `E11.9, I10`, `**99214**`, `E11.9 (primary)`
    (the first word of each `,` / `;` piece; placeholders such as `—` or `N/A` are no code)."""
    pos = 0
    for piece in re.split(r"[,;]", cell):
        at = start + pos + (len(piece) - len(piece.lstrip()))
        pos += len(piece) + 1
        word = piece.strip().split()[0] if piece.strip() else ""
        word, at = _unwrap(word, at)
        word = word.rstrip(".")
        if not word or word.lower() in _PLACEHOLDERS or not any(c.isalnum() for c in word):
            continue
        if p.PREFIX_RE.match(word):
            continue  # `CPT 99213` in a cell: the prefix reading has it
        yield word, at


# -- tier A: prefixes --------------------------------------------------------------------------------


def _prefixed(text: str, zones: _Zones) -> list[Slot]:
    out: list[Slot] = []
    for m in p.PREFIX_RE.finditer(text):
        if zones.hit(m.start(), m.end()):
            continue
        set_id = p.prefix_set(m)
        qualifier = m.group()
        shape = p.CODE_SHAPES[set_id]
        pos = p.AFTER_PREFIX_RE.match(text, m.end()).end()
        # Words before the first code: "code(s)", or for CPT up to two free words.
        words = 0
        while words < 2:
            filler = p.CODE_WORD_RE.match(text, pos)
            if filler is None and set_id == CPT:
                filler = p.FREE_WORD_RE.match(text, pos)
                if filler is not None and shape.match(text, pos):
                    filler = None
            if filler is None or filler.end() == pos:
                break
            pos, words = filler.end(), words + 1
        place = f"{qualifier}: prefix"
        label = f"{set_label(set_id)} code after the {qualifier} prefix"
        first = True
        while pos < len(text):
            code = shape.match(text, pos)
            if code is None and first and set_id in p.NEAR_SHAPES:
                code = p.NEAR_SHAPES[set_id].match(text, pos)
            if code is None or zones.hit(code.start(), code.end()):
                break
            # CPT / HCPCS: the slot is the code, its modifiers (`99214-25`) are left out.
            part = "code" if "code" in code.re.groupindex else 0
            start, value = code.start(part), code.group(part)
            out.append(Slot(value, start, set_id, place, qualifier, m.start(), label=label))
            first = False
            sep = p.LIST_SEP_RE.match(text, code.end())
            if sep is None or sep.end() == code.end():
                break
            pos = sep.end()
    return out


# -- tier B: parenthesised dotted ICD-10-CM -----------------------------------------------------------


def _parenthesised(text: str, zones: _Zones) -> list[Slot]:
    out: list[Slot] = []
    for m in p.PAREN_RE.finditer(text):
        inner_start = m.start(1)
        pieces = []
        pos = 0
        for piece in re.split(r"[,;]", m.group(1)):
            lead = len(piece) - len(piece.lstrip())
            pieces.append((piece.strip(), inner_start + pos + lead))
            pos += len(piece) + 1
        if not all(p.DOTTED_ICD_RE.fullmatch(code) for code, _ in pieces):
            continue
        for code, start in pieces:
            if not zones.hit(start, start + len(code)):
                label = "ICD-10-CM code in parentheses after a description"
                out.append(Slot(code, start, ICD10CM, "parenthesised ICD-10-CM", None, None, label=label))
    return out


# -- tier C: bare dotted ICD-10-CM shapes ----------------------------------------------------------------


def _bare(text: str, zones: _Zones) -> list[Slot]:
    return [
        Slot(m.group(), m.start(), ICD10CM, "bare", None, None, label="code-shaped word (ICD-10-CM?)", hint=True)
        for m in p.BARE_RE.finditer(text)
        if not zones.hit(m.start(), m.end())
    ]
