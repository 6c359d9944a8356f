"""FHIR R4 Claim and ExplanationOfBenefit resources as a Reading: every Coding whose `system`
is a medical code set becomes a Slot at the exact offset of its `code` string.

A document is recognised by its content: a resource whose `resourceType` is Claim or
ExplanationOfBenefit, alone, in a Bundle (`entry[].resource`), or one per line (NDJSON bulk
export). The slots are also grouped per resource (ClaimResource) with their dates and
diagnosis sequences, which is what claim-level edits (pointers today; MCE and NCCI edits
later) work on.

Places read: diagnosis[].diagnosisCodeableConcept (and packageCode), procedure[]
.procedureCodeableConcept, item[].productOrService with item[].modifier, item[].revenue,
item[].detail[] (and subDetail[]) productOrService / modifier / revenue, supportingInfo[].code
(the DRG of an inpatient claim), and the item[].diagnosisSequence pointers.
A code is judged on its item's servicedDate / servicedPeriod.start, else the procedure's
date, else the resource's billablePeriod.start.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from .. import reading as r
from .. import repeated_keys
from ..digits import is_digits
from ..findings import FHIR_STRUCTURE, Finding, Severity
from ..places import POINTER, Slot
from ..reading import Header, Reading
from . import jsontree as jt
from .systems import CLAIM_TYPES, DIAGNOSIS_TYPES, INPATIENT, INSTITUTIONAL, ORAL, OUTPATIENT, PROFESSIONAL, SYSTEMS, TYPE_OF_BILL_CATEGORY, TYPE_OF_BILL_URI, expects_at

CLAIM_RESOURCES = ("Claim", "ExplanationOfBenefit")
_RECOGNISE = re.compile(r'"resourceType"\s*:\s*"(?:Claim|ExplanationOfBenefit)"')
# The keys the places above go through; every other subtree (narrative, extensions,
# adjudications: most of a Blue Button EOB) is validated by the C scanner and never built.
KEEP = frozenset({
    "resourceType", "id", "entry", "resource", "billablePeriod", "start", "diagnosis", "sequence",
    "diagnosisCodeableConcept", "packageCode", "procedure", "date", "procedureCodeableConcept", "supportingInfo",
    "code", "item", "servicedDate", "servicedPeriod", "diagnosisSequence", "productOrService", "modifier", "revenue",
    "detail", "subDetail", "coding", "system", "display",
    "end",
})
# What the claim edits read without positions (claim type, patient, diagnosis roles, units...)
# comes from the values of skipped members (jsontree.SKIPPED): building them as trees made the read
# of Blue Button EOBs about 40% slower.
# Those keys: their values are scanned telling whether a key repeats inside (jsontree.parse's
# `checked`), and one that holds a repeat is walked again for where (_Reader.decoded).
DECODED = frozenset({"type", "subType", "patient", "total", "contained", "quantity", "net", "category"})
# The keys followed in that second walk: those medcode reads in such values (a contained
# resource's other members are not looked into).
_DECODED_KEYS = frozenset({
    "coding", "system", "code", "reference", "value", "currency", "category", "amount",
    "resourceType", "id", "birthDate", "gender",
})
_LINES = re.compile(r"[^\n]+")


@dataclass(slots=True)
class CodingSlot(Slot):
    """A Coding's code, with its `display` (display-mismatch compares it with the description)."""

    display: str | None = None
    display_start: int | None = None


@dataclass(slots=True)
class Service:
    """What a slot was read under (Slot.line): the date its code is judged on."""

    date: dt.date | None
    resource: ClaimResource | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    """What the claim edits need of a Patient resource."""

    birth: dt.date | None  # birthDate (a partial date gives None)
    sex: str  # "M", "F", else "" (gender other / unknown / absent)


@dataclass(slots=True)
class Diagnosis:
    """One diagnosis[] element: its sequence, the role its `type` gives, its codes."""

    sequence: int | None
    role: str | None  # claim_edits.inputs role from diagnosis[].type; None when untyped
    codes: list[Slot]
    start: int = -1  # the diagnosis[] element's span (the outline)
    end: int = -1


@dataclass(slots=True)
class Procedure:
    sequence: int | None
    codes: list[Slot]
    start: int = -1  # the procedure[] element's span (the outline)
    end: int = -1
    date: dt.date | None = None  # procedure[].date


