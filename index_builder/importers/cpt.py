"""CPT from the user's own licensed AMA data files. medcode ships no CPT text: it is AMA's.

Accepted, as one file, a zip as delivered, or an extracted folder:

- ``LONGULT.txt`` and any ``code<TAB>descriptor`` file (the preferred input);
- tab-delimited tables with a header row (the newer "CPT Link" / standard data files): the code
  column and the descriptor columns are found by their titles;
- the fixed-width ``SHORTU.txt`` / ``MEDU.txt`` (code 1-5, blank, text) and ``LONGULF.txt`` /
  ``LONGUF.txt`` (code 1-5, sequence 6-7, blank, text 9-80, continued over records);
- a modifier file (``MODUL.txt``): 2-digit modifiers become modifier records;
- a two-column CSV (code, description), with or without a header row.

Every AMA file opens with a copyright notice; lines before the first code row that are not
code-shaped are that notice and are skipped silently. Later odd rows are counted in warnings.
When several files describe the same codes, the long descriptor becomes the description and the
short (else medium) one the record's ``short``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .. import codesets
from ..model import CODE, MODIFIER, CodeRecord, ImportResult
from ..sources import InputFile, LayoutNotRecognised, SourceError, decode, file_source, read_inputs
from .generic import (
    DELIMITERS,
    DESCRIPTION_ROLES,
    SHORT_ROLES,
    TOKEN_RE,
    Columns,
    Skipped,
    base_width,
    check_release_label,
    find_columns,
    is_list_candidate,
    normalise_header,
    split_line,
    split_rows,
)

# A CPT year in a file or folder name: "CPT 2026.zip", "cpt_2026_data" (not part of "20260101").
YEAR_RE = re.compile(r"(?<!\d)(20[2-9]\d)(?!\d)")

# How far into a file its header row or its layout is looked for (the copyright notice comes first).
HEADER_SEARCH_LINES = 60
LAYOUT_SAMPLE_LINES = 1000

# Members that are not code lists: documentation, and change histories whose rows are codes that
# were deleted or changed (importing those as valid codes would be wrong).
_HISTORY_NAME_RE = re.compile(r"(?<![a-z])(history|deleted?|deletions?|changes?)(?![a-z])", re.IGNORECASE)
_NOT_CODE_LIST_RE = re.compile(
    r"(?<![a-z])(readme|licen[cs]e|copyright|history|deleted?|deletions?|changes?)(?![a-z])", re.IGNORECASE
)
# Header words that mark a change-history table rather than a descriptor table.
_HISTORY_HEADER_WORDS = frozenset({"deleted", "deletion", "prior", "change", "changes"})

# The fixed-width code field: columns 1-5, the code left-aligned (a modifier is padded).
_FIXED_CODE_RE = re.compile(r"^[0-9A-Za-z]{2,5} *$")
# A modifier paragraph in MODUL.txt: "25 Title: text..." continued on the following lines.
_MODIFIER_LINE_RE = re.compile(r"^(\d\d)\s+(\S.*)$")
# A LONGULF record is at most 80 columns; a file whose continued records all fill them was cut
# at the column, not at a word, so its pieces join without an added space.
_LONG_FIXED_WIDTH = 80


def _cpt_kind(code: str) -> str | None:
    if codesets.CPT_RE.match(code):
        return CODE
    if codesets.CPT_MODIFIER_RE.match(code):
        return MODIFIER
    return None


# File names (upper-cased stems) and the descriptor they hold, first match wins. The AMA names
# may carry a prefix or suffix ("cpt2026_SHORTU"), so they are matched as words.
_NAME_ROLES = tuple(
    (re.compile(rf"(?<![A-Z]){pattern}(?![A-Z])"), role)
    for pattern, role in (
        (r"LONGU?L[TF]?", "long"),  # LONGULT / LONGULF: upper and lower case
        (r"LONGU[TF]?", "long_upper"),  # LONGUT / LONGUF: upper case only; the mixed-case files win
        (r"LONG", "long"),
        (r"(MEDU?|MEDIUM)", "medium"),
        (r"SHORTU?", "short"),
        (r"MOD(UL?|IFIERS?)?", "modifier"),
    )
)


def _name_role(name: str) -> str:
    """Which descriptor a file holds, from its AMA name (SHORTU.txt, LONGULT.txt, ...)."""
    stem = PurePath(name).stem.upper()
    for pattern, role in _NAME_ROLES:
        if pattern.search(stem):
            return role
    if "CONSUMER" in stem:
        return "consumer"
    if "CLINICIAN" in stem:
        return "clinician"
    return "description"


@dataclass
class _Tally:
    """Sorts one file's code cells into CPT codes, modifiers and rows to skip.

    A line in the layout's row shape (a delimiter after the first cell, or the fixed columns)
    whose first cell is code-like but no CPT code is counted wherever it stands. Other lines
    before the first code row are the copyright notice and pass silently; after it, they are
    counted too.
    """

    skipped: Skipped = field(default_factory=Skipped)
    seen: bool = False

    def classify(self, cell: str, line: int, row_shaped: bool = True) -> tuple[str, str] | None:
        code = cell.strip().upper()
        kind = _cpt_kind(code)
        if kind is not None:
            self.seen = True
            return code, kind
        if row_shaped and TOKEN_RE.match(code) and any(ch.isdigit() for ch in code):
            self.skipped.add("whose code is not a CPT code or modifier", code)
        elif self.seen:
            self.skipped.add("that are not code rows", f"line {line}")
        return None


@dataclass
class _Parsed:
    """What one file says: per code its kind and descriptor texts by role."""

    name: str
    layout: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    tally: _Tally = field(default_factory=_Tally)
    repeats: list[str] = field(default_factory=list)
    no_text: list[str] = field(default_factory=list)

    def add(self, code: str, kind: str, role: str, text: str) -> None:
        text = text.strip()
        if not text:
            self.no_text.append(code)
            return
        self.kinds[code] = kind
        roles = self.texts.setdefault(code, {})
        if role in roles:
            if role != "clinician":  # clinician descriptors come several to a code by design
                self.repeats.append(code)
            return
        roles[role] = text

    @property
    def cpt_codes(self) -> int:
        return sum(1 for k in self.kinds.values() if k == CODE)

    def warnings(self) -> list[str]:
        out = self.tally.skipped.warnings(self.name)
        if self.no_text:
            out.append(
                f"{self.name}: skipped {len(self.no_text)} row(s) without a descriptor "
                f"(e.g. {', '.join(self.no_text[:5])})"
            )
        if self.repeats:
            out.append(
                f"{self.name}: {len(self.repeats)} repeated code(s); the first of each was kept "
                f"(e.g. {', '.join(dict.fromkeys(self.repeats[:5]))})"
            )
        return out


# -- layouts -------------------------------------------------------------------------------------


def _fixed_code(line: str) -> str | None:
    head = line[:5]
    return head.strip() if len(line) > 5 and _FIXED_CODE_RE.match(head) else None


def _is_sequenced(line: str) -> bool:
    """LONGULF: code 1-5, 2-digit sequence 6-7, blank 8."""
    return _fixed_code(line) is not None and line[5:7].isdigit() and (len(line) == 7 or line[7] == " ")


def _is_fixed(line: str) -> bool:
    """SHORTU / MEDU: code 1-5, blank 6, text from 7."""
    return _fixed_code(line) is not None and line[5] == " " and bool(line[6:].strip())


def _find_header(lines: list[str]) -> tuple[int, str, Columns] | None:
    """A header row naming a code column, followed by CPT rows: (line index, delimiter, columns)."""
    checked = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        checked += 1
        if checked > HEADER_SEARCH_LINES:
            break
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = split_line(line, delimiter)
            if _cpt_kind(cells[0].upper()):
                continue
            columns = find_columns(cells)
            if columns is None:
                continue
            following = [split_line(x, delimiter) for x in lines[i + 1 : i + 40] if x.strip()]
            if any(columns.code < len(c) and _cpt_kind(c[columns.code].upper()) for c in following):
                return i, delimiter, columns
    return None


def _sniff_layout(lines: list[str]) -> str | None:
    """The positional layout under which most lines start with a CPT code or modifier."""
    scores = dict.fromkeys(("tab", "sequenced", "fixed", "pipe", "comma"), 0)
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        seen += 1
        if seen > LAYOUT_SAMPLE_LINES:
            break
        if "\t" in line:
            scores["tab"] += bool(_cpt_kind(split_line(line, "\t")[0].upper()))
            continue
        code = _fixed_code(line)
        if code is not None and _cpt_kind(code.upper()):
            scores["sequenced"] += _is_sequenced(line)
            scores["fixed"] += _is_fixed(line)
        for name, delimiter in (("pipe", "|"), ("comma", ",")):
            if delimiter in line:
                cells = split_line(line, delimiter)
                scores[name] += len(cells) >= 2 and bool(_cpt_kind(cells[0].upper()))
    best = max(scores, key=lambda k: scores[k])  # ties: the order above
    return best if scores[best] else None


def _read_table(parsed: _Parsed, text: str, start: int, delimiter: str, columns: Columns) -> None:
    """Rows of a delimited file from line index start on (header rows already passed)."""
    rows = [r for r in split_rows(text, delimiter) if r.line > start]
    desc_role = columns.description_role()
    # (code, descriptor) written without quoting: commas inside the descriptor split it further,
    # so the rest of the line is the descriptor.
    rest_is_text = (
        delimiter != "\t" and columns.code == 0 and desc_role is not None and columns.text[desc_role] == 1
        and base_width(rows) == 2
    )  # fmt: skip
    for row in rows:
        cells = row.cells
        if columns.code >= len(cells):
            parsed.tally.classify("", row.line, row_shaped=False)
            continue
        found = parsed.tally.classify(cells[columns.code], row.line, row_shaped=len(cells) > 1)
        if found is None:
            continue
        code, kind = found
        values = {}
        for role, col in columns.text.items():
            if rest_is_text and role == desc_role and len(cells) > 2:
                values[role] = row.raw.split(delimiter, 1)[1].strip().strip('"')
            elif col < len(cells) and cells[col]:
                values[role] = cells[col]
        if not values:
            parsed.no_text.append(code)
        for role, value in values.items():
            parsed.add(code, kind, role, value)


def _coded_lines(parsed: _Parsed, lines: list[str], in_layout: Callable[[str], bool]) -> Iterator[tuple[str, tuple[str, str]]]:
    """(line, (code, kind)) for each line in the fixed-width layout whose code the tally
    accepts; every other non-blank line is tallied as what it is."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        code = _fixed_code(line) if in_layout(line) else None
        if code is None:
            parsed.tally.classify(line.split(" ", 1)[0], n, row_shaped=False)
            continue
        found = parsed.tally.classify(code, n)
        if found is not None:
            yield line, found


