"""X12 reading on messy real-world shapes: delimiters, envelopes, encodings, positions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medcode.server.check import read_text
from medcode.server.positions import UTF8, UTF16, UTF32, LineIndex
from medcode.server.x12.context import claim_around, cursor_at
from medcode.server.x12.delimiters import detect, looks_like_x12
from medcode.server.x12 import document
from medcode.server.x12.document import walk
from medcode.server.lsp.pieces import EditedText
from medcode.server.x12.outline import claims_outline, outline

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = (FIXTURES / "claims_837p.x12").read_text()


def codes(text: str) -> list[tuple[str | None, str, str]]:
    """(qualifier, code, expected set) of every slot the walk hands to the rules."""
    out = []
    walk(text, lambda claim, groups: out.extend((t[3], t[1], t[0]) for _, ts in groups for t in ts))
    return out


def test_delimiters_from_isa():
    d = detect(P837).delimiters
    assert (d.element, d.component, d.segment, d.repetition, d.version) == ("*", ":", "~", "^", "00501")
    assert d.isa16_offset == 104 and P837[104] == ":"


def test_other_separators_and_isa11_u():
    text = P837.replace("*", "|").replace("~", "'").replace("|^|00501", "|U|00501")
    d = detect(text).delimiters
    assert (d.element, d.segment, d.repetition) == ("|", "'", None)  # "U" is no repetition separator
    assert ("ABK", "E119", "icd10cm") in codes(text)


def test_bom_indentation_and_crlf():
    lines = P837.replace("~", "~\r\n").splitlines()
    text = "\ufeff" + "\r\n".join("    " * (i % 3) + line for i, line in enumerate(lines))
    assert looks_like_x12(text)
    found = codes(text)
    assert found == codes(P837)
    # Offsets stay exact: every slot points at its own text.
    starts = []
    walk(text, lambda c, groups: starts.extend((t[2], t[1]) for _, ts in groups for t in ts))
    assert all(text[s : s + len(code)] == code for s, code in starts)


def test_newline_as_segment_terminator():
    text = P837.replace("~\n", "\n")
    d = detect(text).delimiters
    assert d.segment == "\n"
    assert ("ABK", "E119", "icd10cm") in codes(text)
    ctx = claim_around(text, d, ":", text.index("ABF:E1199"))
    assert ctx.claim.id == "ERRORS01" and str(ctx.claim.date) == "2026-03-10"


def test_utf16_file_is_read_as_text(tmp_path):
    path = tmp_path / "claims.txt"
    path.write_bytes(P837.encode("utf-16-le"))
    text = read_text(path)
    assert text == P837
    path.write_bytes(b"\xff\xfe" + P837.encode("utf-16-le"))
    assert read_text(path) == P837


def test_binary_and_non_x12_files():
    assert not looks_like_x12("\x00\x01\x02garbage")
    assert walk("hello world, not a claim") is None
    assert walk("") is None


def test_binary_file_is_skipped(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert read_text(path) is None


def test_envelope_problems_are_reported_not_fatal():
    broken = P837.replace("SE*45*0001~", "SE*44*0009~").replace("GE*1*101~\n", "").replace("IEA*1*000000101~", "IEA*1*000000999~")
    doc = walk(broken)
    messages = [p.message for p in doc.problems]
    assert "SE01 says 44 segments, the transaction has 45" in messages
    assert "SE02 0009 does not match ST02 0001" in messages
    assert "functional group has no GE trailer" in messages
    assert "IEA02 000000999 does not match ISA13 000000101" in messages
    assert len(doc.claims) == 3


def test_segments_are_counted_in_chunks_as_str_count_does(monkeypatch):
    """SE01 is checked against a count made a chunk at a time (the GIL is let go between
    chunks): every chunk size and range gives str.count's answer, and SE01 is still checked."""
    text = P837 * 3
    for chunk in (1, 2, 7, 64, 10_000):
        monkeypatch.setattr(document, "COUNT_CHUNK", chunk)
        for start, end in ((0, len(text)), (5, 3), (17, 17), (100, len(text) - 13), (0, 1)):
            assert document.count_between(text, "~", start, end) == text.count("~", start, end)
        assert document.count_between(text, "~\n", 3, len(text)) == text.count("~\n", 3, len(text))
    monkeypatch.setattr(document, "COUNT_CHUNK", 3)
    broken = P837.replace("SE*45*0001~", "SE*44*0001~")
    assert "SE01 says 44 segments, the transaction has 45" in [p.message for p in walk(broken).problems]


