"""The ICD-10-CM categories the claim edits compare notes with: written into each release with
tabular notes by `medcode index build` (meta.json, CATEGORIES_META) so that a check does not
walk the release's 100,000 keys; an index built before they were written (or with them
unreadable) gives the same findings from the walk."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from medcode.index_builder import layout
from medcode.index_builder.importers import icd10cm
from medcode.index_builder.sources import file_sha256
from medcode.index_builder.tabular_notes import AUX_NAME, CATEGORIES_META, stored_categories

from official_layouts import claim_837p
from test_import_icd10cm import TABULAR

DAY = dt.date(2026, 3, 10)  # FY2026


def _from_keys(release) -> list[str]:
    return sorted({k[:3] for k in release.keys()})


def test_the_build_writes_each_release_its_categories(default_store):
    releases = [r for r in default_store.releases("icd10cm") if AUX_NAME in r.manifest.aux]
    assert len(releases) >= 5  # the embedded fiscal years
    for release in releases:
        stored = stored_categories(release)
        assert stored is not None and len(stored) > 1_900
        assert stored == _from_keys(release), release.label


def test_an_imported_tabular_carries_its_categories(tmp_path, build_release):
    path = tmp_path / "icd10cm_tabular_2027.xml"
    path.write_text(TABULAR, encoding="utf-8")
    release = build_release(icd10cm.from_path(path))
    assert stored_categories(release) == _from_keys(release) == ["B20", "S72"]


def _rewrite_meta(index: Path, change) -> None:
    """Rewrite every ICD-10-CM release's meta.json (and its manifest entry, as a build would
    have written both): change(meta) edits the loaded meta in place."""
    for folder in (index / "icd10cm").iterdir():
        path = folder / layout.META
        if not path.is_file():
            continue
        meta = json.loads(path.read_text(encoding="utf-8"))
        change(meta)
        path.unlink()  # a new file: the linked copies keep theirs
        path.write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        manifest_path = folder / layout.MANIFEST
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["files"][layout.META] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        manifest_path.unlink()
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def _claims(tmp_path: Path) -> Path:
    # E11.9 with E10.9: an Excludes1 pair; G63 (a manifestation) listed first: code-first.
    path = tmp_path / "claims.837"
    path.write_text(claim_837p([("X1", ["E119", "E109", "I10"], [("J1100", DAY)]), ("X2", ["G63", "E1140"], [("J1100", DAY)])]))
    return path


@pytest.mark.parametrize(
    "change",
    [lambda meta: meta.pop(CATEGORIES_META, None), lambda meta: meta.__setitem__(CATEGORIES_META, "E11,E10")],
    ids=["built-before", "unreadable"],
)
def test_without_stored_categories_the_findings_are_the_same(run, default_index, tmp_path, change):
    claims = _claims(tmp_path)
    status, expected, err = run("check", str(claims), "--format", "json", index=default_index)
    rules = [f["rule"] for f in json.loads(expected)]
    assert "excludes1" in rules and "code-first" in rules, rules  # the categories are used
    index = tmp_path / "idx"
    shutil.copytree(default_index, index, copy_function=os.link)
    _rewrite_meta(index, change)
    from medcode.index_builder.reader import IndexStore

    assert all(stored_categories(r) is None for r in IndexStore(index).releases("icd10cm"))
    again_status, out, again_err = run("check", str(claims), "--format", "json", index=index)
    assert (again_status, out) == (status, expected)
    assert "Traceback" not in again_err
