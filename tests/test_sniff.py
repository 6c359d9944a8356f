"""sniff.py: which JSON, Markdown and text documents are medcode's, and the user's patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcode.server.sniff import Attach, likely_medical, matches, template_names_a_set
from medcode.server.templates import reader as template_reader

FIXTURES = Path(__file__).parent / "fixtures"
P837 = (FIXTURES / "x12" / "claims_837p.x12").read_text()

PACKAGE_JSON = '{\n  "name": "my-app",\n  "version": "1.2.3",\n  "scripts": {"test": "jest"},\n  "dependencies": {"react": "^18.2.0"}\n}\n'
TSCONFIG = '{"compilerOptions": {"target": "ES2022", "strict": true}}'
README = "# my-app\n\nA small web app. Install with `npm ci`, then run `npm test`.\n\n## Licence\n\nMIT, version 2.0.\n"
NOTES = "Shopping list\n- two loaves of bread\n- milk\n"
PRICE_JSON = '{"hospital_name": "Test", "last_updated_on": "2026-01-01", "version": "3.0.0", "standard_charge_information": []}'
FHIR_CLAIM = '{"resourceType": "Claim", "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E119"}]}}]}'
FHIR_PATIENT = '{"resourceType": "Patient", "name": [{"family": "Doe"}]}'


@pytest.mark.parametrize(
    "name, language, text",
    [
        ("file:///w/package.json", "json", PACKAGE_JSON),
        ("file:///w/tsconfig.json", "jsonc", TSCONFIG),
        ("file:///w/patient.json", "json", FHIR_PATIENT),  # FHIR, but no claim
        ("file:///w/README.md", "markdown", README),
        ("file:///w/notes.txt", "plaintext", NOTES),
        ("untitled:Untitled-1", "markdown", ""),
        ("file:///w/empty.json", "json", ""),
    ],
)
def test_not_medical(name, language, text):
    assert not likely_medical(text, name, language)


@pytest.mark.parametrize(
    "name, language, text",
    [
        ("file:///w/00-0000000_test_standardcharges.json", "json", PRICE_JSON),
        ("file:///w/prices.json", "json", PRICE_JSON),  # any name: the content says so
        ("file:///w/claim.json", "json", FHIR_CLAIM),
        ("file:///w/claims.ndjson", "", FHIR_CLAIM + "\n" + FHIR_CLAIM),
        ("file:///w/visit.md", "markdown", "Assessment\n\nICD-10-CM: E11.9\n"),
        ("file:///w/visit.txt", "plaintext", "Plan: bill CPT 99213 today."),
        ("file:///w/visit.md", "markdown", "Type 2 diabetes (E11.9), stable."),
        ("file:///w/claim.txt", "plaintext", P837),  # X12 saved as text: by content
        ("file:///w/claim.md", "markdown", P837),
        ("file:///w/anything.csv", "csv", "a,b\n1,2\n"),  # CSV: its readers decide, as before
        ("file:///w/claim.x12", "x12", P837),
    ],
)
def test_medical(name, language, text):
    assert likely_medical(text, name, language)


# Each way the template reader finds codes: the sniff must accept every document it finds codes in.
TEMPLATES = [
    "---\ncodes:\n  icd10cm: [E11.9]\n---\nFollow-up.\n",
    "---\ncodes:\n  cpt:\n    - 99213\n---\n",
    "---\ncodes:\n  hcpcs: J1100\n---\n",
    "---\ncodes:\n  ndc: [0002-8215-01]\n---\n",
    "---\ncodes:\n  pcs: [0DTJ4ZZ]\n---\n",
    "| ICD-10 | Description |\n|---|---|\n| E11.9 | diabetes |\n",
    "| Code | System |\n|---|---|\n| E11.9 | ICD-10-CM |\n",
    "| Revenue | Description |\n|---|---|\n| 0450 | emergency room |\n",
    "| DRG | Title |\n|---|---|\n| 470 | joint replacement |\n",
    "Dx: E11.65, E1199",
    "HCPCS Level II J1100",
    "NDC 0002-8215-01",
    "ICD-10-PCS: 0DTJ4ZZ",
    "CPT® 99213",
    "Rev code 0450",
    "Diabetes (E11.9) and hypertension (I10.)",
]


@pytest.mark.parametrize("text", TEMPLATES)
def test_every_template_the_reader_finds_codes_in_is_medical(text):
    assert template_reader.read(text).slots, "the case itself must hold codes"
    assert template_names_a_set(text)
    assert likely_medical(text, "file:///w/t.md", "markdown")


def test_the_fast_search_finds_what_the_patterns_find():
    """template_names_a_set looks for PREFIX_RE's names with str.find first: on any mix of names,
    near-names and separators it must agree with a plain search by the patterns."""
    import random
    import re

    from medcode.server.templates.patterns import DOTTED_ICD_RE, PREFIX_RE

    revenue = re.compile(r"\brevenue\b", re.IGNORECASE)
    pieces = ["ICD-10-CM", "icd10", "Dx", "pcs", "CPT", "cpt4", "HCPCS II", "hcpc", "NDC", "CDT", "MS-DRG", "msdrg", "DRG",
              "Rev code", "rev. code", "revenue", "review", "E11.9", "(E11.9)", "abc", "-", "_", "1", "İ", " ", "\n", "drgs", "xcpt"]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        expected = any(p.search(text) for p in (PREFIX_RE, DOTTED_ICD_RE, revenue))
        assert template_names_a_set(text) is expected, text


def test_a_set_name_alone_is_enough():
    # A superset on purpose: "pcs" (pieces) reads as ICD-10-PCS, and the reader then finds nothing.
    assert likely_medical("- 2 pcs of bread", "file:///w/list.txt", "plaintext")
    assert not template_reader.read("- 2 pcs of bread").slots


def test_bare_code_hints_read_every_template():
    text = "Bare mention E78.5 in prose."
    assert not likely_medical(text.replace(".", ""), "file:///w/t.md", "markdown")
    assert likely_medical("nothing medical here", "file:///w/t.md", "markdown", Attach(every_template=True))
    # Not JSON: bare hints are about templates only.
    assert not likely_medical(PACKAGE_JSON, "file:///w/package.json", "json", Attach(every_template=True))


def test_include_widens_and_exclude_narrows():
    include = Attach(include=("notes/**/*.md", "*.smartphrase"))
    assert likely_medical(README, "file:///w/notes/2026/visit.md", "markdown", include)
    assert likely_medical(NOTES, "file:///w/x.smartphrase", "plaintext", include)
    assert not likely_medical(README, "file:///w/docs/visit.md", "markdown", include)
    exclude = Attach(include=("*.md",), exclude=("**/fixtures/**",))
    assert not likely_medical("ICD-10-CM: E11.9", "file:///w/tests/fixtures/t.md", "markdown", exclude)
    assert not likely_medical(P837, "file:///w/tests/fixtures/claim.x12", "x12", exclude)  # wins over content too
    assert likely_medical(README, "file:///w/t.md", "markdown", exclude)


@pytest.mark.parametrize(
    "path, pattern, expected",
    [
        ("/w/a/b.md", "*.md", True),  # no slash: the file name
        ("/w/a/b.md", "b.*", True),
        ("/w/a/b.md", "a/*.md", True),  # a relative folder: anywhere in the path
        ("/w/a/b.md", "x/*.md", False),
        ("/w/a/b/c.md", "a/**/*.md", True),
        ("/w/a/b.md", "/w/**", True),
        ("/w/a/b.md", "/v/**", False),
        ("/w/a/b.md", "  ", False),
        ("/w/a/B.MD", "*.md", False),  # case-sensitive, as paths on Linux
    ],
)
def test_matches(path, pattern, expected):
    assert matches(path, pattern) is expected


def test_shared_price_files_are_medical(shared_dir):
    corpus = shared_dir / "corpora" / "cms-hpt-validator"
    files = sorted(corpus.glob("*.json"))
    if not files:
        pytest.skip("no price JSON in ../shared")
    for path in files:
        assert likely_medical(path.read_text(encoding="utf-8-sig"), path.as_uri(), "json"), path.name


def test_the_server_reads_nothing_of_a_document_that_is_not_its_own(tmp_path, monkeypatch):
    """The early answer is cheap: no reader runs for a plain README (one would raise here)."""
    from lsprotocol import types

    from medcode.server import analysis
    from medcode.server.lsp.server import MedcodeServer

    def no_reading(*args, **kwargs):
        raise AssertionError("a reader ran")

    monkeypatch.setattr(analysis.kinds, "read", no_reading)
    server = MedcodeServer(str(tmp_path))
    readme = server.documents.open(types.TextDocumentItem("file:///w/README.md", "markdown", 1, README))
    assert not server.owns(readme)
    assert server._check(readme, readme.source.snapshot(), 1, True, readme.edit_log).count == 0
    visit = server.documents.open(types.TextDocumentItem("file:///w/visit.md", "markdown", 1, "ICD-10-CM: E11.9"))
    assert server.owns(visit)
    with pytest.raises(AssertionError, match="a reader ran"):
        server._check(visit, visit.source.snapshot(), 1, True, visit.edit_log)
