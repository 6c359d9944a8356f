"""Where hover's needles are in an open document (lsp/marks.py): EditedText.rfind answers from
them as str.rfind does on the same text, over any edits, and a large document's check finds them."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import pytest
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402
from test_x12_incremental import claims  # noqa: E402

from medcode.server.lsp import marks  # noqa: E402
from medcode.server.lsp.pieces import EditedText  # noqa: E402
from medcode.server.lsp.server import SYNC_CHECK_LIMIT, MedcodeServer  # noqa: E402
from medcode.server.x12.context import claim_around, transaction_before  # noqa: E402

NEEDLES = ("ST*837*", "GS*HC*", "aa")  # "aa": overlapping starts ("aaa" holds two)
PIECES = ["ST*837*", "GS*HC*", "ST*83", "7*", "*", "S", "a", "aa", "x", "~\n", "GS*H", "C*", ""]


def test_rfind_from_the_marks_is_str_rfind_over_edits():
    rng = random.Random(14)
    for _ in range(40):
        plain = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 60)))
        text = EditedText(plain)
        text.mark(text.snapshot(), plain, NEEDLES)
        assert text._marks is not None
        for _ in range(25):
            start = rng.randrange(0, len(plain) + 1)
            end = rng.randrange(start, min(len(plain), start + 12) + 1)
            new = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 4)))
            text.replace(start, end, new)
            plain = plain[:start] + new + plain[end:]
            assert text._marks is not None  # kept over small edits, not dropped
            for needle in NEEDLES:
                for _ in range(6):
                    lo = rng.randrange(-3, len(plain) + 3)
                    hi = rng.randrange(lo - 2, len(plain) + 5)
                    assert text.rfind(needle, lo, hi) == plain.rfind(needle, lo, hi), (plain, needle, lo, hi)
                assert text.rfind(needle) == plain.rfind(needle)


def test_marks_are_kept_only_for_the_text_they_were_found_in():
    text = EditedText("ST*837*0001~GS*HC*~")
    snap = text.snapshot()
    text.replace(0, 0, "ST*837*")  # an edit after the snapshot: what was found there is stale
    text.mark(snap, "ST*837*0001~GS*HC*~", NEEDLES)
    assert text._marks is None
    text.mark(text.snapshot(), text.join(), NEEDLES)
    assert text._marks is not None
    text.replace(0, 0, "x" * (marks.RESCAN_MAX + 1))  # a large paste drops them: no long search on the loop
    assert text._marks is None and text.rfind("ST*837*") == text.join().rfind("ST*837*")


def test_a_large_documents_check_marks_its_transactions_for_hover(tmp_path):
    body = make_837(claims("P") * 2)
    text = body
    while len(text) <= SYNC_CHECK_LIMIT:
        text += body  # interchanges one after the other
    server = MedcodeServer(str(tmp_path))
    uri = "file:///w/large.837"
    doc = server.documents.open(types.TextDocumentItem(uri, "x12", 1, text))

    async def checked() -> None:
        await server.diagnostics(doc)
        for _ in range(500):  # the marks are found in a job of their own, after the check
            if doc.source._marks is not None:
                return
            await asyncio.sleep(0.01)

    asyncio.run(checked())
    assert doc.source._marks is not None and set(doc.source._marks) == {"ST*837*", "GS*HC*"}
    delims = doc.delimiters()
    for offset in range(0, len(text), len(text) // 50):
        ctx = claim_around(doc.source, delims, ":", offset, transaction=False)
        if ctx is not None:
            assert transaction_before(doc.source, delims, ctx.claim.start) == transaction_before(text, delims, ctx.claim.start) == "P"
    server.thread_pool.shutdown()


def test_a_needle_found_too_often_is_not_kept(monkeypatch):
    """One transaction per claim: rfind finds the nearest soon, and moving thousands of starts at
    each keystroke would cost more than it saves. Such a needle is marked as not kept, and
    rfind reads the text for it, as before."""
    monkeypatch.setattr(marks, "KEEP_MAX", 5)
    plain = "GS*HC*~" + "ST*837*~" * 5 + "x" * 50
    text = EditedText(plain)
    text.mark(text.snapshot(), plain, ("ST*837*", "GS*HC*"))
    assert text._marks == {"ST*837*": [7, 15, 23, 31, 39], "GS*HC*": [0]}
    text.replace(60, 60, "ST*837*")  # a sixth: too many now
    plain = plain[:60] + "ST*837*" + plain[60:]
    assert text._marks == {"ST*837*": None, "GS*HC*": [0]}
    for needle in ("ST*837*", "GS*HC*"):
        assert [text.rfind(needle, 0, k) for k in range(len(plain))] == [plain.rfind(needle, 0, k) for k in range(len(plain))]
    many = "ST*837*~" * 6
    text = EditedText(many)
    text.mark(text.snapshot(), many, ("ST*837*",))
    assert text._marks == {"ST*837*": None}
    monkeypatch.setattr(marks, "found", lambda *a: pytest.fail("searched again"))
    text.mark(text.snapshot(), many, ("ST*837*",))  # known to be too many: not searched again
    assert text._marks == {"ST*837*": None}
