"""A line added or removed in a claim file: the re-check and the diagnostics it converts are
exactly a fresh check's, and the cheap path is taken (the findings past the edit are the same
objects, moved in place; the diagnostics cache writes only the edited claim's again).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import orjson
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402

from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.lsp import diagnostics  # noqa: E402
from medcode.server.lsp.diagnostics import diagnostics_json  # noqa: E402
from medcode.server.lsp.documents import OpenDocument  # noqa: E402
from medcode.server.lsp.pieces import EditedText  # noqa: E402
from medcode.server.lsp.settings import Settings  # noqa: E402
from medcode.server.positions import LineIndex  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402

DAY = dt.date(2026, 1, 15)
BASE = dict(kind="P", day=DAY, birth=dt.date(1970, 1, 1), sex="F", procedures=["0DTJ4ZZ"], admitting="R079")
CLAIMS = [
    {**BASE, "principal": "E119", "other": ["I10"]},
    {**BASE, "principal": "E11", "other": ["Z9999"]},  # a header code (fixes) and an unknown one
    {**BASE, "principal": "S72001", "other": ["E119", "0DTJ4ZZ"]},  # wrong set, 7th character
]


def _line_edit(doc: OpenDocument, line: int, end_line: int, text: str) -> None:
    rng = types.Range(types.Position(line, 0), types.Position(end_line, 0))
    doc.apply(types.TextDocumentContentChangePartial(range=rng, text=text), "utf-16")
    doc.version += 1


def test_a_line_added_and_removed_republishes_a_fresh_checks_diagnostics_cheaply(default_store, monkeypatch):
    text = make_837(CLAIMS * 20)
    doc = OpenDocument("file:///claims.837", EditedText(text), 1)
    checker = DocumentChecker(Verdicts(default_store), DAY)
    cfg = Settings()

    def check():
        joined = doc.text
        analysis = checker.check(joined, doc.uri, "x12", cfg.options, doc.edit_log.bound(joined))
        return analysis, doc.diagnostics.convert(analysis.findings, doc.index("utf-16"), cfg, doc.edit_log)

    first, _ = check()
    assert len(first.findings) > 60
    middle = doc.index().position(doc.text.index("CLM*", len(doc.text) // 2))[0]
    written: list[tuple] = []
    real_tail = diagnostics._tail
    monkeypatch.setattr(diagnostics, "_tail", lambda content, handle: written.append(content) or real_tail(content, handle))
    for end_line, new in ((middle, "NTE*ADD*A NOTE~\n"), (middle + 1, "")):
        before = {id(f) for f in checker._totals.findings}
        written.clear()
        at = doc.index().line_start(middle)
        _line_edit(doc, middle, end_line, new)
        analysis, got = check()
        rewritten = len(written)
        joined = doc.text
        want = DocumentChecker(Verdicts(default_store), DAY).check(joined, doc.uri, "x12", cfg.options)
        assert analysis.findings == want.findings
        assert got.body == diagnostics_json(want.findings, LineIndex(joined), cfg).body
        # The cheap path: one claim walked again (at most); the findings past it are the objects the
        # last check had (moved, not copied), and only that claim's diagnostics are written.
        assert analysis.claims_checked <= 1
        record = checker._record
        walked_to = record.claims.starts[record.spliced[1]]  # the first claim not walked again
        past = [f for f in checker._totals.findings if f.start >= walked_to]
        assert len(past) > len(analysis.findings) // 4 and all(id(f) in before for f in past)
        assert rewritten <= 10 < got.count // 4
    assert doc.text == text
    fresh = DocumentChecker(Verdicts(default_store), DAY).check(text, doc.uri, "x12", cfg.options)
    assert orjson.loads(got.body) == orjson.loads(diagnostics_json(fresh.findings, LineIndex(text), cfg).body)
