"""The release catalogue (what `index fetch` downloads) and the freshness report built on it."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from medcode.index_builder import catalogue
from medcode.index_builder.catalogue import CatalogueError
from medcode.index_builder.download import Meter, local_name
from medcode.index_builder.freshness import (
    CURRENT,
    LOCAL,
    MISSING,
    STALE,
    freshness,
    stale_message,
)
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.writer import write_release

d = dt.date


# -- the shipped catalogue -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    return catalogue.load(Path(catalogue.__file__).with_name("catalogue.json"))


def test_shipped_catalogue_covers_every_fetchable_set_from_fy2024(shipped):
    assert list(shipped.sets) == ["icd10cm", "icd10pcs", "hcpcs", "ndc", "ncci"]
    cm = [r.label for r in shipped.releases("icd10cm")]
    assert cm == ["FY2024", "FY2024-Apr", "FY2025", "FY2025-Apr", "FY2026", "FY2026-Apr", "FY2027"]
    assert [r.label for r in shipped.releases("icd10pcs")][0] == "FY2024" and "FY2027" in [r.label for r in shipped.releases("icd10pcs")]
    quarters = [r.label for r in shipped.releases("hcpcs")]
    assert {"2024-Q1", "2025-Q2", "2026-Q3", "2026-Q4"} <= set(quarters)
    assert [r.effective.month for r in shipped.releases("hcpcs")][:4] == [1, 4, 7, 10]
    for set_id, entry in shipped.sets.items():
        assert entry.page.startswith("https://"), set_id
        for rel in entry.releases:
            for f in rel.files:
                assert f.url.startswith("https://"), f.url
                # Every address says where it comes from; a guessed one says it is unverified.
                assert f.note, f.url
                assert not f.unverified or f.note.startswith("unverified"), f.url
    fy27 = shipped.release("icd10cm", "FY2027")
    assert fy27.effective == d(2026, 10, 1)
    order, tabular = fy27.files
    assert order.sha256 == "93e3ad6004badf470c55bfe679b748ae88fd9b2b421851e409eec382c7713b9a"
    assert tabular.url.endswith("/2027/icd10cm-table-and-index-2027.zip") and tabular.optional
    assert shipped.entry("ndc").daily and shipped.releases("ndc")[0].files[0].url == "https://www.accessdata.fda.gov/cder/ndctext.zip"


def test_release_choice_by_day(shipped):
    assert shipped.latest("icd10cm", d(2026, 11, 27)).label == "FY2027"
    assert shipped.in_force("icd10cm", d(2026, 9, 30)).label == "FY2026-Apr"
    assert shipped.in_force("icd10cm", d(2025, 12, 1)).label == "FY2026"
    assert shipped.in_force("icd10cm", d(2020, 1, 1)) is None  # before the catalogue starts
    assert shipped.in_force("hcpcs", d(2026, 8, 15)).label == "2026-Q3"
    # Published ahead of its date: not `--latest` until it takes effect.
    assert shipped.latest("hcpcs", d(2026, 12, 31)).label == "2026-Q4"
    assert shipped.release("hcpcs", "2026-q4").label == "2026-Q4" and shipped.release("hcpcs", "1999") is None
    daily = shipped.in_force("ndc", d(2026, 11, 27))
    assert (daily.label, daily.effective) == ("2026-11-27", d(2026, 11, 27))


def test_catalogue_from_the_environment_and_its_errors(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"format": 1, "sets": {"hcpcs": {"releases": [
        {"label": "2030-Q1", "effective": "2030-01-01", "files": [{"url": "https://example.org/a.zip"}]}]}}}))
    monkeypatch.setenv("MEDCODE_CATALOGUE", str(path))
    assert [r.label for r in catalogue.load().releases("hcpcs")] == ["2030-Q1"]
    path.write_text(json.dumps({"format": 1, "sets": {"hcpcs": {"releases": [
        {"label": "2030-Q1", "effective": "2030-01-01", "files": [{"url": "ftp://example.org/a.zip"}]}]}}}))
    with pytest.raises(CatalogueError, match="the entry for hcpcs is malformed .*is not an http"):
        catalogue.load()
    path.write_text("{not json")
    with pytest.raises(CatalogueError, match="is unreadable"):
        catalogue.load()
    monkeypatch.setenv("MEDCODE_CATALOGUE", str(tmp_path / "missing.json"))
    with pytest.raises(CatalogueError, match="does not exist"):
        catalogue.load()


def test_local_names_of_official_addresses():
    assert local_name("https://ftp.cdc.gov/x/2026/icd10cm-Code%20Descriptions-2026.zip") == "icd10cm-Code Descriptions-2026.zip"
    # CMS puts dates with slashes in its paths: the name keeps what says what the file is.
    assert local_name("https://www.cms.gov/files/zip/2024-icd-10-pcs-order-file-long-and-abbreviated-titles-updated-12/19/2023.zip") == (
        "2024-icd-10-pcs-order-file-long-and-abbreviated-titles-updated-12-19-2023.zip"
    )


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_meter():
    plain = io.StringIO()
    meter = Meter("f.zip", plain)
    for done in range(0, 1001, 50):
        meter(done, 1000)
    lines = plain.getvalue().splitlines()
    assert lines[0] == "  f.zip: 50 B of 1000 B (5%)" and lines[-1] == "  f.zip: 1000 B of 1000 B (100%)" and len(lines) == 11
    tty = _Tty()
    meter = Meter("f.zip", tty)
    meter(2_500_000, None)
    meter.done(5_000_000)
    assert tty.getvalue().startswith("\r  f.zip: 2.4 MB\x1b[K") and "downloaded 4.8 MB in" in tty.getvalue()


# -- freshness -------------------------------------------------------------------------------------
def release(root, set_id, label, start, end, complete=True):
    write_release(root, ImportResult(set_id, label, f"{set_id} {label}", start, end, Source("file", "x"), [CodeRecord("A0001", "x")], complete=complete))


@pytest.fixture
def cat():
    return catalogue.parse({"format": 1, "sets": {
        "icd10cm": {"page": "https://example.org", "releases": [
            {"label": "FY2026", "effective": "2025-10-01", "files": [{"url": "https://example.org/26.zip"}]},
            {"label": "FY2027", "effective": "2026-10-01", "files": [{"url": "https://example.org/27.zip"}]},
        ]},
        "hcpcs": {"releases": [{"label": "2026-Q4", "effective": "2026-10-01", "files": [{"url": "https://example.org/h.zip"}]}]},
        "ndc": {"daily": True, "stale_after_days": 30, "releases": [{"label": "daily", "files": [{"url": "https://example.org/ndc.zip"}]}]},
    }})


def test_freshness_states(tmp_path, cat):
    today = d(2026, 11, 27)
    release(tmp_path, "icd10cm", "FY2026", d(2025, 10, 1), d(2026, 9, 30))
    release(tmp_path, "ndc", "2026-11-01", d(2026, 11, 1), d(2026, 11, 1))
    release(tmp_path, "payer-acme", "2026", d(2026, 1, 1), None, complete=False)
    items = {i.set_id: i for i in freshness(IndexStore(tmp_path), cat, today)}
    assert list(items) == ["icd10cm", "hcpcs", "ndc", "payer-acme"]
    cm = items["icd10cm"]
    assert (cm.state, cm.installed, cm.in_force, cm.answering, cm.official.label) == (STALE, ["FY2026"], None, "FY2026", "FY2027")
    assert cm.reason == "FY2027 (in force since 2026-10-01) is not installed; FY2026 answers today (it ended 2026-09-30)"
    assert cm.command == "medcode index fetch icd10cm"
    assert (items["hcpcs"].state, items["hcpcs"].command) == (MISSING, "medcode index fetch hcpcs")
    assert items["ndc"].state == CURRENT and items["ndc"].reason == "directory of 2026-11-01 (26 days old)"
    assert items["payer-acme"].state == LOCAL and items["payer-acme"].in_force == "2026"
    # The editor's message names the stale sets (not the missing one) and the command.
    assert stale_message(list(items.values())) == (
        "medcode: code data is out of date: ICD-10-CM (FY2027 is not installed, FY2026 answers). "
        "Get current data: medcode index fetch icd10cm"
    )
    later = {i.set_id: i for i in freshness(IndexStore(tmp_path), cat, d(2026, 12, 15))}
    assert later["ndc"].state == STALE and "44 days old, more than 30" in later["ndc"].reason


def test_freshness_current_and_beyond_the_catalogue(tmp_path, cat):
    release(tmp_path, "icd10cm", "FY2027", d(2026, 10, 1), d(2027, 9, 30))
    store = IndexStore(tmp_path)
    (cm,) = [i for i in freshness(store, cat, d(2026, 11, 27)) if i.set_id == "icd10cm"]
    assert (cm.state, cm.in_force, cm.official_installed, cm.command) == (CURRENT, "FY2027", True, None)
    assert stale_message(freshness(store, cat, d(2026, 11, 27))) is None
    # A year on, FY2028 is in force but this catalogue does not know it: still stale, and the
    # command says how to get a file the catalogue does not list.
    (cm,) = [i for i in freshness(store, cat, d(2027, 10, 15)) if i.set_id == "icd10cm"]
    assert cm.state == STALE and "knows no newer one" in cm.reason
    assert cm.command == "medcode index fetch icd10cm --url URL --release LABEL"
    # A release imported by hand under another label counts when it is as new as the official one.
    release(tmp_path, "icd10cm", "my-2027", d(2026, 10, 2), d(2027, 9, 30))
    store.reload()
    (cm,) = [i for i in freshness(store, cat, d(2026, 11, 27)) if i.set_id == "icd10cm"]
    assert cm.state == CURRENT and cm.in_force == "my-2027"
