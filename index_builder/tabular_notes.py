"""The ICD-10-CM tabular notes that pair codes (Excludes1, Code first, Use additional code),
parsed once at index build time into code ranges the claim edits compare against.

A note names codes in parentheses: one code ("Z79.4"), a code with a dash for everything below
it ("O24.4-", "E08.-"), or a range ("A50.0-A50.9", "E10-E13"). Each becomes a target: a prefix,
or a first and last prefix. A note on a category or subcategory applies to every code below it;
the index keeps each note where the tabular prints it, and the reader collects a code's
ancestors (its prefixes: ICD-10-CM codes nest by prefix) at check time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import CodeRecord
from .reader import IndexDataError

AUX_NAME = "tabular-edits"
# Meta key of a release with tabular notes: its codes' 3-character categories, sorted. The
# claim edits compare the categories a note names with these; worked out from the release's
# 100,000 keys at check time, they cost every fresh process ~0.25 G instructions.
CATEGORIES_META = "categories"

# Index record note tag -> the short key stored in the aux document.
PAIRING_NOTES = {"excludes1": "x1", "codeFirst": "cf", "useAdditionalCode": "ua"}

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_ITEM_RE = re.compile(rf"(?<![0-9A-Z.])({_CODE})(?:(\.?-)({_CODE})?-?)?(?![0-9A-Z])")
_PAREN_RE = re.compile(r"\(([^()]*)\)")


def _key(code: str) -> str:
    return code.replace(".", "")


def targets_of(note: str) -> list[str]:
    """The codes a note names, as targets: "O244" (that code and all below), "A500:A509" (a range
    of prefixes, inclusive). Only codes inside parentheses count: the words of a note are not codes."""
    out: list[str] = []
    for group in _PAREN_RE.findall(note):
        for m in _ITEM_RE.finditer(group):
            first, dash, last = m.groups()
            lo = _key(first)
            target = f"{lo}:{_key(last)}" if last else lo
            if target not in out:
                out.append(target)
    return out


def matches(target: str, code: str) -> bool:
    lo, sep, hi = target.partition(":")
    if not sep:
        return code.startswith(lo)
    return code[: len(lo)] >= lo and code[: len(hi)] <= hi


def pairing_notes(records: Iterable[CodeRecord]) -> dict[str, dict[str, list[list]]]:
    """Aux documents for the index: code -> {"x1"|"cf"|"ua": [[note text, [targets]], ...]},
    only for codes whose notes name at least one code."""
    out: dict[str, dict[str, list[list]]] = {}
    for rec in records:
        doc: dict[str, list[list]] = {}
        for tag, short in PAIRING_NOTES.items():
            for text in rec.notes.get(tag, ()):
                targets = targets_of(text)
                if targets:
                    doc.setdefault(short, []).append([text, targets])
        if doc:
            out[rec.code] = doc
    return out


def categories(codes: Iterable[str]) -> list[str]:
    """The 3-character categories of a release's codes (CATEGORIES_META), sorted."""
    return sorted({code[:3] for code in codes})


def stored_categories(release) -> list[str] | None:
    """The release's categories as its build wrote them (CATEGORIES_META); None when it did
    not (an index built before they were written) or they cannot be read: then the reader
    works them out from the keys."""
    try:
        names = release.meta.get(CATEGORIES_META)
    except IndexDataError:  # meta.json unreadable: its other readers say so
        return None
    if not isinstance(names, list) or not all(type(c) is str for c in names):
        return None
    return sorted(set(names))


@dataclass(frozen=True, slots=True)
class PairingNote:
    kind: str  # "x1", "cf", "ua"
    owner: str  # the code (or category) the note is printed on
    text: str
    targets: tuple[str, ...]

    def names(self, code: str) -> bool:
        return any(matches(t, code) for t in self.targets)


