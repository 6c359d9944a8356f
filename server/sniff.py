"""Whether a document is medcode's at all: the early "not mine" answer for editors.

Editors send the server every JSON, Markdown and plain-text file, and most of them (package.json,
a README, notes) have nothing to do with medical codes. A cheap look at the content decides
before any reading: JSON is medcode's when it is a FHIR claim or a CMS price file, Markdown and
text when they name a code set (`ICD-10-CM:`, `CPT`, front matter `codes:` keys, a table headed
by a set) or hold a dotted ICD-10-CM code. Each test is a superset of what the matching reader
goes on, so a document the readers would find codes in is never turned away. X12 claims, CSV
files and every other kind stay automatic: their readers decide, as before.

The user widens or narrows this with glob patterns (the `files.include` / `files.exclude`
settings): excluded files are never read, included ones always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from .kinds import is_json_name, is_template_name, path_of
from .x12.delimiters import looks_like_x12


# A table headed `Revenue` names the revenue set without PREFIX_RE's `code` after it.
_REVENUE = re.compile(r"\brevenue\b", re.IGNORECASE)
# Where each name PREFIX_RE knows begins (in lower case), and how far before the stem its match
# may start (MS-DRG). str.find on these is some ten times faster than searching with PREFIX_RE,
# whose case-insensitive alternation is tried at every character of a long document.
_STEMS = {"icd": (0,), "pcs": (0,), "dx": (0,), "cpt": (0,), "hcpc": (0,), "ndc": (0,), "cdt": (0,), "drg": (0, 2, 3), "rev": (0,)}
_REV_STEMS = ("revenue", "rev code", "rev. code", "revcode", "rev.code")


@dataclass(frozen=True)
class Attach:
    """What the user said about which files are medcode's (the `files.*` settings)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    every_template: bool = False  # templates.bareCodeHints: code-shaped words anywhere count


def matches(path: str, pattern: str) -> bool:
    """A glob against a path: `*` and `**` cross folders (fnmatch); a pattern without a `/`
    is matched against the file name, one with a relative folder anywhere in the path."""
    pattern = pattern.strip().replace("\\", "/")
    if not pattern:
        return False
    if "/" not in pattern:
        return fnmatchcase(PurePosixPath(path).name, pattern)
    if not pattern.startswith(("/", "*")):
        pattern = "*/" + pattern
    return fnmatchcase(path, pattern)


def likely_medical(text: str, name: str = "", language: str = "", attach: Attach = Attach()) -> bool:
    """Whether the server should read this document at all."""
    path = path_of(name)
    if any(matches(path, p) for p in attach.exclude):
        return False
    if any(matches(path, p) for p in attach.include) or looks_like_x12(text):
        return True
    if is_json_name(name, language):
        # The readers' modules are imported on the first such document, not with the server:
        # it answers `initialize` without them.
        from .fhir.reader import looks_like_fhir_claims
        from .tables.hpt_json import looks_like_price_json

        return looks_like_fhir_claims(text) or looks_like_price_json(text)
    if is_template_name(name, language):
        return attach.every_template or template_names_a_set(text)
    return True  # CSV and the rest: their readers decide


def template_names_a_set(text: str) -> bool:
    """A set name (prefix, front matter key, table header or system) or a dotted ICD-10-CM
    code (the template reader's tier B) somewhere in the text."""
    from .templates.patterns import DOTTED_ICD_RE, PREFIX_RE

    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters lower to two characters: offsets would shift
        return any(p.search(text) is not None for p in (PREFIX_RE, _REVENUE)) or DOTTED_ICD_RE.search(text) is not None
    for stem, backs in _STEMS.items():
        if stem == "rev" and not any(rev in lowered for rev in _REV_STEMS):
            continue  # "rev" alone is in every "review"
        at = lowered.find(stem)
        while at >= 0:
            if any(PREFIX_RE.match(text, at - back) or _REVENUE.match(text, at - back) for back in backs if at >= back):
                return True
            at = lowered.find(stem, at + 1)
    return DOTTED_ICD_RE.search(text) is not None
