"""Codes deleted between installed releases: valid on a date of service the older release
covers, `deleted-code` (with replacements when known) on a later one. Checked end to end
through `medcode check` on 837P claims whose service lines carry the dates (DTP*472)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medcode.index_builder.build import import_path
from medcode.index_builder.reader import IndexStore
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts
from official_layouts import (
    CM_FY2026,
    CM_FY2027,
    cdc_code_descriptions_zip,
    cdc_table_and_index_zip,
    claim_837p,
    write,
)

d = dt.date


def findings_for(run, index, path, code: str) -> list[dict]:
    status, out, err = run("check", str(path), "--format", "json", index=index)
    assert status in (0, 1), err
    return [f for f in json.loads(out) if f["code"] == code]


def lines_of(path, needle: str) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines()) if needle in line]


@pytest.fixture
def cm_index(tmp_path):
    """ICD-10-CM FY2026 and FY2027 imported from files in the CDC layouts."""
    index = tmp_path / "idx"
    fy26 = write(tmp_path / "fy26" / "icd10cm-code-descriptions-2026.zip", cdc_code_descriptions_zip(2026, CM_FY2026))
    import_path(index, "icd10cm", fy26)
    fy27 = tmp_path / "fy27"
    write(fy27 / "icd10cm-code-descriptions-2027.zip", cdc_code_descriptions_zip(2027, CM_FY2027))
    write(fy27 / "icd10cm-table-and-index-2027.zip", cdc_table_and_index_zip(2027, CM_FY2027))
    import_path(index, "icd10cm", fy27)
    assert [r.label for r in IndexStore(index).releases("icd10cm")] == ["FY2026", "FY2027"]
    return index


def test_icd10cm_code_deleted_in_the_newer_release(run, cm_index, tmp_path):
    claims = tmp_path / "claims.837"
    claims.write_text(claim_837p([
        ("FY26", ["A009", "E119"], [("J1100", d(2026, 3, 2))]),
        ("FY27", ["A009", "E119"], [("J1100", d(2026, 11, 2))]),
    ]))
    found = findings_for(run, cm_index, claims, "A009")
    # The FY2026 claim's A00.9 is valid; the FY2027 claim's is deleted.
    assert [f["line"] for f in found] == lines_of(claims, "HI*ABK:A009")[1:]
    (f,) = found
    assert f["rule"] == "deleted-code" and f["severity"] == "error"
    assert f["message"] == "A00.9 was deleted: not in ICD-10-CM FY2027 (last listed in ICD-10-CM FY2026), before the date of service 2026-11-02"
    assert not findings_for(run, cm_index, claims, "E119")


def test_icd10cm_deleted_code_offers_the_billable_codes_under_its_parent(cm_index):
    text = claim_837p([("FY27", ["A009"], [("J1100", d(2026, 11, 2))])])
    (finding,) = [f for f in DocumentChecker(Verdicts(IndexStore(cm_index))).check(text).findings if f.rule == "deleted-code"]
    assert [fix.text for fix in finding.fixes] == ["A000", "A001", "A002"]  # FY2027's codes under A00
    assert finding.fixes[2].title == "Replace with A00.2 — Cholera due to Vibrio cholerae O139"


def test_icd10cm_code_added_in_the_newer_release_is_not_valid_before(run, cm_index, tmp_path):
    claims = tmp_path / "claims.837"
    claims.write_text(claim_837p([("FY26", ["A002"], [("J1100", d(2026, 3, 2))]), ("FY27", ["A002"], [("J1100", d(2026, 11, 2))])]))
    (f,) = findings_for(run, cm_index, claims, "A002")
    assert f["rule"] == "invalid-code" and "takes effect on 2026-10-01 (ICD-10-CM FY2027)" in f["message"]
    assert f["line"] == lines_of(claims, "HI*ABK:A002")[0]


def test_hcpcs_code_added_and_terminated_in_2019(run, hcpcs_index, tmp_path):
    # C9035 was added 2019-01-01 and terminated 2019-09-30 (the 2020 file says so).
    claims = tmp_path / "c9035.837"
    claims.write_text(claim_837p([
        ("Y2018", ["E119"], [("C9035", d(2018, 6, 1))]),
        ("Y2019", ["E119"], [("C9035", d(2019, 6, 1))]),
        ("Y2020", ["E119"], [("C9035", d(2020, 2, 1))]),
    ]))
    by_line = {f["line"]: f for f in findings_for(run, hcpcs_index, claims, "C9035")}
    y2018, y2019, y2020 = lines_of(claims, "SV1*HC:C9035")
    assert y2019 not in by_line  # valid on 2019-06-01
    assert by_line[y2018]["rule"] == "invalid-code"
    assert by_line[y2018]["message"] == "C9035 takes effect on 2019-01-01 (HCPCS Level II 2019 (annual)), after the date of service 2018-06-01; it is not a code in HCPCS Level II 2018 (annual)"
    assert by_line[y2020]["rule"] == "deleted-code"
    assert by_line[y2020]["message"] == "C9035 was deleted: terminated 2019-09-30, before the date of service 2020-02-01"


def test_hcpcs_code_gone_after_2018(run, hcpcs_index, tmp_path):
    # G9976 is in the 2018 file and in neither the 2019 nor the 2020 file.
    claims = tmp_path / "g9976.837"
    claims.write_text(claim_837p([
        ("Y2018", ["E119"], [("G9976", d(2018, 6, 1))]),
        ("Y2020", ["E119"], [("G9976", d(2020, 2, 1))]),
    ]))
    (f,) = findings_for(run, hcpcs_index, claims, "G9976")
    assert f["line"] == lines_of(claims, "SV1*HC:G9976")[1]
    assert f["rule"] == "deleted-code" and f["severity"] == "error"
    assert f["message"] == (
        "G9976 was deleted: not in HCPCS Level II 2020 (annual) (last listed in HCPCS Level II 2018 (annual)), "
        "before the date of service 2020-02-01"
    )
