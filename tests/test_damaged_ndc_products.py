"""Damaged NDC products (the `products` side data of an NDC release: each package's product
name, labeler, form, ingredients). Nothing in a check needs them: a package code's validity and
description are its own record's. So the release's codes are still checked; only the product
details are missing, which hover, lookup and completion say with the damaged file and the
command that rebuilds it, and the damage is named once (stderr, or the editor's message)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_session import place, start, stop
from ndc_files import write_folder

RELEASE = "2024-05-06"
# 00002-8215-01 is a package of the fixture directory; 00002-8215-99 is none.
TEMPLATE = f"---\ndate_of_service: {RELEASE}\n---\nDrugs given\n\nNDC: 00002-8215-01\nNDC: 00002-8215-99\n"
CLEAN = f"---\ndate_of_service: {RELEASE}\n---\nDrugs given\n\nNDC: 00002-8215-01\n"


@pytest.fixture(scope="module")
def ndc_index(tmp_path_factory) -> Path:
    """The fixture NDC directory (ndc_files.py) imported as one dated release."""
    from medcode.index_builder.build import import_path

    root = tmp_path_factory.mktemp("ndc")
    import_path(root / "idx", "ndc", write_folder(root / "src"), release=RELEASE, effective=dt.date.fromisoformat(RELEASE))
    return root / "idx"


def _damaged(ndc_index: Path, tmp_path: Path, truncated: bool) -> tuple[Path, Path]:
    """A copy of the index whose products store is overwritten (same size: found when the
    release is opened, as its stat moved and its checksum differs) or cut to half (found
    when opened too: the manifest lists each file's size)."""
    index = tmp_path / "idx"
    shutil.copytree(ndc_index, index)
    (products,) = (index / "ndc" / RELEASE).glob("aux-products.*bin")  # .bin, or .zbin when compact
    size = products.stat().st_size
    products.write_bytes(b"\x5a" * (size // 2 if truncated else size))
    return index, products


def _write(tmp_path: Path, text: str, name: str = "note.md") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("truncated", [False, True], ids=["garbled", "truncated"])
def test_the_codes_are_still_checked(run, ndc_index, tmp_path, truncated):
    index, products = _damaged(ndc_index, tmp_path, truncated)
    status, out, err = run("check", str(_write(tmp_path, TEMPLATE)), index=index)
    assert "index-damaged" not in out + err, out
    assert f"00002-8215-99 is not a code in FDA NDC Directory {RELEASE}" in out and "[invalid-code]" in out
    assert out.count("\n") == 1  # 00002-8215-01 is a package: no finding
    assert status == 1
    # Found on open (its size, or its checksum): named on stderr with what is not done and the command.
    assert err.count(str(products)) == 1 and "NDC product details" in err and "still checked" in err
    assert "`medcode index import ndc " in err and f"--release {RELEASE}`" in err


@pytest.mark.parametrize("truncated", [False, True], ids=["garbled", "truncated"])
def test_a_clean_file_stays_clean(run, ndc_index, tmp_path, truncated):
    """No check reads the products: a file whose codes are all good is clean (exit 0), not
    index-damaged; the damage found on open (its size, or its checksum: it was written after
    the build) is still named on stderr."""
    index, products = _damaged(ndc_index, tmp_path, truncated)
    status, out, err = run("check", str(_write(tmp_path, CLEAN)), index=index)
    assert out == "" and status == 0, out + err
    assert err.count(str(products)) == 1


@pytest.mark.parametrize("truncated", [False, True], ids=["garbled", "truncated"])
def test_lookup_answers_and_says_the_product_details_cannot_be_shown(run, ndc_index, tmp_path, truncated):
    index, products = _damaged(ndc_index, tmp_path, truncated)
    status, out, err = run("lookup", "00002821501", "--date", RELEASE, "--json", index=index)
    (view,) = json.loads(out)["results"]
    assert view["description"].startswith("Humulin R 100 [iU]/mL") and view["summary"] == "valid"
    assert view["facts"]["Product"] == "Humulin R"  # the record's own
    assert "Labeler" not in view["facts"] and "Active ingredients" not in view["facts"]
    (hint,) = [h for h in view["hints"] if "cannot be shown" in h]
    assert hint.startswith("The product details of FDA NDC Directory") and str(products) in hint
    assert hint.endswith(f"--release {RELEASE}`")
    assert status == 0 and "Traceback" not in err


def test_the_intact_products_give_the_details(run, ndc_index):
    status, out, _ = run("lookup", "00002821501", "--date", RELEASE, index=ndc_index)
    assert "Labeler: Eli Lilly and Company" in out and "cannot be shown" not in out and status == 0


@pytest.mark.parametrize("truncated", [False, True], ids=["garbled", "truncated"])
async def test_the_editor_hovers_completes_and_keeps_checking_the_release(ndc_index, tmp_path, truncated):
    index, products = _damaged(ndc_index, tmp_path, truncated)
    session = await start("visual-studio-code", index)
    try:
        uri = "file:///tmp/e2e/ndc/note.md"
        session.open(uri, TEMPLATE, "markdown")
        before = await session.diagnostics(uri)
        assert [d.code for d in before] == ["invalid-code"], before
        line, col, _ = place(TEMPLATE, "NDC: 00002-8215-01", "00002-8215-01")
        text = (await session.hover(uri, line, col + 1)).contents.value
        assert "Humulin R 100" in text and "cannot be shown" in text and "Eli Lilly" not in text
        assert products.name.replace("_", "\\_") in text and f"--release {RELEASE}" in text
        # The release was not set aside: the document's codes are judged as before, and
        # completion offers its packages, the resolved item saying what cannot be shown.
        typing = TEMPLATE + "NDC: 0000282\n"
        session.change(uri, types.TextDocumentContentChangeWholeDocument(text=typing))
        after = await session.diagnostics(uri)
        assert [d.code for d in after] == ["invalid-code"], after
        done = await session.complete(uri, typing.count("\n") - 1, len("NDC: 0000282"))
        (item,) = [i for i in done.items if i.label == "00002-8215-01"]
        resolved = await session.client.completion_item_resolve_async(item)
        assert "Humulin R 100" in resolved.documentation.value and "cannot be shown" in resolved.documentation.value
        await session.hover(uri, line, col + 1)
        shown = [m.message for m in session.client.messages if str(products) in m.message]
        assert len(shown) == 1 and "NDC product details" in shown[0], shown
    finally:
        await stop(session)
