"""The one pipeline behind the editor and the CLI: document text in, findings out.

Detects the file kind (kinds.py), reads it, runs the rules. For X12 the results of each claim
are cached by the claim's exact text, and when the caller says which ranges changed since the
last check (x12/edits.py) only the part of the file they touched is walked again
(x12/incremental.py); other kinds are read whole and their codes judged through the same memo.
"""

from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from medcode.index_builder.gcpause import paused_gc

from medcode.index_builder.codesets import OFFICIAL_SETS

from . import kinds
from .claims.rules import ClaimLayer
from .claim_cache import ClaimCache
from .claim_edits import ClaimEdits
from .code_rules import Result, no_data_finding
from .document_rules import DocumentRules
from .findings import DISPLAY_MISMATCH, X12_STRUCTURE, Finding, Fix, Severity
from .priority import pause
from .reading import FHIR, NONE, X12, Reading
from .verdicts import Verdicts
from .x12.delimiters import looks_like_x12
from .x12.document import Claim, ClaimCodes, X12Document
from .x12.edits import EditLog, span
from .x12.incremental import WalkRecord, first_walk, rewalk
from .x12.rules import ClaimRules

if TYPE_CHECKING:
    from .fhir.rules import FhirRules

_NOTHING = Result()
_SHARED_MAX = 20_000


@dataclass
class Analysis:
    kind: str
    findings: list[Finding] = field(default_factory=list)
    x12: X12Document | None = None
    reading: Reading | None = None  # CSV, JSON and templates
    claims_checked: int = 0  # claims whose rules ran (not served from the cache)


