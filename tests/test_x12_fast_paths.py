"""The cold check's shortcuts against the exact readings they stand for, on crafted 837s:
service line segments and DTP segments read once per distinct text (x12/document.py), and the
NCCI layer counting lines without building model claims when it has no data (claims/rules.py).
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from medcode.server.claims.rules import ClaimLayer
from medcode.server.claims.x12 import claim_from_x12
from medcode.server.code_rules import Result
from medcode.server.places import POINTER
from medcode.server.x12 import document
from medcode.server.x12.delimiters import detect
from medcode.server.x12.document import UNREAD_POINTERS, walk
from medcode.server.x12.incremental import first_walk
from medcode.server.x12.segments import iter_raw
from medcode.server.x12.slots import CODE_SEGMENTS, codes_in, hi_codes
from medcode.server.x12.vocabulary import HI_UNREADABLE

_ENDS = ("CLM", "HL", "SE", "GE", "IEA", "ST", "GS", "ISA")


def _isa(e: str, rep: str, comp: str, t: str) -> str:
    return (
        f"ISA{e}00{e}          {e}00{e}          {e}ZZ{e}SUBMITTER01    {e}ZZ{e}RECEIVER01     {e}260115{e}1200{e}{rep}{e}00501"
        f"{e}000000001{e}0{e}P{e}{comp}{t}"
    )


def crafted(seed: int, e: str = "*", comp: str = ":", t: str = "~", rep: str = "^", after: str = "", kind: str = "P") -> str:
    """An 837 whose claims repeat the same service line segments at shifting offsets (names of
    random length, non-ASCII text), with odd, short and malformed segments mixed in."""
    r = random.Random(seed)
    lines = [
        f"SV1{e}HC{comp}99213{e}100{e}UN{e}1{e}{e}{e}1{comp}2",
        f"SV1{e}HC{comp}85025{comp}RT{comp}lt{e}10{e}UN{e}2{e}{e}{e}1",
        f"SV1{e}HC{comp}J1100{e}5{e}UN{e}1{e}{e}{e}1{comp}9",  # a pointer past the diagnoses
        f"SV1{e}HC{comp}9921{e}100",  # short: no units, no pointers
        f"SV1{e}HC{comp}é9213{e}1{e}UN{e}x{e}{e}{e}1{comp}{comp}2",
        f"SV1{e}{e}100{e}UN{e}1",  # no composite
        "SV1",  # no element at all
        f"SV1{e}ER{comp}A0425{e}1{e}UN{e}1{e}{e}{e}1",  # not HC
        f"SV1{e}HC{comp}99213{comp}25{comp}59{comp}XE{comp}RT{comp}desc{e}100{e}UN{e}1{e}{e}{e}1{comp}2{comp}3{comp}4",
        f"LIN{e}{e}N4{e}00023577305",
        f"LIN{e}{e}N4{e}0002-3577-05",
        f"LIN{e}{e}XX{e}",
        f"SV2{e}0300{e}HC{comp}85025{e}10{e}UN{e}3",
        f"SV2{e}300{e}HC{comp}36415{comp}QW{e}10{e}UN",
    ]
    dates = [
        f"DTP{e}472{e}D8{e}20260418", f"DTP{e}472{e}D8{e}20260231", f"DTP{e}472{e}RD8{e}20260101-20260105",
        f"DTP{e}434{e}RD8{e}20260101-20260105", f"DTP{e}434{e}RD8{e}2026010120260105", f"DTP{e}435{e}D8{e}20251230",
        f"DTP{e}472", f"DTP{e}431{e}D8{e}20260101", f"DTP{e}472{e}D8{e}2026x418",
    ]
    his = [
        f"HI{e}ABK{comp}E119{e}ABF{comp}I10", f"HI{e}ABK{comp}E11.9{e}ABF{comp}Z0000{rep}ABF{comp}I10",
        f"HI{e}BK{comp}25000", f"HI{e}ABK{comp}S52272Q{e}ABF", f"HI{e}ZZZ{comp}E119",
    ]
    segs = [_isa(e, rep, comp, t).rstrip(t), f"GS{e}HC{e}S{e}R{e}20260115{e}1200{e}1{e}X{e}005010X22{'2A1' if kind == 'P' else '3A2'}"]
    segs.append(f"ST{e}837{e}0001{e}005010X22{'2A1' if kind == 'P' else '3A2'}")
    hl = 1
    for n in range(60):
        hl += 1
        segs += [f"HL{e}{hl}{e}1{e}22{e}0", f"SBR{e}P{e}18{e}GRP", f"NM1{e}IL{e}1{e}{'Ü' * r.randint(0, 9)}{'X' * r.randint(0, 30)}"]
        if r.random() < 0.8:
            segs.append(f"DMG{e}D8{e}19{r.randint(30, 99)}0101{e}{r.choice('FMU')}")
        bill = r.choice(["13:A:1", "11:A:1", "85:A:1", "", "1"])
        segs.append(f"CLM{e}C{n:04d}{e}100{e}{e}{e}{bill}{e}Y")
        if r.random() < 0.5:
            segs.append(r.choice(dates))
        segs.append(r.choice(his))
        for k in range(r.randint(0, 4)):
            segs.append(f"LX{e}{k + 1}")
            for _ in range(r.randint(1, 2)):
                segs.append(r.choice(lines))
            segs.append(r.choice(dates))
            if r.random() < 0.3:
                segs.append(f"REF{e}6R{e}{'Z' * r.randint(0, 12)}")
    segs += [f"SE{e}{len(segs) - 1}{e}0001", f"GE{e}1{e}1", f"IEA{e}1{e}000000001"]
    return (t + after).join(segs) + t


DOCUMENTS = [
    crafted(1),
    crafted(2, "|", "^", "~", "!"),
    crafted(3, "*", ">", "\n", "^"),
    crafted(4, "*", ":", "~", "^", "\r\n"),
    crafted(5, "*", ":", "~", "^", "\n  "),
    crafted(6, kind="I"),
    crafted(7, "^", "\\", "'", "{"),
]


def _walked(text: str) -> list[tuple]:
    out: list[tuple] = []
    doc = walk(text, lambda claim, groups: out.append((claim, groups)))
    assert doc is not None
    return out


def _state(text: str) -> list:
    """Everything the walk hands the rules, as plain values (lines compared field by field)."""
    return [(dataclasses.astuple(claim), [(None if ln is None else dataclasses.astuple(ln), codes) for ln, codes in groups]) for claim, groups in _walked(text)]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_segments_read_once_equal_each_copy_read_afresh(text, monkeypatch):
    kept = _state(text)
    monkeypatch.setattr(document, "LINE_SEGMENTS_MAX", 0)
    monkeypatch.setattr(document, "DTPS_MAX", 0)
    monkeypatch.setattr(document, "PATIENT_SEGMENTS_MAX", 0)
    assert _state(text) == kept


@pytest.mark.parametrize("text", DOCUMENTS)
def test_service_line_places_equal_codes_in_at_each_segment(text):
    """The places the walk gives (shifted from a copy read at offset 0) against codes_in run on
    each segment at its own offset, as hover reads them."""
    d = detect(text).delimiters
    expected, in_claim = [], False
    for seg_id, start, raw in iter_raw(text, d):
        if seg_id in _ENDS:
            in_claim = seg_id == "CLM"
        elif in_claim and seg_id in CODE_SEGMENTS and seg_id != "HI":
            expected += codes_in(seg_id, start, raw, d.element, d.component, False)
    got = [t for _, groups in _walked(text) for line, codes in groups if line is not None or not codes or codes[0][5][:2] != "HI" for t in codes]
    got = [t for t in got if t[0] not in (POINTER, UNREAD_POINTERS)]
    assert got == expected and len(expected) > 50


@pytest.mark.parametrize("text", DOCUMENTS)
def test_ncci_without_data_counts_lines_as_the_model_claims_do(text, tmp_path):
    from medcode.index_builder.reader import IndexStore
    from medcode.server.verdicts import Verdicts

    layer = ClaimLayer(Verdicts(IndexStore(tmp_path)))  # an empty index: no NCCI data
    noted = 0
    for claim, groups in _walked(text):
        fast, exact = Result(), Result()
        layer.check_x12(claim, groups, text, fast)
        layer.check(claim_from_x12(claim, groups, text), exact)
        assert fast == exact
        noted += bool(fast.no_data)
    assert noted > 10


def _claims_837(claims: list[list[str]]) -> str:
    segs = [_isa("*", "^", ":", "~").rstrip("~"), "GS*HC*S*R*20260115*1200*1*X*005010X222A1", "ST*837*0001*005010X222A1"]
    for n, body in enumerate(claims):
        segs += [f"HL*{n + 2}*1*22*0", "SBR*P*18*GRP", f"CLM*C{n}*100***11:B:1*Y"] + body
    segs += [f"SE*{len(segs) - 1}*0001", "GE*1*1", "IEA*1*000000001"]
    return "~".join(segs) + "~"


def test_pointers_are_judged_against_the_claims_final_diagnoses():
    """The walk keeps only the pointer segments past the diagnoses read so far (a claim's
    diagnoses only grow): a line before its claim's HI, and a claim of two HI segments
    (14 diagnoses, of which a pointer reaches 12), are judged as at the claim's end."""
    four = "HI*ABK:E119*ABF:I10*ABF:Z0000*ABF:R51"
    eight = "HI*" + "*".join(f"AB{'K' if i == 0 else 'F'}:R5{i}" for i in range(8))
    six = "HI*" + "*".join(f"ABF:R6{i}" for i in range(6))
    line = lambda n, ptr: [f"LX*{n}", f"SV1*HC:99213*100*UN*1***{ptr}", "DTP*472*D8*20260418"]  # noqa: E731
    text = _claims_837([
        [four, *line(1, "1:2"), *line(2, "5")],  # HI first
        [*line(1, "3:4"), *line(2, "1:5"), four],  # lines before the HI: 4 fine, 5 not
        [eight, *line(1, "9"), six, *line(2, "12"), *line(3, "13"), *line(4, "1:14")],
        [*line(1, "2"), four, four],  # 8 diagnoses in all
    ])
    handed: list[list[str]] = []
    walk(text, lambda claim, groups: handed.append([t[1] for _, ts in groups for t in ts if t[0] == POINTER]))
    assert handed == [["5"], ["1", "5"], ["13", "1", "14"], []]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_hi_diagnoses_and_unreadable_come_with_the_codes(text):
    """hi_codes' counts against its own codes, as the walk counted them from codes_in."""
    d = detect(text).delimiters
    seen = 0
    for seg_id, start, raw in iter_raw(text, d):
        if seg_id == "HI":
            codes, diagnoses, unreadable, shape = hi_codes(start, raw, d.element, d.component)
            assert codes == codes_in(seg_id, start, raw, d.element, d.component, False)
            assert diagnoses == sum(1 for t in codes if t[6])
            assert unreadable == any(t[0] == HI_UNREADABLE for t in codes)
            seen += 1
    assert seen > 10


