"""Dates and honesty: a release not in force on the date never calls a code invalid, and a
file without a date says which day it was judged on, and why (`check --date`, `medcode.date`)."""

from __future__ import annotations

import datetime as dt
import json

from medcode.index_builder.reader import IndexStore
from medcode.server.analysis import DocumentChecker
from medcode.server.describe import describe
from medcode.server.lsp.settings import Settings
from medcode.server.verdicts import Verdicts
from official_layouts import claim_837p


def test_no_release_in_force_gives_not_in_index_for_codes_and_modifiers(run, hcpcs_index, tmp_path):
    # A4218 and modifier FB were added 2006-01-01; a 2005 claim is older than every release
    # installed (2018-2020), so none of them can say what was valid then.
    claims = tmp_path / "old.837"
    claims.write_text(claim_837p([("Y2005", ["25000"], [("A4218:FB", dt.date(2005, 6, 1))])]))
    status, out, err = run("check", str(claims), "--format", "json", index=hcpcs_index)
    found = {f["code"]: f for f in json.loads(out) if f["code"] in ("A4218", "FB")}
    assert set(found) == {"A4218", "FB"}
    for f in found.values():
        assert f["rule"] == "not-in-index" and f["severity"] == "warning", f
        assert "not in force" in f["message"] and "HCPCS Level II 2018" in f["message"]
    assert not [f for f in json.loads(out) if f["rule"] == "invalid-code"]


def test_hover_names_the_release_and_that_it_is_not_in_force(hcpcs_index):
    store = IndexStore(hcpcs_index)
    answer = Verdicts(store).answer("hcpcs", "FB", dt.date(2005, 6, 1))
    view = describe(store, answer, "FB")
    assert view.release and "2018" in view.release and not view.in_force
    assert "not in force on 2005-06-01" in view.summary
    assert any("not in force on 2005-06-01" in h for h in view.hints)


TEMPLATE = "Assessment\n\nICD-10-CM: E11.99\n"


def test_check_date_chooses_the_day_for_an_undated_file(run, default_index, tmp_path):
    note = tmp_path / "note.md"
    note.write_text(TEMPLATE)
    status, out, err = run("check", str(note), "--format", "json", "--date", "2026-01-15", index=default_index)
    (f,) = [f for f in json.loads(out) if f["code"] == "E11.99"]
    assert f["rule"] == "invalid-code"  # FY2026 is in force on 2026-01-15
    assert "2026-01-15 (no date in the file: judged on the day --date sets)" in f["message"]


def test_an_undated_file_says_it_was_judged_on_today(run, default_index, tmp_path):
    note = tmp_path / "note.md"
    note.write_text(TEMPLATE)
    status, out, err = run("check", str(note), "--format", "json", index=default_index)
    (f,) = [f for f in json.loads(out) if f["code"] == "E11.99"]
    assert f"{dt.date.today().isoformat()} (no date in the file: judged on today)" in f["message"]


def test_a_dated_file_does_not_say_so(default_store):
    text = "---\ndate_of_service: 2026-01-15\n---\nICD-10-CM: E11.99\n"
    analysis = DocumentChecker(Verdicts(default_store)).check(text, name="note.md")
    (f,) = [f for f in analysis.findings if f.code == "E11.99"]
    assert "no date in the file" not in f.message


def test_medcode_date_setting_chooses_the_day(default_store):
    settings = Settings.from_client({"date": "2026-01-15"})
    assert settings.date == dt.date(2026, 1, 15)
    assert Settings.from_client({"date": "15/01/2026"}).date is None  # lenient: a bad value is no setting
    analysis = DocumentChecker(Verdicts(default_store)).check(TEMPLATE, name="note.md", options=settings.options)
    (f,) = [f for f in analysis.findings if f.code == "E11.99"]
    assert f.rule == "invalid-code"
    assert "2026-01-15 (no date in the file: judged on the day the medcode.date setting sets)" in f.message


def test_a_claim_without_dates_says_it_was_judged_on_the_day_given(default_store):
    text = claim_837p([("NODATE", ["E1199"], [("99213", dt.date(2026, 1, 15))])])
    text = "\n".join(line for line in text.splitlines() if not line.startswith("DTP*"))
    settings = Settings.from_client({"date": "2026-01-15"})
    analysis = DocumentChecker(Verdicts(default_store)).check(text, options=settings.options)
    (f,) = [f for f in analysis.findings if f.code == "E1199"]
    assert "2026-01-15 (no date in the file" in f.message