def _read_fixed(parsed: _Parsed, lines: list[str], role: str) -> None:
    for line, (code, kind) in _coded_lines(parsed, lines, _is_fixed):
        parsed.add(code, kind, role, line[6:])


def _read_sequenced(parsed: _Parsed, lines: list[str], role: str) -> None:
    """LONGULF / LONGUF: a descriptor continued over records of the same code, by sequence."""
    groups: list[tuple[str, str, list[tuple[int, str]]]] = []
    for line, (key, kind) in _coded_lines(parsed, lines, _is_sequenced):
        seq = int(line[5:7])
        if not groups or groups[-1][0] != key or seq <= groups[-1][2][-1][0]:
            groups.append((key, kind, []))
        groups[-1][2].append((seq, line))
    continued = [line for _, _, parts in groups for _, line in parts[:-1]]
    cut_at_column = bool(continued) and all(len(line) >= _LONG_FIXED_WIDTH for line in continued)
    for key, kind, parts in groups:
        pieces = [line[8:_LONG_FIXED_WIDTH] if cut_at_column else line[8:].strip() for _, line in parts]
        text = ("" if cut_at_column else " ").join(pieces)
        parsed.add(key, kind, role, re.sub(r"\s+", " ", text).strip())


def _read_modifier_prose(parsed: _Parsed, lines: list[str]) -> None:
    """MODUL.txt: paragraphs opening with a 2-digit modifier; a blank line ends one. Other
    modifiers in it (Category II, physical status, HCPCS Level II) are not CPT modifiers."""
    current: tuple[str, list[str]] | None = None

    def flush() -> None:
        # The file lists some modifiers twice (again for hospital outpatient use): first wins.
        if current is not None and current[0] not in parsed.texts:
            code, parts = current
            text = " ".join(parts)
            parsed.add(code, MODIFIER, "long", text)
            title = text.split(":", 1)[0].strip()
            if ":" in text and len(title) <= 80:
                parsed.add(code, MODIFIER, "short", title)

    for line in lines:
        stripped = line.strip()
        m = _MODIFIER_LINE_RE.match(stripped)
        if m:
            flush()
            current = (m.group(1), [m.group(2).strip()])
        elif stripped and current is not None:
            current[1].append(stripped)
        else:
            flush()
            current = None
    flush()


