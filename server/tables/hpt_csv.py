"""CMS hospital price transparency standard charge files in CSV (template v2.x and v3.0,
tall and wide).

Row 1 holds the general headers (hospital_name, last_updated_on, version, …), row 2 their
values, row 3 the standard charge headers, rows 4 and on the items. Every `code|N` cell with a
value becomes a Slot, its set named by the `code|N|type` cell of the same row. Headers are
matched as the CMS validator matches them: split on "|", each part trimmed, case-insensitive.

Problems reported here are the few the file's own structure makes certain: a code without
its type (or a type without its code), a type the template version does not define, template
placeholders left in headers, a layout that is neither clearly tall nor clearly wide, a
`code|N` column without its `code|N|type` column, repeated headers, and an MRF date that is
not a date.
"""

from __future__ import annotations

import datetime as dt
import re
from difflib import get_close_matches
from itertools import islice

from medcode.index_builder.gcpause import paused_gc

from .. import reading as r
from ..findings import HPT_STRUCTURE, MISSING_CODE_TYPE, UNKNOWN_CODE_TYPE, Finding
from ..reading import Header, Reading
from . import hpt_vocabulary as v
from .csv_cells import QUOTE, Cell, Row, iter_rows, record_at
from .hpt_dates import FORMS, last_updated_on
from .slot_table import SlotTable

# Row 1 must name these (the file's first line, where a reader can look before parsing).
REQUIRED_GENERAL = ("hospital_name", "last_updated_on", "version")
_HEAD_CHARS = 20_000
REPEATS_REPORTED = 100  # repeated headers reported one by one; past these, one finding says more follow
_FILL = {
    "state": "the licensing state's two-letter code",
    "i": "the code's number (1, 2, …)",
    "payer_name": "the payer's name",
    "plan_name": "the plan's name",
}
UNDEFINED_HEADER = "Not an element of the CMS template: a column the hospital added."


def looks_like_hpt(text: str) -> bool:
    """A cheap first look: the general headers are on the first line of every HPT CSV."""
    head = text[:_HEAD_CHARS].lower()
    return "hospital_name" in head and "last_updated_on" in head


def read(text: str) -> Reading | None:
    """A Reading of a CMS HPT CSV, or None when the text is not one."""
    if not looks_like_hpt(text):
        return None
    with paused_gc():
        return _Reader(text).read()


