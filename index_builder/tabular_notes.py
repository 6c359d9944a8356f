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

AUX_NAME = "tabular-edits"

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


@dataclass(frozen=True, slots=True)
class PairingNote:
    kind: str  # "x1", "cf", "ua"
    owner: str  # the code (or category) the note is printed on
    text: str
    targets: tuple[str, ...]

    def names(self, code: str) -> bool:
        return any(matches(t, code) for t in self.targets)


def notes_for(release, code: str) -> list[PairingNote]:
    """The pairing notes that apply to a code in a release: its own and its ancestors'."""
    out: list[PairingNote] = []
    for n in range(3, len(code) + 1):
        doc = release.aux(AUX_NAME, code[:n])
        if not doc:
            continue
        for kind, items in doc.items():
            for text, targets in items:
                out.append(PairingNote(kind, code[:n], text, tuple(targets)))
    return out