def _read_file(f: InputFile) -> _Parsed:
    parsed = _Parsed(f.name)
    text = decode(f.data).lstrip("\ufeff")
    lines = text.splitlines()
    role = _name_role(f.name)

    header = _find_header(lines)
    if header is not None:
        start, delimiter, columns = header
        header_words = set(normalise_header(" ".join(split_line(lines[start], delimiter))).split())
        if header_words & _HISTORY_HEADER_WORDS:
            parsed.layout = "history"
            return parsed
        parsed.layout = "table"
        _read_table(parsed, text, start + 1, delimiter, columns)
        return parsed

    layout = _sniff_layout(lines)
    text_role = "long" if role == "modifier" else role
    parsed.layout = layout or ""
    if layout in ("tab", "pipe", "comma"):
        delimiter = {"tab": "\t", "pipe": "|", "comma": ","}[layout]
        _read_table(parsed, text, 0, delimiter, Columns(0, {text_role: 1}))
    elif layout == "sequenced":
        _read_sequenced(parsed, lines, text_role)
    elif layout == "fixed":
        _read_fixed(parsed, lines, text_role)
    elif role == "modifier":
        parsed.layout = "modifier text"
        _read_modifier_prose(parsed, lines)
    return parsed


# -- release -------------------------------------------------------------------------------------


