"""What the template reader looks for: set names, prefixes, code shapes, exclusion zones.

Kept apart from the reader so the vocabulary can be read (and extended) in one place.
See shared/reference/formats.md §3.2 for the tiers this follows.
"""

from __future__ import annotations

import re

from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM, ICD10PCS, NDC

from .. import places

# -- set names ---------------------------------------------------------------------------------

# How a set is named in front matter keys, table headers and prefixes (normalised by set_of()).
SET_ALIASES: dict[str, str] = {
    "icd10cm": ICD10CM,
    "icd-10-cm": ICD10CM,
    "icd 10 cm": ICD10CM,
    "icd10": ICD10CM,
    "icd-10": ICD10CM,
    "icd 10": ICD10CM,
    "icd-10 cm": ICD10CM,
    "dx": ICD10CM,
    "icd10pcs": ICD10PCS,
    "icd-10-pcs": ICD10PCS,
    "icd 10 pcs": ICD10PCS,
    "icd-10 pcs": ICD10PCS,
    "pcs": ICD10PCS,
    "cpt": CPT,
    "cpt4": CPT,
    "cpt-4": CPT,
    "hcpcs": HCPCS,
    "hcpc": HCPCS,
    "hcpcs ii": HCPCS,
    "hcpcs level ii": HCPCS,
    "hcpcs level 2": HCPCS,
    "hcpcs2": HCPCS,
    "ndc": NDC,
    "cdt": places.CDT,
    "drg": places.MS_DRG,
    "ms-drg": places.MS_DRG,
    "msdrg": places.MS_DRG,
    "ms drg": places.MS_DRG,
    "revenue": places.REVENUE,
    "revenue code": places.REVENUE,
    "rev code": places.REVENUE,
}

# Headers of a table column that names, row by row, the set of the `Code` column beside it.
SYSTEM_HEADERS = frozenset({"system", "code system", "coding system", "set", "code set", "code type", "type", "vocabulary"})
CODE_HEADERS = frozenset({"code", "codes"})

_NAME_NOISE = re.compile(r"[*_`]|®|\(r\)|\s*(?:codes?|#|no\.?)\s*$", re.IGNORECASE)


def set_of(name: str) -> str | None:
    """The set a name stands for ("ICD-10-CM", "CPT®", "HCPCS II codes", "icd10cm"), or None."""
    key = _NAME_NOISE.sub("", name.strip().rstrip(":").strip()).strip().lower()
    key = re.sub(r"\s+", " ", key)
    return SET_ALIASES.get(key)


# -- tier A: prefixes ----------------------------------------------------------------------------

# Longer names first: the alternation is tried in order.
PREFIX_RE = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?P<icd10pcs>ICD[- ]?10[- ]?PCS|PCS)"
    r"|(?P<icd10cm>ICD[- ]?10(?:[- ]?CM)?|Dx)"
    r"|(?P<cpt>CPT(?:®|\(R\)|-?4)?)"
    r"|(?P<hcpcs>HCPCS?(?:[- ]?Level[- ]?(?:II|2)|[- ]?II)?)"
    r"|(?P<ndc>NDC)"
    r"|(?P<cdt>CDT)"
    r"|(?P<ms_drg>MS-?DRG|DRG)"
    r"|(?P<revenue>Rev(?:enue)?\.?[ ]?code)"
    r")(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
PREFIX_SETS: dict[str, str] = {
    "icd10pcs": ICD10PCS,
    "icd10cm": ICD10CM,
    "cpt": CPT,
    "hcpcs": HCPCS,
    "ndc": NDC,
    "cdt": places.CDT,
    "ms_drg": places.MS_DRG,
    "revenue": places.REVENUE,
}
# Between the prefix and the first code: a colon (`ICD-10-CM: `, `cpt:99213`), `#`, `=`, or a
# spaced dash. Horizontal space only: a list never runs onto the next line.
AFTER_PREFIX_RE = re.compile(r"[ \t]*(?:[:#=]|[ \t][-–—](?=[ \t]))?[ \t]*")
# Words allowed between a prefix and its first code: "CPT code 99213", "ICD-10 codes: E11.9".
# CPT also takes up to two free words ("CPT FAST 93308", "Add CPT w Thoracic 76604").
CODE_WORD_RE = re.compile(r"(?:codes?|no\.?|number)(?![A-Za-z0-9])[ \t]*[:#]?[ \t]*", re.IGNORECASE)
FREE_WORD_RE = re.compile(r"[A-Za-z]{1,12}(?![A-Za-z0-9])[ \t]*[:#]?[ \t]*")
# Between codes of one list.
# A dash separates too (`99202-99215`, `E11.9 – I10`): a code's own hyphens are part of its shape.
LIST_SEP_RE = re.compile(r"[ \t]*(?:[,;/&+\-–—]|\band\b|\bor\b)[ \t]*|[ \t]+", re.IGNORECASE)