def test_short_isa_and_fragments():
    short = P837.replace("*00*          *00*          *", "*00*  *00*  *", 1)
    det = detect(short)
    assert det.delimiters is not None and "ISA segment is" in det.problems[0].message
    fragment = P837[P837.index("GS*") :]
    det = detect(fragment)
    assert det.delimiters is not None and not det.delimiters.has_isa
    assert "no ISA interchange envelope" in det.problems[0].message
    assert ("ABK", "E119", "icd10cm") in codes(fragment)
    assert detect("ISA*00*").problems[0].message.startswith("ISA segment is incomplete")


def test_several_interchanges_and_transactions():
    body = P837[P837.index("ST*837") : P837.index("GE*")]
    two = P837.replace("GE*1*101~", body.replace("0001", "0002") + "GE*2*101~")
    doc = walk(two)
    assert len(doc.claims) == 6 and not doc.problems
    twice = P837 + P837.replace("000000101", "000000102")
    assert len(walk(twice).claims) == 6


def test_4010_claims_are_read():
    text = P837.replace("00501", "00401").replace("005010X222A1", "004010X098A1")
    doc = walk(text)
    assert doc.transaction_kinds == {"P"} and len(doc.claims) == 3


def test_claim_dates():
    doc = walk(P837)
    assert [c.id for c in doc.claims] == ["VALID01", "ERRORS01", "ICD9LATE"]
    assert str(doc.claims[0].date) == "2026-03-10"
    inst = walk((FIXTURES / "claims_837i.x12").read_text())
    (claim,) = inst.claims
    assert str(claim.statement_from) == "2024-04-20" and str(claim.admission) == "2024-04-20"
    assert claim.transaction == "I"


def test_cursor_and_claim_context():
    d = detect(P837).delimiters
    off = P837.index("ABK:E119") + 5
    cur = cursor_at(P837, d, ":", off)
    assert (cur.segment.id, cur.element, cur.component, cur.slot.text, cur.slot.expects) == ("HI", 1, 1, "E119", "icd10cm")
    cur = cursor_at(P837, d, ":", P837.index("ABK:E119") + 1)
    assert cur.slot is None and cur.qualifier_of.qualifier == "ABK"
    ctx = claim_around(P837, d, ":", off)
    assert ctx.claim.id == "VALID01" and ctx.diagnoses == [("ABK", "E119"), ("ABF", "I10"), ("ABF", "S72001A")]
    assert claim_around(P837, d, ":", 10) is None  # in the ISA


def test_outline_nesting():
    d = detect(P837).delimiters
    tree = outline(P837, d, ":")
    assert tree.cut_at is None and tree.claims_after == 0
    (interchange,) = tree.nodes
    provider = interchange.children[0].children[0].children[0]
    assert provider.name == "Billing provider: MEDCODE TEST CLINIC"
    subscriber = provider.children[0]
    assert subscriber.name == "Subscriber: DOE, JANE"
    claim = subscriber.children[0]
    assert (claim.name, claim.detail) == ("Claim VALID01", "$100.00")
    assert [(n.name, n.detail) for n in claim.children] == [("Line 1: J1100", "$50.00"), ("Line 2: 99213", "$50.00")]
    # Cut after 3 entries (interchange, group, transaction): every claim is left out and
    # counted, and the open envelopes reach past the cut to the end of the text.
    cut = outline(P837, d, ":", limit=3)
    assert cut.claims_after == P837.count("\nCLM*") == 3
    assert cut.cut_at == P837.index("HL*1")
    (interchange,) = cut.nodes
    assert interchange.end == len(P837.rstrip())
    # A cut after the first claim counts only the claims after it.
    first_claim = outline(P837, d, ":", limit=8)
    assert first_claim.claims_after == 2 and first_claim.cut_at < P837.index("CLM*ERRORS01")



