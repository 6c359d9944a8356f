"""The ICD-10-CM tabular conventions across the diagnoses of one claim or one template:
Excludes1, code first, use additional code.

The notes were parsed into code ranges when the ICD-10-CM index was built
(index_builder/tabular_notes.py); here they are only compared. Each message quotes the note and
names the release whose tabular gave it.
"""

from __future__ import annotations

import weakref

from medcode.index_builder.codesets import ICD10CM, icd10cm_display
from medcode.index_builder.importers.icd10cm import NOTES_FROM
from medcode.index_builder.tabular_notes import AUX_NAME, EMPTY_TARGETS, CodeNotes, NoteTargets, PairingNote, code_notes, notes_on, targets_of

from ..findings import CODE_FIRST, EXCLUDES1, USE_ADDITIONAL_CODE, Finding, Fix
from ..release_memo import ReleaseMemo
from .inputs import ADMITTING, ClaimInput, CodeAt
from .named import EarlierCodes, NamedPlaces

_NO_NOTES = CodeNotes([], EMPTY_TARGETS, EMPTY_TARGETS, EMPTY_TARGETS)


class TabularEdits:
    def __init__(self):
        self._notes = ReleaseMemo()
        self._gates = ReleaseMemo()
        self._own = ReleaseMemo()
        self._chains = ReleaseMemo()  # release -> {prefixes with notes of a code: its CodeNotes}
        self._chain_gates = ReleaseMemo()  # release -> {prefixes with notes of a code: its gates}
        self._manifestations = ReleaseMemo()
        self._prefix_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # release -> _prefix_table
        self._sources: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # release -> the source its messages name

    def trim(self, keep: int) -> None:
        for memo in (self._notes, self._gates, self._own, self._chains, self._chain_gates, self._manifestations):
            memo.trim(keep)

    def code_notes(self, release, code: str) -> CodeNotes:
        return self._notes.of(release, code, self._read_notes)

    def _read_notes(self, release, code: str) -> CodeNotes:
        # Codes below the same prefixes with notes have the same notes: one CodeNotes for
        # them all (its three NoteTargets were most of the cost of a code's notes).
        noted = _noted(self._prefix_table(release), code)
        if not noted:
            return _NO_NOTES
        return self._chains.of(release, noted, self._chain_notes)

    def _chain_notes(self, release, noted: tuple[str, ...]) -> CodeNotes:
        return code_notes(release, noted[-1], lambda release, prefix: self._own_notes(release, prefix) if prefix in noted else [])

    def _own_notes(self, release, prefix: str) -> list[PairingNote]:
        """Notes printed on one prefix, shared by every code below it (E11 for all of E11.-)."""
        return self._own.of(release, prefix, notes_on)

    def _prefix_table(self, release) -> dict[str, tuple]:
        """What each prefix with notes gives the gates (_prefix_gates), from the release's
        notes read all at once (3,000 documents, ~15 ms): read one prefix at a time, the
        notes of a file's 5,000 codes were the largest part of a fresh check's claim edits.
        Only this summary is kept (1.4 MB), not the documents (3 MB)."""
        found = self._prefix_gates.get(release)
        if found is None:
            found = self._prefix_gates[release] = _prefix_gates(release.aux_all(AUX_NAME))
        return found

    def gate(self, release, code: str) -> tuple[frozenset[str], bool, bool, bool, tuple[tuple[str, str], ...]] | None:
        """What the claim-wide pre-filter needs of a code, None when it has no pairing note:
        (the other categories its Excludes1 / code-first notes name, whether they name codes
        of its own category, whether its code-first note fires when it is first with none of
        the named codes, whether it has a use-additional note, the category ranges they name
        as (first, last))."""
        return self._gates.of(release, code, self._gate)

    def _gate(self, release, code: str) -> tuple | None:
        noted = _noted(self._prefix_table(release), code)
        if not noted:
            return None
        # Codes below the same prefixes with notes share their gate but for the code-first
        # bit, which asks whether the code itself is a manifestation (its own record).
        alone, other = self._chain_gates.of(release, noted, self._chain_gate)
        return alone if alone is not other and self.manifestation(release, code) else other

    def _chain_gate(self, release, noted: tuple[str, ...]) -> tuple[tuple, tuple]:
        """The gates (gate) of the codes below these prefixes with notes (all of one category),
        when the code is a manifestation and when it is not: one object when that makes no
        difference."""
        table = self._prefix_table(release)
        parts = [table[p] for p in noted]
        own = noted[0][:3]
        if len(parts) == 1:
            named, ranges, cf, cf_asks, ua = parts[0]
        else:
            named = frozenset().union(*(p[0] for p in parts))
            ranges = tuple(dict.fromkeys(r for p in parts for r in p[1]))
            cf, cf_asks, ua = any(p[2] for p in parts), any(p[3] for p in parts), any(p[4] for p in parts)
        own_named = own in named or any(lo <= own <= hi for lo, hi in ranges)
        other = (frozenset(named - {own}), own_named, False, ua, ranges)
        # A code-first note with nothing named on the claim fires only for a first
        # manifestation (_code_first): the pre-filter needs no more than that.
        if cf and cf_asks:
            return (other[0], own_named, True, ua, ranges), other
        return other, other

    def notes(self, release, code: str) -> list[PairingNote]:
        return self.code_notes(release, code).all

    def check(self, claim: ClaimInput, release, enabled: frozenset[str], body: str | None = None, body_start: int = 0) -> list[Finding]:
        # The admitting diagnosis describes the patient at admission, not the coded stay.
        dxs = [d for d in claim.diagnoses if d.role != ADMITTING]
        codes = [d.code for d in dxs]
        try:
            notes = list(map(self._notes.held(release).__getitem__, codes))  # in dxs' order
        except KeyError:  # a code not worked out yet
            notes = [self.code_notes(release, code) for code in codes]
        if not any(n.all for n in notes):
            return []  # most claims: no code carries a pairing note
        categories = [code[:3] for code in codes]
        source = self._sources.get(release)
        if source is None:
            source = self._sources[release] = _source(release)
        out: list[Finding] = []
        self._excludes1(dxs, notes, categories, source, out)
        places = NamedPlaces(codes, categories)
        self._code_first(dxs, notes, places, source, out, body, body_start, release)
        if USE_ADDITIONAL_CODE in enabled:
            self._use_additional(dxs, notes, places, source, out)
        return out

    @staticmethod
    def _excludes1(dxs: list[CodeAt], notes: list[CodeNotes], categories: list[str], source: str, out: list[Finding]) -> None:
        # The pairs (i, j), i < j, where a note of one may name the other (NoteTargets.may_name),
        # in the order of the walk over every pair (j, then i), which decides the findings' order
        # and which of two equal pairs is reported. Whether a pair qualifies, and its note,
        # depend on its two codes only, and an equal pair is reported once: so each j is paired
        # with the first place of each code before it, not with every place (a text repeating
        # E11.9 50,000 times held a billion pairs), and only with the codes of the categories
        # its notes may name or whose notes may name its category (EarlierCodes), not with every
        # earlier code (a claim of 20,000 distinct codes held 2e8 pairs).
        earlier = EarlierCodes(categories)
        reported: set[tuple[str, str]] = set()
        for j, n in enumerate(notes):
            b = dxs[j]
            x1 = n.x1
            earlier.add(j, b.code, categories[j], x1)
            for i in earlier.pairs(categories[j], x1):
                a = dxs[i]
                if i == j or a.code == b.code or (a.code, b.code) in reported:
                    continue
                note = _excluding(notes[i].x1, a.code, b.code) or _excluding(x1, b.code, a.code)
                if note is None:
                    continue
                reported.add((a.code, b.code))
                out.append(excludes1_finding(b, a, note, source))

    def manifestation(self, release, code: str) -> bool:
        return self._manifestations.of(release, code, _manifestation)

    def _code_first(self, dxs: list[CodeAt], notes: list[CodeNotes], places: NamedPlaces, source: str, out: list[Finding], body: str | None, body_start: int, release) -> None:
        for j, d in enumerate(dxs):
            targets = notes[j].cf
            if not targets.notes:
                continue
            k = places.first(targets, j)
            if k < j:
                continue  # a code the note names comes before it
            later = dxs[k] if k < len(dxs) else None
            cf = targets.notes
            if later is None and (j > 0 or all(_if_applicable(n.text) for n in cf) or not self.manifestation(release, d.code)):
                # Not first, and the etiology may be a code the note does not name: say nothing.
                # First with nothing named: only a manifestation ("in diseases classified
                # elsewhere") or a code whose note asks for the underlying condition whatever it
                # is (_manifestation) is wrong there whatever the patient; other notes apply
                # only in some cases (I42.0's "code first pre-existing cardiomyopathy
                # complicating pregnancy" is nothing to fix for most patients).
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
    def _use_additional(dxs: list[CodeAt], notes: list[CodeNotes], places: NamedPlaces, source: str, out: list[Finding]) -> None:
        for j, d in enumerate(dxs):
            targets = notes[j].ua
            if not targets.notes or places.first(targets, j) < len(dxs):
                continue
            ua = targets.notes
            named = "; ".join(f"“{n.text}”" for n in ua[:3]) + ("; …" if len(ua) > 3 else "")
            out.append(
                Finding(
                    USE_ADDITIONAL_CODE,
                    f"{icd10cm_display(d.code)}: use additional code, if applicable: {named} (note of {icd10cm_display(ua[0].owner)}, {source})",
                    d.start, d.end, d.code, ICD10CM,
                )
            )