def _year_in(*names: str) -> int | None:
    for name in names:
        m = YEAR_RE.search(name)
        if m:
            return int(m.group(1))
    return None


def _describe(p: _Parsed) -> str:
    roles = sorted({r for texts in p.texts.values() for r in texts}, key=DESCRIPTION_ROLES.index)
    return f"{p.layout}: {', '.join(r.replace('_', ' ') for r in roles)}"


def _merge(parts: list[_Parsed]) -> list[CodeRecord]:
    kinds: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {}
    for p in parts:
        for code, roles in p.texts.items():
            kinds.setdefault(code, p.kinds[code])
            merged = texts.setdefault(code, {})
            for role, text in roles.items():
                merged.setdefault(role, text)
    records = []
    for code, roles in texts.items():
        best = next(r for r in DESCRIPTION_ROLES if r in roles)
        short = next((roles[r] for r in SHORT_ROLES if r in roles and r != best), None)
        records.append(CodeRecord(code=code, description=roles[best], kind=kinds[code], short=short))
    return records


def from_path(path: Path, *, release: str | None = None, effective: dt.date | None = None) -> ImportResult:
    """Import the user's licensed CPT files (a file, a zip as delivered, or a folder)."""
    path = Path(path)
    files = read_inputs(path)
    if not files:
        raise SourceError(f"{path} holds no files")

    single = len(files) == 1
    parts: list[_Parsed] = []
    for f in files:
        if single and not is_list_candidate(f):
            raise SourceError(
                f"{f.name} is not a text file (a spreadsheet, PDF or other binary file): give the AMA "
                "text files (LONGULT.txt, SHORTU.txt, ...) or save the list as CSV or tab-delimited text"
            )
        if single and _HISTORY_NAME_RE.search(f.name):
            raise SourceError(f"{f.name} looks like a CPT change history, not a code list; give LONGULT.txt")
        if not single and (not is_list_candidate(f) or _NOT_CODE_LIST_RE.search(f.name)):
            continue  # the README, PDFs and histories of a download
        parsed = _read_file(f)
        if parsed.layout == "history":
            if single:
                raise SourceError(f"{f.name} is a CPT change-history table, not a code list; give LONGULT.txt")
            continue
        parts.append(parsed)

    used = [p for p in parts if p.kinds]
    if not any(p.cpt_codes for p in used):
        reasons = [w for p in parts for w in p.warnings()][:2]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        where = files[0].name if single else f"{path.name} (read: {', '.join(p.name for p in parts) or 'nothing'})"
        raise LayoutNotRecognised(
            f"{where} contains no CPT codes (5 digits, or 4 digits and A, F, M, T or U, each followed "
            f"by a descriptor){why}"
        )

    if release:
        label = check_release_label(release)
    else:
        year = _year_in(path.name, *(f.name for f in files))
        if year is None:
            raise SourceError(
                f"cannot tell which CPT year {path.name} holds (no year such as 2026 in its name): "
                "give --release LABEL (e.g. --release 2026) and --effective YYYY-MM-DD"
            )
        label = str(year)

    year = _year_in(label) or _year_in(path.name, *(p.name for p in used))
    start = effective or (dt.date(year, 1, 1) if year else None)
    end = dt.date(year, 12, 31) if year else None
    if start is not None and end is not None and start > end:
        end = None  # an effective date past the labelled year: the label is not a CPT year
    by_name = {p.name: p for p in used}
    return ImportResult(
        set_id=codesets.CPT,
        release=label,
        title=f"CPT {label} (licensed AMA data, {path.name})",
        effective_from=start,
        effective_to=end,
        source=file_source(path, [f for f in files if f.name in by_name]),
        # Delimited files first: where LONGULT and LONGULF both hold a code, the tab-delimited
        # text needs no re-joining of fixed-width pieces.
        records=_merge(sorted(used, key=lambda p: p.layout not in ("tab", "table"))),
        complete=True,  # a licensed AMA file is the whole code set
        meta={"files": {p.name: _describe(p) for p in used}},
        warnings=[w for p in used for w in p.warnings()],
    )