def prefix_set(m: re.Match[str]) -> str:
    """The set a prefix names, from a match of PREFIX_RE or of a pattern built on it."""
    return next(set_id for group, set_id in PREFIX_SETS.items() if m.group(group) is not None)


# Completion: a prefix, earlier codes of its list, then the word being typed at the line's end
# (`ICD-10-CM: E11.9, diab`). Built on PREFIX_RE, so completion offers the set the diagnostics
# read after the same prefix.
TYPING_RE = re.compile(
    PREFIX_RE.pattern
    + AFTER_PREFIX_RE.pattern
    + f"(?:{CODE_WORD_RE.pattern})?"
    + r"(?:[A-Za-z0-9.\-]+[ \t]*(?:[,;/]|\band\b)[ \t]*)*(?P<typed>[A-Za-z0-9.\-]*)$",
    re.IGNORECASE,
)


def typing_after_prefix(line: str) -> tuple[str, str] | None:
    """(set, word being typed) when `line` (its text up to the cursor) ends in a prefixed list."""
    m = TYPING_RE.search(line)
    return None if m is None else (prefix_set(m), m.group("typed"))


# The shape of a code of each set, as it is written in text (case-insensitive; the rules judge
# dots, hyphens and case). A match must end at a word edge, and not run on into `.5` or `-7`.
_END = r"(?![A-Za-z0-9_])(?![.\-][A-Za-z0-9])"
_MODIFIERS = r"(?:[-:][A-Za-z0-9]{2}(?![A-Za-z0-9]))*"
# CPT / HCPCS may end in a range dash: `99202-99215`, `J1100-J1110` (a list of two).
_END_RANGE = r"(?![A-Za-z0-9_])(?!\.[A-Za-z0-9])(?!-[A-Za-z0-9]{1,3}(?![A-Za-z0-9]))"
CODE_SHAPES: dict[str, re.Pattern[str]] = {
    ICD10CM: re.compile(r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])(?:\.?[0-9A-Z]{1,4})?" + _END, re.IGNORECASE),
    # Seven characters with at least one digit: plain seven-letter words are not codes.
    ICD10PCS: re.compile(r"(?=[A-Z]{0,6}[0-9])[0-9A-HJ-NP-Z]{7}" + _END, re.IGNORECASE),
    CPT: re.compile(r"(?P<code>[0-9]{4}[0-9AFMTU])" + _MODIFIERS + _END_RANGE, re.IGNORECASE),
    HCPCS: re.compile(r"(?P<code>[A-V][0-9]{4})" + _MODIFIERS + _END_RANGE, re.IGNORECASE),
    NDC: re.compile(r"(?:[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}|[0-9]{11}|[0-9]{10})" + _END),
    places.CDT: re.compile(r"D[0-9]{4}" + _END, re.IGNORECASE),
    places.MS_DRG: re.compile(r"[0-9]{1,3}" + _END),
    places.REVENUE: re.compile(r"[0-9]{3,4}" + _END),
}
# The first word after a prefix that is near a code's shape but not quite (`CPT 9921`,
# `ICD-10: E11.99999`, `NDC 0002-8215`): still a slot, so the rules can say what is wrong.
# Years (`CPT 2026`) are not near-codes.
NEAR_SHAPES: dict[str, re.Pattern[str]] = {
    ICD10CM: re.compile(r"[A-Z][0-9](?:[0-9A-Z]{1,6}|[0-9A-Z]*\.[0-9A-Z]+)" + _END, re.IGNORECASE),
    ICD10PCS: re.compile(r"(?=[A-Z]{0,7}[0-9])[0-9A-Z]{6,8}" + _END, re.IGNORECASE),
    CPT: re.compile(r"(?!(?:19|20)[0-9]{2}(?![0-9A-Za-z]))(?P<code>[0-9]{4,6}[A-Z]?)" + _MODIFIERS + _END, re.IGNORECASE),
    HCPCS: re.compile(r"(?P<code>[A-Z][0-9]{3,5})" + _MODIFIERS + _END, re.IGNORECASE),
    NDC: re.compile(r"[0-9]{3,6}-[0-9]{2,5}(?:-[0-9]{1,3})?" + _END),
}

