"""Plain code lists: two columns (code, description) for any code set, official or local.

Users keep payer-specific codes, chargemaster numbers and hand-made subsets this way. The file
may be comma-, tab- or pipe-delimited, start with a header row, quote its fields, carry a BOM
or be Windows-1252: all of that is sniffed, nothing has to be declared.

The table helpers here (delimiter sniffing, row splitting, header columns) are shared with the
CPT importer, which reads the same shapes from licensed AMA files.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .. import codesets, layout
from ..model import CODE, MODIFIER, CodeRecord, ImportResult
from ..sources import InputFile, SourceError, decode, file_source, read_inputs

# Tried in this order on a tie: descriptions contain commas far more often than tabs or pipes.
DELIMITERS = ("\t", "|", ",")
# How many non-blank lines decide the delimiter, the header row and the column count.
SAMPLE_LINES = 60
# How much of a file is read to decide whether it is a list at all.
SNIFF_BYTES = 256 * 1024
# How many offending codes a warning quotes.
EXAMPLES = 5

# Members of a download that never hold a code list (documents, spreadsheets, markup).
NOT_LIST_SUFFIXES = frozenset(
    ".pdf .doc .docx .xls .xlsx .xlsm .rtf .xml .xsd .htm .html .png .jpg .jpeg .gif .exe .dll .zip".split()
)

# A cell that could be a code of some list: one token, no spaces (local codes may be anything
# of that kind, so this is deliberately loose; official sets are checked by their own shapes).
TOKEN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/]{0,19}$")

# Header cells (normalised: lower case, runs of other characters as one space) naming a code
# column outright; other headers holding the word "code" are the fallback.
CODE_HEADERS = frozenset(
    {
        "code", "codes", "code value", "cpt", "cpt code", "cpt codes", "cpt code value", "cpt hcpcs",
        "cpt hcpcs code", "hcpcs", "hcpcs code", "hcpcs cpt code", "procedure code", "proc code",
        "icd", "icd code", "icd 10", "icd 10 code", "icd10", "icd10 code", "icd 10 cm", "icd10cm",
        "icd 10 cm code", "icd 10 pcs", "icd10pcs", "icd 10 pcs code", "pcs code", "diagnosis code",
        "dx code", "ndc", "ndc code", "ndc11", "ndc 11", "ndc number", "cdm", "cdm code", "cdm number",
        "charge code", "item code", "modifier", "modifier code",
    }
)  # fmt: skip
# Headers with these words describe something else (ids, dates, flags), never the code or text.
_NOT_CONTENT_WORDS = frozenset({"id", "date", "status", "type", "count", "effective", "system", "version", "sequence"})
# Words that make a header a text column; the first group ranks above the second.
_TEXT_WORDS = frozenset({"descriptor", "descriptors", "description", "descriptions", "desc", "descr", "text"})
_NAME_WORDS = frozenset({"title", "name", "label", "narrative", "definition", "long", "medium", "short"})

# Description roles, best first for a record's description; the short text prefers these.
DESCRIPTION_ROLES = ("long", "long_upper", "description", "medium", "short", "consumer", "clinician")
SHORT_ROLES = ("short", "medium")


def normalise_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lower()).strip()


def text_role(header: str) -> tuple[str, int] | None:
    """Which descriptor a header names ('long', 'short', ...) and how plainly (2 > 1), or None."""
    words = set(normalise_header(header).split())
    if not words or words & _NOT_CONTENT_WORDS:
        return None
    if not words & (_TEXT_WORDS | _NAME_WORDS):
        return None
    rank = 2 if words & _TEXT_WORDS or words & {"long", "medium", "short"} else 1
    if words & {"long", "full"}:
        return "long", rank
    if words & {"medium", "med"}:
        return "medium", rank
    if words & {"short", "abbreviated", "abbrev"}:
        return "short", rank
    if "consumer" in words:
        return "consumer", rank
    if "clinician" in words:
        return "clinician", rank
    return "description", rank


@dataclass(frozen=True, slots=True)
class Columns:
    """Where a table's code sits, and which column holds each descriptor role."""

    code: int
    text: dict[str, int]

    def description_role(self) -> str | None:
        return next((r for r in DESCRIPTION_ROLES if r in self.text), None)

    def short_role(self) -> str | None:
        best = self.description_role()
        return next((r for r in SHORT_ROLES if r in self.text and r != best), None)