def test_hl_levels_nested_without_end_give_a_shallow_outline():
    # Each HL naming the one before as its parent: 50,000 levels made the editor's symbols
    # (converted recursively) end in a RecursionError. Past a few levels HLs stop nesting.
    from medcode.server.lsp.symbols import to_symbols
    from medcode.server.positions import LineIndex

    levels = "".join(f"HL*{i}*{i - 1 if i > 1 else ''}*22*1~\n" for i in range(1, 50_001))
    text = "\n".join(P837.splitlines()[:3]) + "\n" + levels + "SE*50002*0001~\nGE*1*101~\nIEA*1*000000101~\n"
    tree = outline(text, detect(text).delimiters, ":")
    depth = lambda nodes: 1 + max((depth(n.children) for n in nodes), default=0) if nodes else 0
    assert depth(tree.nodes) <= 20  # interchange, group, transaction and a few HL levels
    symbols, _, _ = to_symbols(tree, LineIndex(text), len(text))
    assert symbols[0]["name"] == "Interchange 000000101"  # then "… more entries not shown"

def test_outline_reads_past_a_window(monkeypatch):
    """The outline walks the text window by window: a window boundary inside a segment or
    between claims changes nothing."""
    from medcode.server.x12 import outline as outline_module

    d = detect(P837).delimiters
    whole = outline(P837, d, ":")
    monkeypatch.setattr(outline_module, "WINDOW", 7)
    windowed = outline(P837, d, ":")
    assert windowed == whole


def flat(nodes) -> list[tuple]:
    return [(n.kind, n.name, n.detail, n.start, n.end, n.name_end, flat(n.children)) for n in nodes]


def test_claims_outline_one_entry_per_claim():
    """The short outline of files of many claims: the envelopes the full outline has, and
    each claim (id, charge) right under its transaction, ending before the next HL."""
    d = detect(P837).delimiters
    short = claims_outline(P837, d)
    assert (short.cut_at, short.claims_after, short.claims) == (None, 0, 3)
    (interchange,) = short.nodes
    (group,) = interchange.children
    (transaction,) = group.children
    full_interchange = outline(P837, d, ":").nodes[0]
    full_group = full_interchange.children[0]
    for mine, full in ((interchange, full_interchange), (group, full_group), (transaction, full_group.children[0])):
        assert (mine.name, mine.detail, mine.start, mine.end, mine.name_end) == (full.name, full.detail, full.start, full.end, full.name_end)
    claims = transaction.children
    assert [(c.kind, c.name, c.detail, c.children) for c in claims] == [
        ("claim", "Claim VALID01", "$100.00", []),
        ("claim", "Claim ERRORS01", "$200.00", []),
        ("claim", "Claim ICD9LATE", "$50.00", []),
    ]
    for claim, nxt in zip(claims, ("HL*3*", "HL*4*", "SE*")):
        assert P837[claim.start : claim.name_end] == "CLM"
        assert P837[claim.end :].startswith("~") and P837[claim.end :].lstrip("~\n").startswith(nxt)


def test_claims_outline_reads_windows_pieces_and_other_terminators(monkeypatch):
    from medcode.server.x12 import outline as outline_module

    d = detect(P837).delimiters
    whole = flat(claims_outline(P837, d).nodes)
    monkeypatch.setattr(outline_module, "WINDOW", 7)
    assert flat(claims_outline(P837, d).nodes) == whole
    # An open document's text, edited in pieces and never joined, reads the same as the string.
    pieces = EditedText(P837)
    at = P837.index("CLM*ERRORS01") + 4
    pieces.replace(at, at + 6, "E")
    pieces.replace(at, at + 1, "ERRORS")
    assert pieces._joined is None
    assert flat(claims_outline(pieces, d).nodes) == whole
    monkeypatch.undo()
    # Newline as the segment terminator.
    bare = P837.replace("~\n", "\n")
    nd = detect(bare).delimiters
    assert nd.segment == "\n"
    names = [(c.name, c.detail) for c in claims_outline(bare, nd).nodes[0].children[0].children[0].children]
    assert names == [("Claim VALID01", "$100.00"), ("Claim ERRORS01", "$200.00"), ("Claim ICD9LATE", "$50.00")]


