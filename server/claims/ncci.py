"""NCCI edits over a claim's service lines: procedure-to-procedure pairs (`ncci-ptp`), medically
unlikely units (`mue`) and add-on codes without their primary (`add-on-without-primary`).

Each date of service is judged with the NCCI quarter in force on it; professional claims use
the practitioner tables, institutional claims of outpatient bill types the outpatient hospital
tables. Semantics follow the CMS NCCI policy manual (chapter I) and the file descriptions.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from medcode.index_builder.ncci_index import AOC, NCCI, OUTPATIENT, PRACTITIONER, SETTING_NAMES, AddOnRow, Mue, NcciRelease, PtpEdit, mue_table, ptp_table

from ..code_rules import Result
from ..findings import ADD_ON_WITHOUT_PRIMARY, INDEX_DAMAGED, MUE, NCCI_PTP, Finding, Fix, Severity
from ..verdicts import Verdicts
from .model import INSTITUTIONAL, PROFESSIONAL, Claim, ServiceLine

# NCCI-associated modifiers (NCCI policy manual, chapter I, "Modifiers and Modifier
# Indicators"): anatomic, global surgery, and the distinct-service modifiers.
ANATOMIC = ("E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
            "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC", "LM", "RI")
GLOBAL_SURGERY = ("24", "25", "57", "58", "78", "79")
DISTINCT = ("59", "XE", "XP", "XS", "XU")
OTHER = ("27", "91")
BYPASS = frozenset(ANATOMIC + GLOBAL_SURGERY + DISTINCT + OTHER)
# The quick fixes, with what each one asserts (the caution goes into the title).
DISTINCT_MEANING = {
    "59": "a distinct procedural service",
    "XE": "a separate encounter",
    "XS": "a separate organ / structure",
    "XP": "a separate practitioner",
    "XU": "an unusual non-overlapping service",
}
# Institutional bill types (facility type codes) the outpatient hospital edits apply to
# (NCCI policy manual, Introduction: the I/OCE edits these types of bill).
# Findings kept for reuse hold this in place of the date of service.
_DAY = "\x00day\x00"
MEMO_MAX = 200_000
OUTPATIENT_BILL_TYPES = frozenset({"12", "13", "14", "22", "23", "34", "71", "74", "75", "76", "77", "85"})


def _modifier_list() -> str:
    return "59, XE, XP, XS, XU, anatomic (LT, RT, E1-E4, FA, F1-F9, TA, T1-T9, LC, LD, RC, LM, RI), global surgery (24, 25, 57, 58, 78, 79), 27, 91"


class NcciRules:
    """The three NCCI rules; look-ups go through one NcciRelease per quarter (memoised)."""

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.v = verdicts
        self.today = today or dt.date.today()
        self._views: dict[int, NcciRelease] = {}
        self._quarters: dict[dt.date, tuple[NcciRelease, bool] | None] = {}
        self._memo: dict[tuple, tuple[dt.date, dt.date, tuple]] = {}

    # -- which data --------------------------------------------------------------------------
    @staticmethod
    def setting(claim: Claim) -> str | None:
        return NcciRules.setting_of(claim.form, claim.bill_type)

    @staticmethod
    def setting_of(form: str, bill_type: str) -> str | None:
        """The NCCI table set for a claim's form and (institutional) facility type code."""
        if form == PROFESSIONAL:
            return PRACTITIONER
        if form == INSTITUTIONAL and bill_type in OUTPATIENT_BILL_TYPES:
            return OUTPATIENT
        return None

    def quarter(self, day: dt.date) -> tuple[NcciRelease, bool] | None:
        """The quarter that answers for a date (memoised per date) and whether it is in force."""
        try:
            return self._quarters[day]
        except KeyError:
            pass
        choice = self.v.choice(NCCI, day)
        found = None
        if choice is not None:
            rel, in_force = choice
            view = self._views.get(id(rel))
            if view is None:
                view = self._views[id(rel)] = NcciRelease(rel)
            found = (view, in_force)
        self._quarters[day] = found
        return found

    # -- checks ------------------------------------------------------------------------------
    def check(self, claim: Claim, out: Result) -> None:
        setting = self.setting(claim)
        if setting is None or not claim.lines:
            return
        if not self.v.has_data(NCCI):
            first = claim.lines[0]
            self._unchecked(len(claim.lines), first.composite_start, first.start, first.end, out)
            return
        lines = claim.lines
        first_day = lines[0].date
        if all(ln.date == first_day for ln in lines):  # nearly every claim: one date
            self._day(setting, first_day or self.today, lines, out)
            return
        for day, on_day in claim.by_date().items():
            self._day(setting, day or self.today, on_day, out)

    def has_data(self) -> bool:
        return self.v.has_data(NCCI)

    def note_unchecked(self, form: str, bill_type: str, count: int, composite_start: int, start: int, end: int, out: Result) -> None:
        """`check` without data, given only the claim's form and facility type code (Claim.form,
        Claim.bill_type), how many service lines it has and the first one's composite start and
        code span: neither the claim nor its lines need be built."""
        if count and self.setting_of(form, bill_type) is not None:
            self._unchecked(count, composite_start, start, end, out)

    @staticmethod
    def _unchecked(count: int, composite_start: int, start: int, end: int, out: Result) -> None:
        """No NCCI data: the note counts the service lines not checked."""
        # On the whole composite (HC:code): the code itself may carry the HCPCS / CPT note.
        start = composite_start if composite_start >= 0 else start
        seen, start, end = out.no_data.get(NCCI, (0, start, end))
        out.no_data[NCCI] = (seen + count, start, end)

    def _day(self, setting: str, day: dt.date, lines: list[ServiceLine], out: Result) -> None:
        if NCCI in self.v.damaged_sets and self._damaged(day, lines, out):
            return
        q = self.quarter(day)
        if q is None:
            return
        view, in_force = q
        # Claims repeat the same lines (codes, modifiers, units): their findings are kept per
        # quarter with the span of days on which every edit consulted says the same.
        key = (setting, id(view), in_force, tuple([(ln.code, ln.modifiers, ln.units, ln.number) for ln in lines]))
        hit = self._memo.get(key)
        if hit is not None and hit[0] <= day <= hit[1]:
            if hit[2]:
                self._replay(hit[2], lines, day, out)
            return
        scratch = Result()
        self._run(setting, day, lines, view, in_force, scratch)
        iso = day.isoformat()
        at = {ln.start: i for i, ln in enumerate(lines)}
        pending = tuple((at[f.start], f.rule, f.message.replace(iso, _DAY), f.severity, bool(f.fixes)) for f in scratch.findings)
        if len(self._memo) > MEMO_MAX:
            self._memo.clear()
        self._memo[key] = (*self._window(setting, day, lines, view), pending)
        if pending:
            self._replay(pending, lines, day, out)

    def _damaged(self, day: dt.date, lines: list[ServiceLine], out: Result) -> bool:
        """The quarter in force on the day is damaged: say so on the day's first line rather
        than apply the nearest quarter as if it were in force."""
        damaged = self.v.damaged(NCCI, day)
        if damaged is None:
            return False
        first = lines[0]
        out.findings.append(Finding(
            INDEX_DAMAGED,
            f"NCCI edits not checked for {len(lines)} service line(s) on {day}: the NCCI quarter {damaged.label}, in force on that date, "
            f"is damaged ({damaged.problem}); {damaged.command}",
            first.start, first.end, first.code, NCCI,
        ))
        return True

    def _run(self, setting: str, day: dt.date, lines: list[ServiceLine], view: NcciRelease, in_force: bool, out: Result) -> None:
        has_ptp, has_mue, has_aoc = view.has_tables(setting)
        # One look-up per line for what its code has (MUE value, add-on rows); pairs need two.
        profiles = [view.profile(setting, ln.code) for ln in lines]
        if has_ptp and len(lines) > 1:
            self._ptp(view, setting, day, lines, in_force, out)
        if has_mue:
            self._mue(setting, day, lines, profiles, view, in_force, out)
        if has_aoc and any(p[1] for p in profiles):
            self._addon(day, lines, profiles, view, in_force, out)

    @staticmethod
    def _replay(pending, lines: list[ServiceLine], day: dt.date, out: Result) -> None:
        iso = day.isoformat()
        for i, rule, template, severity, fixes in pending:
            ln = lines[i]
            out.findings.append(
                Finding(rule, template.replace(_DAY, iso), ln.start, ln.end, ln.code, NCCI, severity, _modifier_fixes(ln) if fixes else [])
            )

    def _window(self, setting: str, day: dt.date, lines: list[ServiceLine], view: NcciRelease) -> tuple[dt.date, dt.date]:
        """The days around `day` on which every PTP edit and add-on row these lines consult is
        in force or not just as on `day` (which quarter answers is settled before: it is part
        of the memo's key)."""
        lo, hi = dt.date.min, dt.date.max
        bounds: list[dt.date | None] = []
        if view.has_tables(setting)[0] and len(lines) > 1:
            for a in lines:
                for b in lines:
                    if a.code != b.code:
                        for e in view.ptp(setting, a.code, b.code):
                            bounds += (e.effective, e.deleted)
        for ln in lines:
            for r in view.profile(setting, ln.code)[1]:
                bounds += (r.effective, r.deleted)
        for d in bounds:  # each the first day of a new state (in force, or deleted)
            if d is None:
                continue
            if d <= day:
                lo = max(lo, d)
            else:
                hi = min(hi, d - dt.timedelta(days=1))
        return lo, hi

    @staticmethod
    def _where(view: NcciRelease, in_force: bool, day: dt.date) -> tuple[str, Severity | None]:
        """The quarter a message names, and the severity: a quarter not in force on the date
        (the nearest installed one answered) can only warn."""
        if in_force:
            return view.title, None
        return f"{view.title}, the nearest quarter installed (not in force on {day})", Severity.WARNING

    def _pair(self, view: NcciRelease, setting: str, day: dt.date, a: ServiceLine, b: ServiceLine) -> PtpEdit | None:
        """The edit with a as column 1 and b as column 2 in force on the day, if any."""
        for edit in view.ptp(setting, a.code, b.code):
            if edit.in_force(day):
                return edit
        return None

    def _ptp(self, view, setting, day, lines, in_force, out: Result) -> None:
        reported: set[tuple[str, int]] = set()  # (column 1 code, column 2 line): once each
        ptp = view.ptp
        for a in lines:
            for b in lines:
                if a.code == b.code:
                    continue
                edits = ptp(setting, a.code, b.code)
                if not edits:
                    continue
                edit = next((e for e in edits if e.in_force(day)), None)
                if edit is None or edit.indicator == "9" or (a.code, b.index) in reported:
                    continue
                if edit.indicator == "1" and (BYPASS.intersection(a.modifiers) or BYPASS.intersection(b.modifiers)):
                    continue
                reported.add((a.code, b.index))
                where, severity = self._where(view, in_force, day)
                table = f"{where} {SETTING_NAMES[setting]} PTP"
                if edit.indicator == "0":
                    message = (
                        f"{b.code} (line {b.number}) is column 2 of {a.code} (line {a.number}) on {day}: "
                        f"modifier indicator 0, no modifier allows both on the same date of service ({table})"
                    )
                    fixes: list[Fix] = []
                else:
                    message = (
                        f"{b.code} (line {b.number}) is column 2 of {a.code} (line {a.number}) on {day}: "
                        f"modifier indicator 1, payable together only with an NCCI-associated modifier on either code "
                        f"({_modifier_list()}) when the record supports it; neither line has one ({table})"
                    )
                    fixes = _modifier_fixes(b)
                out.findings.append(Finding(NCCI_PTP, message, b.start, b.end, b.code, NCCI, severity, fixes))

    def _mue(self, setting, day, lines, profiles, view, in_force, out: Result) -> None:
        totals: dict[str, float] = {}
        for line, (mue, _) in zip(lines, profiles):
            if mue is None or line.units is None:
                continue
            if not mue.per_day:
                if line.units > mue.value:
                    where, severity = self._where(view, in_force, day)
                    message = f"{line.code}: {line.shown_units} units on line {line.number} exceed the {SETTING_NAMES[setting]} MUE {mue.value}, {mue.mai_text}; {where}"
                    out.findings.append(Finding(MUE, message, line.start, line.end, line.code, NCCI, severity))
                continue
            before = totals.get(line.code, 0.0)
            total = totals[line.code] = before + line.units
            if total > mue.value >= before:
                where, severity = self._where(view, in_force, day)
                numbers = ", ".join(ln.number for ln in lines[: line.index + 1] if ln.code == line.code and ln.units is not None)
                message = f"{line.code}: {total:g} units on {day} (line {numbers}) exceed the {SETTING_NAMES[setting]} MUE {mue.value}, {mue.mai_text}; {where}"
                out.findings.append(Finding(MUE, message, line.start, line.end, line.code, NCCI, severity))

    def _addon(self, day, lines, profiles, view, in_force, out: Result) -> None:
        codes = {ln.code for ln in lines}
        for line, (_, all_rows) in zip(lines, profiles):
            rows = [r for r in all_rows if r.in_force(day)]
            if not rows:
                continue
            kinds = {r.type for r in rows}
            primaries = {r.primary for r in rows if r.primary}
            if primaries & codes:
                continue
            where, severity = self._where(view, in_force, day)
            listed = ", ".join(sorted(primaries)[:8]) + (" …" if len(primaries) > 8 else "")
            if "1" in kinds:
                message = f"{line.code} is a type 1 add-on code without one of its primary codes on {day} ({listed}; {where})"
                out.findings.append(Finding(ADD_ON_WITHOUT_PRIMARY, message, line.start, line.end, line.code, NCCI, severity))
            elif "3" in kinds:
                message = (
                    f"{line.code} is a type 3 add-on code and none of the primary codes CMS lists is on {day} ({listed}); "
                    f"your contractor may accept others ({where})"
                )
                out.findings.append(Finding(ADD_ON_WITHOUT_PRIMARY, message, line.start, line.end, line.code, NCCI, Severity.INFORMATION))
            elif "2" in kinds and codes == {line.code}:
                message = (
                    f"{line.code} is a type 2 add-on code billed with no other procedure on {day}: an add-on code is "
                    f"rarely payable alone (CMS lists no primary codes for type 2; your contractor defines them; {where})"
                )
                out.findings.append(Finding(ADD_ON_WITHOUT_PRIMARY, message, line.start, line.end, line.code, NCCI, Severity.WARNING))

    # -- hover ---------------------------------------------------------------------------------
    def notes(self, claim: Claim, line: ServiceLine) -> list[str]:
        setting = self.setting(claim)
        if setting is None:
            return []
        if not self.v.has_data(NCCI):
            return ["NCCI edits not checked: import the CMS NCCI files (`medcode index import ncci PATH...`)"]
        day = line.date or self.today
        q = self.quarter(day)
        if q is None:
            return []
        view, in_force = q
        same_day = [ln for ln in claim.lines if (ln.date or self.today) == day and ln is not line]
        out = [f"*{view.title} ({SETTING_NAMES[setting]}){'' if in_force else f', not in force on {day}'}*"]
        if view.has(ptp_table(setting)):
            for other in same_day:
                if other.code == line.code:
                    continue
                for col1, col2 in ((line, other), (other, line)):
                    edit = self._pair(view, setting, day, col1, col2)
                    if edit is not None:
                        out.append(_describe_pair(edit, col1, col2, line))
        else:
            out.append(f"no {SETTING_NAMES[setting]} PTP table in {view.title}")
        for s in (setting, *(x for x in SETTING_NAMES if x != setting)):
            mue = view.mue(s, line.code)
            if mue is not None:
                units = sum(ln.units or 0 for ln in (line, *same_day) if ln.code == line.code) if mue.per_day else (line.units or 0)
                out.append(f"MUE ({SETTING_NAMES[s]}): {mue.value} ({mue.mai_text}){f'; {units:g} unit(s) here' if s == setting else ''}")
        rows = [r for r in view.addon(line.code) if r.in_force(day)]
        if rows:
            primaries = sorted({r.primary for r in rows if r.primary})
            kinds = "/".join(sorted({r.type for r in rows}))
            shown = ", ".join(primaries[:10]) + (" …" if len(primaries) > 10 else "")
            out.append(f"add-on code, type {kinds}" + (f"; primary codes: {shown}" if shown else ""))
        for other in same_day:
            rows = [r for r in view.addon(other.code) if r.in_force(day) and r.primary == line.code]
            if rows:
                out.append(f"primary code of add-on {other.code} (line {other.number})")
        return out if len(out) > 1 else out + ["no NCCI edit touches this code on this claim"]


def _describe_pair(edit: PtpEdit, col1: ServiceLine, col2: ServiceLine, line: ServiceLine) -> str:
    other = col2 if line is col1 else col1
    role = "column 1" if line is col1 else "column 2"
    status = {
        "0": "never payable together",
        "1": "payable together only with an NCCI-associated modifier",
        "9": "no edit (indicator 9)",
    }[edit.indicator]
    bypassed = edit.indicator == "1" and (BYPASS.intersection(col1.modifiers) or BYPASS.intersection(col2.modifiers))
    if bypassed:
        status += f" — bypassed by {', '.join(sorted(BYPASS.intersection(col1.modifiers + col2.modifiers)))}"
    return f"PTP: {role} with {other.code} (line {other.number}), modifier indicator {edit.indicator}: {status}"


def _modifier_fixes(line: ServiceLine) -> list[Fix]:
    if line.insert_at is None:
        return []
    return [
        Fix(
            f"Add modifier {mod} to {line.code} (caution: only if the record documents {meaning}; "
            "an unsupported modifier is a billing error)",
            line.insert_at, line.insert_at, line.separator + mod,
        )
        for mod, meaning in DISTINCT_MEANING.items()
    ]
