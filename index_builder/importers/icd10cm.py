"""ICD-10-CM from the CDC tabular XML (structure and notes) and the CDC order file (titles).

The tabular XML does not list 7-character codes: a ``sevenChrDef`` on a category or
subcategory applies to every leaf below it, padded to six characters with the placeholder X
(T36.0X1 + A). We generate them, and when the release's full code list is at hand (the order
file, or the list shipped beside the XML) keep only combinations that list confirms.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..codesets import ICD10CM, ICD10CM_RE, icd10cm_display
from ..model import CODE, HEADER, CodeRecord, ImportResult, Source
from ..periods import APRIL_RE, fiscal_label, fiscal_year
from ..tabular_notes import AUX_NAME as PAIRING_AUX, CATEGORIES_META, categories, pairing_notes
from ..sources import InputFile, LayoutNotRecognised, SourceError, decode, file_source, package_source, read_inputs

# Tabular note elements kept for hover, in the order the CDC prints them.
NOTE_TAGS = (
    "notes",
    "includes",
    "inclusionTerm",
    "excludes1",
    "excludes2",
    "codeFirst",
    "useAdditionalCode",
    "codeAlso",
    "sevenChrNote",
)

DEFAULT_DIST = "simple-icd-10-cm"
DEFAULT_XML = "simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml"
DEFAULT_CODE_LIST = "simple_icd_10_cm/data/code-list-April-2026.txt"


@dataclass
class _SevenChr:
    owner: str  # the code whose sevenChrDef this is
    chars: dict[str, str]
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Parsed:
    version: str | None
    records: list[CodeRecord]
    meta: dict
    leaves_needing_7th: list[tuple[CodeRecord, _SevenChr]]


def _notes(el: ET.Element) -> dict[str, list[str]]:
    return _ordered_notes(_note_texts([c for c in el if c.tag in _NOTE_SET]))


_NOTE_SET = frozenset(NOTE_TAGS)


def _note_texts(note_children: list[ET.Element]) -> dict[str, list[str]]:
    """The cleaned, non-empty <note> texts of the note elements given, per tag in document order."""
    out: dict[str, list[str]] = {}
    for child in note_children:
        # Its <note> children, picked by tag: iterfind goes through ElementPath's Python code
        # for each of the tabular's 13,000 note elements. Cleaned as _clean cleans, in C
        # passes rather than a call per text (24,000 of them).
        texts = list(filter(None, map(" ".join, map(str.split, [n.text for n in child if n.tag == "note" and n.text]))))
        if texts:
            out.setdefault(child.tag, []).extend(texts)
    return out


def _ordered_notes(by_tag: dict[str, list[str]]) -> dict[str, list[str]]:
    """The notes in the order the CDC prints them (NOTE_TAGS)."""
    if len(by_tag) < 2:
        return by_tag
    return {tag: by_tag[tag] for tag in NOTE_TAGS if tag in by_tag}


def _clean(text: str | None) -> str:
    # str.split() with no argument splits on exactly the characters re's \s matches in a str
    # pattern (unicode whitespace), and is several times faster over 200,000 texts.
    return " ".join(text.split()) if text else ""


def _seven_chr_def(node: ET.Element, owner: str) -> _SevenChr:
    chars: dict[str, str] = {}
    extra: dict[str, list[str]] = {}
    last = None
    # Continuation <note> lines inside the definition qualify the extension just before them.
    for child in node:
        if child.tag == "extension":
            last = child.get("char", "")
            chars[last] = _clean(child.text)
        elif child.tag == "note" and last is not None and _clean(child.text):
            extra.setdefault(last, []).append(_clean(child.text))
    return _SevenChr(owner, chars, extra)


def parse_tabular(data: bytes) -> _Parsed:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"the ICD-10-CM tabular XML is not well-formed ({exc})") from exc
    if root.tag != "ICD10CM.tabular":
        raise SourceError(f"expected an <ICD10CM.tabular> document, found <{root.tag}>")
    records: list[CodeRecord] = []
    pending: list[tuple[CodeRecord, _SevenChr]] = []
    chapters = []
    sections: dict[str, dict] = {}

    def walk(el: ET.Element, parent: str | None, section: str, seventh: _SevenChr | None) -> None:
        # One pass over the children (47,000 diag elements): the lookups findtext and findall
        # made per tag cost more than the XML parse itself.
        name = desc = None
        children: list[ET.Element] = []
        note_children: list[ET.Element] = []
        own_def = None
        for child in el:
            tag = child.tag
            if tag == "diag":
                children.append(child)
            elif tag in _NOTE_SET:
                note_children.append(child)
            elif tag == "name":
                if name is None:
                    name = child.text or ""
            elif tag == "desc":
                if desc is None:
                    desc = child.text or ""
            elif tag == "sevenChrDef" and own_def is None:
                own_def = child
        name = _clean(name).upper()
        key = name.replace(".", "")
        if not ICD10CM_RE.match(key):
            raise SourceError(f"unexpected ICD-10-CM code {name!r} in the tabular XML")
        own = _seven_chr_def(own_def, key) if own_def is not None else None
        seventh = own or seventh
        notes = _ordered_notes(_note_texts(note_children)) if note_children else {}
        # Positional, every field given (47,000 records): see seventh_character_codes.
        rec = CodeRecord(
            key, _clean(desc), HEADER if children or seventh else CODE, None, parent, None, None, None, None, notes, {},
            list(notes.get("inclusionTerm", ())),
        )
        if parent is None:
            rec.detail["section"] = section
        if own:
            rec.detail["seventh"] = own.chars
            if own.extra:
                rec.detail["seventh_extra"] = own.extra
        records.append(rec)
        if not children and seventh:
            pending.append((rec, seventh))
        for child in children:
            walk(child, key, section, seventh)

    for chapter in root.findall("chapter"):
        number = _clean(chapter.findtext("name"))
        chapters.append({"name": number, "desc": _clean(chapter.findtext("desc")), "notes": _notes(chapter)})
        for section in chapter.findall("section"):
            sid = section.get("id", "")
            sections[sid] = {"desc": _clean(section.findtext("desc")), "chapter": number, "notes": _notes(section)}
            for diag in section.findall("diag"):
                walk(diag, None, sid, None)
    version = _clean(root.findtext("version")) or None
    return _Parsed(version, records, {"chapters": chapters, "sections": sections}, pending)


def seventh_character_codes(leaf: CodeRecord, seventh: _SevenChr, chars: Iterable[str] | None = None) -> list[CodeRecord]:
    """The 7th-character codes of a leaf: every combination its definition allows, or those of
    `chars` only."""
    base = leaf.code.ljust(6, "X")
    parent, description, meanings, owner = leaf.code, leaf.description, seventh.chars, seventh.owner
    # Positional, every field given: keywords and the default factories took a third of the
    # time of the embedded build's 50,000 records.
    return [
        CodeRecord(
            base + char, f"{description}, {meanings[char]}", CODE, None, parent, None, None, None, None, {},
            {"seventh_of": owner, "seventh_char": char}, [],
        )
        for char in (meanings if chars is None else chars)
    ]


@dataclass(frozen=True, slots=True)
class OrderLine:
    code: str
    billable: bool
    short: str
    long: str


def parse_order_file(text: str, name: str) -> list[OrderLine]:
    """The fixed-width order file: order 1-5, code 7-13, flag 15, short 17-76, long 78-end."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        code = line[6:13].strip()
        flag = line[14:15]
        if not line[:5].isdigit() or flag not in ("0", "1") or not ICD10CM_RE.match(code):
            raise SourceError(f"{name} line {n} is not in the ICD-10-CM order-file layout")
        out.append(OrderLine(code, flag == "1", line[16:76].strip(), line[77:].strip()))
    return out


