"""The honesty principle: what a look-up may claim given the releases installed."""

from __future__ import annotations

import datetime as dt

import pytest

from medcode.index_builder.lookup import Status, listing, resolve
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.writer import write_release

d = dt.date


def write(root, release, start, end, records, complete=True, set_id="hcpcs"):
    write_release(
        root,
        ImportResult(set_id, release, f"HCPCS {release}", start, end, Source("file", "fixture"), records, complete=complete),
    )


@pytest.fixture
def store(tmp_path):
    write(tmp_path, "2019", d(2019, 1, 1), d(2019, 12, 31), [
        CodeRecord("A0001", "kept"),
        CodeRecord("A0002", "dropped in 2020"),
    ])
    write(tmp_path, "2020", d(2020, 1, 1), d(2020, 12, 31), [
        CodeRecord("A0001", "kept"),
        CodeRecord("A0003", "ended mid-2020", terminated="2020-06-30"),
        CodeRecord("A0004", "added mid-2020", added="2020-07-01"),
    ])
    return IndexStore(tmp_path)


def test_found_in_the_release_in_force(store):
    a = resolve(store, "hcpcs", "A0001", d(2020, 3, 1))
    assert (a.status, a.release.label, a.in_force) == (Status.FOUND, "2020", True)


def test_termination_and_addition_dates_are_honoured(store):
    assert resolve(store, "hcpcs", "A0003", d(2020, 3, 1)).status == Status.FOUND
    late = resolve(store, "hcpcs", "A0003", d(2020, 7, 1))
    assert late.status == Status.TERMINATED and late.record.terminated == "2020-06-30"
    assert resolve(store, "hcpcs", "A0004", d(2020, 3, 1)).status == Status.NOT_YET


def test_code_gone_from_the_release_in_force_is_deleted_with_where_it_was_seen(store):
    a = resolve(store, "hcpcs", "A0002", d(2020, 3, 1))
    assert a.status == Status.DELETED and a.seen_in.label == "2019"
    assert resolve(store, "hcpcs", "A0002", d(2019, 3, 1)).status == Status.FOUND


def test_unknown_code_in_a_complete_release_in_force_is_not_found(store):
    assert resolve(store, "hcpcs", "Z9999", d(2020, 3, 1)).status == Status.NOT_FOUND
    # Added later: not a code on the earlier date, and the answer says where it appears.
    a = resolve(store, "hcpcs", "A0004", d(2019, 3, 1))
    assert a.status == Status.NOT_FOUND and a.seen_in.label == "2020"


def test_stale_partial_or_missing_data_cannot_prove_absence(store, tmp_path):
    stale = resolve(store, "hcpcs", "Z9999", d(2026, 3, 1))
    assert (stale.status, stale.release.label, stale.in_force) == (Status.UNVERIFIED, "2020", False)
    assert resolve(store, "icd10cm", "E119", d(2026, 3, 1)).status == Status.UNVERIFIED
    assert resolve(store, "icd10cm", "E119", d(2026, 3, 1)).release is None
    write(tmp_path, "local", d(2026, 1, 1), None, [CodeRecord("B0001", "x")], complete=False, set_id="ndc")
    store.reload()
    partial = resolve(store, "ndc", "00000000000", d(2026, 3, 1))
    assert partial.status == Status.UNVERIFIED and partial.in_force


def test_default_day_is_today(store):
    assert resolve(store, "hcpcs", "A0001").day == dt.date.today()


def test_a_reload_between_choosing_the_release_and_the_listing_still_finds_where_it_was_seen(store):
    # The server reloads its store on another thread (an index rebuilt or imported) while a
    # hover holds a Release from before: the listing must find that release again by label.
    release, _ = store.release_for("hcpcs", d(2020, 3, 1))
    store.reload()
    found = listing(store, "hcpcs", "A0002", release)
    assert found.record is None and found.seen_in.label == "2019"
