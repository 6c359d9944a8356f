"""What all code rules share, whatever the file kind: looking a code up in the release that
answers for its date, turning the answer into findings and fixes, and remembering results.

Messages name the code, the set and the release that answered; a finding never claims more
than the loaded data proves (DESIGN.md, honesty principle).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable

from medcode.index_builder import layout
from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM, ICD10PCS, NDC, display, set_name
from medcode.index_builder.lookup import Answer, Status
from medcode.index_builder.reader import DamagedRelease

from .findings import BAD_FORMAT, DELETED_CODE, INDEX_DAMAGED, INVALID_CODE, NOT_BILLABLE, NOT_IN_INDEX, WRONG_CODE_SET, Finding, Fix, Severity
from .places import CDT, ICD_ANY, MODIFIER, PROCEDURE, Slot, set_label
from .heap import newest
from .verdicts import SUGGESTIONS, Verdicts, billable_below

ICD10_START = dt.date(2015, 10, 1)
# Shapes of codes the rules judge but no index lists, and how messages describe each set's
# shape (one wording whatever the file kind).
ICD9_DX_RE = re.compile(r"^(?:\d{3,5}|V\d{2,4}|E\d{3,4})$")
ICD9_PROC_RE = re.compile(r"^\d{2,4}$")
CDT_RE = re.compile(r"^D\d{4}$")
SHAPES = {
    ICD10CM: "a letter, a digit or letter, a character, then up to 4 more",
    ICD10PCS: "7 characters of 0-9 and A-Z without I and O",
    CPT: "5 digits, or 4 digits and F, T, U, A or M",
    HCPCS: "a letter and 4 digits",
    CDT: "D and 4 digits",
}
SEVENTH_MAX = 40  # 7th-character definitions have at most 17 values; a bound all the same
MEMO_MAX = 200_000
# In a memo key, the qualifier of a result without findings where the qualifier only words the
# findings (CodeRules.QUALIFIER_WORDS_ONLY): not a string, so no qualifier read from a file
# equals it, and it pickles (check_share.py).
ANY_QUALIFIER = -1


@dataclass
class Result:
    """Findings of one claim (or document), plus the sets it used that have no data installed at all."""

    findings: list[Finding] = field(default_factory=list)
    no_data: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # set -> (count, start, end)
    # Holds for this day only: a message names the day, or a record's own dates decided it.
    # Other results hold for every day the same releases answer (CodeRules.cached).
    day_sensitive: bool = False

    def shifted(self, delta: int) -> Result:
        return Result(
            [f.shifted(delta) for f in self.findings],
            {k: (n, s + delta, e + delta) for k, (n, s, e) in self.no_data.items()},
            self.day_sensitive,
        )

    def add(self, other: Result, delta: int = 0) -> None:
        """Take in another result whose offsets are delta characters off (first place kept)."""
        if other.findings:
            self.findings.extend(f.shifted(delta) for f in other.findings)
        mine = self.no_data
        for set_id, (n, s, e) in other.no_data.items():
            seen = mine.get(set_id)
            mine[set_id] = (n, s + delta, e + delta) if seen is None else (seen[0] + n, seen[1], seen[2])


_FINE = Result()
_FINE_ON_DAY = Result(day_sensitive=True)


# The sets whose releases decide the findings of each place (wrong-code-set looks at both
# ICD-10 sets; procedure codes may be HCPCS or CPT).
WINDOW_SETS = {
    ICD10CM: (ICD10CM, ICD10PCS),
    ICD10PCS: (ICD10PCS, ICD10CM),
    ICD_ANY: (ICD10CM, ICD10PCS),
    PROCEDURE: (HCPCS, CPT),
    CPT: (CPT, HCPCS),
    HCPCS: (HCPCS, CPT),
    MODIFIER: (HCPCS, CPT),
    NDC: (NDC,),
}



class CodeRules:
    """Per-place checks live in subclasses, in CHECKS: expects -> method(self, slot, day, ctx, out)."""

    CHECKS: dict[str | None, Callable[..., None]] = {}
    # Called before a result is worked out; True when it took in entries from elsewhere, so the
    # memo is looked at again (`medcode check -j N`: check_share.Sharing.on_miss).
    on_miss: Callable[[], bool] | None = None
    # True where a code's qualifier changes only the wording of its findings, never whether it
    # has any (X12: "ABK demands ICD-10-CM"): a result without findings then holds for every
    # qualifier and is kept once, under ANY_QUALIFIER (ABK and ABF codes share it).
    QUALIFIER_WORDS_ONLY = False

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.v = verdicts
        self.today = today or dt.date.today()
        # What one code in one place says on one day, relative to the code's offset: files
        # repeat the same few thousand codes, so most slots are a dictionary hit.
        self._memo: dict[tuple, Result] = {}
        self._windows_by_day: dict[dt.date, dict[str | None, int]] = {}
        self._window_ids: dict[tuple, int] = {}
        # The memo's results without findings that hold for a whole window, by code text:
        # day -> expects -> the table of that place and window (keep_fine). Held beside the
        # memo, emptied with it, and never more entries than it.
        self._fine_by_day: dict[dt.date, dict[str | None, dict[str, Result]]] = {}
        self._fine_tables: dict[tuple[str | None, int], dict[str, Result]] = {}
        # Why the day is today (or the one the user set) for codes whose file has no date:
        # set by the checker; `undated` tells _day that the slot being judged is such a code.
        self.undated_why = "no date in the file: judged on today"
        self.undated = False

    def cached(self, expects: str | None, text: str, qual: str | None, extra: Any, day: dt.date, slot: Callable[[], Slot], ctx: Any) -> Result:
        """The findings of a code in a place, relative to the code's start, from the memo when
        the same code was already judged in the same window (or on the same day)."""
        windows = self._windows_by_day.get(day)
        if windows is None:
            windows = self._windows_by_day[day] = {}
        window = windows.get(expects)
        if window is None:
            window = windows[expects] = self._window(expects, day)
        memo = self._memo
        quals = (ANY_QUALIFIER, qual) if self.QUALIFIER_WORDS_ONLY else (qual,)
        # Most results hold for every day the same releases answer; only those that mention
        # the day or hinge on a record's own dates are kept per day.
        result = self._held(memo, expects, text, quals, extra, window, day)
        if result is None and self.on_miss is not None and self.on_miss():
            # Another process may have sent this very result (check_share.py).
            result = self._held(memo, expects, text, quals, extra, window, day)
        if result is None:
            result = self._check_slot(slot(), day, ctx)
            if len(memo) > MEMO_MAX:
                memo.clear()
                self._fine_by_day.clear()
                self._fine_tables.clear()
            memo[(expects, text, qual if result.findings else quals[0], extra, day if result.day_sensitive else window)] = result
        return result

    @staticmethod
    def _held(memo: dict[tuple, Result], expects, text, quals, extra, window: int, day: dt.date) -> Result | None:
        for q in quals:
            result = memo.get((expects, text, q, extra, window)) or memo.get((expects, text, q, extra, day))
            if result is not None:
                return result
        return None

    def trim(self, keep: int) -> None:
        """Keep the results of the last `keep` codes judged (heap.newest)."""
        self._memo = newest(self._memo, keep)
        self._fine_by_day, self._fine_tables = {}, {}  # filled again from the memo as codes recur

    def keep_fine(self, expects: str | None, text: str, day: dt.date, result: Result) -> None:
        """Index a memo result without findings that holds for the whole window of `day` (not
        day-sensitive; no `extra`, no qualifier: QUALIFIER_WORDS_ONLY), so that the code's text
        alone finds it on any day of that window. Called after `cached` or a memo hit, once the
        day's window for `expects` is known."""
        tables = self._fine_by_day.get(day)
        if tables is None:
            tables = self._fine_by_day[day] = {}
        table = tables.get(expects)
        if table is None:
            key = (expects, self._windows_by_day[day][expects])
            table = self._fine_tables.get(key)
            if table is None:
                table = self._fine_tables[key] = {}
            tables[expects] = table
        table[text] = result

    def _window(self, expects: str | None, day: dt.date) -> int:
        """A small number naming which releases answer for this place on this day (and which
        side of the ICD-10 transition it falls): results are shared within a window."""
        answering = [day < ICD10_START]
        for set_id in WINDOW_SETS.get(expects, ()):
            choice = self.v.choice(set_id, day)
            answering.append((id(choice[0]), choice[1]) if choice else None)
            if set_id in self.v.damaged_sets:  # a damaged release in force: not the neighbour's window
                answering.append(self.v.damaged(set_id, day))
        return self._window_ids.setdefault(tuple(answering), len(self._window_ids))

    def _check_slot(self, slot: Slot, day: dt.date, ctx: Any) -> Result:
        """Findings relative to the slot's start."""
        result = Result()
        check = self.CHECKS.get(slot.expects)
        if check is not None:
            check(self, slot, day, ctx, result)
        if not result.findings and not result.no_data:
            # Most codes are fine: the memo's thousands of entries share one empty result
            # (callers only read memo results).
            return _FINE_ON_DAY if result.day_sensitive else _FINE
        return result.shifted(-slot.start)

    def _day(self, day: dt.date, out: Result) -> str:
        """The day, for a message going into `out`, which then holds for this day only. A day
        the file did not give says so, and why it was chosen."""
        out.day_sensitive = True
        return f"{day.isoformat()} ({self.undated_why})" if self.undated else day.isoformat()

    # -- shared pieces ---------------------------------------------------------------------
    def _emit(self, out: Result, slot: Slot, rule: str, message: str, code_set: str, fixes=(), severity=None) -> None:
        out.findings.append(Finding(rule, message, slot.start, slot.end, slot.text, code_set, severity, list(fixes)))

    def _no_data(self, out: Result, set_id: str, slot: Slot) -> None:
        count, start, end = out.no_data.get(set_id, (0, slot.start, slot.end))
        out.no_data[set_id] = (count + 1, start, end)

    def _verdict(self, out: Result, slot: Slot, set_id: str, key: str, day: dt.date, *, kind_word="code", answer: Answer | None = None) -> Answer | None:
        """Common handling of a look-up; returns the answer when the code was found as valid
        (so the caller can apply set-specific checks), None when a finding was emitted.
        `answer`: the caller's own look-up of the same key on the same day, when it made one."""
        if set_id in self.v.damaged_sets:
            damaged = self.v.damaged(set_id, day)
            if damaged is not None:  # the release in force cannot be read: no neighbour judges for it
                self._emit(out, slot, INDEX_DAMAGED, damaged_message(display(set_id, key), damaged, self._day(day, out)), set_id)
                return None
        if not self.v.has_data(set_id):
            self._no_data(out, set_id, slot)
            return None
        a = answer if answer is not None else self.v.answer(set_id, key, day)
        if a.record is not None and (a.record.terminated or a.record.added):
            out.day_sensitive = True  # its status hinges on the day
        if a.status == Status.FOUND:
            return a  # most codes: no message, so none is worded
        rel = a.release
        title = rel.title if rel else set_name(set_id)
        shown = display(set_id, key)
        if a.status == Status.TERMINATED and rel is not None and not a.in_force and _after_release(a.record.terminated, rel):
            # An end date after the release's own period was only scheduled when it was
            # published (NDC packages list many): the release cannot prove it happened.
            self._emit(
                out, slot, NOT_IN_INDEX,
                f"{shown}: {title} scheduled its end for {a.record.terminated}, before the date of service {self._day(day, out)}; "
                f"it cannot be verified without the {set_name(set_id)} release for that date",
                set_id,
            )
        elif a.status in (Status.TERMINATED, Status.DELETED):
            rec = a.record or a.seen_record
            when = f"terminated {rec.terminated}" if a.status == Status.TERMINATED and rec and rec.terminated else f"not in {title}"
            where = f" (last listed in {a.seen_in.title})" if a.status == Status.DELETED and a.seen_in else ""
            self._emit(
                out, slot, DELETED_CODE,
                f"{shown} was deleted: {when}{where}, before the date of service {self._day(day, out)}",
                set_id, self._replacements(set_id, a, day, slot),
            )
        elif a.status == Status.NOT_YET and not a.in_force:
            # Only a release in force on the day can say a code was not valid then.
            self._emit(
                out, slot, NOT_IN_INDEX,
                f"{shown}: {title} lists it from {a.record.added}, after the date of service {self._day(day, out)}, but {title} is not in force "
                f"on that date, so it cannot be verified; get the {set_name(set_id)} release for {self._day(day, out)}",
                set_id,
            )
        elif a.status == Status.NOT_YET:
            self._emit(out, slot, INVALID_CODE, f"{shown} takes effect {a.record.added}, after the date of service {self._day(day, out)} ({title})", set_id)
        elif a.status == Status.NOT_FOUND and a.seen_in is not None and _later(a.seen_in, rel):
            # Only a newer release lists it: a code not yet in effect on the date of service.
            starts = (a.seen_record.added if a.seen_record and a.seen_record.added else None) or a.seen_in.effective_from
            self._emit(
                out, slot, INVALID_CODE,
                f"{shown} takes effect on {starts} ({a.seen_in.title}), after the date of service {self._day(day, out)}; it is not a {kind_word} in {title}",
                set_id,
            )
        elif a.status == Status.NOT_FOUND:
            seen = f"; it is listed in {a.seen_in.title}" if a.seen_in else ""
            # Which release is in force hangs on the day: say which one when the file gave none.
            when = f", in force on {self._day(day, out)}" if self.undated else ""
            self._emit(out, slot, INVALID_CODE, f"{shown} is not a {kind_word} in {title}{when}{seen}", set_id, self._near(set_id, key, day, slot))
        else:
            why = "a partial list" if rel and not rel.manifest.complete else f"not in force on {self._day(day, out)}"
            self._emit(
                out, slot, NOT_IN_INDEX,
                f"{shown} is not found in {title} ({why}), so it cannot be verified; get the {set_name(set_id)} release for {self._day(day, out)}",
                set_id,
            )
        return None

    def _replacements(self, set_id: str, a: Answer, day: dt.date, slot: Slot) -> list[Fix]:
        rec = a.record or a.seen_record
        fixes = []
        for ref in (rec.detail.get("cross_references", []) if rec else [])[:SUGGESTIONS]:
            new = self.v.answer(set_id, ref, day)
            if new.record is not None and new.status == Status.FOUND:
                fixes.append(Fix(f"Replace with {display(set_id, ref)} — {new.record.shown_description}", slot.start, slot.end, ref))
        if not fixes and rec is not None and rec.parent and a.release is not None:
            fixes = self._children_fixes(set_id, a.release, rec.parent, slot)
        return fixes

    def _near(self, set_id: str, key: str, day: dt.date, slot: Slot) -> list[Fix]:
        """For an unknown code: the billable codes under its longest existing ancestor."""
        if set_id not in (ICD10CM, ICD10PCS):
            return []
        a = self.v.answer(set_id, key, day)
        rel = a.release
        if rel is None:
            return []
        for n in range(len(key) - 1, 2, -1):
            if key[:n] in rel:
                return self._children_fixes(set_id, rel, key[:n], slot)
        return []

    def _children_fixes(self, set_id: str, rel, header: str, slot: Slot) -> list[Fix]:
        return [
            Fix(f"Replace with {display(set_id, s.key)} — {s.description}", slot.start, slot.end, s.key)
            for s in billable_below(rel, header)
        ]

    def _wrong_set(self, slot: Slot, out: Result, actual: str, demanded: str, key: str, day: dt.date, severity=None) -> None:
        """A code of the set `actual` where the place demands `demanded`."""
        rec = self.v.exists(actual, key, day) if self.v.has_data(actual) else None
        what = f" ({rec.description})" if rec else ""
        self._emit(
            out, slot, WRONG_CODE_SET,
            f"{display(actual, key)} is {a_an(set_name(actual))} code{what}, but {self._demands(slot)} {set_name(demanded)}",
            demanded, self._type_fix(slot, actual), severity,
        )

    def _demands(self, slot: Slot) -> str:
        """What demands a set, in a message: the X12 qualifier ("ABK demands")."""
        return f"{slot.qualifier} demands"

    def _type_fix(self, slot: Slot, actual: str) -> list[Fix]:
        """Fixes that rename the set beside the code (X12: none, the qualifier names a place)."""
        return []

    def _bad_shape(self, out: Result, slot: Slot, text: str, set_id: str) -> None:
        """A code that cannot be one of its set, with the set's shape in words."""
        self._emit(out, slot, BAD_FORMAT, f"{text} is not {a_an(set_label(set_id))} code ({SHAPES[set_id]})", set_id)

    def _not_billable(self, slot: Slot, out: Result, a: Answer) -> None:
        rec, rel, set_id = a.record, a.release, a.set_id
        shown = display(set_id, rec.code)
        total = rel.count(rec.code, layout.FLAG_CODE)
        # A code that only lacks its 7th character: every defined 7th character is a fix.
        seventh = [k for k in islice(rel.keys(rec.code, layout.FLAG_CODE), SEVENTH_MAX) if len(k) == 7 and k[:6].rstrip("X") == rec.code]
        if seventh:
            message = f"{shown} ({rec.description}) needs a 7th character: {total} billable code(s) below it, e.g. {display(set_id, seventh[0])}"
            fixes = [
                Fix(f"Add 7th character {k[-1]}: {display(set_id, k)} — {rel.listed(k).shown_description}", slot.start, slot.end, k)
                for k in seventh
            ]
        else:
            below = billable_below(rel, rec.code, limit=SUGGESTIONS)
            example = f", e.g. {display(set_id, below[0].key)} {below[0].description}" if below else ""
            message = f"{shown} ({rec.description}) is a header, not billable: choose one of its {total} billable codes{example}"
            fixes = [Fix(f"Replace with {display(set_id, s.key)} — {s.description}", slot.start, slot.end, s.key) for s in below]
        self._emit(out, slot, NOT_BILLABLE, message, set_id, fixes)
        if total > len(fixes):
            out.findings[-1].more = (set_id, rec.code, rel.label)