# What the notes say derives from the index alone: every checker of the process (each document,
# each cold check of a file) shares these answers, as the claim edits' gates (claim_edits
# _shared_gates), rather than reading the notes of the same codes again.
SHARED = TabularEdits()


def excludes1_finding(b: CodeAt, a: CodeAt, note, source: str) -> Finding:
    """The Excludes1 finding on b, coded with the earlier a, quoting the note that pairs them."""
    return Finding(
        EXCLUDES1,
        f"{icd10cm_display(b.code)} and {icd10cm_display(a.code)} are not coded together: the Excludes1 note "
        f"of {icd10cm_display(note.owner)} lists “{note.text}” ({source}). Keep both only if the "
        "conditions are unrelated.",
        b.start, b.end, b.code, ICD10CM,
    )


def _noted(table: dict[str, tuple], code: str) -> tuple[str, ...]:
    """The code's prefixes (E11, E119) that carry pairing notes (_prefix_table's keys): codes
    with the same ones share their notes and their gate."""
    return tuple(p for k in range(3, len(code) + 1) if (p := code[:k]) in table)


def _if_applicable(note: str) -> bool:
    """A code-first note that does not demand its etiology ("code first, if applicable"): the
    edit and the pre-filter's gate both leave it out of what a first manifestation needs."""
    return "if applicable" in note.lower()