class DocumentChecker:
    """Checks successive versions of one document, reusing what did not change."""

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.verdicts = verdicts
        self.today = today
        self._today = today  # as given; options.day replaces it per check
        self.rules = ClaimRules(verdicts, today)
        self.claim_layer = ClaimLayer(verdicts, today)
        self.document_rules = DocumentRules(verdicts, today)
        self.rules.claim_edits = self.document_rules.claim_edits = ClaimEdits(verdicts)
        self._fhir_rules: FhirRules | None = None  # made on the first FHIR document
        self._claims: ClaimCache[Result] = ClaimCache()  # claim key (on_claim) -> its result, relative to it
        # The last X12 walk, the edit-log revision of its text and what else its results
        # depend on: a re-check after edits starts from these.
        self._record: WalkRecord | None = None
        self._revision: int | None = None
        self._context: tuple | None = None
        self._totals: _ClaimTotals | None = None
        self._shared: dict[tuple, Result] = {}  # claim results without findings, by their no-data places
        # After a walk that checked more claims than this, the memos are trimmed to this many
        # codes (trim) before the findings are put together, not after: the findings then
        # take the room the memos' entries left, instead of new memory beside it (3 MB less
        # held after the first check of 50,000 claims). None: never trimmed (the CLI).
        self.keep: int | None = None

    def check(
        self, text: str, name: str = "", language: str = "", options: kinds.Options = kinds.Options(), edits: EditLog | None = None
    ) -> Analysis:
        """Check a document; name (path or URI) and language (the editor's language id) help
        tell CSV and templates apart, as content alone cannot. `edits`, when given, is the log
        whose latest revision is `text`: an X12 file is then re-walked only where it changed
        since this checker's last check."""
        self._undated_day(options)
        if self.rules.claim_edits is not None:
            self.rules.claim_edits.enabled = options.rules_on
        if kinds.X12 in options.kinds and looks_like_x12(text):
            logged = edits is not None and edits.text is text
            steps = edits.since(self._revision) if logged else None
            self._revision = None  # until this check is done
            analysis = self._check_x12(text, steps)
            self._revision = edits.revision if logged else None
        else:
            self._claims = ClaimCache()
            self._record = self._revision = None
            with paused_gc():
                reading = kinds.read(text, name, language, options)
            if reading is None:
                return Analysis(NONE)
            if reading.kind == FHIR:
                result = self.fhir_rules.check(reading, displays=DISPLAY_MISMATCH in options.rules_on)
            else:
                result = self.document_rules.check(reading, text)
            findings = list(reading.problems) + result.findings
            store = self.verdicts.store
            findings += [no_data_finding(s, n, a, b, store.problem(s)) for s, (n, a, b) in result.no_data.items()]
            findings.sort(key=lambda f: (f.start, f.end))
            analysis = Analysis(reading.kind, findings, reading=reading)
        if options.sets != frozenset(OFFICIAL_SETS):
            # Sets the user switched off say nothing (structure findings have no set).
            analysis.findings = [f for f in analysis.findings if f.code_set not in OFFICIAL_SETS or f.code_set in options.sets]
        return analysis

    def trim(self, keep: int) -> None:
        """Keep the per-code memos (verdicts, code results, claim edits) to the last `keep`
        codes each: a check of a large file fills them with every code it holds (about 20 MB
        for 50,000 claims), and its re-checks look at a few claims. A code left out is worked
        out again when met: the answers are the same."""
        self.verdicts.trim(keep)
        for rules in (self.rules, self.document_rules, *([self._fhir_rules] if self._fhir_rules else [])):
            rules.trim(keep)
        if self.rules.claim_edits is not None:
            self.rules.claim_edits.trim(keep)

    @property
    def fhir_rules(self) -> FhirRules:
        if self._fhir_rules is None:
            from .fhir.rules import FhirRules

            self._fhir_rules = FhirRules(self.verdicts, self.today)
            self._fhir_rules.claim_edits = self.rules.claim_edits  # the same edits as X12's claims
            self._fhir_rules.claim_layer = self.claim_layer
        return self._fhir_rules

    def _undated_day(self, options: kinds.Options) -> None:
        """The day codes are judged on when the file gives none, and why, for messages."""
        day = options.day or self._today or dt.date.today()
        if options.day is not None:
            why = f"no date in the file: judged on the day {options.day_source or 'given'} sets"
        else:
            why = "no date in the file: judged on today"
        self.today = day
        for rules in (self.rules, self.document_rules, *([self._fhir_rules] if self._fhir_rules else [])):
            rules.today = day
            rules.undated_why = why
        for rule in self.claim_layer.rules:
            rule.today = day

    def _check_x12(self, text: str, steps: tuple | None) -> Analysis:
        rules = self.rules
        claim_layer = self.claim_layer
        previous = self._claims
        shared = self._shared
        ran = 0
        # A whole walk's keys, claim by claim (the cache is made of them at its end); a re-walk
        # puts its claims in the cache itself.
        hashes: array | None = None
        lengths: array | None = None
        kept: list[Result] = []
        # A whole walk with no claims cached before (a first check): no claim to look up.
        nothing_before = False

        def on_claim(claim: Claim, codes: ClaimCodes) -> Result:
            nonlocal ran
            body = text[claim.start : claim.end]
            # The hash of the claim (and what sits before it: DMG), with the body's length as a
            # guard against a collision (claim_cache.py).
            h = hash((body, claim.transaction, claim.birth, claim.sex, context_hash))
            relative = None if nothing_before else previous.get(h, len(body))
            if relative is None:
                relative = rules.check(claim, codes, body, claim.start)
                if not claim.lines:
                    pass
                elif notes_only:  # claim-level rules (NCCI) without data: notes, straight in
                    claim_layer.note_x12(claim, codes, text, relative, claim.start)
                else:  # codes judged together
                    layer = Result()
                    claim_layer.check_x12(claim, codes, text, layer)
                    if layer.findings or layer.no_data:
                        relative.add(layer, -claim.start)
                if not relative.findings:
                    # Most claims: one shared result, not one each (50,000 claims whose only
                    # note is a set with no data hold a few hundred distinct ones).
                    if not relative.no_data:
                        relative = _NOTHING
                    elif len(shared) < _SHARED_MAX:
                        relative = shared.setdefault(tuple(relative.no_data.items()), relative)
                ran += 1
            if hashes is None:
                previous.put(h, len(body), relative)
            else:
                hashes.append(h)
                lengths.append(len(body))
                kept.append(relative)
            return relative

        # Everything outside the claim's own text that changes its findings: the day, the
        # data, and the interchange header (delimiters).
        edits = self.rules.claim_edits
        context = (self.today, rules.undated_why, id(self.verdicts), edits.enabled if edits is not None else None)
        context_hash = hash((*context, text[:128]))  # hashed once, not with every claim
        notes_only = claim_layer.notes_only()  # asked once, not with every claim
        record, old = None, self._record
        self._record = None  # used up by a re-walk, and stale if this check fails
        with paused_gc():
            if old is not None and steps is not None and context == self._context:
                edit = span(steps)  # a re-walk adds the claims it checks to the cache
                if edit is None:
                    record = old if old.length == len(text) else None
                else:
                    record = rewalk(old, text, *edit, on_claim)
            if record is None:
                # A whole walk: the last walk's record and totals are not needed, and are
                # freed before the new ones are made rather than after.
                old = self._totals = None
                hashes, lengths, kept = array("q"), array("q"), []
                ran = 0
                nothing_before = len(previous) == 0  # a whole walk puts nothing in it
                record = first_walk(text, on_claim)
                if record is not None:
                    self._claims = ClaimCache.of(hashes, lengths, kept)
                hashes = lengths = None
                kept = []
        if record is None:  # not reached: looks_like_x12 said yes, so detect() finds delimiters
            return Analysis(NONE)
        if self.keep is not None and ran > self.keep:
            self.trim(self.keep)
        pause()  # between steps over every claim or finding, a background check gives way (priority.py)
        totals, self._totals = self._totals, None
        if totals is None or old is None or (record is not old and record.spliced is None):
            totals = _ClaimTotals.of(record)
        elif record is not old:  # else the text did not change: nor did the totals
            totals = totals.after(old, record)
        self._totals = totals
        self._record, self._context = record, context
        pause()
        return Analysis(X12, self._findings(record, totals), x12=record.document(), claims_checked=ran)

    def _findings(self, record: WalkRecord, totals: _ClaimTotals) -> list[Finding]:
        findings = list(totals.findings)
        for p in record.detection + record.problems + record.control:
            fixes = [Fix(f"Change to {p.fix!r}", p.start, p.end, p.fix, preferred=True)] if p.fix else []
            findings.append(Finding(X12_STRUCTURE, p.message, p.start, p.end, severity=Severity.ERROR if p.error else None, fixes=fixes))
        for set_id, (count, start, end) in totals.no_data(record).items():
            findings.append(no_data_finding(set_id, count, start, end, self.verdicts.store.problem(set_id)))
        pause()
        findings.sort(key=lambda f: (f.start, f.end))
        return findings