@dataclass(slots=True)
class Item:
    """One item[] line, for the NCCI edits."""

    number: str  # item.sequence as written, else its position from 1
    codes: list[Slot]  # productOrService codings
    modifiers: list[Slot]
    units: float | None  # quantity.value
    date: dt.date | None  # servicedDate / servicedPeriod.start, else the resource's date
    start: int = -1  # the item[] element's span (the outline)
    end: int = -1
    charge: str = ""  # item.net as written for people ("$120.00"), else ""
    revenue: list[Slot] = field(default_factory=list)  # revenue codings (the outline)


@dataclass
class ClaimResource:
    """One Claim or ExplanationOfBenefit: its codes grouped for claim-level edits."""

    resource_type: str
    id: str | None
    start: int
    end: int
    date: dt.date | None  # billablePeriod.start
    until: dt.date | None = None  # billablePeriod.end
    claim_type: str = ""  # systems.CLAIM_TYPES: institutional, professional, oral, ...
    setting: str = ""  # inpatient / outpatient, from type or subType, when they say
    type_of_bill: str = ""  # NUBC type of bill (supportingInfo typeofbill), as written
    patient_ref: str | None = None  # patient.reference
    total: str = ""  # the claim's total for people ("$250.00"; an EOB's submitted amount), else ""
    patient: Patient | None = None  # resolved after the whole document is read
    contained: dict[str, Patient] = field(default_factory=dict)  # "#id" -> a contained Patient
    entries: list[Diagnosis] = field(default_factory=list)
    procedure_entries: list[Procedure] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    sequences: dict[int, int] = field(default_factory=dict)  # diagnosis.sequence -> its offset
    diagnoses: list[Slot] = field(default_factory=list)
    procedures: list[Slot] = field(default_factory=list)
    services: list[Slot] = field(default_factory=list)  # productOrService, modifier, revenue, NDC
    other: list[Slot] = field(default_factory=list)  # supportingInfo (DRG), packageCode
    pointers: list[Slot] = field(default_factory=list)

    by_sequence: dict[int, Slot] = field(default_factory=dict)  # diagnosis.sequence -> its first code

    @property
    def x12_kind(self) -> str:
        """The 837 this resource is like: "I" institutional, "P" professional, "D" oral, else ""."""
        return _X12_KINDS.get(self.claim_type, "")

    @property
    def bill_type(self) -> str:
        """The facility type code, the first two digits of the type of bill (X12's CLM05-1:
        "11" hospital inpatient, "13" hospital outpatient). NUBC writes the type of bill with a
        leading 0 ("0111"). Without one, a setting the type or subType names stands for the
        hospital's ("11", "13"): the inpatient / outpatient edits are the same for all its kinds."""
        tob = self.type_of_bill
        if len(tob) == 4 and tob.startswith("0"):
            tob = tob[1:]
        if len(tob) >= 2:
            return tob[:2]
        return {INPATIENT: "11", OUTPATIENT: "13"}.get(self.setting, "") if self.x12_kind == "I" else ""

    @property
    def slots(self) -> list[Slot]:
        return self.diagnoses + self.procedures + self.services + self.other + self.pointers

    def pointed_text(self, n: int) -> str:
        """What a diagnosisSequence value points to, in words (hover)."""
        if n not in self.sequences:
            have = ", ".join(map(str, sorted(self.sequences))) or "none"
            return f"**Diagnosis pointer {n}** points to no diagnosis: the {self.resource_type}'s diagnosis sequences are {have}"
        slot = self.by_sequence.get(n)
        code = f" → `{slot.text}`" if slot is not None else ""
        return f"**Diagnosis pointer {n}**{code} (diagnosis sequence {n} of this {self.resource_type})"


