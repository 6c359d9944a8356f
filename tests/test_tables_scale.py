"""What large price files rely on: findings placed in one pass per line (a minified JSON file
is one line), CSV lines handed to the csv reader one at a time, and CSV slots kept as columns
(SlotTable) that read back as the very Slots a list would hold."""

from __future__ import annotations

import csv
import random
import re

import pytest

from medcode.server.lsp.hover import slot_at
from medcode.server.positions import UTF8, UTF16, UTF32, LineIndex
from medcode.server.tables import csv_cells, hpt_csv
from medcode.server.tables.slot_table import SlotTable
from medcode.server.x12.slots import Slot


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_positions_in_one_pass_equal_position_one_by_one(encoding):
    rng = random.Random(14)
    pieces = ["a", "\n", "\r", "\r\n", "é", "😀", "x y", "\x0c"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60)))
        index = LineIndex(text, encoding)
        offsets = [rng.randrange(-2, len(text) + 3) for _ in range(12)]
        at = index.positions(offsets)
        assert set(at) == set(offsets)
        for offset in offsets:
            assert at[offset] == index.position(offset), (text, offset)


def test_rows_tile_the_text_when_the_csv_reader_refuses_fields(monkeypatch):
    """Rows read past a csv.Error (a field over the limit) start on the right line."""
    rng = random.Random(3)
    pieces = ["a", "bb", ",", '"', "\r", "\n", "\r\n", "x" * 30, "\ufeff"]
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(20)
        for _ in range(1500):
            text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
            base = 1 if text.startswith(csv_cells.BOM) else 0
            previous_end = base
            for row in csv_cells.iter_rows(text, ","):
                assert row.start >= previous_end
                assert row.line == len(re.findall(r"\r\n|\r|\n", text[base : row.start])), text
                previous_end = row.end
    finally:
        csv.field_size_limit(limit)


def _slots() -> list[Slot]:
    return [
        Slot("99213", 10, "cpt", "code|1", "CPT", 17, False, None, "code|1, type CPT"),
        Slot("0450", 30, "revenue", "code|2", "RC", 36, False, None, "code|2, type RC"),
        Slot("99213", 50, "cpt", "code|1", "CPT", 57, False, None, "code|1, type CPT"),
        Slot("J1100", 90, None, "code|1", None, None, False, None, "code|1, no type"),
    ]


def test_slot_table_reads_back_the_slots_added():
    table = SlotTable()
    for s in _slots():
        table.add(s.text, s.start, s.expects, s.place, s.qualifier, s.qual_start, s.label)  # type: ignore[arg-type]
    assert list(table) == _slots() and table == _slots()
    assert len(table) == 4 and table[-1] == _slots()[-1] and table[1:3] == _slots()[1:3]
    assert repr(table) == "SlotTable(4 slots, 3 distinct)"
    with pytest.raises(IndexError):
        table[4]
    # Hover finds its slot by bisecting on the start, as in a list.
    assert slot_at(table, 52) == _slots()[2] and slot_at(table, 40) is None


def test_a_tall_file_keeps_one_entry_per_distinct_code_and_type():
    header = (
        "hospital_name,last_updated_on,version\r\nH,2026-01-01,3.0.0\r\n"
        "description,code|1,code|1|type,setting,payer_name,plan_name\r\n"
    )
    rows = [f"Visit,99213,CPT,outpatient,P{i},Q\r\n" for i in range(50)] + ['"Drug, 1 mg", J1100 ,HCPCS,both,P,Q\r\n']
    text = header + "".join(rows)
    reading = hpt_csv.read(text)
    assert reading is not None and isinstance(reading.slots, SlotTable)
    assert len(reading.slots) == 51 and "2 distinct" in repr(reading.slots)
    last = reading.slots[-1]
    assert (last.text, text[last.start : last.end], last.qualifier, text[last.qual_start : last.qual_start + 5]) == ("J1100", "J1100", "HCPCS", "HCPCS")
    assert [text[s.start : s.end] for s in reading.slots[:50]] == ["99213"] * 50


