"""The incremental X12 re-check (x12/incremental.py) gives exactly what a fresh check gives.

Property test: random edit sequences on small generated 837P and 837I files (characters and
segments typed, deleted and pasted, claims cut and pasted, envelope segments broken, the ISA
header broken and fixed); after each edit the checker that re-walks only the edited part must
return the findings (messages, ranges, fixes) and the X12Document (claims, problems) of a fresh
checker on the same text. Seeded and bounded (derandomize).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402

from medcode.server import analysis as analysis_module  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.lsp.documents import OpenDocument  # noqa: E402
from medcode.server.lsp.pieces import EditedText  # noqa: E402
from medcode.server.positions import LineIndex  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402
from medcode.server.x12.document import walk  # noqa: E402
from medcode.server.x12.edits import EditLog, span  # noqa: E402
from medcode.server.x12.incremental import _Counted, first_walk  # noqa: E402

DAY = dt.date(2026, 1, 15)


def claims(kind: str) -> list[dict]:
    """Four claims with findings of their own (unknown, header and wrong-set codes) and both
    patient contexts (subscriber is the patient; patient loop under HL 23)."""
    base = dict(kind=kind, day=DAY, birth=dt.date(1970, 1, 1), sex="F", procedures=["0DTJ4ZZ"], admitting="R079")
    return [
        {**base, "principal": "E119", "other": ["I10"]},
        {**base, "principal": "E11", "other": ["Z9999"], "patient_loop": True, "subscriber_birth": dt.date(1950, 2, 2)},
        {**base, "principal": "O80", "sex": "M", "birth": dt.date(2020, 5, 5)},
        {**base, "principal": "S72001", "other": ["E119", "0DTJ4ZZ"]},
    ]


def two_transactions(text: str) -> str:
    """The claims after the second split in a transaction of their own (counts left as they are)."""
    at = text.index("HL*", text.index("CLM*", text.index("CLM*") + 1))
    return text[:at] + "SE*21*0001~\nST*837*0002*005010X222A1~\nHL*50**20*1~\n" + text[at:]


DOCS = [make_837(claims(k)) for k in "PI"]
DOCS += [two_transactions(DOCS[0])]
DOCS += [DOCS[0].replace("005010X222A1", "005010X224A2")]  # an 837D's version: its HI holds 4 (x12/shapes.py)
DOCS += [d.replace("~\n", "~") for d in DOCS]  # one-line files too

# What gets typed or pasted: delimiters, envelope and claim segments, broken pieces.
PIECES = [
    "~", "*", ":", "\n", "X", "9", "E11", "CLM*Z1*10***11:B:1*Y*A*Y*Y~", "SE*40*0001~", "ST*837*0002*005010X222A1~",
    "GE*1*1~", "GS*HC*A*B*20260101*1200*2*X*005010X223A2~", "IEA*1*000000001~", "HL*90*1*22*0~", "HL*91*90*23*0~",
    "SBR*P*18*******MA~", "DMG*D8*19800101*M~", "LX*2~SV1*HC:99213*1*UN*1***3~", "HI*ABK:E1199~", "DTP*434*RD8*20260101-20260103~",
    "CL1*1*1*20~", "LIN**N4*00002821501~", "HI*BBR:0DTJ4ZZ:D8:20260101~", "\x00", "ISA*",
    # Past the limits of X12 (x12/shapes.py): an HI of 14 elements, a 9th component, a 5th
    # pointer and a gap among pointers.
    "HI*ABK:E119" + "*ABF:I10" * 13 + "~", ":59:25:76:XX:YY", "LX*3~SV1*HC:99213*1*UN*1***1::2:3:1~",
    # Past a transaction's TR3 count (an 837I principal diagnosis HI holds HI01, a reason for
    # visit HI three, an 837D's HI four), past CLM05's 3 components and past a segment's last
    # element; and the versions that set those counts.
    "HI*ABK:E119*ABF:XXXX~", "HI*APR:R079*APR:R05*APR:R0600*APR:R0602~", "HI*ABK:E119*ABF:I10*ABF:E11*ABF:O80*ABF:R69~",
    "CLM*Z2*10***11:A:1:9*Y*A*Y*Y~", ":9", "*X", "DTP*472*D8*20260101*X~", "LX*4*X~", "HL*92*1*22*0*X~", "CL1*1*1*20*X~",
    "DMG*D8*19800101*M" + "*" * 9 + "X~", "SBR*P*18*******MA*X~", "SV1*HC:99213*1*UN*1***1" + "*" * 15 + "X~",
    "ST*837*0003*005010X224A2~", "005010X223A2", "005010X224A2",
]

# One edit: (what, where, how far, which piece), positions as fractions of the current text.
EDIT = st.tuples(
    st.sampled_from(["type", "delete", "replace", "paste", "cut-segment", "cut-claim", "paste-claim", "isa"]),
    st.integers(0, 10_000),
    st.integers(0, 400),
    st.integers(0, len(PIECES) - 1),
)

@pytest.fixture(scope="module")
def stores(default_index, tmp_path_factory):
    """The default index, and the same without ICD-10-PCS and NDC: places of sets with no data
    are counted per file, which a re-check must keep right too."""
    from medcode.index_builder.reader import IndexStore

    partial = tmp_path_factory.mktemp("partial-index")
    for entry in default_index.iterdir():
        if entry.name not in ("icd10pcs", "ndc"):
            (partial / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return [IndexStore(default_index), IndexStore(partial)]


SETTINGS = settings(
    max_examples=120, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _segment_at(text: str, at: int) -> tuple[int, int]:
    start = text.rfind("~", 0, at) + 1
    end = text.find("~", at)
    return start, (len(text) if end < 0 else end + 1)


def _claim_at(text: str, at: int) -> tuple[int, int] | None:
    """From the CLM at or before `at` to the next HL or SE (a whole claim, patient loops aside)."""
    start = text.rfind("CLM*", 0, max(at, 1))
    if start < 0:
        start = text.find("CLM*")
        if start < 0:
            return None
    ends = [i for i in (text.find("HL*", start), text.find("SE*", start)) if i >= 0]
    return start, (min(ends) if ends else len(text))


def apply(text: str, edit: tuple[str, int, int, int]) -> tuple[int, int, str]:
    """The edit as (start, end, new text) on `text`."""
    what, where, far, which = edit
    at = where * (len(text) + 1) // 10_001
    piece = PIECES[which]
    if what == "type":
        return at, at, piece[: 1 + far % len(piece)]
    if what == "delete":
        return at, min(len(text), at + 1 + far % 40), ""
    if what == "replace":
        return at, min(len(text), at + far % 8), piece
    if what == "paste":  # a stretch of the file itself, as copy and paste does
        src = far * len(text) // 401
        return at, at, text[src : src + 1 + far]
    if what == "cut-segment":
        return (*_segment_at(text, at), "")
    if what == "cut-claim":
        found = _claim_at(text, at)
        return (at, at, "") if found is None else (*found, "")
    if what == "paste-claim":
        found = _claim_at(text, far * len(text) // 401)
        to = text.find("HL*", at)
        to = at if to < 0 else to
        return (to, to, "") if found is None else (to, to, text[found[0] : found[1]])
    # "isa": break the header (element separator, ISA16, the terminator after it), or repair it
    spots = [3, 104, 105, 106, 50]
    spot = spots[far % len(spots)]
    return spot, min(len(text), spot + 1), piece[:1] if which % 2 else DOCS[0][spot : spot + 1]


def fresh(store, text: str):
    return DocumentChecker(Verdicts(store), DAY).check(text)


def assert_same(got, want, text: str) -> None:
    assert got.kind == want.kind
    assert got.findings == want.findings, text
    if want.x12 is None:
        assert got.x12 is None
        return
    assert got.x12.claims == want.x12.claims, text
    # The check keeps only each claim's span (ClaimSpans): the spans of the Claim objects a
    # plain walk keeps.
    assert list(got.x12.claims) == [(c.start, c.end) for c in walk(text).claims], text
    assert got.x12.problems == want.x12.problems, text
    assert got.x12 == want.x12, text


@SETTINGS
@given(
    doc=st.sampled_from(range(len(DOCS))),
    which=st.sampled_from([0, 1]),
    edits=st.lists(st.lists(EDIT, min_size=1, max_size=3), min_size=1, max_size=6),
)
def test_incremental_recheck_equals_a_fresh_check(stores, doc, which, edits):
    store = stores[which]
    text = DOCS[doc]
    log = EditLog(text)
    checker = DocumentChecker(Verdicts(store), DAY)
    checker.check(text, edits=log)
    for batch in edits:  # the edits of one batch reach the checker together
        for edit in batch:
            start, end, new = apply(text, edit)
            text = text[:start] + new + text[end:]
            log = log.then(start, end, len(new)).bound(text)
        want = fresh(store, text)
        assert_same(checker.check(text, edits=log), want, text)
        if checker._record is not None:  # the running segment counts an SE re-check reads
            assert checker._record.segs == first_walk(text, lambda claim, codes: None).segs, text
    assert_same(checker.check(text, edits=log), want, text)  # no edit since: the same again


def test_counted_text_counts_terminators_as_the_text_does():
    text = DOCS[0]
    record = first_walk(text, lambda claim, codes: None)
    counted = _Counted(text, record.delims.segment, record.claims.starts, record.segs)
    rng = random.Random(14)
    for _ in range(300):
        a = rng.randint(0, len(text))
        b = rng.randint(a, len(text))
        assert counted.count("~", a, b) == text.count("~", a, b)
        assert counted.count("CLM", a, b) == text.count("CLM", a, b)


def test_an_edit_in_one_claim_rewalks_only_that_part(default_store, monkeypatch):
    """A 1-character edit in the middle of a file is checked without walking it whole."""
    text = make_837(claims("P") * 30)
    checker = DocumentChecker(Verdicts(default_store), DAY)
    log = EditLog(text)
    checker.check(text, edits=log)
    at = text.index("HI*ABK:O80", len(text) // 2) + 8  # O80 -> O81 in one claim
    new = text[:at] + "1" + text[at + 1 :]
    log = log.then(at, at + 1, 1).bound(new)

    def no_full_walk(*args):
        raise AssertionError("walked the whole text")

    monkeypatch.setattr(analysis_module, "first_walk", no_full_walk)
    got = checker.check(new, edits=log)
    assert got.claims_checked == 1
    monkeypatch.undo()
    assert_same(got, fresh(default_store, new), new)


def test_envelopes_after_an_edit_move_with_it(default_store):
    """A claim pasted into the first transaction moves the second ST; an edit inside the second
    transaction then counts its segments from where that ST is now."""
    text = DOCS[2]
    checker = DocumentChecker(Verdicts(default_store), DAY)
    log = EditLog(text)
    checker.check(text, edits=log)
    first = _claim_at(text, text.index("CLM*"))
    to = text.index("HL*3*")
    pasted = text[:to] + text[first[0] : first[1]] + text[to:]
    log = log.then(to, to, first[1] - first[0]).bound(pasted)
    assert_same(checker.check(pasted, edits=log), fresh(default_store, pasted), pasted)
    at = pasted.index("HI*ABK:S72001") + 7  # in the second transaction
    typed = pasted[:at] + "E" + pasted[at:]
    log = log.then(at, at, 1).bound(typed)
    assert_same(checker.check(typed, edits=log), fresh(default_store, typed), typed)


def test_a_header_edit_walks_everything(default_store, monkeypatch):
    text = DOCS[0]
    checker = DocumentChecker(Verdicts(default_store), DAY)
    log = EditLog(text)
    checker.check(text, edits=log)
    new = text[:3] + "|" + text[4:]  # the element separator: every offset's meaning changes
    walks = []
    real = analysis_module.first_walk
    monkeypatch.setattr(analysis_module, "first_walk", lambda *a: walks.append(1) or real(*a))
    got = checker.check(new, edits=log.then(3, 4, 1).bound(new))
    assert walks == [1]
    monkeypatch.undo()
    assert_same(got, fresh(default_store, new), new)


def test_adding_and_removing_the_13th_hi_element_republishes(default_store):
    """An HI of 12 elements, then a 13th typed at its end (an error on it, the code in it not
    read), then taken away again: each re-walk gives what a fresh check gives."""
    text = DOCS[0]
    hi = text.index("HI*ABK:E119")
    end = text.index("~", hi)
    twelve = text[:end] + "*ABF:I10" * (12 - text[hi:end].count("*")) + text[end:]
    checker = DocumentChecker(Verdicts(default_store), DAY)
    log = EditLog(twelve)
    first = checker.check(twelve, edits=log)
    assert not [f for f in first.findings if f.rule == "x12-structure" and "HI has" in f.message]
    at = twelve.index("~", hi)
    thirteen = twelve[:at] + "*ABF:XXXX" + twelve[at:]
    log = log.then(at, at, 9).bound(thirteen)
    got = checker.check(thirteen, edits=log)
    assert got.claims_checked == 1  # re-walked, not walked whole
    assert_same(got, fresh(default_store, thirteen), thirteen)
    assert [(thirteen[f.start : f.end], f.effective_severity.label) for f in got.findings if f.rule == "x12-structure" and "HI has" in f.message] == [("ABF:XXXX", "error")]
    assert not [f for f in got.findings if thirteen[f.start : f.end] == "XXXX"]
    log = log.then(at, at + 9, 0).bound(twelve)
    again = checker.check(twelve, edits=log)
    assert_same(again, fresh(default_store, twelve), twelve)
    assert again.findings == first.findings


def test_edits_compose_into_one_range():
    old = "0123456789"
    text, edits = old, []
    for start, end, new in [(2, 4, "ab"), (8, 8, "xyz"), (0, 1, "")]:
        text = text[:start] + new + text[end:]
        edits.append((start, end, len(new)))
    a, b, n = span(tuple(edits))
    assert text == old[:a] + text[a : a + n] + old[b:]
    assert (a, b) == (0, 8)


def test_the_log_knows_which_edits_a_checker_missed():
    log = EditLog("abc")
    assert log.since(0) == ()
    log = log.then(2, 2, 1).then(1, 2, 0)
    assert log.since(0) == ((2, 2, 1), (1, 2, 0))
    assert log.since(1) == ((1, 2, 0),)
    assert log.since(None) is None
    assert log.replaced().since(log.revision) is None


def _change(text: str, start: int, end: int, new: str) -> types.TextDocumentContentChangePartial:
    index = LineIndex(text)
    (l0, c0), (l1, c1) = index.position(start), index.position(end)
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(l0, c0), types.Position(l1, c1)), text=new
    )


@pytest.mark.parametrize("doc", [0, 4])
def test_the_editor_document_passes_its_edits(default_store, doc):
    """OpenDocument logs each ranged change; its log takes the checker from one version to the
    next, with the result of a fresh check."""
    text = DOCS[doc]
    od = OpenDocument("file:///c.837", EditedText(text), 1)
    checker = DocumentChecker(Verdicts(default_store), DAY)
    # The server binds the log to the text it joined for the check (MedcodeServer.diagnostics).
    checker.check(od.text, edits=od.edit_log.bound(od.text))
    at = od.text.index("E119")
    for start, end, new in [(at, at + 4, "E11"), (at + 1, at + 1, "9~HL*"), (len(od.text) - 5, len(od.text), "")]:
        od.apply(_change(od.text, start, end, new), "utf-16")
        got = checker.check(od.text, edits=od.edit_log.bound(od.text))
        assert got.claims_checked <= 2  # re-walked where the edit was, not the whole file
        assert_same(got, fresh(default_store, od.text), od.text)
    od.apply(types.TextDocumentContentChangeWholeDocument(text=DOCS[doc]), "utf-16")
    assert od.edit_log.since(3) is None
    assert_same(checker.check(od.text, edits=od.edit_log.bound(od.text)), fresh(default_store, od.text), od.text)


def test_claim_spans_splice_as_a_list_of_spans_would():
    """ClaimSpans (two arrays) after a re-walk's splice: what the list of (start, end) it
    replaces gives, tail moved by the edit's change of length."""
    from array import array

    from medcode.server.x12.document import ClaimSpans

    old = [(0, 10), (12, 30), (31, 40), (45, 60), (70, 90)]
    spans = ClaimSpans(array("q", (s for s, _ in old)), array("q", (e for _, e in old)))
    assert list(spans) == old and len(spans) == 5 and spans[3] == (45, 60) and spans[3].end == 60
    for first, k, new, delta in ((1, 3, [(12, 33)], 3), (0, 5, [], 0), (2, 2, [(31, 33), (34, 41)], -2), (4, 5, [(70, 95)], 5)):
        got = spans.spliced(first, k, ClaimSpans(array("q", (s for s, _ in new)), array("q", (e for _, e in new))), delta)
        assert list(got) == old[:first] + new + [(s + delta, e + delta) for s, e in old[k:]]
    assert list(spans) == old  # the old spans are left as they were
