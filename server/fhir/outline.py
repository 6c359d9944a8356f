"""The outline of FHIR claims: one entry per Claim / ExplanationOfBenefit (named as X12's
outline names a claim: its id, with the claim type and the patient), its date and total as
detail, and under it its diagnoses, procedures and items with their codes.

Built from the document's reading (fhir.reader), in the X12 outline's nodes (x12.outline.Node),
so the one conversion to DocumentSymbol JSON (lsp.symbols.to_symbols) serves both. As there,
a Bundle of many claims gets one entry per claim, and the outline stops after `limit` entries.
"""

from __future__ import annotations

from ..x12.outline import Node, Outline
from .reader import ClaimResource, FhirReading

# Up to this many claims each shows its diagnoses, procedures and items (as X12's
# symbols.FULL_CLAIMS); above it one entry per claim, so that far more claims fit the limit.
FULL_CLAIMS = 500


def fhir_outline(reading: FhirReading, limit: int = 5000) -> Outline:
    resources = reading.resources
    full = len(resources) <= FULL_CLAIMS
    nodes: list[Node] = []
    count = 0
    for i, res in enumerate(resources):
        if count >= limit:
            return Outline(nodes, res.start, len(resources) - i, len(resources))
        claim = claim_node(res)
        nodes.append(claim)
        count += 1
        if full:
            children = entry_nodes(res)[: max(0, limit - count)]
            claim.children = children
            count += len(children)
    return Outline(nodes, claims=len(resources))


def claim_node(res: ClaimResource) -> Node:
    """A resource's entry, without its children (entry_nodes)."""
    name = f"{res.resource_type} {res.id.strip() if res.id and res.id.strip() else '(no id)'}"
    if res.claim_type:
        name += f" ({res.claim_type})"
    if res.patient_ref and res.patient_ref.strip():
        name += f" · {res.patient_ref.strip()}"
    when = res.date.isoformat() if res.date else ""
    if res.date and res.until and res.until != res.date:
        when += f" to {res.until.isoformat()}"
    detail = " · ".join(part for part in (when, res.total) if part)
    # The selection is the resource's opening brace: its id may sit anywhere inside it.
    return Node("claim", name, detail, res.start, res.end, res.start + 1)


def entry_nodes(res: ClaimResource) -> list[Node]:
    """The entries under a resource's (when its Bundle shows them): its diagnoses, procedures
    and items, in the order of the text."""
    out: list[Node] = []
    for n, dx in enumerate(res.entries, 1):
        label = f"Diagnosis {dx.sequence if dx.sequence is not None else n}"
        out.append(_entry("diagnosis", label, dx.codes, dx.role or "", dx.start, dx.end))
    for n, px in enumerate(res.procedure_entries, 1):
        label = f"Procedure {px.sequence if px.sequence is not None else n}"
        out.append(_entry("procedure", label, px.codes, px.date.isoformat() if px.date else "", px.start, px.end))
    for item in res.items:
        mods = ", ".join(m.text for m in item.modifiers if m.text)
        detail = " · ".join(p for p in (f"modifiers {mods}" if mods else "", item.date.isoformat() if item.date else "", item.charge) if p)
        # A line without a product or service code (an institutional room line) is named by
        # its revenue code.
        codes = item.codes if any(c.text for c in item.codes) else item.revenue
        label = f"Item {item.number}" if codes is item.codes else f"Item {item.number} revenue"
        out.append(_entry("line", label, codes, detail, item.start, item.end))
    out.sort(key=lambda node: node.start)
    return out


def _entry(kind: str, label: str, codes, detail: str, start: int, end: int) -> Node:
    """An entry for one element, named by its codes; its range starts at its first code (so
    that choosing it in the outline selects the code), else at the element's brace."""
    shown = [c.text for c in codes if c.text]
    if not shown:
        return Node(kind, label, detail, start, end, start + 1)
    first = next(c for c in codes if c.text)
    # The selection is measured in characters on the code's line: exact for an ASCII code,
    # empty for another (its length in the client's units is not known here).
    name_end = first.start + len(first.text) if first.text.isascii() else first.start
    return Node(kind, f"{label}: {', '.join(shown)}", detail, first.start, end, name_end)