def test_claims_outline_cut_and_missing_trailers():
    d = detect(P837).delimiters
    # Cut after 4 entries (the envelopes and the first claim): the other claims are counted.
    cut = claims_outline(P837, d, limit=4)
    assert (cut.cut_at, cut.claims_after, cut.claims) == (P837.index("CLM*ERRORS01"), 2, 3)
    (interchange,) = cut.nodes
    assert interchange.end == len(P837.rstrip()) - 1  # open at the cut: to the last segment's end
    assert [c.name for c in interchange.children[0].children[0].children] == ["Claim VALID01"]
    # A file cut short (no SE, GE, IEA): what is open reaches its last segment.
    short = P837[: P837.index("SE*")]
    (interchange,) = claims_outline(short, d).nodes
    transaction = interchange.children[0].children[0]
    last = transaction.children[-1]
    assert interchange.end == transaction.end == last.end == len(short.rstrip().rstrip("~"))
    # A second transaction after one left open: the first ends before the second's ST.
    st = P837.index("ST*")
    two = P837[: P837.index("SE*")] + P837[st : ]
    (interchange,) = claims_outline(two, d).nodes
    first, second = interchange.children[0].children
    assert first.end == len(P837[: P837.index("SE*")].rstrip().rstrip("~"))
    assert second.start == P837.index("SE*") and len(second.children) == 3


@pytest.mark.parametrize(
    "encoding, character",
    [(UTF16, 4), (UTF8, 6), (UTF32, 3)],
)
def test_positions_in_client_units(encoding, character):
    text = "ab\r\nx😀y\rz\nlast"
    index = LineIndex(text, encoding)
    assert index.starts == [0, 4, 8, 10]  # \r\n, \r and \n all end a line
    off = text.index("y") + 1
    assert index.position(off) == (1, character)
    assert index.offset(1, character) == off
    assert index.offset(9, 0) == len(text) and index.offset(0, 99) == 2


def test_x12_separators_that_python_treats_as_line_breaks():
    text = "ISA\x1d00\x1c" + "x" * 20 + "\nnext"
    index = LineIndex(text)
    assert len(index.starts) == 2  # \x1c and \x1d are not LSP line breaks


def test_line_index_follows_edits_in_place(monkeypatch):
    """Random edits (line breaks of every kind, non-BMP characters) against a fresh index,
    with tiny blocks so edits cross block boundaries."""
    import random

    from medcode.server import positions

    monkeypatch.setattr(positions, "BLOCK", 5)
    rng = random.Random(20261127)
    pieces = ["ab", "\n", "\r", "\r\n", "é", "😀", "~", "  "]
    for _ in range(500):
        index = LineIndex("".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))))
        for _ in range(rng.randint(1, 5)):
            n = len(index.text)
            a = rng.randint(0, n)
            b = rng.randint(a, min(n, a + 12))
            new = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
            expected = index.text[:a] + new + index.text[b:]
            assert index.edit(a, b, new) == expected
            fresh = LineIndex(expected)
            assert index.starts == fresh.starts
            assert all(index.position(o) == fresh.position(o) for o in range(0, len(expected) + 1, 2))


def test_terminators_counted_per_block_find_a_removed_one_where_text_was_removed():
    """Random edits apart (edits.disjoint) that insert no terminator: the blocks' starts move
    with them, and None comes back exactly when one was removed; the blocks then still count
    the edited text's terminators."""
    import random

    from medcode.server.x12.edits import disjoint
    from medcode.server.x12.outline import Terminators

    rnd = random.Random(28)
    caught = carried = 0
    for _ in range(3000):
        text = "".join(rnd.choice("ab~~\n") for _ in range(rnd.randrange(60)))
        blocks = Terminators.of(text, "~", size=rnd.choice([1, 4, 7, 100]))
        edited, steps = text, []
        for _ in range(rnd.randrange(1, 5)):
            a = rnd.randrange(len(edited) + 1)
            b = min(len(edited), a + rnd.choice([0, 1, 2, 9]))
            new = rnd.choice(["", "x", "yy\n"])
            edited = edited[:a] + new + edited[b:]
            steps.append((a, b, len(new)))
        starts = blocks.moved(edited, "~", disjoint(tuple(steps)))
        if edited.count("~") < text.count("~"):
            assert starts is None
            caught += 1
            continue
        assert starts is not None and starts[-1] == len(edited)
        assert [edited[i:j].count("~") for i, j in zip(starts, starts[1:])] == list(blocks.counts)
        carried += 1
    assert caught > 500 and carried > 500