def test_rules_judge_each_distinct_code_once_with_the_findings_of_slot_by_slot(default_store):
    """DocumentRules on a SlotTable (each combination judged once, its findings placed at every
    slot) gives what it gives for the same slots as a list, judged one by one, in the same
    order: findings, no-data counts and their first places."""
    import dataclasses
    import datetime as dt

    from medcode.server.document_rules import DocumentRules
    from medcode.server.verdicts import Verdicts

    rng = random.Random(14)
    header = "hospital_name,last_updated_on,version\nH,2026-04-01,3.0.0\ndescription,code|1,code|1|type,code|2,code|2|type,payer_name,plan_name\n"
    codes = [("99213", "CPT"), ("J1040", "HCPCS"), ("J1040", "CPT"), ("E11.9", "ICD"), ("E119", "ICD"), ("0270", "RC"),
             ("470", "MS-DRG"), ("0002-8215-01", "NDC"), ("ZZZZZ", "HCPCS"), ("12345", "BOGUS"), ("A0000", "HCPCS")]
    for _ in range(20):
        rows = []
        for _ in range(rng.randint(1, 40)):
            (c1, t1), (c2, t2) = rng.choice(codes), rng.choice(codes)
            rows.append(f"item,{c1},{t1},{c2},{t2},P,Q")
        text = header + "\n".join(rows) + "\n"
        reading = hpt_csv.read(text)
        assert isinstance(reading.slots, SlotTable)
        table = DocumentRules(Verdicts(default_store), dt.date(2026, 5, 1)).check(reading, text)
        one_by_one = DocumentRules(Verdicts(default_store), dt.date(2026, 5, 1)).check(dataclasses.replace(reading, slots=list(reading.slots)), text)
        assert table.findings == one_by_one.findings
        assert table.no_data == one_by_one.no_data
        assert table.findings or table.no_data


def _crafted_price_csv(rng: random.Random, rows: int) -> str:
    """A tall v3 CSV with findings at many slots, quoted cells (commas, doubled quotes, a line
    break inside), CRLF and LF line ends, non-ASCII text before and between the codes."""
    header = (
        "hospital_name,last_updated_on,version\r\n\"Hôpital Général, Nord\",2026-04-01,3.0.0\r\n"
        "description,code|1,code|1|type,code|2,code|2|type,setting,payer_name,plan_name\r\n"
    )
    descriptions = ["Visit", '"Drug, 1 mg"', '"Gel ""forte"" 5%"', '"two\r\nlines"', '"Ünïcødé 😀, café"', "naïve"]
    codes = [("99213", "CPT"), ("J1040", "HCPCS"), ("J1040", "CPT"), ("E11.9", "ICD"), ("E119", "ICD"), ("0270", "RC"),
             ("470", "MS-DRG"), ("ZZZZZ", "HCPCS"), ("12345", "BOGUS"), (" A0000 ", "HCPCS"), ('"99214"', '"CPT"'),
             ("99213", ""), ("", "CPT"), ("é1", "CPT")]
    out = [header]
    for i in range(rows):
        (c1, t1), (c2, t2) = rng.choice(codes), rng.choice(codes)
        end = rng.choice(["\r\n", "\n"])
        out.append(f"{rng.choice(descriptions)},{c1},{t1},{c2},{t2},outpatient,\"Payer {i % 3}\",Plan{end}")
    return "".join(out)


def test_four_byte_slot_columns_give_the_findings_and_slots_of_eight_byte_ones(default_store, monkeypatch):
    """A document under 2 GB keeps its slot offsets in 4-byte columns: the same slots and the
    same findings as the 8-byte columns larger documents get."""
    from medcode.server.analysis import DocumentChecker
    from medcode.server.tables import slot_table
    from medcode.server.verdicts import Verdicts

    rng = random.Random(29)
    for n in (1, 7, 400):
        text = _crafted_price_csv(rng, n)
        compact = DocumentChecker(Verdicts(default_store)).check(text, name="h_standardcharges.csv")
        assert isinstance(compact.reading.slots, SlotTable) and compact.reading.slots._starts.itemsize == 4
        with monkeypatch.context() as m:
            m.setattr(slot_table, "_SMALL", 0)
            wide = DocumentChecker(Verdicts(default_store)).check(text, name="h_standardcharges.csv")
        assert wide.reading.slots._starts.itemsize == 8
        assert list(compact.reading.slots) == list(wide.reading.slots)
        assert compact.findings == wide.findings
        if n == 400:
            assert len(compact.findings) > 100 and any(s.qual_start is None for s in compact.reading.slots)
            assert any(ord(c) > 127 for s in compact.reading.slots for c in text[s.start - 3 : s.start])


def test_slot_table_offsets_past_two_gigabytes_take_eight_bytes():
    big = 3 << 30
    table = SlotTable(size=big + 100)
    table.add("99213", big, "cpt", "code|1", "CPT", big + 6, "code|1, type CPT")
    table.add("J1100", big + 50, None, "code|1", None, None, "code|1, no type")
    assert (table[0].start, table[0].qual_start, table[1].start, table[1].qual_start) == (big, big + 6, big + 50, None)
    with pytest.raises(OverflowError):
        SlotTable(size=100).add("99213", big, "cpt", "code|1", "CPT", big + 6, "code|1, type CPT")