def test_hi_reads_twelve_elements_at_most():
    raw = "HI*" + "*".join(f"ABF:R{i:02d}" for i in range(14))
    codes, diagnoses, unreadable, shape = hi_codes(0, raw, "*", ":")
    assert [t[1] for t in codes] == [f"R{i:02d}" for i in range(12)] and diagnoses == 12 and not unreadable
    assert [t[5] for t in codes][-1] == "HI12-02"
    # What is past HI12 is not read, and said so: an error on HI13 to the segment's end.
    [(start, end, message, error)] = shape
    assert raw[start:end] == "ABF:R12*ABF:R13" and error and message.startswith("HI has 14 elements")


@pytest.mark.parametrize("text", DOCUMENTS)
def test_walk_counts_terminators_before_each_claim_and_for_each_se(text):
    """The walk counts terminators as it goes: before each CLM (the record's segs) and from the
    ST for its SE, the same as str.count over the text."""
    d = detect(text).delimiters
    record = first_walk(text, lambda claim, groups: None)
    assert list(record.segs) == [text.count(d.segment, 0, s) for s in record.claims.starts] and len(record.segs) > 10
    se = text.rindex(f"{d.segment}SE") + 1 if f"{d.segment}SE" in text else text.rindex("SE" + d.element)
    st = text.index("ST" + d.element + "837")
    actual = text.count(d.segment, st, se) + 1
    value = text[se:].split(d.element)[1]
    wrong = text[:se] + text[se:].replace(f"SE{d.element}{value}", f"SE{d.element}{actual + 3}", 1)
    messages = [p.message for p in walk(wrong).problems]
    assert f"SE01 says {actual + 3} segments, the transaction has {actual}" in messages


