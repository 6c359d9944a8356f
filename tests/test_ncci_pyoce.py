"""Real pairs: the I/OCE's outpatient hospital NCCI table and add-on code edits (pyoce 0.1.0),
written in the CMS layouts, imported, and compared pair by pair. Skips without MEDCODE_PYOCE
(see tests/pyoce_tables.py) or without the `lmdb` test extra."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from medcode.index_builder.build import import_ncci
from medcode.index_builder.ncci_index import NCCI, NcciRelease, parse_ptp_key
from medcode.index_builder.reader import IndexStore
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts

import pyoce_tables
from ncci_files import ptp_text
from claims_837 import x12

pytest.importorskip("lmdb")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    cache = tmp_path_factory.mktemp("pyoce")
    mdb = pyoce_tables.find_mdb(cache)
    if mdb is None:
        pytest.skip(f"pyoce tables not available: set {pyoce_tables.ENV} to the pyoce 0.1.0 wheel or its pyoce.mdb")
    tables = pyoce_tables.read(mdb)
    files = cache / "files"
    files.mkdir()
    version = pyoce_tables.ptp_version(tables.start)
    ptp = files / f"ccioph-v{version}r0-f1.txt"
    ptp.write_text(ptp_text(tables.ptp))
    header = "Add-on Code\tPrimary Code\tAOC Edit Type\tAOC Edit Effective Date\tAOC Edit Deletion Date\n"
    quarter = f"{tables.start.year}Q{(tables.start.month - 1) // 3 + 1}"
    aoc = files / f"AOC_V{quarter}-MCR.txt"
    aoc.write_text(header + "".join("\t".join(r) + "\n" for r in tables.addon))
    (built,) = import_ncci(cache / "index", [ptp, aoc])
    return tables, IndexStore(cache / "index").release(NCCI, built.result.release)


def test_every_outpatient_pair_is_indexed_with_its_indicator_and_dates(real):
    tables, rel = real
    assert rel.manifest.counts["ptp-outpatient"] == len(tables.ptp)  # 1,594,456 rows in pyoce 0.1.0
    day = tables.start + dt.timedelta(days=14)
    trie = rel.key_set("ptp-outpatient")
    on = day.strftime("%Y%m%d")
    # The key's dates compared as text (YYYYMMDD sorts as dates): 1.6 million keys.
    in_force = sum(1 for k in trie.iterkeys() if k[11:19] <= on and (len(k) < 27 or on < k[19:27]))
    assert parse_ptp_key(next(trie.iterkeys())).effective is not None
    assert in_force == tables.active  # 1,401,094 in I/OCE 27.1 (April 2026)
    view = NcciRelease(rel)
    for col1, col2, eff, dele, ind in random.Random(13).sample(tables.ptp, 2000):
        rows = view.ptp("outpatient", col1, col2)
        assert (ind, eff, None if dele == "*" else dele) in {
            (e.indicator, e.effective.strftime("%Y%m%d"), e.deleted and e.deleted.strftime("%Y%m%d")) for e in rows
        }


def test_a_real_pair_on_an_outpatient_claim(real):
    tables, rel = real
    day = tables.start + dt.timedelta(days=14)
    col1, col2, *_ = next(r for r in tables.ptp if r[3] == "*" and r[4] == "0")
    text = x12("I", [("REAL1", [(col1, [], 1, day), (col2, ["59"], 1, day)])])
    findings = DocumentChecker(Verdicts(IndexStore(rel.path.parent.parent)), day).check(text).findings
    (f,) = [f for f in findings if f.rule == "ncci-ptp"]
    assert f.code == col2 and f"column 2 of {col1}" in f.message


def test_add_on_codes_match_the_ioce(real):
    tables, rel = real
    view = NcciRelease(rel)
    day = tables.start + dt.timedelta(days=14)
    type1 = [r for r in tables.addon if r[2] == "1" and not r[4]]
    for addon, primary, *_ in random.Random(12).sample(type1, 300):
        assert primary in {r.primary for r in view.addon(addon) if r.in_force(day) and r.type == "1"}