@dataclass
class FhirReading(Reading):
    resources: list[ClaimResource] = field(default_factory=list)
    ndjson: bool = False
    # Patients of the document (Bundle entries, NDJSON lines) by "Patient/id" and fullUrl.
    patients: dict[str, Patient] = field(default_factory=dict)

    def resolve_patients(self) -> None:
        for res in self.resources:
            res.patient = self.patient_for(res)

    def patient_for(self, res: ClaimResource) -> Patient | None:
        ref = (res.patient_ref or "").strip()
        if not ref:
            return None
        if ref.startswith("#"):
            return res.contained.get(ref)
        found = self.patients.get(ref)
        if found is None and "Patient/" in ref:
            # An absolute or versioned reference: ".../Patient/p1/_history/2" is Patient/p1.
            tail = ref[ref.rindex("Patient/") :].split("/")
            found = self.patients.get("/".join(tail[:2]))
        return found


def looks_like_fhir_claims(text: str) -> bool:
    return _RECOGNISE.search(text) is not None


def read(text: str, ndjson: bool = False) -> FhirReading | None:
    """A reading of FHIR claims, or None when the text holds no Claim / ExplanationOfBenefit.
    Malformed JSON that names such a resource is read as FHIR with the error as a finding."""
    if not looks_like_fhir_claims(text):
        return None
    out = FhirReading(r.FHIR)
    base = 1 if text.startswith("\ufeff") else 0
    if not ndjson:
        repeats: list[tuple[str, jt.Member]] = []
        doubled: list[jt.Node] = []
        try:
            root = jt.parse(text, base, keep=KEEP, repeats=repeats, checked=DECODED, doubled=doubled)
        except jt.Malformed as e:
            if not ((e.message == "Extra data" and _next_line_object(text, e.offset)) or _looks_ndjson(text[base:])):
                out.problems.append(_malformed(text, e, "this file is not valid JSON"))
                return out
            ndjson = True
        else:
            _Reader(text, out).visit(root, repeats, doubled)
    if ndjson:
        out.ndjson = True
        for m in _LINES.finditer(text, base):
            if not m.group().strip():
                continue
            repeats, doubled = [], []
            try:
                root = jt.parse(text, m.start(), m.end(), keep=KEEP, repeats=repeats, checked=DECODED, doubled=doubled)
            except jt.Malformed as e:
                n = text.count("\n", 0, m.start()) + 1
                out.problems.append(_malformed(text, e, f"line {n} is not valid JSON (NDJSON holds one resource per line)"))
                continue
            _Reader(text, out).visit(root, repeats, doubled)
    out.resolve_patients()
    out.slots.sort(key=lambda s: s.start)
    out.headers.sort(key=lambda h: h.start)
    out.problems.sort(key=lambda f: f.start)
    return out


def read_claim(text: str) -> ClaimResource | None:
    """One Claim or ExplanationOfBenefit written alone (text is its object; offsets from 0),
    read as read() reads it in its document, or None unless text parses as one. The outline
    reads a resource again after an edit inside it (fhir.outline_follow): what its entry shows
    comes from its own text only."""
    if not looks_like_fhir_claims(text):
        return None
    try:
        node = jt.parse(text, keep=KEEP)
    except jt.Malformed:
        return None
    kind = node.text("resourceType") if node.kind == jt.OBJECT else None
    if kind not in CLAIM_RESOURCES:
        return None
    out = FhirReading(r.FHIR)
    _Reader(text, out).resource(node, kind)
    return out.resources[0]


def _next_line_object(text: str, offset: int) -> bool:
    """A second value that starts on a new line with '{': NDJSON, not a stray character."""
    return text.startswith("{", offset) and "\n" in text[text.rfind("}", 0, offset) : offset]