class _Pair:
    """One `code|N` column and its `code|N|type` column."""

    __slots__ = ("code_col", "index", "place", "type_col", "type_place")

    def __init__(self, index: str, code_col: int | None, type_col: int | None):
        self.index = index
        self.code_col = code_col
        self.type_col = type_col
        self.place = f"code|{index}"
        self.type_place = f"code|{index}|type"


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.problems: list[Finding] = []
        self.headers: list[Header] = []
        self.version: str | None = None

    def problem(self, rule: str, message: str, start: int, end: int, code: str = "") -> None:
        self.problems.append(Finding(rule, message, start, end, code))

    # -- rows 1 to 3 ----------------------------------------------------------------------
    def read(self) -> Reading | None:
        rows = iter_rows(self.text, ",")
        top = list(islice(rows, 3))
        if len(top) < 3:
            return None
        row1, row2, row3 = top
        general = {v.normalize(t): j for j, t in enumerate(row1.texts)}
        # A misspelt general header still makes a price file (the others say so); it is
        # reported, and its column read as the header it stands for.
        for name in REQUIRED_GENERAL:
            if name not in general and not self._near_miss(row1, general, name):
                return None
        if row3.blank:
            # A blank header row: the headers are looked for on the next row.
            nxt = next(rows, None)
            if nxt is None or nxt.blank:
                return None
            self.problem(HPT_STRUCTURE, "row 3 is blank: the standard charge headers (description, code|1, code|1|type, …) belong on row 3; read from row 4", row3.start, max(row3.end, row3.start + 1))
            row3 = nxt
        charge = [v.normalize(t) if t else "" for t in row3.texts]
        codes = [v.code_column(t) if "|" in t else None for t in row3.texts]
        if not any(c is not None and not c[1] for c in codes):
            return None
        if "description" not in charge:
            self._near_miss(row3, {k: j for j, k in enumerate(charge)}, "description")

        j = general["version"]
        version = row2.texts[j].strip() if j < len(row2.texts) else ""
        self.version = version or None
        wrong = v.unknown_version(version)
        if wrong is not None:
            _, start, end = row2.span(j)
            self.problem(HPT_STRUCTURE, wrong, start, end)
        day = self._day(row2, general["last_updated_on"])
        self._general_headers(row1)
        pairs = self._charge_headers(row3, charge, codes)
        # Rows 4 and on are read by _data from where this header row's line ends.
        after = row3.end + (2 if self.text.startswith("\r\n", row3.end) else 1)
        slots = self._data(after, pairs)
        return Reading(r.HPT_CSV, slots, day, self.problems, self.headers, self.version)

    def _near_miss(self, row: Row, present: dict[str, int], name: str) -> bool:
        """A header close to a required one (`descrption`): report it, and take its column
        for that header. False when no header comes close."""
        close = get_close_matches(name, [k for k in present if k and "|" not in k], n=1, cutoff=0.8)
        if not close:
            if name == "description":
                self.problem(HPT_STRUCTURE, "no description column: every item needs its description", row.start, max(row.end, row.start + 1))
            return False
        j = present[close[0]]
        header, start, end = row.span(j)
        self.problem(HPT_STRUCTURE, f"header {header!r} should be {name!r}: the CMS template spells it so", start, end)
        present[name] = j
        return True

    def _day(self, row2: Row, j: int) -> dt.date | None:
        if j >= len(row2.texts):
            return None
        value, start, end = row2.span(j)
        day = last_updated_on(value)
        if day is None and value:
            self.problem(
                HPT_STRUCTURE,
                f"last_updated_on {value!r} is not a date: write it as {FORMS}",
                start, end,
            )
        return day

    def _placeholders(self, header: str, start: int, end: int) -> None:
        if "[" not in header:
            return
        found = dict.fromkeys(m.group(0) for m in v.PLACEHOLDERS.finditer(header))
        if found:
            fill = ", ".join(f"{p} with {_FILL[v.PLACEHOLDERS.match(p).group(1).lower()]}" for p in found)  # type: ignore[union-attr]
            self.problem(HPT_STRUCTURE, f"template placeholder left in header {header!r}: replace {fill}", start, end)

    def _general_headers(self, row1: Row) -> None:
        for _, header, start, end in row1.nonblank_spans():
            if not header:
                continue
            self.headers.append(Header(start, end, header, v.general_meaning(header) or UNDEFINED_HEADER))
            self._placeholders(header, start, end)

    def _charge_headers(self, row3: Row, charge: list[str], codes: list[tuple[str, bool] | None]) -> list[_Pair]:
        # Blank headers: the validator leaves such columns alone, and so do we.
        spans = {j: (header, start, end) for j, header, start, end in row3.nonblank_spans()}
        seen: dict[str, int] = {}
        pairs: dict[str, _Pair] = {}
        repeats = 0
        for j, (header, start, end) in spans.items():
            if not header:
                continue
            self.headers.append(Header(start, end, header, v.charge_meaning(header, self.version) or UNDEFINED_HEADER))
            self._placeholders(header, start, end)
            key = charge[j]
            if key in seen:
                repeats += 1
                if repeats <= REPEATS_REPORTED:
                    self.problem(HPT_STRUCTURE, f"header {header!r} repeats column {seen[key] + 1}: every header must be unique", start, end)
                elif repeats == REPEATS_REPORTED + 1:
                    self.problem(HPT_STRUCTURE, f"header {header!r} repeats column {seen[key] + 1}, and more headers after it repeat others: every header must be unique", start, end)
                continue
            seen[key] = j
            code = codes[j]
            if code is not None:
                index, is_type = code
                pair = pairs.setdefault(index, _Pair(index, None, None))
                if is_type:
                    pair.type_col = j
                else:
                    pair.code_col = j
        for pair in pairs.values():
            if pair.type_col is None:
                header, start, end = spans[pair.code_col]  # type: ignore[index]
                self.problem(HPT_STRUCTURE, f"column {header!r} has no {pair.type_place} column beside it: every code needs its type", start, end)
            elif pair.code_col is None:
                header, start, end = spans[pair.type_col]
                self.problem(HPT_STRUCTURE, f"column {header!r} has no {pair.place} column for the codes it types", start, end)
        self._layout(row3, charge)
        return sorted((p for p in pairs.values() if p.code_col is not None), key=lambda p: p.code_col)  # type: ignore[arg-type,return-value]

    def _layout(self, row3: Row, charge: list[str]) -> None:
        """Tall iff payer_name and plan_name columns exist, wide iff payer-specific headers do;
        both or neither is the validator's ambiguous format."""
        tall = "payer_name" in charge and "plan_name" in charge
        wide = any(v.payer_plan(t) is not None for t in row3.texts)
        if tall == wide:
            why = (
                "it has payer_name and plan_name columns (tall) and payer-specific headers (wide)"
                if tall
                else "it has neither payer_name and plan_name columns (tall) nor payer-specific headers such as "
                "standard_charge|<payer>|<plan>|negotiated_dollar (wide)"
            )
            start = row3.cell_start(0) if row3.texts else row3.start
            self.problem(HPT_STRUCTURE, f"the layout is ambiguous: {why}", start, row3.end)

    # -- rows 4 and on ----------------------------------------------------------------------
    def _data(self, pos: int, pairs: list[_Pair]) -> SlotTable:
        doc = self.text
        types = v.types_for(self.version)
        allowed = ", ".join(types)
        where = v.version_label(self.version)
        slots = SlotTable(size=len(doc))  # the codes as columns of ints: a tall file repeats each item per payer
        add = slots.add
        problem = self.problem
        # Per (column, type as written): (expects, known, label), so each distinct type cell
        # is looked at once.
        seen_types: dict[tuple[int, str], tuple[str | None, bool, str]] = {}
        untyped_labels = {p.index: f"{p.place}, no {p.type_place} column" if p.type_col is None else f"{p.place}, no type" for p in pairs}
        plan = [(p.code_col, p.type_col, p.place, p.type_place, untyped_labels[p.index]) for p in pairs]
        last_col = max((max(cj, tj if tj is not None else -1) for cj, tj, *_ in plan), default=0)
        add_kind = slots.add_kind
        # A tall file writes each item once per payer: its rows begin with the same text up to
        # the last code column. A row whose raw text begins with the previous row's head reads
        # the same up to there, so its slots and problems are those of that row, moved.
        head = ""  # the previous row's raw text up to the delimiter after last_col ("": none)
        head_slots: list[tuple[int, int, int]] = []  # (kind, code start, type start or -1), from the row start
        head_problems: list[tuple[str, str, int, int, str]] = []  # (rule, message, start, end, code), the same

        def judge(text_of, at, start: int) -> list[tuple[int, int, int]]:
            """The slots and problems of the code cells of one row: text_of(j) is cell j's
            text, at(j, k) where its character k is written. (kind, code start, type start
            or -1) of its slots, from the row's start."""
            placed = []
            for cj, tj, place, type_place, untyped in plan:
                code = text_of(cj)
                typ = text_of(tj) if tj is not None else ""
                if not code and not typ:
                    continue
                code_s = code.strip()
                typ_s = typ.strip()
                if not code_s and not typ_s:
                    continue
                if code_s:
                    cstart = at(cj, 0 if code_s is code else len(code) - len(code.lstrip()))
                if typ_s:
                    tstart = at(tj, 0 if typ_s is typ else len(typ) - len(typ.lstrip()))
                if not typ_s:
                    placed.append((add(code_s, cstart, None, place, None, None, untyped), cstart - start, -1))
                    if tj is not None:
                        problem(MISSING_CODE_TYPE, f"{place} holds {code_s} but {type_place} is empty: give its code type (CPT, HCPCS, RC, NDC, MS-DRG, …)", cstart, cstart + len(code_s), code_s)
                    continue
                if not code_s:
                    problem(MISSING_CODE_TYPE, f"{type_place} says {typ_s} but {place} is empty: give the code, or leave both empty", tstart, tstart + len(typ_s))
                    continue
                known = seen_types.get((cj, typ_s))
                if known is None:
                    expects = types.get(typ_s.upper())
                    ok = expects is not None
                    label = f"{place}, type {typ_s}" if ok else f"{place}, type {typ_s} (not a code type of {where})"
                    known = seen_types[(cj, typ_s)] = (expects, ok, label)
                expects, ok, label = known
                if not ok:
                    problem(UNKNOWN_CODE_TYPE, f"{typ_s!r} is not a code type of {where}: use one of {allowed}", tstart, tstart + len(typ_s), code_s)
                placed.append((add(code_s, cstart, expects, place, typ_s, tstart, label), cstart - start, tstart - start))
            return placed

        # The head of a row read by one match: every cell up to last_col and the delimiter
        # after it, the code and type cells unquoted (group j + 1: cell j), others as the
        # csv module reads them when quoted the plain way. Other rows take the csv reader.
        code_cols = {c for cj, tj, *_ in plan for c in (cj, tj) if c is not None}
        head_re = re.compile("".join(
            f"([^,{QUOTE}\r\n]*)," if j in code_cols else f"({QUOTE}[^{QUOTE}]*(?:{QUOTE}{QUOTE}[^{QUOTE}]*)*{QUOTE}|[^,{QUOTE}\r\n]*),"
            for j in range(last_col + 1)
        ))
        size = len(doc)
        while pos < size:
            start = pos
            hit = bool(head) and doc.startswith(head, pos)
            m = None if hit else head_re.match(doc, pos)
            if hit or m is not None:
                # The rest of the row: one line without quotes ends it (a lone \r would too).
                after = pos + len(head) if hit else m.end()  # type: ignore[union-attr]
                e = doc.find("\n", after)
                if e < 0:
                    e = size
                if doc.find(QUOTE, after, e) < 0:
                    cr = doc.find("\r", after, e)
                    if cr < 0 or cr == e - 1:
                        pos = e + 1
                        if hit:
                            for k, cs, ts in head_slots:
                                add_kind(k, start + cs, ts if ts < 0 else start + ts)
                            for rule, message, ps, pe, code in head_problems:
                                problem(rule, message, start + ps, start + pe, code)
                            continue
                        group, begins = m.group, m.start  # type: ignore[union-attr]
                        added = len(self.problems)
                        head_slots = judge(lambda j: group(j + 1), lambda j, k: begins(j + 1) + k, start)
                        head = doc[start:after]
                        head_problems = [(f.rule, f.message, f.start - start, f.end - start, f.code) for f in self.problems[added:]]
                        continue
            got = record_at(doc, start, ",")
            if got is None:
                break
            row, pos = got
            texts = row.texts
            n = len(texts)
            added = len(self.problems)
            if doc.find(QUOTE, row.start, row.end) < 0:
                head_slots = judge(lambda j: texts[j] if j < n else "", lambda j, k: row.plain_start(j) + k, start)
            else:
                cells = row.cells_upto(last_col)  # placed left to right once (rows with quotes)
                head_slots = judge(lambda j: texts[j] if j < n else "", lambda j, k: cells[j].offset(k), start)
            head = ""
            if n > last_col + 1:
                # The head ends just after the delimiter that ends cell last_col, where the
                # next cell begins: up to there the text alone decides every cell.
                head = doc[start : row.cell_start(last_col + 1)]
                head_problems = [(f.rule, f.message, f.start - start, f.end - start, f.code) for f in self.problems[added:]]
        return slots