def _looks_like_order_file(f: InputFile) -> bool:
    head = f.data[:400].decode("latin-1")
    return bool(re.match(r"^\d{5} ([0-9A-Z]{3,7}) *[01] ", head)) and ICD10CM_RE.match(head[6:13].strip()) is not None


def _from_order_lines(lines: list[OrderLine]) -> list[CodeRecord]:
    known = {line.code for line in lines}
    records = []
    for line in lines:
        parent = next((line.code[:i] for i in range(len(line.code) - 1, 2, -1) if line.code[:i] in known), None)
        records.append(
            CodeRecord(
                code=line.code,
                description=line.long,
                short=line.short or None,
                kind=CODE if line.billable else HEADER,
                parent=parent,
            )
        )
    return records


def _release_for(names: list[str], version: str | None, release: str | None, effective: dt.date | None):
    """Label and dates: arguments win, else the fiscal year from the XML or the file names."""
    joined = " ".join(names).lower()
    year = int(version) if version and version.isdigit() else None
    if year is None:
        m = re.search(r"(20[1-9][0-9])", joined)
        year = int(m.group(1)) if m else None
    april = APRIL_RE.search(joined) is not None
    if release is None and year is None:
        raise SourceError("cannot tell which fiscal year this ICD-10-CM file is; pass --release LABEL (e.g. FY2027)")
    start = end = None
    if year is not None:
        start, end = fiscal_year(year, april)
    label = release or fiscal_label(year, april)
    if effective is not None:
        start = effective
    title = f"ICD-10-CM FY{year}" + (f" (April 1, {year} update)" if april else "") if year else f"ICD-10-CM {label}"
    return label, title, start, end


