"""The ICD-10-CM tabular conventions across the diagnoses of one claim or one template:
Excludes1, code first, use additional code.

The notes were parsed into code ranges when the ICD-10-CM index was built
(index_builder/tabular_notes.py); here they are only compared. Each message quotes the note and
names the release whose tabular gave it.
"""

from __future__ import annotations

from medcode.index_builder.codesets import ICD10CM, icd10cm_display
from medcode.index_builder.tabular_notes import PairingNote, notes_for

from ..findings import CODE_FIRST, EXCLUDES1, USE_ADDITIONAL_CODE, Finding, Fix
from .inputs import ADMITTING, ClaimInput, CodeAt

_CACHE_MAX = 50_000


class TabularEdits:
    def __init__(self):
        self._notes: dict[tuple[int, str], list[PairingNote]] = {}

    def notes(self, release, code: str) -> list[PairingNote]:
        key = (id(release), code)
        found = self._notes.get(key)
        if found is None:
            if len(self._notes) > _CACHE_MAX:
                self._notes.clear()
            found = self._notes[key] = notes_for(release, code)
        return found

    def check(self, claim: ClaimInput, release, enabled: frozenset[str], body: str | None = None, body_start: int = 0) -> list[Finding]:
        # The admitting diagnosis describes the patient at admission, not the coded stay.
        dxs = [d for d in claim.diagnoses if d.role != ADMITTING]
        if len(dxs) == 0:
            return []
        # "ICD-10-CM tabular FY2026 (Apr 2026)": the release whose notes these are.
        title = release.title
        source = title.replace("ICD-10-CM", "ICD-10-CM tabular", 1) if "ICD-10-CM" in title else f"{title} tabular"
        notes = {d.code: self.notes(release, d.code) for d in dxs}
        out: list[Finding] = []
        self._excludes1(dxs, notes, source, out)
        self._code_first(dxs, notes, source, out, body, body_start)
        if USE_ADDITIONAL_CODE in enabled:
            self._use_additional(dxs, notes, source, out)
        return out

    @staticmethod
    def _excludes1(dxs: list[CodeAt], notes, source: str, out: list[Finding]) -> None:
        reported: set[tuple[str, str]] = set()
        for j, b in enumerate(dxs):
            for a in dxs[:j]:
                if a.code == b.code or (a.code, b.code) in reported:
                    continue
                hit = _excluding(notes[a.code], a.code, b.code) or _excluding(notes[b.code], b.code, a.code)
                if hit is None:
                    continue
                reported.add((a.code, b.code))
                note, owner = hit
                out.append(
                    Finding(
                        EXCLUDES1,
                        f"{icd10cm_display(b.code)} and {icd10cm_display(a.code)} are not coded together: the Excludes1 note "
                        f"of {icd10cm_display(note.owner)} lists “{note.text}” ({source}). Keep both only if the "
                        "conditions are unrelated.",
                        b.start, b.end, b.code, ICD10CM,
                    )
                )

    @staticmethod
    def _code_first(dxs: list[CodeAt], notes, source: str, out: list[Finding], body: str | None, body_start: int) -> None:
        for j, d in enumerate(dxs):
            cf = [n for n in notes[d.code] if n.kind == "cf"]
            if not cf:
                continue
            if any(n.names(e.code) for e in dxs[:j] for n in cf):
                continue
            later = next((e for e in dxs[j + 1 :] if any(n.names(e.code) for n in cf)), None)
            if later is None and (j > 0 or all("if applicable" in n.text.lower() for n in cf)):
                # Not first, and the etiology may be a code the note does not name: say nothing.
                continue
            if later is not None:
                cf = [n for n in cf if n.names(later.code)]  # quote the note the later code answers
            named = "; ".join(f"“{n.text}”" for n in cf[:3]) + ("; …" if len(cf) > 3 else "")
            fixes = []
            if later is not None:
                where = f"{icd10cm_display(later.code)} comes after it"
                if body is not None:
                    fixes.append(_swap(d, later, body, body_start))
            else:
                where = "it is listed first"
            out.append(
                Finding(
                    CODE_FIRST,
                    f"{icd10cm_display(d.code)}: code first {named} (note of {icd10cm_display(cf[0].owner)}, {source}); {where}",
                    d.start, d.end, d.code, ICD10CM, fixes=fixes,
                )
            )

    @staticmethod
    def _use_additional(dxs: list[CodeAt], notes, source: str, out: list[Finding]) -> None:
        for d in dxs:
            ua = [n for n in notes[d.code] if n.kind == "ua"]
            if not ua or any(n.names(e.code) for e in dxs if e is not d for n in ua):
                continue
            named = "; ".join(f"“{n.text}”" for n in ua[:3]) + ("; …" if len(ua) > 3 else "")
            out.append(
                Finding(
                    USE_ADDITIONAL_CODE,
                    f"{icd10cm_display(d.code)}: use additional code, if applicable: {named} (note of {icd10cm_display(ua[0].owner)}, {source})",
                    d.start, d.end, d.code, ICD10CM,
                )
            )


def _excluding(notes: list[PairingNote], own: str, other: str) -> tuple[PairingNote, str] | None:
    for n in notes:
        if n.kind == "x1" and n.names(other) and not n.names(own):
            return n, own
    return None


def _swap(first: CodeAt, second: CodeAt, body: str, body_start: int) -> Fix:
    """One edit over the span from the first code to the second, with the two codes exchanged."""
    a0, a1 = first.start - body_start, first.end - body_start
    b0, b1 = second.start - body_start, second.end - body_start
    text = body[b0:b1] + body[a1:b0] + body[a0:a1]
    return Fix(
        f"Put {icd10cm_display(second.code)} before {icd10cm_display(first.code)}",
        first.start, second.end, text, preferred=True,
    )