def _looks_ndjson(text: str) -> bool:
    """Two or more lines, each one object: NDJSON even when its first line is the bad one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.startswith("{") and line.endswith("}") for line in lines)


def _malformed(text: str, e: jt.Malformed, what: str) -> Finding:
    end = min(len(text), e.offset + 1)
    while end > e.offset and text[end - 1] in "\r\n":
        end -= 1
    return Finding(FHIR_STRUCTURE, f"{what}: {e.message}; its codes are not checked until it parses", e.offset, max(end, e.offset),
                   severity=Severity.ERROR)


def fhir_date(node: jt.Node | None) -> dt.date | None:
    """A FHIR date or dateTime (YYYY-MM-DD…); partial dates (YYYY, YYYY-MM) give None."""
    if node is None or node.kind != jt.STRING or len(node.value) < 10:
        return None
    try:
        return dt.date.fromisoformat(node.value[:10])
    except ValueError:
        return None


class _Reader:
    def __init__(self, text: str, out: FhirReading):
        self.s = text
        self.out = out
        self.every_code: set[int] = set()  # key starts of repeated `code` keys whose every value was checked
        # Repeats found inside the skipped values medcode decodes (decoded()), and what a
        # repeated key's value made medcode check, by the key start of its last copy (say()).
        self.inner: list[tuple[str, jt.Member]] = []
        self.used: dict[int, Callable[[], str]] = {}
        self.watch = False  # the parse found repeats: say() looks for them where they change a check
        self.doubled: set[int] = set()  # ids of the skipped values that hold a repeat (jsontree.parse)

    def visit(self, node: jt.Node, repeats: list[tuple[str, jt.Member]] = (), doubled: list[jt.Node] = ()) -> None:
        self.watch = bool(repeats)
        self.doubled = {id(n) for n in doubled}
        self.document(node)
        self.repeated([*repeats, *self.inner])

    def decoded(self, node: jt.Node | None, used: Callable[[Any], str] | None = None, of: Any = None) -> Any:
        """A skipped member's value as the json module decodes it (_plain), which keeps the last
        of a repeated key without a word: when the value holds one (the parse's `doubled`), it
        is walked again with positions and each repeat is said (repeated()), with used(of).
        (A function and its argument, not a closure: nothing is made for a value without a repeat.)"""
        if node is None or node.kind in (jt.OBJECT, jt.ARRAY):
            return None
        if self.doubled and id(node) in self.doubled:
            self.doubled.discard(id(node))  # said once, however often it is read
            inner: list[tuple[str, jt.Member]] = []
            try:
                jt.parse(self.s, node.start, node.end, keep=_DECODED_KEYS, repeats=inner)
            except jt.Malformed:
                inner = []  # nested deeper than the walk goes (the C scanner read it): not said
            self.inner.extend(inner)
            if used is not None:
                for _, member in inner:
                    self.used[member.key_start] = partial(used, of)
        return node.value

    def say(self, node: jt.Node, key: str, used: Callable[[], str]) -> None:
        """When node writes key more than once, its findings say `used` (what the last value
        made medcode check). Asked only of documents with a repeat (watch)."""
        member = node.members.get(key)
        if member is not None and member.earlier is not None:
            self.used[member.key_start] = used

    def repeated(self, repeats: list[tuple[str, jt.Member]]) -> None:
        """A finding at each repeat of a key in the objects medcode walked (jsontree.parse)."""
        has_later = {id(m.earlier) for _, m in repeats}
        for _, last in repeats:
            if id(last) in has_later:
                continue  # not its key's last member: said with the last, which knows them all
            chain = last.chain()
            every_code = last.key_start in self.every_code
            where = "this Coding" if every_code else "this object"
            reads = repeated_keys.EACH_CODE if every_code else repeated_keys.LAST
            values = [repeated_keys.written(self.s, m.node.start, m.node.end) for m in chain]
            used = self.used.get(last.key_start)
            said = used() if used is not None and not every_code else ""
            for at, member in enumerate(chain[1:], start=2):
                key = self.s[member.key_start : member.key_end]
                self.out.problems.append(Finding(
                    FHIR_STRUCTURE, repeated_keys.message(key, where, values, at, reads, said),
                    member.key_start - 1, member.key_end + 1,
                ))

    def document(self, node: jt.Node) -> None:
        if node.kind != jt.OBJECT:
            return
        if self.watch and node.text("resourceType") == "Patient":
            self.say(node, "birthDate", lambda: _birth_used(_plain(node.get("birthDate"))))
            self.say(node, "gender", lambda: _sex_used(_plain(node.get("gender"))))
        kind = node.text("resourceType")
        if kind == "Bundle":
            for entry in node.each("entry"):
                if entry.kind == jt.OBJECT and (res := entry.get("resource")) is not None:
                    self.document(res)
                    url = _plain(entry.get("fullUrl"))
                    if isinstance(url, str) and res.kind == jt.OBJECT and res.text("resourceType") == "Patient":
                        self.out.patients[url.strip()] = _patient(_plain(res.get("birthDate")), _plain(res.get("gender")))
        elif kind in CLAIM_RESOURCES:
            self.resource(node, kind)
        elif kind == "Patient" and (pid := node.text("id")):
            self.out.patients.setdefault(f"Patient/{pid.strip()}", _patient(_plain(node.get("birthDate")), _plain(node.get("gender"))))

    # -- one Claim / ExplanationOfBenefit ---------------------------------------------------
    def resource(self, node: jt.Node, kind: str) -> None:
        period = node.get("billablePeriod")
        res = ClaimResource(kind, node.text("id"), node.start, node.end, fhir_date(period.get("start")) if period is not None and period.kind == jt.OBJECT else None)
        if period is not None and period.kind == jt.OBJECT:
            res.until = fhir_date(period.get("end"))
        self.out.resources.append(res)
        if self.watch:
            self.say(node, "billablePeriod", lambda: _judged(f"codes without a date of their own in this {kind}", res.date))
            if period is not None and period.kind == jt.OBJECT:
                self.say(period, "start", lambda: _judged(f"codes without a date of their own in this {kind}", res.date))
                self.say(period, "end", lambda: f"so this {kind}'s period ends on {res.until}" if res.until else f"so this {kind}'s period has no end date medcode reads")
        self.claim_facts(node, res)
        whole = Service(res.date, res)
        for i, dx in enumerate(node.each("diagnosis")):
            if dx.kind != jt.OBJECT:
                continue
            seq = dx.get("sequence")
            entry = Diagnosis(_int(seq), None, [], dx.start, dx.end)
            entry.role = _diagnosis_role(self.decoded(dx.get("type"), _role_used, entry))
            res.entries.append(entry)
            if self.watch:
                self.say(dx, "type", partial(_role_used, entry))
                self.say(dx, "sequence", lambda e=entry: f"so this diagnosis is sequence {e.sequence}, the number diagnosisSequence pointers name"
                         if e.sequence is not None else "so this diagnosis has no sequence diagnosisSequence pointers can name")
            if seq is not None and isinstance(seq.value, int) and not isinstance(seq.value, bool):
                if seq.value in res.sequences:
                    self.out.problems.append(Finding(
                        FHIR_STRUCTURE, f"diagnosis sequence {seq.value} is used twice in this {kind}: diagnosisSequence pointers cannot tell them apart",
                        seq.start, seq.end,
                    ))
                else:
                    res.sequences[seq.value] = seq.start
            before = len(res.diagnoses)
            self.codings(dx.get("diagnosisCodeableConcept"), f"diagnosis[{i}].diagnosisCodeableConcept", "diagnosis", whole, res.diagnoses)
            entry.codes = res.diagnoses[before:]
            if seq is not None and isinstance(seq.value, int) and len(res.diagnoses) > before:
                res.by_sequence.setdefault(seq.value, res.diagnoses[before])
            self.codings(dx.get("packageCode"), f"diagnosis[{i}].packageCode", "package", whole, res.other)
        for i, px in enumerate(node.each("procedure")):
            if px.kind != jt.OBJECT:
                continue
            day = fhir_date(px.get("date"))
            at = Service(day, res) if day else whole
            if self.watch:
                self.say(px, "date", lambda at=at: _judged("this procedure's codes", at.date))
            before = len(res.procedures)
            self.codings(px.get("procedureCodeableConcept"), f"procedure[{i}].procedureCodeableConcept", "procedure", at, res.procedures)
            res.procedure_entries.append(Procedure(_int(px.get("sequence")), res.procedures[before:], px.start, px.end, day))
        for i, info in enumerate(node.each("supportingInfo")):
            if info.kind == jt.OBJECT:
                self.codings(info.get("code"), f"supportingInfo[{i}].code", "supportingInfo", whole, res.other)
        for i, item in enumerate(node.each("item")):
            if item.kind == jt.OBJECT:
                self.item(item, f"item[{i}]", res, whole, i)

    def claim_facts(self, node: jt.Node, res: ClaimResource) -> None:
        """Claim type and setting (type, subType), type of bill, the patient reference and
        contained Patients: what the claim edits need beyond the codes."""
        if self.watch:
            self.say(node, "type", partial(_claim_type_used, res))
            self.say(node, "subType", partial(_claim_type_used, res))
        for system, code in (*_plain_codings(self.decoded(node.get("type"), _claim_type_used, res)),
                             *_plain_codings(self.decoded(node.get("subType"), _claim_type_used, res))):
            kind, setting = CLAIM_TYPES.get((system, code), ("", ""))
            res.claim_type = res.claim_type or kind
            res.setting = res.setting or setting
        for info in node.each("supportingInfo"):
            if info.kind != jt.OBJECT:
                continue
            category = {code for _, code in _plain_codings(self.decoded(info.get("category"), _type_of_bill_used, res))}
            if self.watch:
                self.say(info, "category", partial(_type_of_bill_used, res))
            for system, code, coding in _codings(info.get("code")):
                if self.watch:
                    self.say(coding, "code", partial(_type_of_bill_used, res))
                if (system == TYPE_OF_BILL_URI or TYPE_OF_BILL_CATEGORY in category) and is_digits(code) and not res.type_of_bill:
                    res.type_of_bill = code
        patient = self.decoded(node.get("patient"), _patient_used, res)
        if self.watch:
            self.say(node, "patient", partial(_patient_used, res))
        if isinstance(patient, dict) and isinstance(patient.get("reference"), str):
            res.patient_ref = patient["reference"]
        res.total = _total(self.decoded(node.get("total")))
        contained = self.decoded(node.get("contained"))
        for inner in contained if isinstance(contained, list) else ():
            if isinstance(inner, dict) and inner.get("resourceType") == "Patient" and isinstance(pid := inner.get("id"), str):
                res.contained[f"#{pid.strip()}"] = _patient(inner.get("birthDate"), inner.get("gender"))

    def item(self, item: jt.Node, path: str, res: ClaimResource, whole: Service, position: int = 0) -> None:
        period = item.get("servicedPeriod")
        day = fhir_date(item.get("servicedDate")) or (fhir_date(period.get("start")) if period is not None and period.kind == jt.OBJECT else None)
        at = Service(day, res) if day else whole
        if self.watch:
            self.say(item, "servicedDate", lambda: _judged("this item's codes", at.date))
            self.say(item, "servicedPeriod", lambda: _judged("this item's codes", at.date))
            if period is not None and period.kind == jt.OBJECT:
                self.say(period, "start", lambda: _judged("this item's codes", at.date))
        before = len(res.services)
        self.line(item, path, res, at)
        seq = item.get("sequence")
        number = self.s[seq.start : seq.end].strip('"') if seq is not None and seq.kind in (jt.OTHER, jt.STRING) else str(position + 1)
        quantity = item.get("quantity")
        units = _units(self.decoded(quantity, _units_used, quantity))
        if self.watch:
            self.say(item, "quantity", partial(_units_used, quantity))
        own = res.services[before:]  # this line's own codes (not its detail[] lines')
        codes = [sl for sl in own if sl.place.startswith(f"{path}.productOrService")]
        mods = [sl for sl in own if sl.place.startswith(f"{path}.modifier[")]
        revenue = [sl for sl in own if sl.place.startswith(f"{path}.revenue")]
        res.items.append(Item(number, codes, mods, units, at.date, item.start, item.end, _money(self.decoded(item.get("net"))), revenue))
        pointers_before = len(res.pointers)
        for k, ptr in enumerate(item.each("diagnosisSequence")):
            text = self.s[ptr.content_start : ptr.end - (1 if ptr.kind == jt.STRING else 0)]
            if ptr.kind in (jt.OTHER, jt.STRING) and text.strip():
                slot = Slot(text, ptr.content_start, POINTER, f"{path}.diagnosisSequence[{k}]", line=at, label="diagnosis pointer (diagnosisSequence)")
                res.pointers.append(slot)
                self.out.slots.append(slot)
        if self.watch:
            self.say(item, "diagnosisSequence", lambda ptrs=res.pointers[pointers_before:]: _pointers_used(ptrs))
        for d, detail in enumerate(item.each("detail")):
            if detail.kind != jt.OBJECT:
                continue
            self.line(detail, f"{path}.detail[{d}]", res, at)
            for s, sub in enumerate(detail.each("subDetail")):
                if sub.kind == jt.OBJECT:
                    self.line(sub, f"{path}.detail[{d}].subDetail[{s}]", res, at)

    def line(self, node: jt.Node, path: str, res: ClaimResource, at: Service) -> None:
        self.codings(node.get("productOrService"), f"{path}.productOrService", "item", at, res.services)
        for m, mod in enumerate(node.each("modifier")):
            self.codings(mod, f"{path}.modifier[{m}]", "modifier", at, res.services)
        self.codings(node.get("revenue"), f"{path}.revenue", "revenue", at, res.services)

    # -- CodeableConcept.coding[] ------------------------------------------------------------
    def codings(self, concept: jt.Node | None, path: str, place: str, at: Service, into: list[Slot]) -> None:
        if concept is None or concept.kind != jt.OBJECT:
            return
        for j, coding in enumerate(concept.each("coding")):
            if coding.kind != jt.OBJECT:
                continue
            system = coding.get("system")
            if system is None or system.kind != jt.STRING:
                continue
            expects = expects_at(system.value, place)
            if expects is None:
                continue
            if system.exact:
                known = SYSTEMS[system.value.strip()]
                self.out.headers.append(Header(system.content_start, system.end - 1, system.value, f"code system {known.name}"))
            code_member = coding.members.get("code")
            if code_member is None:
                continue
            if code_member.earlier is not None:
                # A repeated `code` would hide a code from the checks whichever value medcode
                # took: every one is checked (and the repeat is a finding, see repeated()).
                chain = code_member.chain()
                self.every_code.update(m.key_start for m in chain[1:])
            else:
                chain = (code_member,)
            display = coding.get("display")
            exact_display = display is not None and display.kind == jt.STRING and display.exact
            for member in chain:
                code = member.node
                if code.kind != jt.STRING:
                    continue
                if not code.exact:
                    # Its text is not what the file holds, so it cannot be a slot (findings and
                    # quick fixes edit the text): said, rather than passed over as clean.
                    self.out.problems.append(Finding(
                        FHIR_STRUCTURE, f"this code is written with JSON escapes (it reads {code.value!r}): "
                        "medcode checks a code only as written plainly; write it without escapes", code.start, code.end,
                    ))
                    continue
                raw = code.value
                text = raw.strip()
                start = code.content_start + (len(raw) - len(raw.lstrip()))
                slot = CodingSlot(
                    text, start, expects, f"{path}.coding[{j}].code",
                    qualifier=system.value, qual_start=system.content_start if system.exact else None,
                    line=at, label=f"{_PLACE_WORDS[place]} ({SYSTEMS[system.value.strip()].name})",
                    display=display.value if exact_display else None, display_start=display.content_start if exact_display else None,
                )
                into.append(slot)
                self.out.slots.append(slot)


def _codings(concept: jt.Node | None):
    """(system, code, node) of each Coding of a CodeableConcept, stripped; others skipped."""
    if concept is None or concept.kind != jt.OBJECT:
        return
    for coding in concept.each("coding"):
        if coding.kind == jt.OBJECT:
            system, code = coding.text("system"), coding.text("code")
            if system and code:
                yield system.strip(), code.strip(), coding


def _plain(node: jt.Node | None) -> Any:
    """A member's value as the json module decodes it (skipped subtrees and scalars)."""
    return None if node is None or node.kind in (jt.OBJECT, jt.ARRAY) else node.value


def _plain_codings(concept: Any):
    """(system, code) of each Coding of a decoded CodeableConcept (or a list of them)."""
    for c in concept if isinstance(concept, list) else (concept,):
        codings = c.get("coding") if isinstance(c, dict) else None
        for coding in codings if isinstance(codings, list) else ():
            if isinstance(coding, dict) and isinstance(system := coding.get("system"), str) and isinstance(code := coding.get("code"), str):
                yield system.strip(), code.strip()


def _money(value: Any) -> str:
    """A FHIR Money ({value, currency}) for people: "$250.00" in US dollars (or no currency),
    else "250.00 EUR"; "" when it holds no number."""
    amount = value.get("value") if isinstance(value, dict) else None
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return ""
    currency = value.get("currency")
    if currency in (None, "USD") or not isinstance(currency, str):
        return f"${amount:,.2f}"
    return f"{amount:,.2f} {currency.strip()}"


def _total(value: Any) -> str:
    """Claim.total (Money), or of an ExplanationOfBenefit's total[] (category and amount) the
    submitted amount, else the first."""
    if isinstance(value, dict):
        return _money(value)
    if not isinstance(value, list):
        return ""
    amounts = [t for t in value if isinstance(t, dict)]
    submitted = [t for t in amounts if "submitted" in {code for _, code in _plain_codings(t.get("category"))}]
    for t in submitted or amounts[:1]:
        return _money(t.get("amount"))
    return ""


# -- what a repeated key's last value made medcode check (repeated_keys.message's `used`) ------
def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"  # a hostile file's value stays short in a message


def _judged(what: str, day: dt.date | None) -> str:
    return f"so {what} are judged on {day.isoformat()}" if day else f"so {what} have no date medcode reads"


def _claim_type_used(res: ClaimResource) -> str:
    kind, name = res.x12_kind, res.claim_type
    if not kind:
        known = f"this {res.resource_type}'s claim type ({name}) has" if name else f"this {res.resource_type} has no claim type with"
        return f"so {known} no 837I-, 837P- or 837D-like edits"
    setting = f"{res.setting}; " if res.setting else ""
    return f"so this {res.resource_type} is checked as {'an' if name[0] in 'aeiou' else 'a'} {name} claim ({setting}837{kind}-like edits)"


def _type_of_bill_used(res: ClaimResource) -> str:
    tob = res.type_of_bill
    return f"so the type of bill medcode reads is {_shown(tob)}" if tob else "so medcode reads no type of bill"


def _patient_used(res: ClaimResource) -> str:
    ref = res.patient_ref
    return f"so the patient whose age and sex the edits use is {_shown(ref)}" if ref else "so medcode reads no patient reference"


def _units(quantity: Any) -> float | None:
    """An item's units: its quantity's value (decoded)."""
    value = quantity.get("value") if isinstance(quantity, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _units_used(quantity: jt.Node | None) -> str:
    units = _units(_plain(quantity))
    return f"so this item's units are {units:g}" if units is not None else "so this item has no units medcode reads"


def _pointers_used(pointers: list[Slot]) -> str:
    if not pointers:
        return "so this item has no diagnosis pointers"
    return f"so this item's diagnosis pointers are {_shown(', '.join(p.text for p in pointers[:20]))}"


def _birth_used(birth: Any) -> str:
    day = _patient(birth, None).birth
    return f"so the age edits take the birth date {day.isoformat()}" if day else "so the age edits find no birth date"


def _sex_used(gender: Any) -> str:
    sex = _patient(None, gender).sex
    return f"so the sex edits take the sex {sex}" if sex else "so the sex edits find no sex (male or female)"


def _role_used(entry: Diagnosis) -> str:
    role = entry.role
    return f"so this diagnosis is read as {role}" if role else "so this diagnosis has no role medcode reads"


def _int(node: jt.Node | None) -> int | None:
    if node is None or not isinstance(node.value, int) or isinstance(node.value, bool):
        return None
    return node.value


def _diagnosis_role(types: Any) -> str | None:
    """The role diagnosis[].type (decoded) gives (any system's code: the words are the same)."""
    roles = [DIAGNOSIS_TYPES.get(code) for _, code in _plain_codings(types)]
    roles = [r for r in roles if r]
    return min(roles, key=_ROLE_ORDER.index) if roles else None


_ROLE_ORDER = [*dict.fromkeys(DIAGNOSIS_TYPES.values())]  # principal outranks admitting, ...

_SEX = {"male": "M", "female": "F"}
_X12_KINDS = {INSTITUTIONAL: "I", PROFESSIONAL: "P", ORAL: "D"}


def _patient(birth: Any, gender: Any) -> Patient:
    day = None
    if isinstance(birth, str) and len(birth) >= 10:  # a partial date (YYYY, YYYY-MM) gives no age
        try:
            day = dt.date.fromisoformat(birth[:10])
        except ValueError:
            day = None
    return Patient(day, _SEX.get(gender.strip() if isinstance(gender, str) else "", ""))


_PLACE_WORDS = {
    "diagnosis": "diagnosis",
    "package": "diagnosis package code",
    "procedure": "procedure",
    "supportingInfo": "supporting information code",
    "item": "product or service",
    "modifier": "modifier",
    "revenue": "revenue code",
}