def a_an(word: str) -> str:
    """'an ICD-10-PCS', 'a HCPCS': by how the set name is spoken."""
    return f"an {word}" if word[:1] in "AEIOU" or word.startswith(("NDC", "MS-")) else f"a {word}"


def _later(release, than) -> bool:
    return than is not None and (release.effective_from or dt.date.min) > (than.effective_from or dt.date.min)


def _after_release(day: str | None, release) -> bool:
    end = release.effective_to or release.effective_from
    return bool(day and end and day > end.isoformat())


def damaged_message(shown: str, damaged: DamagedRelease, day: str) -> str:
    """A code whose date falls in a damaged release: which release, why, and the command."""
    return f"{shown} cannot be verified: {damaged_release(damaged, day)} ({damaged.problem}); {damaged.command}"


def damaged_release(damaged: DamagedRelease, day: str) -> str:
    """Which damaged release would answer on the day (damaged_message; hover and lookup)."""
    name = set_name(damaged.set_id)
    if damaged.dated:
        return f"the {name} release {damaged.label}, in force on {day}, is damaged"
    return f"the {name} release {damaged.label} is damaged and its dates are unknown, so it may be the one in force on {day}"


def no_data_finding(set_id: str, count: int, start: int, end: int, problem: str | None = None) -> Finding:
    """The note for a set with no usable data; `problem` says why installed data cannot be
    read (then it is a warning: the user has data, it is broken)."""
    if set_id == "ncci" and problem is not None:
        return Finding(
            INDEX_DAMAGED,
            f"NCCI edits not checked: the NCCI index cannot be read: {problem}. {count} service line(s) in this file",
            start, end, "", set_id, Severity.WARNING,
        )
    if set_id == "ncci":  # claim edits rather than a code set: the note says what is not checked
        return Finding(
            NOT_IN_INDEX,
            f"NCCI edits not checked: import the CMS NCCI files (medcode index import ncci PATH...); "
            f"{count} service line(s) in this file",
            start, end, "", set_id, Severity.INFORMATION,
        )
    if problem is not None:
        return Finding(
            INDEX_DAMAGED,
            f"{set_name(set_id)} index cannot be read: {problem}. {count} {set_name(set_id)} code(s) in this file are checked for syntax only",
            start, end, "", set_id, Severity.WARNING,
        )
    how = {
        CPT: "import your licensed AMA files: medcode index import cpt LONGULT.txt",
        HCPCS: "get the CMS file: medcode index fetch hcpcs (or medcode index import hcpcs FILE.zip)",
    }.get(set_id, f"get it: medcode index fetch {set_id} (or medcode index build for the embedded data)")
    return Finding(
        NOT_IN_INDEX,
        f"no {set_name(set_id)} data installed: {count} {set_name(set_id)} code(s) in this file are checked for syntax only; {how}",
        start, end, "", set_id, Severity.INFORMATION,
    )