def _build(
    tabular: bytes | None,
    order: list[OrderLine] | None,
    code_list: set[str] | None,
    names: list[str],
    source: Source,
    release: str | None,
    effective: dt.date | None,
) -> ImportResult:
    warnings: list[str] = []
    meta: dict = {}
    version = None
    if tabular is not None:
        parsed = parse_tabular(tabular)
        version = parsed.version
        meta = parsed.meta
        records = parsed.records
        confirm = code_list if code_list is not None else ({o.code for o in order} if order else None)
        dropped = 0
        for leaf, seventh in parsed.leaves_needing_7th:
            for rec in seventh_character_codes(leaf, seventh):
                if confirm is None or rec.code in confirm:
                    records.append(rec)
                else:
                    dropped += 1
        if confirm is None:
            warnings.append("no code list to confirm generated 7th-character codes; all combinations were kept")
        elif dropped:
            warnings.append(f"{dropped} generated 7th-character combinations are not in the release's code list and were left out")
        if order:
            _merge_order_titles(records, order, warnings)
    elif order:
        records = _from_order_lines(order)
        warnings.append("order file only: no tabular notes, chapters or 7th-character definitions")
    else:
        raise SourceError("no ICD-10-CM tabular XML or order file found")
    label, title, start, end = _release_for(names, version, release, effective)
    # Excludes1 / code first / use additional code as code ranges, parsed here once so that
    # the claim edits only compare prefixes.
    aux = {PAIRING_AUX: pairing_notes(records)} if tabular is not None else {}
    if aux:
        meta = {**meta, CATEGORIES_META: categories(r.code for r in records)}
    return ImportResult(
        set_id=ICD10CM,
        release=label,
        title=title,
        effective_from=start,
        effective_to=end,
        source=source,
        records=records,
        meta=meta,
        aux=aux,
        warnings=warnings,
    )


def _merge_order_titles(records: list[CodeRecord], order: list[OrderLine], warnings: list[str]) -> None:
    by_code = {o.code: o for o in order}
    disagree = 0
    for rec in records:
        line = by_code.pop(rec.code, None)
        if line is None:
            continue
        rec.short = line.short or None
        if line.billable != rec.billable:
            disagree += 1
    if disagree:
        warnings.append(f"{disagree} codes differ in billable status between the tabular XML and the order file")
    if by_code:
        warnings.append(f"{len(by_code)} order-file codes are not in the tabular XML (e.g. {icd10cm_display(next(iter(by_code)))})")


# The release the embedded tabular is: its notes answer for every embedded fiscal year.
EMBEDDED_TABULAR_TITLE = "ICD-10-CM FY2026 (Apr 2026)"
# Meta key naming the tabular whose notes a release carries, when that is not the release itself.
NOTES_FROM = "notes_from"


def embedded_tabular() -> tuple[Source, _Parsed]:
    """The parsed FY2026 tabular that simple-icd-10-cm ships: the embedded releases take
    descriptions, notes and 7th-character meanings from it (defaults/releases.py)."""
    source, (xml_path,) = package_source(DEFAULT_DIST, DEFAULT_XML)
    return source, parse_tabular(xml_path.read_bytes())


def embedded_default() -> ImportResult:
    """The CDC tabular XML of FY2026 (April 1, 2026 update) shipped in simple-icd-10-cm."""
    source, (xml_path, list_path) = package_source(DEFAULT_DIST, DEFAULT_XML, DEFAULT_CODE_LIST)
    code_list = set(list_path.read_text(encoding="utf-8").split())
    result = _build(xml_path.read_bytes(), None, code_list, [xml_path.name], source, "FY2026-Apr", None)
    # The April 2026 update changed no codes or flags relative to October 1, 2025 (CDC
    # addenda), so this data answers for the whole fiscal year.
    result.effective_from = dt.date(2025, 10, 1)
    result.title = EMBEDDED_TABULAR_TITLE
    return result


def from_path(path: Path, *, release: str | None = None, effective: dt.date | None = None) -> ImportResult:
    files = read_inputs(path)
    xml = [f for f in files if f.lower.endswith(".xml") and b"<ICD10CM.tabular" in f.data[:2000]]
    # The CDC zips carry addenda (changes since last year) beside the order file.
    orders = [f for f in files if f.lower.endswith(".txt") and "addend" not in f.lower and _looks_like_order_file(f)]
    if not xml and not orders:
        raise LayoutNotRecognised(
            f"{path}: no ICD-10-CM tabular XML (icd10cm_tabular_YYYY.xml) or order file "
            "(icd10cm_order_YYYY.txt) found"
        )
    order_file = orders[0] if orders else None
    order = parse_order_file(decode(order_file.data), order_file.name) if order_file else None
    used = xml[:1] + ([order_file] if order_file else [])
    return _build(
        xml[0].data if xml else None,
        order,
        None,
        [f.name for f in used] + [Path(path).name],
        file_source(path, used),
        release,
        effective,
    )