_ALIKE = _claims_837([["HI*ABK:E119", "LX*1", "SV1*HC:99213*100*UN*1***1", "DTP*472*D8*20260418"]] * 30)


@pytest.mark.parametrize("text", [_ALIKE, *DOCUMENTS[:2]])
def test_claim_totals_count_shared_results_once_each(text, tmp_path):
    """The no-data places added up per shared result equal the sum over every claim."""
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    checker = DocumentChecker(Verdicts(IndexStore(tmp_path)))  # no data: every claim notes
    checker.check(text)
    record, totals = checker._record, checker._totals
    counts: dict[str, int] = {}
    firsts: dict[str, int] = {}
    for i, relative in enumerate(record.results):
        for set_id, (n, _, _) in relative.no_data.items():
            counts[set_id] = counts.get(set_id, 0) + n
            firsts.setdefault(set_id, i)
    assert totals.counts == counts and totals.firsts == firsts and sum(counts.values()) > 10


@pytest.mark.parametrize("text", DOCUMENTS)
@pytest.mark.parametrize("window", [1, 7, 64, 4096])
def test_segments_read_a_window_at_a_time_equal_one_split(text, window):
    """segments_from (the claim under the cursor, the outline) yields what iter_raw yields
    over the same range, whatever the window and wherever the range starts and ends."""
    from medcode.server.x12.segments import segments_from

    d = detect(text).delimiters
    r = random.Random(window)
    for lo, hi in [(d.start, len(text))] + [tuple(sorted(r.sample(range(d.start, len(text) + 1), 2))) for _ in range(20)]:
        assert list(segments_from(text, d, lo, hi, window)) == list(iter_raw(text, d, lo, hi)), (lo, hi)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_claim_around_an_offset_is_read_as_before(text, monkeypatch):
    """claim_around reads the claim a window at a time: the claim, diagnoses and lines are
    those a read of the whole scan range gives, and without its transaction (completion's
    ask) only the transaction is left out."""
    from medcode.server.x12 import context

    d = detect(text).delimiters
    r = random.Random(len(text))
    offsets = [text.index("CLM", d.start) + 2] + [r.randrange(d.start, len(text)) for _ in range(40)]
    windowed = [context.claim_around(text, d, d.component, at) for at in offsets]
    bare = [context.claim_around(text, d, d.component, at, transaction=False) for at in offsets]
    monkeypatch.setattr(context, "_CLAIM_WINDOW", len(text))  # one split of the whole range, as before
    whole = [context.claim_around(text, d, d.component, at) for at in offsets]
    assert windowed == whole and any(c is not None for c in whole)
    for with_kind, without in zip(whole, bare):
        if with_kind is None:
            assert without is None
            continue
        assert with_kind.claim.transaction in "PID" and without.claim.transaction == ""
        without.claim.transaction = with_kind.claim.transaction
        assert without == with_kind
