"""Claims from FHIR: a Claim / ExplanationOfBenefit (fhir.reader.ClaimResource) becomes a
`model.Claim` whose service lines are its item[] lines (code, modifiers, quantity, date)."""

from __future__ import annotations

from medcode.index_builder.codesets import CPT, HCPCS

from .. import places
from .model import DENTAL, INSTITUTIONAL, PROFESSIONAL, Claim, ServiceLine

FORMS = {"P": PROFESSIONAL, "I": INSTITUTIONAL, "D": DENTAL}
_PROCEDURE_SETS = frozenset({CPT, HCPCS, places.PROCEDURE})


def claim_from_fhir(res) -> Claim:
    form = FORMS.get(res.x12_kind, "")
    out = Claim(res.id or "", form, res.start, res.end, res.date, res.bill_type if form == INSTITUTIONAL else "")
    for item in res.items:
        code = next((sl for sl in item.codes if sl.expects in _PROCEDURE_SETS and sl.text), None)
        if code is None:
            continue  # an NDC or revenue-only line: no NCCI edit reads it
        text = code.text.upper()
        # No modifier fixes (insert_at None): in JSON a modifier is a new Coding, not a suffix.
        out.lines.append(ServiceLine(
            len(out.lines), item.number, text, tuple(m.text.upper() for m in item.modifiers if m.text), item.units,
            item.date or res.date, code.start, code.start + len(code.text),
        ))
    return out