MOVE_STEP = 512  # findings moved in place between two pauses of a background re-check (_ClaimTotals.after)


@dataclass(slots=True)
class _ClaimTotals:
    """The claims' results added up (their findings at their offsets, the places per set with no
    data), kept so that a re-walk updates them for the claims it changed, not all 50,000."""

    findings: list[Finding]  # claim by claim
    per_claim: array  # how many findings each claim has
    counts: dict[str, int]  # set -> places in all claims
    firsts: dict[str, int]  # set -> the first claim with a place

    @classmethod
    def of(cls, record: WalkRecord) -> _ClaimTotals:
        totals = cls([], array("l"), {}, {})
        totals.findings, totals.per_claim = totals._add(record, 0, len(record.claims))
        return totals

    def _add(self, record: WalkRecord, lo: int, hi: int) -> tuple[list[Finding], array]:
        """Count in claims [lo, hi); their findings (and how many each has) are returned, to be
        put in their place."""
        findings: list[Finding] = []
        counts, firsts = self.counts, self.firsts
        per_claim = array("l", [0]) * (hi - lo)
        results, starts = record.results, record.claims.starts
        # Most claims share a few hundred results (on_claim): each one's places are counted
        # once, times the claims that have it, from the first of them.
        shared: dict[int, list] = {}  # id(result) -> [result, first claim, claims]
        for i in range(lo, hi):
            relative = results[i]
            if relative is _NOTHING:
                continue
            if relative.findings:
                # Copies of their own, even at offset 0: `after` moves them in place.
                findings.extend(f.shifted(starts[i]) if starts[i] else replace(f) for f in relative.findings)
                per_claim[i - lo] = len(relative.findings)
            if relative.no_data:
                seen = shared.get(id(relative))
                if seen is None:
                    shared[id(relative)] = [relative, i, 1]
                else:
                    seen[2] += 1
        for relative, i, times in shared.values():
            for set_id, (n, _, _) in relative.no_data.items():
                counts[set_id] = counts.get(set_id, 0) + n * times
                if set_id not in firsts or firsts[set_id] > i:
                    firsts[set_id] = i
        return findings, per_claim

    def after(self, old: WalkRecord, record: WalkRecord) -> _ClaimTotals:
        """The totals of `record`, a re-walk of `old` (whose totals these are)."""
        first, new_end, old_end = record.spliced
        delta = record.length - old.length
        head = sum(self.per_claim[:first])
        tail = head + sum(self.per_claim[first:old_end])
        for relative in old.results[first:old_end]:
            for set_id, (n, _, _) in relative.no_data.items():
                self.counts[set_id] -= n
        moved = old_end - new_end
        firsts = {s: (i if i < first else i - moved) for s, i in self.firsts.items() if self.counts[s] > 0 and (i < first or i >= old_end)}
        self.firsts = firsts
        self.counts = {s: n for s, n in self.counts.items() if n > 0}
        gone = [s for s in self.counts if s not in firsts]
        region, per_region = self._add(record, first, new_end)
        shifted = self.findings[tail:]
        if delta:
            # Moved in place, not copied: the editor's diagnostics cache knows them by identity
            # (lsp/diagnostics.py), and a line added mid-file moves half of them. The last
            # analysis, which hover may still read, holds these objects too: it answers for
            # a text the edit already changed, and now with its tail where the text is.
            for n, f in enumerate(shifted):
                if not n % MOVE_STEP:
                    pause()  # 4,600 moved for a line added mid-file: 10-20 ms of the GIL in one go
                f.move(delta)
        self.findings = self.findings[:head] + region + shifted
        self.per_claim = self.per_claim[:first] + per_region + self.per_claim[old_end:]
        for set_id in gone:  # its first place was in the claims replaced: look further on
            if set_id not in self.firsts:
                self.firsts[set_id] = next(i for i in range(new_end, len(record.claims)) if set_id in record.results[i].no_data)
        return self

    def no_data(self, record: WalkRecord) -> dict[str, tuple[int, int, int]]:
        """Set -> (places, first place's start, end), in the order a walk meets the sets."""
        out = {}
        order = sorted(self.firsts.items(), key=lambda item: (item[1], list(record.results[item[1]].no_data).index(item[0])))
        for set_id, i in order:
            _, s, e = record.results[i].no_data[set_id]
            start = record.claims.starts[i]
            out[set_id] = (self.counts[set_id], s + start, e + start)
        return out

