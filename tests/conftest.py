"""Shared fixtures. Tests that need ../shared (official files, real corpora) skip without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsp_session import PROFILES, Session, start, stop

from medcode.index_builder.model import ImportResult
from medcode.index_builder.reader import Release
from medcode.index_builder.writer import write_release

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared (official data files and corpora) is not beside this checkout")
    return SHARED


@pytest.fixture
def build_release(tmp_path):
    """Write an ImportResult into a fresh index folder and open it, as the server would."""

    def build(result: ImportResult) -> Release:
        return Release(write_release(tmp_path / "index", result))

    return build


@pytest.fixture(scope="session")
def default_index(tmp_path_factory) -> Path:
    """Every embedded default built once per test session into its own index folder.

    Read-only for tests: anything that writes builds its own folder."""
    from medcode.index_builder.build import build_defaults

    root = tmp_path_factory.mktemp("default-index")
    build_defaults(root)
    return root


@pytest.fixture(scope="session")
def default_store(default_index):
    from medcode.index_builder.reader import IndexStore

    return IndexStore(default_index)


@pytest.fixture(scope="session")
def vscode_build():
    """The VS Code extension built once per session outside the checkout (tests/vscode_build.py),
    in a folder of its own (pytest's basetemp may be pruned by a parallel session)."""
    import tempfile

    from vscode_build import build_extension

    with tempfile.TemporaryDirectory(prefix="medcode-vscode-build-") as folder:
        yield build_extension(Path(folder))


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the CLI in-process, optionally against an index folder: (exit status, stdout, stderr)."""
    from medcode.server import cli

    def invoke(*args: str, index=None):
        if index is not None:
            monkeypatch.setenv("MEDCODE_INDEX_DIR", str(index))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def run_check(run, monkeypatch, default_index):
    """`medcode check ARGS` in-process on the embedded defaults: (exit status, stdout, stderr)."""
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(default_index))
    return lambda *args: run("check", *args)


@pytest.fixture(scope="session")
def hcpcs_index(tmp_path_factory, shared_dir):
    """The CMS HCPCS files of 2018, 2019 and 2020 (../shared/data/hcpcs), imported once per
    session. Read-only for tests."""
    from medcode.index_builder.build import import_path

    index = tmp_path_factory.mktemp("hcpcs") / "idx"
    for year in (2018, 2019, 2020):
        import_path(index, "hcpcs", shared_dir / f"data/hcpcs/{year}-Alpha-Numeric-HCPCS-File.zip")
    return index


# -- end to end over LSP stdio (the test_lsp_* modules) -----------------------------------------
@pytest.fixture(scope="module")
def lsp_index(default_index) -> Path:
    """The index the module's `lsp` servers read; a module overrides it to serve other data."""
    return default_index


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PROFILES)
async def lsp(request, lsp_index) -> AsyncIterator[Session]:
    """One `medcode serve` per client profile (VS Code push, Neovim pull) for the whole module;
    each test opens its own URIs."""
    session = await start(request.param, lsp_index)
    yield session
    await stop(session)
