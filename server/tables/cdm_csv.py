"""Internal chargemasters (CDM) and price lists in CSV: no standard, but a header row near the
top names the code columns (CPT, HCPCS, CPT/HCPCS Code, NDC, Rev Code, MS-DRG, …).

The reader finds that header row among the first rows (title rows often come first), takes
the columns whose header names a code, and makes a Slot of every code cell below it. It never
guesses: a file without such a header row (UNC's header-less `"description","J0131",$215.78`)
is not read at all, and a cell that does not hold a code the way chargemasters write them
(words, "N/A", several codes in one cell) is left alone rather than flagged.

What chargemasters write in code columns (vsoch/hospital-chargemaster, 2019 files):
- CPT columns hold HCPCS Level II codes too (J-codes under "CPT"): every CPT / HCPCS column
  expects either (places.PROCEDURE);
- a procedure code with its modifiers or units run on: `74176TC`, `7677026RT`, `9388026`,
  `65205-RT`, `86003 X16`, `88368(4)`: the slot is the 5-character code alone;
- revenue codes inside a department name: `EKG/ECG … - HOLTER MONITOR [0731]`: the slot is the
  bracketed code; `0250 - PHARMACY`: the leading code;
- space-padded cells: the slot is the code without the padding;
- HCPCS Level III local codes (a letter W to Z and 4 digits, such as the Medi-Cal therapy codes
  `X3904` UC Davis still lists): the hospital's or a state program's own codes, which no
  national set holds; their slots expect reading.LOCAL and are never flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain, islice

from medcode.index_builder.codesets import NDC
from medcode.index_builder.gcpause import paused_gc

from .. import places
from .. import reading as r
from ..places import Slot
from ..reading import Header, Reading
from . import hpt_csv
from .csv_cells import Row, iter_rows
from .hpt_vocabulary import normalize

HEADER_ROWS = 15  # the header row is looked for among this many first rows
_PREFIX = 1 << 18  # characters enough to hold them in any real file
# Words a code column's header may carry besides the code's name ("CPT Code", "NDC #", "cpt4_ext_id").
_FILLER = frozenset({"code", "codes", "cd", "number", "num", "nbr", "no", "ext", "id"})
_PROCEDURE_WORDS = frozenset({"cpt", "cpt4", "hcpcs", "hcpc"})
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Every header column_kind accepts holds one of these (its core words all do).
_KIND_HINT = re.compile(r"cpt|hcpc|ndc|rev|drg|chg", re.IGNORECASE)

MEANINGS = {
    places.PROCEDURE: "CPT / HCPCS procedure code column: CPT (5 characters) or HCPCS Level II (a letter and 4 digits), told apart by shape",
    NDC: "NDC column: the National Drug Code of the drug (10 digits with hyphens, or 11 digits 5-4-2)",
    places.REVENUE: "Revenue code column: the NUBC revenue code (3 or 4 digits) the charge is billed under",
    places.MS_DRG: "MS-DRG column: the Medicare Severity Diagnosis Related Group (1 to 3 digits)",
}
_ROLES = {places.PROCEDURE: "procedure code", NDC: "NDC", places.REVENUE: "revenue code", places.MS_DRG: "MS-DRG"}

# Cell shapes (on the text without padding).
_CODE5 = r"(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})"
# A procedure code with modifiers (2 characters each) or units run on.
_PROCEDURE = re.compile(
    rf"({_CODE5})(?:[-\s]?[0-9A-Z]{{2}}(?:[-\s]?[0-9A-Z]{{2}}){{0,2}}|\s?[X*]\s?\d{{1,3}}|\s?\(\d{{1,3}}\))?",
    re.IGNORECASE,
)
_LOCAL_LEVEL3 = re.compile(r"[W-Z][0-9]{4}", re.IGNORECASE)
_BRACKETED = re.compile(r"\[\s*(\d{3,4})\s*\]")
_LEADING_REVENUE = re.compile(r"(\d{3,4})\s*[-–:]\s*\D")
_N4_NDC = re.compile(r"N4(\d{11})", re.IGNORECASE)
_REVENUE_VALUE = re.compile(r"\d{3,4}")
_NUMBER = re.compile(r"\$?\s*-?[\d,]*\.?\d+")
_CHECK_VALUES = 200  # values looked at before a "CHG CAT" column is taken for revenue codes


@dataclass(frozen=True, slots=True)
class CodeColumn:
    index: int
    header: str  # as written, whitespace collapsed
    expects: str
    start: int
    end: int


def header_words(header: str) -> list[str]:
    """A header as lower-case words: punctuation and underscores are spaces, `CPT-4` is `cpt4`."""
    words = _NON_WORD.sub(" ", header.lower()).split()
    out: list[str] = []
    for w in words:
        if w == "4" and out and out[-1] == "cpt":
            out[-1] = "cpt4"
        else:
            out.append(w)
    return out


def column_kind(header: str) -> str | None:
    """What a column header says its cells hold: reading.PROCEDURE_ANY, NDC, REVENUE, MS_DRG,
    "chg-cat" (revenue codes only if the values say so), or None."""
    if len(header) > 40 or not _KIND_HINT.search(header):
        return None  # cheap first: a header row may have 40,000 cells
    words = header_words(header)
    if not words:
        return None
    core = [w for w in words if w not in _FILLER]
    filler = [w for w in words if w in _FILLER]
    if not core:
        return None
    if all(w in _PROCEDURE_WORDS for w in core):
        return places.PROCEDURE
    if core == ["ndc"]:
        return NDC
    if core in (["revcode"], ["revenuecode"]) or (core in (["rev"], ["revenue"]) and ("code" in filler or "cd" in filler)):
        return places.REVENUE
    if core in (["drg"], ["ms", "drg"], ["msdrg"]):
        return places.MS_DRG
    if core == ["chg", "cat"]:
        return "chg-cat"
    return None


def read(text: str) -> Reading | None:
    """A Reading of a chargemaster CSV with code columns, or None (no such header row)."""
    if not text.strip():
        return None
    with paused_gc():
        return _read(text)


def _header(rows: list[Row]) -> tuple[int, list[tuple[int, str]]] | None:
    """The first row with at least two headers of which one names a code column, and no
    number among them (a data row whose cells read "CPT" or "MS-DRG" is not a header row)."""
    for i, row in enumerate(rows):
        named = [t for t in row.texts if t.strip()]
        if len(named) < 2 or any(_NUMBER.fullmatch(t.strip()) for t in named):
            continue
        kinds = [(j, kind) for j, t in enumerate(row.texts) if (kind := column_kind(t)) is not None]
        if kinds:
            return i, kinds
    return None


def _revenue_values(rows: list[Row], j: int) -> bool:
    """A "CHG CAT" column holds revenue codes: every one of its first values is 3 or 4 digits."""
    values = [t for row in rows if j < len(row.texts) and (t := row.texts[j].strip())]
    return bool(values) and all(_REVENUE_VALUE.fullmatch(t) for t in values[:_CHECK_VALUES])


def _read(text: str) -> Reading | None:
    # Look for the header row in the first lines before splitting a file that may not be one.
    if len(text) > _PREFIX:
        cut = max(text.rfind("\n", 0, _PREFIX), text.rfind("\r", 0, _PREFIX))
        if cut > 0 and _header(list(islice(iter_rows(text[: cut + 1]), HEADER_ROWS))) is None:
            return None
    rows = iter_rows(text)
    top = list(islice(rows, HEADER_ROWS))
    if top and hpt_csv.looks_like_hpt(text) and all(n in {normalize(t) for t in top[0].texts} for n in hpt_csv.REQUIRED_GENERAL):
        return None  # a CMS price transparency file: hpt_csv reads it
    found = _header(top)
    if found is None:
        return None
    h, kinds = found
    head = top[h]
    after = top[h + 1 :]
    if any(kind == "chg-cat" for _, kind in kinds):
        after += list(islice(rows, _CHECK_VALUES))
    columns: list[CodeColumn] = []
    for j, kind in kinds:
        if kind == "chg-cat":
            if not _revenue_values(after, j):
                continue
            kind = places.REVENUE
        header, start, end = head.span(j)
        columns.append(CodeColumn(j, " ".join(header.split()), kind, start, end))
    if not columns:
        return None
    reading = Reading(r.CDM_CSV)
    reading.headers = [Header(c.start, c.end, c.header, MEANINGS[c.expects]) for c in columns]
    slots = reading.slots
    plan = [(c.index, c.expects, c.header, f"{c.header} column ({_ROLES[c.expects]})") for c in columns]
    for row in chain(after, rows):
        texts = row.texts
        n = len(texts)
        for j, expects, place, label in plan:
            if j >= n:
                continue
            cell = texts[j]
            if not cell or cell.isspace():
                continue
            found_code = _code_in(cell, expects)
            if found_code is not None:
                code, k = found_code
                if expects == places.PROCEDURE and _LOCAL_LEVEL3.fullmatch(code):
                    slots.append(Slot(code, row.text_offset(j, k), places.LOCAL, place, None, None, False, None, f"{place} column (local HCPCS Level III code, not checked)"))
                else:
                    slots.append(Slot(code, row.text_offset(j, k), expects, place, None, None, False, None, label))
    return reading


def _code_in(cell: str, expects: str) -> tuple[str, int] | None:
    """(code, where it starts in the cell) for a code column's cell, or None when the cell holds
    no code the way chargemasters write them."""
    s = cell.strip()
    if not any(c.isdigit() for c in s):  # "N/A", "NONE", "SEE NOTE": not a code
        return None
    lead = len(cell) - len(cell.lstrip())
    if s.strip("0") == "":  # 0, 00000: "no code"
        return None
    if expects == places.REVENUE:
        m = _BRACKETED.search(s)
        if m:
            return m.group(1), lead + m.start(1)
        m = _LEADING_REVENUE.match(s)
        if m:
            return m.group(1), lead
    elif expects == places.PROCEDURE:
        m = _PROCEDURE.fullmatch(s)
        if m:
            return m.group(1), lead
    elif expects == NDC:
        m = _N4_NDC.fullmatch(s)
        if m:
            return m.group(1), lead + 2
    if any(c.isspace() for c in s):  # several words: not one code
        return None
    return s, lead
