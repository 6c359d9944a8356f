"""index_builder.version(): read from our .dist-info folder when importlib.metadata would find
that folder, else from importlib.metadata (which the language server's start then pays for)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

import medcode.index_builder as ib


def _dist_info(folder, name="medcode_ls-7.8.9.dist-info", text="Metadata-Version: 2.4\nName: medcode-ls\nVersion: 7.8.9\n\nLong text.\nVersion: 0\n"):
    info = folder / name
    info.mkdir(parents=True)
    (info / "METADATA").write_text(text)
    return info


def test_the_installed_version_is_what_importlib_metadata_says(tmp_path, monkeypatch):
    assert ib._metadata_version() == metadata.version("medcode-ls")
    monkeypatch.chdir(tmp_path)  # from elsewhere than the source tree (its .egg-info comes first there)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    assert ib._metadata_version() == metadata.version("medcode-ls")


def test_version_does_not_import_importlib_metadata():
    probe = "import sys, medcode.index_builder as ib; v = ib.version(); print(v, 'importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [metadata.version("medcode-ls"), "False"], out.stderr


@pytest.mark.parametrize(
    "names",
    [
        ["medcode_ls-7.8.9.dist-info"],
        ["Medcode.LS-7.8.9.dist-info"],  # importlib.metadata's own name matching (PEP 503)
        ["medcode_ls-7.8.9.dist-info", "other_pkg-1.0.dist-info", "medcode_lsx-1.0.dist-info"],
    ],
)
def test_the_first_folder_with_our_metadata_answers(tmp_path, monkeypatch, names):
    for name in names:
        _dist_info(tmp_path / "site", name)
    _dist_info(tmp_path / "later", "medcode_ls-1.0.0.dist-info", "Version: 1.0.0\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path / "empty"), str(tmp_path / "site"), str(tmp_path / "later")])
    (tmp_path / "empty").mkdir()
    assert ib._metadata_version() == "7.8.9"
    assert metadata.version("medcode-ls") == "7.8.9"  # the same answer as importlib.metadata's


def test_anything_unusual_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    two = tmp_path / "two"
    _dist_info(two, "medcode_ls-1.0.dist-info")
    _dist_info(two, "medcode_ls-2.0.dist-info")
    egg = tmp_path / "egg"
    egg.mkdir()
    (egg / "medcode_ls-3.0-py3.11.egg").write_text("")
    no_version = tmp_path / "no_version"
    _dist_info(no_version, text="Name: medcode-ls\n\nVersion: 4.0\n")  # only in the body
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("medcode_ls-5.0.dist-info/METADATA", "Version: 5.0\n")
    for entry in (two, egg, no_version, archive):
        monkeypatch.setattr(sys, "path", [str(entry)])
        assert ib._metadata_version() is None, entry


@pytest.mark.parametrize("layout", ["egg-info folder", "egg-info file"])
def test_an_egg_info_is_read_as_importlib_metadata_reads_it(tmp_path, monkeypatch, layout):
    # What `pip install -e` leaves in a source tree: found first when Python runs from there.
    if layout == "egg-info folder":
        (tmp_path / "medcode_ls.egg-info").mkdir()
        (tmp_path / "medcode_ls.egg-info" / "PKG-INFO").write_text("Metadata-Version: 2.4\nName: medcode-ls\nVersion: 6.1\n")
    else:
        (tmp_path / "medcode_ls.egg-info").write_text("Metadata-Version: 1.0\nName: medcode-ls\nVersion: 6.2\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert ib._metadata_version() == metadata.version("medcode-ls") == ("6.1" if layout == "egg-info folder" else "6.2")


def test_not_installed_is_0_0_0(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    ib.version.cache_clear()
    try:
        assert ib.version() == "0.0.0"
    finally:
        ib.version.cache_clear()
