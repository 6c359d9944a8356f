"""Everything worth saying about one code, as data: the CLI prints it, hover renders it.

Built from a lookup Answer plus the store (ICD-10-CM hierarchy, PCS table meanings, NDC
products live beside the code's own record).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from medcode.index_builder import layout
from medcode.index_builder.codesets import CPT, CPT_RE, HCPCS, ICD10CM, ICD10PCS, NDC, display, set_name
from medcode.index_builder.lookup import Answer, Status
from medcode.index_builder.model import HEADER, MODIFIER, CodeRecord
from medcode.index_builder.reader import AuxDamaged, DamagedRelease, IndexStore, Release

from .release_memo import ReleaseMemo

NOTE_LABELS = {
    "notes": "Note",
    "includes": "Includes",
    "inclusionTerm": "Inclusion terms",
    "excludes1": "Excludes1 (never coded together)",
    "excludes2": "Excludes2 (not included here)",
    "codeFirst": "Code first",
    "useAdditionalCode": "Use additional code",
    "codeAlso": "Code also",
    "sevenChrNote": "7th character",
}
# Notes inherited from ancestors: what applies to the whole category applies to the code.
INHERITED_NOTES = ("includes", "excludes1", "excludes2", "codeFirst", "useAdditionalCode", "codeAlso", "notes")
CHILDREN_SHOWN = 12
# A header's children, per open release (its files do not change while it is open): finding
# them reads and decodes every record under the header, thousands for some categories (tens
# of milliseconds of the loop, at each hover of it). Header -> (children, the first shown as
# (code, description), billable codes below).
CHILDREN_MEMO = 512  # headers held at most
_children_seen = ReleaseMemo(CHILDREN_MEMO)


@dataclass
class NoteGroup:
    kind: str
    label: str
    source: str  # the code (or section) the note is written under
    texts: list[str]


@dataclass
class Step:
    code: str
    description: str


@dataclass
class CodeView:
    query: str
    code: str
    set_id: str
    set_name: str
    status: str
    found: bool
    description: str | None = None
    kind: str | None = None
    release: str | None = None
    release_label: str | None = None
    in_force: bool = False
    date: str | None = None
    summary: str = ""  # one line: billable / header / terminated / not found …
    path: list[Step] = field(default_factory=list)
    notes: list[NoteGroup] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    children: list[Step] = field(default_factory=list)
    children_total: int = 0
    billable_below: int = 0
    hints: list[str] = field(default_factory=list)
    data_problem: str | None = None  # installed data of this set that cannot be read, and why

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["facts"] = dict(self.facts)
        if self.data_problem is None:
            del data["data_problem"]  # present only when the set's installed data cannot be read
        return data


def _status_summary(answer: Answer, rec: CodeRecord | None) -> str:
    rel = answer.release
    where = rel.title if rel else set_name(answer.set_id)
    if answer.status == Status.FOUND:
        assert rec is not None
        if rec.kind == HEADER:
            return "header — not valid on a claim by itself"
        if rec.kind == MODIFIER:
            return "modifier"
        return "billable" if answer.set_id in (ICD10CM, ICD10PCS) else "valid"
    if answer.status == Status.TERMINATED:
        return f"terminated {rec.terminated}" if rec else "terminated"
    if answer.status == Status.NOT_YET:
        if not answer.in_force and rec is not None:
            # A release not in force on the day cannot say what was valid then.
            return f"added {rec.added} in {where}, which is not in force on {answer.day}: cannot be verified for that date"
        return f"not yet valid on {answer.day} (added {rec.added})" if rec else "not yet valid"
    if answer.status == Status.DELETED:
        return f"deleted: not in {where}, last listed in {answer.seen_in.title}" if answer.seen_in else "deleted"
    if answer.status == Status.NOT_FOUND:
        return f"not a code in {where}"
    if rel is None:
        return f"cannot be verified: no {set_name(answer.set_id)} data installed"
    reason = "a partial list" if not rel.manifest.complete else f"not in force on {answer.day}"
    return f"not found in {where} ({reason}), so it cannot be verified"


def describe(store: IndexStore, answer: Answer, query: str | None = None) -> CodeView:
    damaged = store.damaged_for(answer.set_id, answer.day) if answer.set_id in store.damaged_sets() else None
    if damaged is not None:
        return _damaged_view(answer, damaged, query)
    rec = answer.record or answer.seen_record
    rel = answer.release if answer.record else (answer.seen_in or answer.release)
    view = CodeView(
        query=query or answer.display,
        code=answer.display,
        set_id=answer.set_id,
        set_name=set_name(answer.set_id),
        status=answer.status.value,
        found=answer.record is not None,
        release=answer.release.title if answer.release else None,
        release_label=answer.release.label if answer.release else None,
        in_force=answer.in_force,
        date=answer.day.isoformat(),
        summary=_status_summary(answer, answer.record),
    )
    if rec is not None:
        view.description = rec.shown_description
        view.kind = rec.kind
        if not rec.has_description:
            view.hints.append(
                f"Its description is not in the embedded data (the code list is); "
                f"`medcode index fetch {answer.set_id}` brings the official file with it."
            )
        if rel is not None and rec is answer.seen_record:
            view.facts.append(("Listed in", rel.title))
    if rel is not None and rec is not None:
        _add_set_details(store, rel, rec, view)
    problem = store.problem(answer.set_id) if answer.release is None else None
    if problem is not None:
        # Data is installed but broken: say so, never "no data installed".
        view.data_problem = problem
        view.summary = f"cannot be verified: the {set_name(answer.set_id)} index cannot be read"
        view.hints.append(problem)
    else:
        _add_hints(answer, view)
    return view


def _damaged_view(answer: Answer, damaged: DamagedRelease, query: str | None) -> CodeView:
    """The release that would answer on the day is installed but damaged: say that and how to
    rebuild it, not what a neighbouring release lists (as the code's index-damaged finding)."""
    from .code_rules import damaged_release

    problem = damaged.message
    return CodeView(
        query=query or answer.display,
        code=answer.display,
        set_id=answer.set_id,
        set_name=set_name(answer.set_id),
        status=Status.UNVERIFIED.value,
        found=False,
        release_label=damaged.label,
        date=answer.day.isoformat(),
        summary=f"cannot be verified: {damaged_release(damaged, answer.day.isoformat())}",
        hints=[problem],
        data_problem=problem,
    )


def _add_set_details(store: IndexStore, rel: Release, rec: CodeRecord, view: CodeView) -> None:
    if rel.set_id == ICD10CM:
        _icd10cm(rel, rec, view)
    elif rel.set_id == ICD10PCS:
        _icd10pcs(store, rel, rec, view)
    elif rel.set_id == NDC:
        _ndc(store, rel, rec, view)
    elif rel.set_id == HCPCS:
        _hcpcs(rec, view)
    if rec.short and rel.set_id not in (HCPCS, NDC):
        view.facts.insert(0, ("Short title", rec.short))
    for label, value in (("Added", rec.added), ("Effective", rec.effective), ("Terminated", rec.terminated)):
        if value and rel.set_id != NDC:
            view.facts.append((label, value))


def _ancestors(rel: Release, rec: CodeRecord) -> list[CodeRecord]:
    chain = []
    parent = rec.parent
    while parent:
        up = rel.get(parent)
        if up is None:
            break
        chain.append(up)
        parent = up.parent
    return chain


def _children(rel: Release, rec: CodeRecord, view: CodeView) -> None:
    known = _children_seen.of(rel, rec.code, _read_children)
    view.children_total = known[0]
    view.children = [Step(code, description) for code, description in known[1]]
    view.billable_below = known[2]


def _read_children(rel: Release, code: str) -> tuple[int, tuple[tuple[str, str], ...], int]:
    kids = [r for r in rel.records(code, limit=10_000) if r.parent == code]
    shown = tuple((display(rel.set_id, k.code), k.shown_description) for k in kids[:CHILDREN_SHOWN])
    return len(kids), shown, rel.count(code, layout.FLAG_CODE)


def _icd10cm(rel: Release, rec: CodeRecord, view: CodeView) -> None:
    chain = _ancestors(rel, rec)
    top = chain[-1] if chain else rec
    section_id = top.detail.get("section")
    sections = rel.meta.get("sections", {})
    chapters = {c["name"]: c for c in rel.meta.get("chapters", [])}
    section = sections.get(section_id) if section_id else None
    if section:
        chapter = chapters.get(section["chapter"])
        if chapter:
            view.path.append(Step(f"Chapter {chapter['name']}", chapter["desc"]))
        view.path.append(Step(section_id, section["desc"].removesuffix(f"({section_id})").strip()))
    view.path += [Step(display(ICD10CM, a.code), a.shown_description) for a in reversed(chain)]

    for kind in NOTE_LABELS:
        if rec.notes.get(kind):
            view.notes.append(NoteGroup(kind, NOTE_LABELS[kind], view.code, rec.notes[kind]))
    for anc in chain:
        for kind in INHERITED_NOTES:
            if anc.notes.get(kind):
                view.notes.append(NoteGroup(kind, NOTE_LABELS[kind], display(ICD10CM, anc.code), anc.notes[kind]))
    if section:
        for kind in INHERITED_NOTES:
            if section["notes"].get(kind):
                view.notes.append(NoteGroup(kind, NOTE_LABELS[kind], section_id, section["notes"][kind]))

    owner_code = rec.detail.get("seventh_of")
    if owner_code:
        owner = rel.get(owner_code)
        char = rec.detail.get("seventh_char", "")
        meaning = owner.detail.get("seventh", {}).get(char) if owner else None
        if meaning:
            view.facts.append(("7th character", f"{char} = {meaning} (defined at {display(ICD10CM, owner_code)})"))
    if rec.kind == HEADER:
        _children(rel, rec, view)


def _icd10pcs(store: IndexStore, rel: Release, rec: CodeRecord, view: CodeView) -> None:
    from medcode.index_builder import pcs_tables

    if rec.detail.get("composed"):
        view.facts.append(("Title", "composed from the PCS table labels (no official title in this source)"))
    tables = [rel] + [r for r in reversed(store.releases(ICD10PCS)) if r is not rel]
    for source in tables:
        try:
            meanings = pcs_tables.meanings(source, rec.code)
        except AuxDamaged as exc:
            # Only the meanings are missing (the code was judged from its record): say which
            # file and how to rebuild it, and let another release's tables answer (named).
            _side_data_lost(store, source, exc, f"The character meanings of {source.title}", view)
            continue
        if meanings:
            for m in meanings:
                text = f"{m.character} = {m.label}"
                if m.definition:
                    text += f" — {m.definition}"
                view.facts.append((f"{m.position} {m.title}", text))
            if source is not rel:
                view.facts.append(("Character meanings from", source.title))
            break
    else:
        section = pcs_tables.SECTIONS.get(rec.code[:1])
        if section:
            view.facts.append(("Section", f"{rec.code[:1]} = {section}"))
    if rec.kind == HEADER:
        _children(rel, rec, view)


def _side_data_lost(store: IndexStore, rel: Release, exc: AuxDamaged, what: str, view: CodeView) -> None:
    """Side data of rel read as damaged: noted once in the store (its problems, which the
    CLI and the editor show) and said in the view with the file and the rebuild command."""
    store.set_aside(exc)
    damaged = store.aux_damaged(rel, exc.name)
    why = damaged.message if damaged is not None else str(exc)
    view.hints.append(f"{what} cannot be shown: {why}")


def _ndc(store: IndexStore, rel: Release, rec: CodeRecord, view: CodeView) -> None:
    from medcode.index_builder.importers import ndc

    d = rec.detail
    view.facts.append(("NDC (10-digit, as listed)", d.get("ndc10", "")))
    if rec.short:
        view.facts.append(("Product", rec.short))
    try:
        product = ndc.product_of(rel, rec) or {}
    except AuxDamaged as exc:
        # The package's own record (its code, description, dates) was read; only the product
        # details beside it are missing.
        _side_data_lost(store, rel, exc, f"The product details of {rel.title}", view)
        product = {}
    for label, key in (
        ("Product NDC", "product_ndc"),
        ("Generic name", "nonproprietary_name"),
        ("Labeler", "labeler"),
        ("Dosage form", "dosage_form"),
        ("Route", "route"),
        ("Product type", "product_type"),
        ("Marketing category", "marketing_category"),
        ("DEA schedule", "dea_schedule"),
    ):
        value = product.get(key)
        if value:
            view.facts.append((label, value if isinstance(value, str) else ", ".join(map(str, value))))
    subs = product.get("substances") or []
    if subs:
        view.facts.append(
            ("Active ingredients", "; ".join(f"{s.get('name')} {s.get('strength', '')} {s.get('unit', '')}".strip() for s in subs))
        )
    if d.get("sample"):
        view.facts.append(("Sample package", "yes"))
    if d.get("excluded"):
        view.facts.append(("FDA exclude flag", d["excluded"]))
    if rec.effective:
        view.facts.append(("Marketing start", rec.effective))
    if rec.terminated:
        view.facts.append(("Marketing end", rec.terminated))
    view.facts.append(("Directory date", rel.label))


HCPCS_DETAIL_LABELS = (
    ("coverage", "Medicare coverage"),
    ("pricing_indicators", "Pricing indicator"),
    ("multiple_pricing_indicator", "Multiple pricing indicator"),
    ("betos", "BETOS"),
    ("type_of_service", "Type of service"),
    ("cross_references", "Cross-reference"),
    ("asc_group", "ASC payment group"),
    ("opps_group", "OPPS payment group"),
    ("opps_indicator", "OPPS payment indicator"),
    ("processing_note", "Processing note"),
    ("statute", "Statute"),
    ("lab_certifications", "Lab certification"),
    ("cim_references", "Coverage issues manual"),
    ("mcm_references", "Medicare carriers manual"),
    ("anesthesia_base_units", "Anesthesia base units"),
)


def _hcpcs(rec: CodeRecord, view: CodeView) -> None:
    d = rec.detail
    if rec.short:
        view.facts.append(("Short description", rec.short))
    if rec.action:
        meaning = d.get("action_meaning")
        view.facts.append(("Action", f"{rec.action} = {meaning}" if meaning else rec.action))
    for key, label in HCPCS_DETAIL_LABELS:
        value = d.get(key)
        if value in (None, "", []):
            continue
        if key == "coverage" and d.get("coverage_meaning"):
            value = f"{value} = {d['coverage_meaning']}"
        view.facts.append((label, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))


def _add_hints(answer: Answer, view: CodeView) -> None:
    rel = answer.release
    if answer.record is not None and answer.record.kind == HEADER and view.billable_below:
        view.hints.append(
            f"{view.code} is a header: pick one of the {view.billable_below:,} billable codes below it"
            + (f" (e.g. {view.children[0].code})" if view.children else "")
        )
    if rel is None:
        if answer.set_id == CPT:
            shape = "well-formed" if CPT_RE.match(answer.key) else "not CPT-shaped"
            view.hints.append(
                f"{answer.key} is {shape} (syntax only: CPT text is AMA-licensed). "
                "Import your licensed AMA file: medcode index import cpt LONGULT.txt"
            )
        elif answer.set_id == HCPCS:
            view.hints.append("Import the CMS alpha-numeric file: medcode index import hcpcs HCPC2026_JAN_ANWEB.zip")
        else:
            view.hints.append(f"Build or import {set_name(answer.set_id)} data: medcode index build")
    elif not answer.in_force:
        fetch = "" if answer.set_id == CPT else f": medcode index fetch {answer.set_id}"
        view.hints.append(f"{rel.title} is not in force on {answer.day}; get the release for that date{fetch}")
    if answer.seen_in is not None and answer.status != Status.DELETED and answer.record is None:
        view.hints.append(f"listed in {answer.seen_in.title}")