def _prefix_gates(docs: dict) -> dict[str, tuple]:
    """Per prefix with pairing notes (the tabular-notes side data: prefix -> {kind: [[text,
    targets], ...]}), what its notes give a code below it for the gate (TabularEdits.gate):
    (the categories its Excludes1 / code-first targets name, their category ranges, whether
    it has a code-first note, whether one of those is not "if applicable", whether it has a
    use-additional note). A code's gate joins those of its prefixes: the same answer as its
    CodeNotes (NoteTargets.categories / category_ranges), without a note object per code."""
    out = {}
    for key, doc in docs.items():
        if not doc:
            continue
        named: set[str] = set()
        ranges: list[tuple[str, str]] = []
        for kind in ("x1", "cf"):
            for _, targets in doc.get(kind, ()):
                for t in targets:
                    lo, sep, hi = t.partition(":")
                    if sep:
                        ranges.append((lo[:3], hi[:3]))
                    else:
                        named.add(lo[:3])
        cf = doc.get("cf", ())
        out[key] = (frozenset(named), tuple(dict.fromkeys(ranges)), bool(cf), not all(_if_applicable(text) for text, _ in cf), bool(doc.get("ua")))
    return out


def _source(release) -> str:
    """"ICD-10-CM tabular FY2026 (Apr 2026)": the release whose notes these are."""
    title = release.meta.get(NOTES_FROM) or release.title  # the embedded years share FY2026's notes
    return title.replace("ICD-10-CM", "ICD-10-CM tabular", 1) if "ICD-10-CM" in title else f"{title} tabular"


def _manifestation(release, code: str) -> bool:
    """Whether the code is never right as the first code: it or a category above it is a
    manifestation, titled "... in diseases classified elsewhere" (G63, M14.6-), or its "code
    first" note opens with a heading that asks for the underlying condition whatever it is
    ("code first the underlying physiological condition, such as:" on F05; "underlying
    infection" on I26.01). Headings that ask only if there is one ("any associated:", ", if
    applicable", "if known") do not count. The headings name no code, so they are read from the
    code's record (the tabular's full notes), not from the pairing data."""
    for n in range(len(code), 2, -1):
        rec = release.get(code[:n])
        if rec is None:
            continue
        if "classified elsewhere" in rec.description.lower():
            return True
        if any(_asks_for_underlying(t) for t in rec.notes.get("codeFirst", ())):
            return True
    return False


def _asks_for_underlying(note: str) -> bool:
    text = note.lower()
    return "underlying" in text and not targets_of(note) and not any(w in text for w in _ONLY_IF)


_ONLY_IF = ("if applicable", "if known", "any associated", "any ")


def _excluding(targets: NoteTargets, own: str, other: str) -> PairingNote | None:
    """The Excludes1 note of `own` that names `other` (a note naming the code itself excludes nothing)."""
    if not targets.notes:  # (not the __bool__ call: asked per pair of the claim's codes)
        return None
    note = targets.naming(other)
    if note is None or targets.may_name_own and note.names(own):
        return None
    return note


def _swap(first: CodeAt, second: CodeAt, body: str, body_start: int) -> Fix:
    """One edit over the span from the first code to the second, with the two codes exchanged."""
    a0, a1 = first.start - body_start, first.end - body_start
    b0, b1 = second.start - body_start, second.end - body_start
    text = body[b0:b1] + body[a1:b0] + body[a0:a1]
    return Fix(
        f"Put {icd10cm_display(second.code)} before {icd10cm_display(first.code)}",
        first.start, second.end, text, preferred=True,
    )