def find_columns(cells: list[str]) -> Columns | None:
    """The columns named by a header row, or None when the row names no code column."""
    names = [normalise_header(c) for c in cells]
    code = next((i for i, n in enumerate(names) if n in CODE_HEADERS), None)
    if code is None:
        code = next(
            (
                i
                for i, n in enumerate(names)
                if "code" in n.split() and not set(n.split()) & _NOT_CONTENT_WORDS and text_role(n) is None
            ),
            None,
        )
    if code is None:
        return None
    best: dict[str, tuple[int, int]] = {}
    for i, cell in enumerate(cells):
        if i == code:
            continue
        found = text_role(cell)
        if found and (found[0] not in best or found[1] > best[found[0]][0]):
            best[found[0]] = (found[1], i)
    return Columns(code, {role: i for role, (_, i) in best.items()})


def has_header_words(cells: list[str]) -> bool:
    """Whether a row starts with a column title for codes ("Code", "CPT Code", "NDC", ...)."""
    first = normalise_header(cells[0]) if cells else ""
    return first in CODE_HEADERS or "code" in first.split()


# -- rows ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    line: int  # 1-based line number in the file
    cells: list[str]  # stripped, unquoted
    raw: str  # the line as read


def _unquote(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        cell = cell[1:-1].replace('""', '"').strip()
    return cell


def split_line(line: str, delimiter: str) -> list[str]:
    """One line's cells. Tabs split plainly (AMA descriptors contain quote characters that must
    not open a quoted field); commas and pipes follow CSV quoting. A quoted field never spans lines
    in a code list, so lines are read one at a time and keep their numbers."""
    if delimiter == "\t":
        return [_unquote(c) for c in line.split("\t")]
    try:
        cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:
        cells = line.split(delimiter)
    return [_unquote(c) for c in cells]


def split_rows(text: str, delimiter: str) -> list[Row]:
    return [Row(n, split_line(line, delimiter), line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _sample(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(line)
            if len(out) >= SAMPLE_LINES:
                break
    return out


def _is_pair(cells: list[str]) -> bool:
    return len(cells) >= 2 and bool(TOKEN_RE.match(cells[0]))


def sniff_delimiter(text: str) -> str | None:
    """The delimiter under which most sampled lines read as a code followed by more cells."""
    lines = _sample(text)
    best, best_score = None, 0
    for delimiter in DELIMITERS:
        score = sum(1 for line in lines if delimiter in line and _is_pair(split_line(line, delimiter)))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def base_width(rows: list[Row]) -> int:
    """The table's width: the narrowest of its sampled rows that have two cells or more.

    Unquoted delimiters inside descriptions only ever widen a row, so a two-column list whose
    texts hold commas still has base width 2, while a real wider table never narrows to 2."""
    widths = [len(r.cells) for r in rows[:SAMPLE_LINES] if len(r.cells) >= 2]
    return min(widths) if widths else 0


def is_list_candidate(f: InputFile) -> bool:
    """Whether a file could be a delimited list at all (not a PDF, spreadsheet or binary)."""
    if PurePath(f.name).suffix.lower() in NOT_LIST_SUFFIXES:
        return False
    head = f.data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 text; decode() reads it
    return b"\x00" not in head


def looks_like_two_columns(files: list[InputFile]) -> bool:
    """Whether any of these files is a plain (code, description) list.

    True when, under one delimiter, the sampled data rows are mostly two columns wide and
    nearly all start with a code-like token and carry some text. Official layouts that are
    fixed-width, XML or many-columned tables say False, so a caller can try the set's own
    importer first and fall back to this one.
    """
    return any(_two_column_file(f) for f in files if is_list_candidate(f))


def _two_column_file(f: InputFile) -> bool:
    text = decode(f.data[:SNIFF_BYTES])
    delimiter = sniff_delimiter(text)
    if delimiter is None:
        return False
    rows = [Row(0, split_line(line, delimiter), line) for line in _sample(text)]
    if rows and has_header_words(rows[0].cells):
        rows = rows[1:]
    if not rows or base_width(rows) != 2:
        return False
    good = sum(1 for r in rows if _is_pair(r.cells) and any(c for c in r.cells[1:]))
    return good >= max(1, int(len(rows) * 0.8))


# -- keys ----------------------------------------------------------------------------------------


@dataclass
class Skipped:
    """Rows left out of one file, by reason, with a few examples (codes or line numbers, never
    descriptor text) for the warning."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, example: str) -> None:
        self.counts[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < EXAMPLES and example not in ex:
            ex.append(example)

    def warnings(self, name: str) -> list[str]:
        return [
            f"{name}: skipped {n} row(s) {reason} (e.g. {', '.join(self.examples[reason])})"
            for reason, n in self.counts.items()
        ]


def _key_for(set_id: str, text: str, skipped: Skipped) -> str | None:
    """The index key of a code cell, or None (counted) when it does not fit the set."""
    raw = text.strip()
    if set_id not in codesets.OFFICIAL_SETS:
        key = raw.upper()
        if not key:
            skipped.add("without a code", raw)
            return None
        if re.search(r"\s", key):
            skipped.add("whose code has spaces inside", raw)
            return None
        return key
    name = codesets.set_name(set_id)
    if set_id == codesets.ICD10CM and "." in raw and not codesets.ICD10CM_DOTTED_RE.match(raw.upper()):
        skipped.add(f"whose code does not have the shape of a {name} code", raw)  # a misplaced dot
        return None
    keys = codesets.normalise(set_id, raw)
    if len(keys) == 1:
        return keys[0]
    if set_id == codesets.NDC and len(keys) > 1:
        skipped.add("with a bare 10-digit NDC (ambiguous without dashes: write 4-4-2, 5-3-2, 5-4-1 or 11 digits)", raw)
    else:
        skipped.add(f"whose code does not have the shape of a {name} code", raw)
    return None


def _kind_for(set_id: str, key: str) -> str:
    # The official sets' normalise() admits their modifiers; a modifier is not a code on a claim.
    if set_id == codesets.CPT and codesets.CPT_MODIFIER_RE.match(key):
        return MODIFIER
    if set_id == codesets.HCPCS and len(key) == 2:
        return MODIFIER
    return CODE


def _looks_like_code(set_id: str, text: str) -> bool:
    text = text.strip()
    if set_id in codesets.OFFICIAL_SETS:
        return bool(codesets.normalise(set_id, text))
    return bool(TOKEN_RE.match(text)) and any(ch.isdigit() for ch in text)


def _header_row(set_id: str, rows: list[Row]) -> bool:
    """A first row of column titles: it starts with a code column's title ("Code", "NDC"; the
    title wins even where it has a code's shape, as "CODE" has ICD-10-CM's), or its first cell
    is no code while it names a code column elsewhere or the rows after it mostly are codes."""
    first = rows[0].cells
    if has_header_words(first):
        return True
    named = find_columns(first)
    if named is not None and text_role(first[0]) is not None:
        return True  # "Desc, Code": "DESC" has an ICD-10-CM code's shape, but it is a title here
    if _looks_like_code(set_id, first[0]):
        return False
    if named is not None:
        return True
    following = rows[1:6]
    fits = sum(1 for r in following if _looks_like_code(set_id, r.cells[0]))
    return bool(following) and fits * 2 > len(following)


# -- import --------------------------------------------------------------------------------------


def read_list(f: InputFile, set_id: str) -> tuple[list[CodeRecord], list[str]]:
    """Records and warnings from one delimited list."""
    text = decode(f.data).lstrip("\ufeff")
    if not text.strip():
        raise SourceError(f"{f.name} is empty")
    delimiter = sniff_delimiter(text) or ","
    rows = split_rows(text, delimiter)
    columns = Columns(0, {"description": 1})
    if rows and _header_row(set_id, rows):
        named = find_columns(rows[0].cells)
        if named is not None:
            if named.description_role() is None:  # e.g. "Description, Code": the other column
                named = Columns(named.code, {"description": 1 if named.code == 0 else 0})
            columns = named
        rows = rows[1:]
    desc_col = columns.text[columns.description_role() or "description"]
    short_role = columns.short_role()
    short_col = columns.text[short_role] if short_role else None
    # A two-column CSV whose descriptions hold unquoted commas: the rest of the line is the text.
    # (A tab inside a TSV row is a real further column: tabs do not occur in descriptions.)
    rest_is_text = delimiter != "\t" and columns.code == 0 and desc_col == 1 and base_width(rows) == 2

    skipped = Skipped()
    no_text: list[str] = []
    records: list[CodeRecord] = []
    for row in rows:
        cells = row.cells
        if columns.code >= len(cells) or not cells[columns.code]:
            skipped.add("without a code", f"line {row.line}")
            continue
        key = _key_for(set_id, cells[columns.code], skipped)
        if key is None:
            continue
        if rest_is_text and len(cells) > 2:
            description = _unquote(row.raw.split(delimiter, 1)[1])
        else:
            description = cells[desc_col] if desc_col < len(cells) else ""
        short = cells[short_col] if short_col is not None and short_col < len(cells) else None
        if not description:
            no_text.append(key)
        records.append(CodeRecord(code=key, description=description, kind=_kind_for(set_id, key), short=short or None))
    warnings = skipped.warnings(f.name)
    if no_text:
        warnings.append(
            f"{f.name}: {len(no_text)} code(s) have no description and were kept without one "
            f"(e.g. {', '.join(no_text[:EXAMPLES])})"
        )
    return records, warnings


def release_label_from_name(path: Path) -> str:
    """A folder-safe release label from a file name: 'acme codes (2026).csv' -> 'acme-codes-2026'."""
    stem = path.name if path.is_dir() else path.stem
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    label = re.sub(r"\.{2,}", ".", label).strip("-._")[:64].rstrip("-._")
    return label if layout.valid_release_label(label) else "local"


def check_release_label(label: str) -> str:
    if not layout.valid_release_label(label):
        raise SourceError(
            f"release label {label!r} is not usable: use letters, digits, '.', '_' and '-' "
            "(at most 64 characters, starting with a letter or digit)"
        )
    return label


def from_path(
    path: Path,
    *,
    set_id: str,
    release: str | None = None,
    effective: dt.date | None = None,
    complete: bool | None = None,
) -> ImportResult:
    """Import a plain (code, description) list from a file, a zip or a folder into set_id."""
    path = Path(path)
    if not codesets.SET_ID_RE.match(set_id):
        raise SourceError(
            f"{set_id!r} is not a usable code set name: use 2-32 lower-case letters, digits and '-', "
            "starting with a letter (e.g. payer-acme)"
        )
    files = read_inputs(path)
    if not files:
        raise SourceError(f"{path} holds no files")
    if len(files) == 1:
        chosen = files  # a file the user named: read it whatever it looks like, if it is text
        if not is_list_candidate(files[0]):
            raise SourceError(
                f"{files[0].name} is not a text file (a spreadsheet, PDF or other binary file): "
                "save the list as CSV or tab-delimited text"
            )
    else:
        # A download or folder: only its list-shaped members (not its README or PDFs).
        chosen = [f for f in files if is_list_candidate(f) and _two_column_file(f)]
        if not chosen:
            names = ", ".join(f.name for f in files[:10])
            raise SourceError(f"{path} holds no two-column (code, description) list (files: {names})")

    records: list[CodeRecord] = []
    warnings: list[str] = []
    used: list[InputFile] = []
    for f in chosen:
        found, notes = read_list(f, set_id)
        warnings += notes
        if found:
            records += found
            used.append(f)
    if not records:
        where = chosen[0].name if len(chosen) == 1 else str(path)
        why = f": {'; '.join(warnings[:2])}" if warnings else ""
        raise SourceError(f"{where} contains no {codesets.set_name(set_id)} codes{why}")

    label = check_release_label(release) if release else release_label_from_name(path)
    if complete is None:
        # A local list of an official set proves nothing about the codes it leaves out; a CPT
        # list is the user's licensed full file, and a local set is whatever its owner says it is.
        complete = set_id == codesets.CPT or set_id not in codesets.OFFICIAL_SETS
    return ImportResult(
        set_id=set_id,
        release=label,
        title=f"{codesets.set_name(set_id)} local list {label}",
        effective_from=effective,
        effective_to=None,
        source=file_source(path, used),
        records=records,
        complete=complete,
        warnings=warnings,
    )