# -- tier B: a dotted ICD-10-CM code in parentheses right after words ---------------------------
PAREN_RE = re.compile(r"(?<=[A-Za-z0-9*_)\]])[ \t]*\(([^()\n]{1,80})\)")
DOTTED_ICD_RE = re.compile(r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])\.[0-9A-Z]{1,4}")

# -- tier C: bare dotted ICD-10-CM shapes (opt-in hints) -----------------------------------------
BARE_RE = re.compile(r"(?<![A-Za-z0-9_.\-/@#$])[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])\.[0-9A-Z]{1,4}" + _END)

# -- exclusion zones -----------------------------------------------------------------------------


def _marker(word: str) -> str:
    """`<!-- medcode: WORD -->` anywhere, or a whole `# medcode: WORD` line (plain text)."""
    return (
        rf"<!--[ \t]*medcodes?[ \t]*:[ \t]*{word}[ \t]*-->"
        rf"|^[ \t]*#[ \t]*medcodes?[ \t]*:[ \t]*{word}[ \t]*$"
    )


OFF_RE = re.compile(_marker("off"), re.IGNORECASE | re.MULTILINE)
ON_RE = re.compile(_marker("on"), re.IGNORECASE | re.MULTILINE)
# The marker's own line and the one after it.
IGNORE_NEXT_LINE_RE = re.compile(rf"(?:{_marker('ignore-next-line')})[^\n]*\n?[^\n]*", re.IGNORECASE | re.MULTILINE)
FENCE_RE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})", re.MULTILINE)

_UNITS = (
    r"units?|iu|mg|mcg|µg|ug|g|gm|gram|grams|kg|lbs?|oz|ml|mL|l|dl|cc|cm|mm|%|percent|bpm|mmhg|mm ?hg|"
    r"meq|mmol|mol|mg/dl|mg/kg|mcg/kg|ml/hr|ml/min|breaths/min|tabs?|tablets?|caps?|capsules?|puffs?|drops?|"
    r"hrs?|hours?|mins?|minutes?|secs?|seconds?|days?|wks?|weeks?|months?|yrs?|years?|°f|°c|°|degrees?"
)
ZONE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Jinja / Handlebars: expressions, statements, comments (may span lines).
    re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL),
    # Epic SmartLists `{Sleep Quality:304120106:: "Poor quality"}` and any other `{…}` field.
    re.compile(r"\{[^{}]{0,400}\}"),
    # URLs and e-mail addresses (before SmartLinks: an address has an @ too).
    re.compile(r"\b(?:https?|ftp|file)://[^\s<>\"'`]+|\bwww\.[^\s<>\"'`]+", re.IGNORECASE),
    re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"),
    # Epic SmartLinks `@NAME@`, `@LASTLAB(HGBA1C)@`, and `***` wildcards.
    re.compile(r"@[A-Za-z][A-Za-z0-9_]*(?:\([^()\n]*\)|\[[^\[\]\n]*\])?@"),
    re.compile(r"\*{3,}"),
    # Dates and times: 2026-01-15, 01/15/2026, 1-15-26, 15.01.2026, 10:30, 10:30 AM.
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}\b"),
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]?[AaPp]\.?[Mm]\.?)?(?![A-Za-z0-9])"),
    # Phone numbers: 555-123-4567, (555) 123-4567, 555.123.4567, +1 555 123 4567.
    re.compile(r"(?:\+?1[ \t.\-]?)?(?:\(\d{3}\)[ \t]?|\b\d{3}[ \t.\-])\d{3}[ \t.\-]\d{4}\b"),
    # Blood pressures, ratios and other small fractions: 120/80, 2/10, 0.5/1.
    re.compile(r"\b\d{1,3}(?:\.\d+)?/\d{1,3}(?:\.\d+)?\b"),
    # Numbers with units: 500 mg, 10 mL, 2 units, 98%, 72 bpm, 120 mmHg, 3 days. Not the digits
    # after a code's dot: S72.423G (7th character G) is no "423 g", and as a zone it hid the code
    # and ended its list.
    re.compile(r"(?<![A-Za-z0-9]\.)\b\d+(?:[.,]\d+)?[ \t]?(?:" + _UNITS + r")(?![A-Za-z0-9])", re.IGNORECASE),
    # Version strings: "version V12.3", "v2.1.0", "Release 2026.1".
    re.compile(r"\b(?:version|ver|release|rel|revision|rev|build|update)\.?[ \t]*[:#]?[ \t]*v?\d+(?:\.\d+)*[A-Za-z]?\b", re.IGNORECASE),
    re.compile(r"\b[vV]\d+\.\d+\.\d+\b"),
)
