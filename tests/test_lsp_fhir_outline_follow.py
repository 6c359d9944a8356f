"""The FHIR outline answers at once after an edit inside its claims (issue 14), over LSP stdio:
with a pull client no check runs until it pulls diagnostics, so the outline asked for between
an edit and that pull is answered during a pending re-check, deterministically. The document is
larger than a hover may check on the spot (server.SYNC_CHECK_LIMIT): its outline cannot come
from a check made for the request."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import pytest_asyncio
from lsprotocol import types

from medcode.server.fhir import reader
from medcode.server.fhir.outline import fhir_outline
from medcode.server.lsp.server import SYNC_CHECK_LIMIT
from medcode.server.lsp.symbols import LIMIT, to_symbols
from medcode.server.positions import LineIndex

from fhir_resources import bundle, patient, text_of
from lsp_session import Session, start, stop
from test_fhir_outline import ALONE, EXCLUDES

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The two claims of test_fhir_outline's Bundle around a Patient whose narrative makes the text
# too large to be checked for a request.
PADDED = patient("p1")
PADDED["text"] = {"status": "generated", "div": "<div>" + "x" * SYNC_CHECK_LIMIT + "</div>"}
TEXT = text_of(bundle(EXCLUDES, PADDED, ALONE))
URI = "file:///tmp/e2e/fhir-outline-follow/bundle.json"


def seen(symbols) -> list:
    """Each symbol's name, detail, range and selection, its children's after it: as sent."""
    out = []
    for s in symbols:
        r, sel = s.range, s.selection_range
        out.append((s.name, s.detail or None, (r.start.line, r.start.character, r.end.line, r.end.character),
                    (sel.start.line, sel.start.character, sel.end.line, sel.end.character)))
        out += seen(s.children or [])
    return out


def fresh(text: str, encoding: str) -> list:
    """What a read of the whole text outlines, in seen()'s terms."""
    symbols, _, _ = to_symbols(fhir_outline(reader.read(text), LIMIT), LineIndex(text, encoding), len(text))
    out = []

    def walk(items):
        for s in items:
            s = s if isinstance(s, dict) else orjson.loads(orjson.dumps(s))  # a leaf, held as its JSON
            r, sel = s["range"], s["selectionRange"]
            out.append((s["name"], s.get("detail"), (r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"]),
                        (sel["start"]["line"], sel["start"]["character"], sel["end"]["line"], sel["end"]["character"])))
            walk(s.get("children") or [])

    walk(symbols)
    return out


def replace(session: Session, text: str, old: str, new: str) -> str:
    """The first `old` replaced by `new` in one ranged didChange; the text after it."""
    at = text.index(old)
    line, col = text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1)
    end_line, end_col = line + old.count("\n"), (col + len(old) if "\n" not in old else len(old) - old.rfind("\n") - 1)
    session.change(URI, types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, col), types.Position(end_line, end_col)), text=new))
    return text[:at] + new + text[at + len(old) :]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pull(default_index):
    session = await start("neovim", default_index)
    assert session.pull
    yield session
    await stop(session)


async def test_the_outline_answers_during_a_pending_recheck_and_equals_a_fresh_one_after_it(pull: Session):
    pull.open(URI, TEXT, "json")
    await pull.diagnostics(URI)
    assert seen(await pull.symbols(URI)) == fresh(TEXT, pull.encoding)
    # Typing in a code, a new line in a claim, a longer id: no check runs until the pull below.
    text = replace(pull, TEXT, "O24.419", "O24.41")
    text = replace(pull, text, '"use": "claim",', '"use": "claim",\n      ')
    text = replace(pull, text, '"id": "eob-b"', '"id": "eob-b-renamed"')
    during = seen(await pull.symbols(URI))
    assert ("Diagnosis 2: O24.41", None) in [s[:2] for s in during]
    assert "ExplanationOfBenefit eob-b-renamed (professional)" in [s[0] for s in during]
    assert during == fresh(text, pull.encoding)
    await pull.diagnostics(URI)  # the re-check
    assert seen(await pull.symbols(URI)) == during
    pull.close(URI)


async def test_an_edit_that_makes_the_outline_stale_waits_for_the_check(pull: Session):
    pull.open(URI, TEXT, "json")
    await pull.diagnostics(URI)
    before = seen(await pull.symbols(URI))
    # The second claim made a Patient: its entry must go, which only a read of the text says.
    text = replace(pull, TEXT, '"resourceType": "ExplanationOfBenefit",\n        "id": "eob-b"', '"resourceType": "Patient",\n        "id": "eob-b"')
    asked = asyncio.ensure_future(pull.symbols(URI))
    await asyncio.sleep(0.5)
    assert not asked.done()  # no check can have run: it waits for one rather than send a stale outline
    await pull.diagnostics(URI)
    after = seen(await asyncio.wait_for(asked, 30))
    assert after == fresh(text, pull.encoding) and len(after) < len(before)
    pull.close(URI)
