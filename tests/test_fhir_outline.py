"""The outline of FHIR claims (fhir.outline) read from the reader, without a server: one entry
per Claim / ExplanationOfBenefit named as X12's claims are, its codes under it, and the cut of a
large Bundle. test_lsp_fhir_claims.py drives the same over LSP stdio."""

from __future__ import annotations

from pathlib import Path

from medcode.server.fhir import reader
from medcode.server.fhir.outline import fhir_outline

from fhir_resources import bundle, eob, patient, text_of


def claim(rid: str, **kw) -> dict:
    res = eob(**kw)
    res["id"] = rid
    return res


# A Bundle of two EOBs and their Patient: the first pairs O24.419 with E11.9 (Excludes1), the
# second has E11.9 alone; each has a procedure or items.
EXCLUDES = claim("eob-a", dx=[(1, "E11.9", None), (2, "O24.419", None)], px=["0DTJ4ZZ"], patient="Patient/p1")
EXCLUDES["total"] = [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 1250.5, "currency": "USD"}}]
ALONE = claim("eob-b", dx=[(1, "E11.9", None)], items=[("99213", ["25"], 1, "2026-11-15"), ("36415", [], 1, "2026-11-15")])
ALONE["item"][0]["net"] = {"value": 120, "currency": "USD"}
BUNDLE = text_of(bundle(EXCLUDES, patient("p1"), ALONE))


# -- the outline, from the reading -----------------------------------------------------------------
def test_outline_names_each_claim_and_its_codes():
    tree = fhir_outline(reader.read(BUNDLE))
    a, b = tree.nodes
    assert (a.name, a.detail) == ("ExplanationOfBenefit eob-a (professional) · Patient/p1", "2026-11-15 · $1,250.50")
    assert [c.name for c in a.children] == ["Diagnosis 1: E11.9", "Diagnosis 2: O24.419", "Procedure 1: 0DTJ4ZZ"]
    assert (b.name, b.detail) == ("ExplanationOfBenefit eob-b (professional)", "2026-11-15")
    assert [(c.name, c.detail) for c in b.children] == [
        ("Diagnosis 1: E11.9", ""), ("Item 1: 99213", "modifiers 25 · 2026-11-15 · $120.00"), ("Item 2: 36415", "2026-11-15"),
    ]
    # Each entry selects its code; the claims span their resources, the entries lie inside them.
    item = b.children[1]
    assert BUNDLE[item.start : item.name_end] == "99213" and a.end < b.start
    assert all(a.start <= c.start < c.end <= a.end for c in a.children)
    assert BUNDLE[a.start] == "{" and BUNDLE[a.end - 1] == "}"


def test_a_large_bundle_gets_one_entry_per_claim_up_to_the_limit():
    many = reader.read(text_of(bundle(*[claim(f"c{i}", dx=[(1, "E11.9", None)]) for i in range(600)])))
    tree = fhir_outline(many, limit=550)
    assert len(tree.nodes) == 550 and all(not n.children for n in tree.nodes)  # above FULL_CLAIMS
    assert tree.claims == 600 and tree.claims_after == 50 and tree.cut_at == many.resources[550].start
    assert tree.nodes[-1].name == "ExplanationOfBenefit c549 (professional)"


def test_a_claims_total_is_money_and_an_entry_without_codes_selects_its_brace():
    res = claim("c-eur", dx=[(1, "E11.9", None)])
    res["resourceType"], res["total"] = "Claim", {"value": 99.5, "currency": "EUR"}
    res["diagnosis"].append({"sequence": 2, "packageCode": {"coding": [{"system": "urn:example", "code": "191"}]}})
    text = text_of(res)
    (node,) = fhir_outline(reader.read(text)).nodes
    assert node.name == "Claim c-eur (professional)" and node.detail == "2026-11-15 · 99.50 EUR"
    assert [c.name for c in node.children] == ["Diagnosis 1: E11.9", "Diagnosis 2"]
    bare = node.children[1]
    assert text[bare.start : bare.name_end] == "{" and text[bare.end - 1] == "}"


def test_blue_button_lines_without_a_product_are_named_by_their_revenue_code():
    text = (Path(__file__).parent / "fixtures" / "fhir" / "bb2-eob-inpatient.json").read_text()
    (node,) = fhir_outline(reader.read(text)).nodes
    items = [c.name for c in node.children if c.name.startswith("Item")]
    assert items[:2] == ["Item 1 revenue: 0111", "Item 2 revenue: 0250"] and items[-1] == "Item 11 revenue: 0001"