def test_terminators_are_counted_again_only_in_the_blocks_text_was_removed_from(monkeypatch):
    from medcode.server.x12 import outline as outline_module
    from medcode.server.x12.outline import Terminators

    text = "ab~\n" * 1000
    blocks = Terminators.of(text, "~", size=100)
    counted = []
    real = outline_module.count_terminators
    monkeypatch.setattr(outline_module, "count_terminators", lambda t, term, lo, hi: counted.append(hi - lo) or real(t, term, lo, hi))
    edited = text[:1049] + "Z" + text[1050:2999] + text[3000:]  # a letter replaced, a line break removed
    edits = [(1049, 1050, 1), (2999, 3000, 0)]
    assert blocks.touched(edits) == 2
    starts = blocks.moved(edited, "~", edits)
    assert starts is not None and counted == [100, 99] and starts[-1] == len(edited)
    counted.clear()
    assert blocks.moved(text[:1050] + text[1051:], "~", [(1050, 1051, 0)]) is None  # "~" at 1050: removed
    assert counted == [99]


def _edited_variants() -> list[str]:
    """The fixture as it is, with CRLF line breaks, with blanks before terminators, with its
    claims in two transactions, and without line breaks."""
    at = P837.index("HL*", P837.index("CLM*", P837.index("CLM*") + 1))
    two = P837[:at] + "SE*21*0001~\nST*837*0002*005010X222A1~\nHL*50**20*1~\n" + P837[at:]
    return [P837, P837.replace("\n", "\r\n"), P837.replace("~", "  ~"), two, P837.replace("\n", "")]


# What random edits insert: characters, elements, whole segments and lines (the caller sends
# those with a terminator or line break to a full build; follow_edits must catch the rest).
_INSERTS = ["", "", "7", "7", "AB", "1.5", " ", "  ", "*", "*X*", ":", "~", "\n", "\r\n", "NTE*ADD*NOTE~\n", "CLM*NEW*5***11:B:1~\n", "HL*9*1*22*0~\n", "SE*1*0001~\n", "CLM", "HL"]


def _random_edits(rnd, text: str, count: int) -> tuple[str, list[tuple[int, int, int]]]:
    """count edits in sequence (each in the coordinates the last left), anywhere in the text:
    in the envelope, across segments and claims; and the text they leave."""
    edits = []
    for _ in range(count):
        if rnd.random() < 0.5:  # near a segment's start or end, where ids and ends are
            near = rnd.choice([m.start() for m in re.finditer("[~\n]", text)] or [0])
            a = max(0, min(len(text), near + rnd.randrange(-3, 5)))
        else:
            a = rnd.randrange(len(text) + 1)
        b = min(len(text), a + rnd.choice([0, 0, 0, 1, 1, 1, 2, 5, 30]))
        new = rnd.choice(_INSERTS)
        text = text[:a] + new + text[b:]
        edits.append((a, b, len(new)))
    return text, edits


