"""Hover lines for the claim edits: the MCE flags a code carries on the date, the tabular notes
that pair it with other codes (its own and its category's), and the edits of its claim (or
template) that name it."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from medcode.index_builder.codesets import ICD10CM, ICD10PCS, icd10cm_display
from medcode.index_builder.reader import IndexCorrupt

from ..claim_edits import ClaimEdits
from ..findings import RULES

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer

# What each MCE flag means, for people (flags without an entry are not shown).
FLAG_WORDS = {
    "newborn": "newborn diagnosis (age 0)",
    "pediatric": "pediatric diagnosis (ages 0-17)",
    "maternity": "maternity diagnosis (ages 9-64)",
    "adult": "adult diagnosis (ages 15-124)",
    "male": "male only",
    "female": "female only",
    "manifestation": "manifestation: never principal",
    "ecodepdx": "external cause: never principal",
    "unacceptable": "unacceptable as principal diagnosis",
    "reqsdx": "principal only with a secondary diagnosis",
    "qadm": "questionable admission as principal",
    "unspecified": "unspecified code",
    "wrngproc": "wrong procedure performed",
    "noncovered": "not covered by Medicare",
    "lcov": "limited coverage",
    "los": "only with a length of stay of 4 days or more",
    "csect": "cesarean section",
    "vagdel": "vaginal delivery",
    "delout": "outcome of delivery",
}
NOTE_WORDS = {"x1": "Excludes1", "cf": "Code first", "ua": "Use additional code"}
_MAX_NOTES = 6
_EDIT_RULES = frozenset(r for r, (_, meaning) in RULES.items() if meaning.startswith(("MCE:", "tabular:")))


def _edits(ls: MedcodeServer) -> ClaimEdits:
    cached = getattr(ls, "_hover_claim_edits", None)
    if cached is None or cached.v is not ls.verdicts:
        cached = ls._hover_claim_edits = ClaimEdits(ls.verdicts)
    return cached


def lines(ls: MedcodeServer, doc: OpenDocument, set_id: str, key: str, day: dt.date, span: tuple[int, int] | None) -> list[str]:
    """Markdown lines (possibly none) for a code of `set_id` hovered on `day`; `span` is the
    claim (or document) whose findings may name the code."""
    if set_id not in (ICD10CM, ICD10PCS):
        return []
    edits = _edits(ls)
    try:
        return _lines(ls, edits, doc, set_id, key, day, span)
    except IndexCorrupt as exc:
        if not edits.noted(exc):  # not the edits' own data: the server sets the release aside
            raise
    ls.show_index_problems()
    return _lines(ls, edits, doc, set_id, key, day, span)  # said without the damaged data


def _lines(ls: MedcodeServer, edits: ClaimEdits, doc: OpenDocument, set_id: str, key: str, day: dt.date, span: tuple[int, int] | None) -> list[str]:
    out: list[str] = [f"**Claim edits**: {m}" for m in edits.unchecked(day, tabular=set_id == ICD10CM)]
    mce = edits.mce
    if mce is not None and mce.covers(day):
        flags = mce.flags("dx" if set_id == ICD10CM else "sg", key, int(day.strftime("%Y%m%d")))
        words = [FLAG_WORDS[f] for f in sorted(flags) if f in FLAG_WORDS]
        if words:
            out.append(f"**Claim edits** ({mce.source(day)}): " + "; ".join(words))
    if set_id == ICD10CM:
        release = edits.tabular_release(day)
        if release is not None:
            notes = edits.tabular.notes(release, key)
            for n in notes[:_MAX_NOTES]:
                out.append(f"- {NOTE_WORDS[n.kind]} ({icd10cm_display(n.owner)}): {n.text}")
            if len(notes) > _MAX_NOTES:
                out.append(f"- … {len(notes) - _MAX_NOTES} more pairing notes")
    a = doc.analysis
    if span is not None and a is not None and doc.analysis_version == doc.version:
        shown = icd10cm_display(key) if set_id == ICD10CM else key
        # Findings are sorted by start: only the claim's own are read, not all 9,000 of a
        # 50,000-claim file at every hover.
        lo = bisect_left(a.findings, span[0], key=lambda f: f.start)
        hi = bisect_right(a.findings, span[1], lo=lo, key=lambda f: f.start)
        named = [
            f for f in a.findings[lo:hi]
            if f.rule in _EDIT_RULES and f.code != key and shown in f.message
            and ls.settings.severity_of(f.rule, f.effective_severity) is not None
        ]
        out += [f"⚠ {f.message} [{f.rule}]" for f in named[:5]]
    return out