class NoteTargets:
    """The notes of one kind that apply to a code, indexed for the question asked once per
    pair of codes on a claim: which note (if any) names this other code? Single targets are
    prefixes looked up in a dict (a code has at most 7 prefixes); ranges are few."""

    __slots__ = ("notes", "_prefixes", "_ranges", "categories", "category_ranges", "may_name_own")

    def __init__(self, notes: list[PairingNote]):
        self.notes = notes
        self._prefixes: dict[str, PairingNote] = {}
        self._ranges: list[tuple[str, str, PairingNote]] = []
        for n in notes:
            for t in n.targets:
                lo, sep, hi = t.partition(":")
                if sep:
                    self._ranges.append((lo, hi, n))
                else:
                    self._prefixes.setdefault(lo, n)
        # A cheap first filter for a whole claim: the 3-character categories the targets touch.
        self.categories = frozenset(p[:3] for p in self._prefixes)
        self.category_ranges = tuple((lo[:3], hi[:3]) for lo, hi, _ in self._ranges)
        # Whether a note may name codes of the category it is printed in (E11's naming E11.-):
        # else no note names the code it applies to (whose category is its owner's), which the
        # claim edits would ask of each pair.
        self.may_name_own = any(self.may_name([n.owner[:3]]) for n in notes)

    def __bool__(self) -> bool:
        return bool(self.notes)

    def may_name(self, categories: list[str]) -> frozenset[str] | set[str]:
        """Those of the given categories (3 characters) a note may name: naming's first filter
        (a code it names has its category among these). The claim edits index a claim's codes
        by the same rule (server/claim_edits/named.py) rather than asking it per code."""
        found = self.categories.intersection(categories)
        for lo, hi in self.category_ranges:
            for c in categories:
                if lo <= c <= hi and c not in found:
                    found = found | {c}
        return found

    def naming(self, code: str) -> PairingNote | None:
        prefixes = self._prefixes
        if prefixes and code[:3] in self.categories:
            for k in range(3, len(code) + 1):
                n = prefixes.get(code[:k])
                if n is not None:
                    return n
        for lo, hi, n in self._ranges:
            if code[: len(lo)] >= lo and code[: len(hi)] <= hi:
                return n
        return None


@dataclass(frozen=True, slots=True)
class CodeNotes:
    """Everything pairing-related that applies to one code, by kind."""

    all: list[PairingNote]
    x1: NoteTargets
    cf: NoteTargets
    ua: NoteTargets


EMPTY_TARGETS = NoteTargets([])


def code_notes(release, code: str, own_notes=None) -> CodeNotes:
    """own_notes(release, prefix) -> the notes printed on that prefix (a cache, when given)."""
    if own_notes is None:
        notes = notes_for(release, code)
    else:
        notes = [n for k in range(3, len(code) + 1) for n in own_notes(release, code[:k])]
    if not notes:
        return CodeNotes(notes, EMPTY_TARGETS, EMPTY_TARGETS, EMPTY_TARGETS)
    by = {k: NoteTargets([n for n in notes if n.kind == k]) for k in ("x1", "cf", "ua")}
    return CodeNotes(notes, by["x1"], by["cf"], by["ua"])


def notes_on(release, key: str) -> list[PairingNote]:
    """The pairing notes printed on one code or category (not inherited)."""
    doc = release.aux(AUX_NAME, key)
    if not doc:
        return []
    return [PairingNote(kind, key, text, tuple(targets)) for kind, items in doc.items() for text, targets in items]


def notes_for(release, code: str) -> list[PairingNote]:
    """The pairing notes that apply to a code in a release: its own and its ancestors'."""
    return [n for k in range(3, len(code) + 1) for n in notes_on(release, code[:k])]


def describe(store) -> list[dict]:
    """What `medcode index list` / `status` say of the tabular notes the claim edits use: per
    tabular the notes come from, the ICD-10-CM releases that carry them and their dates."""
    from .importers.icd10cm import NOTES_FROM

    by_source: dict[str, list] = {}
    for rel in store.releases("icd10cm"):
        if AUX_NAME in rel.manifest.aux:
            by_source.setdefault(rel.meta.get(NOTES_FROM) or rel.title, []).append(rel)
    out = []
    for title, rels in by_source.items():
        starts = [str(r.manifest.effective_from) for r in rels if r.manifest.effective_from]
        ends = [str(r.manifest.effective_to) if r.manifest.effective_to else None for r in rels]
        out.append({
            "data": "tabular",
            "title": f"{title} tabular notes (Excludes1, code first, use additional code)",
            "releases": [r.label for r in rels],
            "effective_from": min(starts) if starts else None,  # ISO dates: they sort as text
            "effective_to": None if not ends or None in ends else max(ends),
        })
    return out