def test_claims_outline_follows_edits_in_one_segment_and_at_a_segments_end():
    """Two edits in one CLM (its id and its charge) and one at the end of another claim's last
    segment, after the blanks before its terminator: the claim is renamed, and the other ends
    where its segment's content now ends (not moved by the edit's length, nor left behind)."""
    from medcode.server.x12.edits import disjoint
    from medcode.server.x12.outline import follow_edits

    text = P837.replace("~", "  ~")
    d = detect(text).delimiters
    tree = claims_outline(text, d)
    first, second = list(_claims(tree.nodes))[:2]
    second_end = second.end
    assert text[first.start : first.start + 19] == "CLM*VALID01*100.00*" and text[second.end : second.end + 3] == "  ~"
    edited, steps = text, []
    for at, new in ((second.end + 1, "Z"), (first.start + 12, "9"), (first.start + 4, "X")):  # the last first: offsets hold
        edited = edited[:at] + new + edited[at:]
        steps.append((at, new))
    edits = disjoint(tuple((at, at, len(new)) for at, new in steps))
    moved = follow_edits(tree, edited, d, edits)
    fresh = claims_outline(edited, d)
    assert flat(tree.nodes) == flat(fresh.nodes)
    assert first in moved and second in moved and (first.name, first.detail) == ("Claim XVALID01", "$9100.00")
    assert second.end == second_end + 2 + 2  # the two characters in the CLM, then " Z"


def _claims(nodes):
    for n in nodes:
        if n.kind == "claim":
            yield n
        yield from _claims(n.children)


def test_claims_outline_follows_edits_apart():
    """Random sequences of edits, anywhere: where the caller (symbols.py) would carry the
    outline (no terminator or line break added, none removed), the outline carried over them
    (follow_edits, over edits.disjoint) is the outline of the edited text, or it asks to be
    built again."""
    import random

    from medcode.server.x12.edits import disjoint
    from medcode.server.x12.outline import count_terminators, follow_edits

    rnd = random.Random(14)
    followed = rebuilt = 0
    for text in _edited_variants():
        d = detect(text).delimiters
        for limit in (5, 8, 1000):  # cut after the second claim, in the third, not at all
            for _ in range(250):
                tree = claims_outline(text, d, limit=limit)
                edited, steps = _random_edits(rnd, text, rnd.choice([1, 1, 2, 3, 5]))
                edits = disjoint(tuple(steps))
                fresh = claims_outline(edited, d, limit=limit)
                held = "".join(edited[a : a + n] for a, _, n in edits)
                kept_apart = not any(c in held for c in "~\r\n") and count_terminators(edited, "~") == count_terminators(text, "~")
                kept_apart = kept_apart and LineIndex(edited).line_count == LineIndex(text).line_count
                if not kept_apart or detect(edited).delimiters != d:
                    continue
                moved = follow_edits(tree, edited, d, edits)
                if moved is None:
                    rebuilt += 1
                else:
                    followed += 1
                    assert flat(tree.nodes) == flat(fresh.nodes), (steps, edits)
                    assert (tree.cut_at, tree.claims_after, tree.claims) == (fresh.cut_at, fresh.claims_after, fresh.claims)
    assert followed > 300 and rebuilt > 100, (followed, rebuilt)


@pytest.mark.parametrize(
    "pointers, handed",
    [
        ("1:2", []),  # within the claim's 3 diagnoses: judged in bulk, nothing handed on
        ("3", []),
        ("1::2", []),  # an empty component is no pointer
        ("1:4", ["1", "4"]),  # past the diagnoses: the segment's pointers go to the rules
        ("0", ["0"]),
        ("A:1", ["A", "1"]),
        ("13", ["13"]),  # past the 12 an HI can hold
        ("\u0663", ["\u0663"]),  # a non-ASCII decimal digit (3): int() reads it, but no X12 file means it
        ("\u00b2", ["\u00b2"]),  # a superscript 2 is a digit to isdigit() but no number to int()
    ],
)
def test_pointers_are_handed_to_the_rules_only_when_one_is_wrong(pointers, handed):
    # The walk judges each distinct pointer element once (x12/document.py _highest): the
    # pointers it hands on must be exactly those of the elements with a pointer out of range.
    text = P837.replace("SV1*HC:J1100:RT*50.00*UN*1***1:2", f"SV1*HC:J1100:RT*50.00*UN*1***{pointers}")
    found: list[str] = []
    walk(text, lambda claim, groups: found.extend(t[1] for _, ts in groups for t in ts if t[0] == "pointer" and claim.id == "VALID01"))
    assert found == handed
