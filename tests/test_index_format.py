"""The on-disk index: round trips, search order, atomic replacement, refusal of damaged files."""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from array import array
from itertools import accumulate

import pytest

from medcode.index_builder import layout, stamps, writer
from medcode.index_builder.model import CODE, HEADER, MODIFIER, CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexCorrupt, IndexStore, Release
from medcode.index_builder.writer import IndexWriteError, _write_zpostings, write_release


def result(records, *, set_id="icd10cm", release="R1", start=None, end=None, complete=True, aux=None) -> ImportResult:
    return ImportResult(
        set_id=set_id,
        release=release,
        title=f"test {release}",
        effective_from=start,
        effective_to=end,
        source=Source("file", "fixture"),
        records=records,
        complete=complete,
        aux=aux or {},
    )


RECORDS = [
    CodeRecord("E11", "Type 2 diabetes mellitus", kind=HEADER),
    CodeRecord("E119", "Type 2 diabetes mellitus without complications", parent="E11"),
    CodeRecord("E1110", "Type 2 diabetes mellitus with ketoacidosis without coma", parent="E111"),
    CodeRecord("E111", "Type 2 diabetes mellitus with ketoacidosis", kind=HEADER, parent="E11"),
    CodeRecord("E1065", "Type 1 diabetes mellitus with hyperglycemia"),
    CodeRecord("Z794", "Long term (current) use of insulin", terms=["insulin use NOS"]),
    CodeRecord("X0001", "Old diabetic thing", terminated="2019-12-31"),
    CodeRecord("GA", "Waiver of liability statement issued", kind=MODIFIER),
]


def test_records_round_trip_with_every_field(build_release):
    rec = CodeRecord(
        "A1234", "Long", kind=CODE, short="Short", parent="A12", added="2001-01-01", effective="2002-02-02",
        terminated="2030-03-03", action="N", notes={"excludes1": ["x"]}, detail={"pricing": ["51"]},
    )
    rel = build_release(result([rec], end=dt.date(2029, 12, 31)))
    assert rel.get("A1234") == rec
    # An end date after the release's period is scheduled, not past: no 'terminated' flag.
    assert rel.flags("A1234") == layout.FLAG_CODE
    ended = build_release(result([rec], release="R3", end=dt.date(2031, 1, 1)))
    assert ended.flags("A1234") == layout.FLAG_CODE | layout.FLAG_TERMINATED
    # Search terms find the record but are not stored with it.
    with_terms = build_release(result([CodeRecord("A1", "x", terms=["zebra"])], release="R2"))
    assert with_terms.search("zebra")[0].record == CodeRecord("A1", "x")
    assert rel.get("nope") is None and "nope" not in rel


def test_prefix_listing_is_sorted_and_counts_flags(build_release):
    rel = build_release(result(RECORDS))
    assert list(rel.keys("E1")) == ["E1065", "E11", "E111", "E1110", "E119"]
    assert rel.count("E11", layout.FLAG_CODE) == 2
    assert [r.code for r in rel.records("E11", limit=10, flag_mask=layout.FLAG_HEADER)] == ["E11", "E111"]
    assert rel.manifest.counts == {"records": 8, CODE: 5, HEADER: 2, MODIFIER: 1, "terminated": 1}


def test_search_needs_every_word_and_ranks_whole_words_first(build_release):
    rel = build_release(result(RECORDS))
    codes = lambda q: [h.record.code for h in rel.search(q)]  # noqa: E731
    assert codes("diabetes ketoacidosis") == ["E1110", "E111"]  # billable before its header
    assert codes("ketoacidosis zebra") == []
    assert codes("diab keto") == ["E1110", "E111"]  # word beginnings from two characters
    assert codes("type 1") == ["E1065"]  # numbers match whole words only
    assert codes("insulin")[0] == "Z794"  # extra terms are searchable
    # Terminated codes come last among equals.
    assert codes("diabetic") == ["X0001"]
    assert codes("diabet")[-1] == "X0001"
    assert rel.search("") == []


def test_aux_store_round_trip(build_release):
    rel = build_release(result(RECORDS[:1], aux={"tables": {"0DT": {"rows": [1, 2]}}}))
    assert rel.aux("tables", "0DT") == {"rows": [1, 2]}
    assert rel.aux("tables", "XXX") is None
    assert rel.aux("other", "0DT") is None


def test_rewriting_a_release_replaces_it_atomically(tmp_path):
    root = tmp_path / "idx"
    write_release(root, result(RECORDS[:2]))
    write_release(root, result(RECORDS[:3]))
    assert len(Release(root / "icd10cm" / "R1")) == 3
    assert sorted(os.listdir(root / "icd10cm")) == ["R1"]


def test_a_failed_build_leaves_the_old_index_in_place(tmp_path):
    root = tmp_path / "idx"
    write_release(root, result(RECORDS[:2]))

    def broken():
        yield RECORDS[0]
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        write_release(root, result(broken()))
    assert len(Release(root / "icd10cm" / "R1")) == 2
    assert sorted(os.listdir(root / "icd10cm")) == ["R1"]


def test_bad_labels_and_empty_sources_are_refused(tmp_path):
    with pytest.raises(IndexWriteError, match="folder name"):
        write_release(tmp_path, result(RECORDS, release="../evil"))
    with pytest.raises(IndexWriteError, match="no icd10cm codes"):
        write_release(tmp_path, result([]))


def test_repeated_codes_keep_the_first_and_warn(build_release):
    rel = build_release(result([CodeRecord("A01", "first"), CodeRecord("A01", "second")]))
    assert rel.get("A01").description == "first"
    assert any("1 repeated code" in w for w in rel.manifest.warnings)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / layout.RECORDS_BIN).write_bytes(b"x"), "records.bin has 1 bytes"),
        (lambda d: (d / layout.CODES).unlink(), "codes.marisa is missing"),
        (lambda d: (d / layout.MANIFEST).write_text("{not json"), "manifest.json is unreadable"),
        (lambda d: (d / layout.MANIFEST).unlink(), "manifest.json is missing"),
    ],
)
def test_damaged_indexes_are_refused_naming_the_file(tmp_path, damage, message):
    root = tmp_path / "idx"
    folder = write_release(root, result(RECORDS))
    damage(folder)
    with pytest.raises(IndexCorrupt, match=message):
        Release(folder)


def test_same_size_garbage_in_a_trie_is_refused(tmp_path):
    """Written after the build, its checksum refuses it (stamps.py); changed with no write the
    open can see (bit rot: its stamp renewed over it), the trie's header still does."""
    folder = write_release(tmp_path, result(RECORDS))
    path = folder / layout.CODES
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexCorrupt, match=r"codes.marisa is damaged \(it does not match its checksum"):
        Release(folder)
    stamps.record(folder, [layout.CODES])
    with pytest.raises(IndexCorrupt, match="codes.marisa is not a readable marisa trie"):
        Release(folder)


def test_verify_finds_a_flipped_byte(tmp_path):
    folder = write_release(tmp_path, result(RECORDS))
    rel = Release(folder)
    assert rel.verify() == []
    path = folder / layout.RECORDS_BIN
    data = bytearray(path.read_bytes())
    data[5] ^= 0x20
    path.write_bytes(bytes(data))
    assert rel.verify() == [f"{path} does not match its checksum"]


def test_store_keeps_working_around_a_damaged_release(tmp_path):
    write_release(tmp_path, result(RECORDS, release="good"))
    bad = write_release(tmp_path, result(RECORDS, release="bad"))
    (bad / layout.FLAGS).unlink()
    store = IndexStore(tmp_path)
    assert [r.label for r in store.releases("icd10cm")] == ["good"]
    assert len(store.problems) == 1
    # The command that rebuilds it, from its manifest: the file it was imported from.
    assert "flags.bin is missing" in store.problems[0] and "`medcode index import icd10cm fixture --release bad`" in store.problems[0]


def test_release_for_a_date(tmp_path):
    d = dt.date
    write_release(tmp_path, result(RECORDS, release="FY2025", start=d(2024, 10, 1), end=d(2025, 9, 30)))
    write_release(tmp_path, result(RECORDS, release="FY2026", start=d(2025, 10, 1), end=d(2026, 9, 30)))
    write_release(tmp_path, result(RECORDS, release="FY2026-Apr", start=d(2026, 4, 1), end=d(2026, 9, 30)))
    store = IndexStore(tmp_path)

    def pick(day):
        rel, in_force = store.release_for("icd10cm", day)
        return rel.label, in_force

    assert pick(d(2025, 1, 1)) == ("FY2025", True)
    assert pick(d(2025, 11, 1)) == ("FY2026", True)
    assert pick(d(2026, 5, 1)) == ("FY2026-Apr", True)  # the mid-year update wins while in force
    assert pick(d(2027, 1, 1)) == ("FY2026-Apr", False)  # nothing in force: nearest older answers
    assert pick(d(2020, 1, 1)) == ("FY2025", False)  # before everything: the oldest answers
    assert store.release_for("hcpcs", d(2026, 1, 1)) is None


# -- compact releases (zlib blocks; the NDC directory) -----------------------------------------
def compact_result(n: int = 100, **kw) -> ImportResult:
    """More records than one zlib block holds, so look-ups cross blocks."""
    records = RECORDS + [CodeRecord(f"N{i:04d}", f"Package {i} of product {i // 3} tablet", detail={"product": f"{i // 3:05x}"}) for i in range(n)]
    products = {f"{p:05x}": ["id", f"product {p}"] for p in range(n // 3 + 1)}
    out = result(records, aux={"products": products}, **kw)
    out.compact = True
    return out


def test_a_compact_release_answers_as_a_plain_one(tmp_path):
    plain = Release(write_release(tmp_path / "plain", result(compact_result().records, aux=compact_result().aux)))
    compact = Release(write_release(tmp_path / "compact", compact_result()))
    files = set(compact.manifest.files)
    assert {layout.RECORDS_ZBIN, layout.POSTINGS_ZBIN, "aux-products.zbin"} <= files
    assert not files & {layout.RECORDS_BIN, layout.POSTINGS_BIN, "aux-products.bin"}
    assert len(compact) == len(plain) == len(RECORDS) + 100
    for key in plain.keys():
        assert compact.get(key) == plain.get(key), key
        assert compact.flags(key) == plain.flags(key)
    for query in ("diabetes ketoacidosis", "package", "tablet 7", "product 33", "diab keto", "zebra"):
        assert compact.search(query, limit=500) == plain.search(query, limit=500), query
    assert [r.code for r in compact.records("N00", limit=5)] == [r.code for r in plain.records("N00", limit=5)]
    for key in ("00000", "00021", "00033", "zzzzz"):
        assert compact.aux("products", key) == plain.aux("products", key)
    assert compact.verify() == []


@pytest.mark.parametrize("name", [layout.RECORDS_ZBIN, layout.POSTINGS_ZBIN])
def test_a_damaged_compact_release_names_the_file(tmp_path, name):
    folder = write_release(tmp_path, compact_result())
    path = folder / name
    data = bytearray(path.read_bytes())
    for i in range(3, len(data), 7):  # same size: only reading finds it ...
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    stamps.record(folder, [name])  # ... when no write was seen (bit rot): else its checksum, at open
    rel = Release(folder)
    with pytest.raises(IndexCorrupt, match=f"{path} is damaged"):
        for key in list(rel.keys()):
            rel.get(key)
        rel.search("package tablet")
        rel.search("diabetes")


def grouped_records(n: int = 400) -> list[CodeRecord]:
    """Packages of products, as the NDC importer makes them: the product's summary, brand and
    labeler shared by its packages (CodeRecord.group), the package text their own. More than
    256 records, so short postings lists hold two-byte deltas."""
    out = [
        CodeRecord(
            f"P{i:04d}", f"Brand{i // 3} {i // 3 % 5} mg tablet — {i % 3 + 1} BOTTLE in 1 CARTON pkg{i}",
            short=f"Brand{i // 3}", terms=[f"Labeler{i // 3 % 7}"], detail={"product": f"{i // 3:05x}"},
            group=f"{i // 3:05x}",
        )
        for i in range(n)
    ]
    # Same group key, other words: indexed on its own, not through the group.
    out.append(CodeRecord("P9999", "Otherbrand tablet — 1 TUBE pkg9999", short="Otherbrand", group="00000"))
    out.append(CodeRecord("Q0001", "No product tablet"))  # no group
    return out


def test_a_grouped_compact_release_finds_what_a_plain_one_finds(tmp_path):
    """Product words are listed once per product (groups.bin maps it to its packages), yet
    every word finds the same records as in a plain release, which lists them per record."""
    records = grouped_records()
    plain = Release(write_release(tmp_path / "plain", result(records)))
    grouped_result = result(records)
    grouped_result.compact = True
    grouped = Release(write_release(tmp_path / "grouped", grouped_result))
    assert layout.GROUPS_BIN in grouped.manifest.files
    words, _ = grouped._words
    assert set(words.keys()) == set(plain._words[0].keys())
    for word, wid in words.iteritems():
        assert sorted(grouped._postings(wid)) == list(plain._postings(plain._words[0][word])), word
    # A package is found by its product's words (brand, labeler) with its own (pkg17, bottle).
    for query in ("brand5", "labeler3 pkg17", "brand77 bottle", "tablet", "otherbrand", "brand0 tube", "no product", "mg 3"):
        assert grouped.search(query, limit=500) == plain.search(query, limit=500), query
    assert [h.record.code for h in grouped.search("labeler5 pkg17")] == ["P0017"]
    assert {h.record.code for h in grouped.search("brand0", limit=10)} == {"P0000", "P0001", "P0002"}
    assert [h.record.code for h in grouped.search("brand0 tube")] == []  # P9999 is not Brand0's
    assert [h.record.code for h in grouped.search("otherbrand tube")] == ["P9999"]
    # The point: a product word is stored once for the product, not once per package.
    labeler3 = _stored_ids(grouped, "labeler3")  # products 3, 10, … 129: 19 groups, 57 packages
    assert len(labeler3) == 19 and min(labeler3) >= len(grouped._codes)
    assert len(plain._postings(plain._words[0]["labeler3"])) == 57
    assert len(_stored_ids(grouped, "tablet")) < len(_stored_ids(plain, "tablet"))


def test_group_words_join_short_and_terms_as_each_alone(tmp_path):
    """A group's short and terms are cut into words as one text (writer._Groups): the same
    words as cutting each alone, with accents, punctuation, blanks and several terms."""
    records = []
    for i in range(60):
        g = i // 4
        short = [None, "", "Ménière-Aid", f"Brand{g}"][g % 4]
        terms = [[], [""], [f"Acme Labs {g}", "Zoë/Co."], ["Æsir, Inc.", f"brand{g}", "x-1"]][g % 4]
        records.append(
            CodeRecord(f"G{i:04d}", f"Prod{g} 5 mg — {i} VIAL (ref-{i})", short=short, terms=terms, group=f"{g:05x}")
        )
    plain = Release(write_release(tmp_path / "plain", result(records)))
    grouped_result = result(records)
    grouped_result.compact = True
    grouped = Release(write_release(tmp_path / "grouped", grouped_result))
    words, _ = grouped._words
    assert {"meniere", "aid", "zoe", "co", "sir", "acme", "labs"} <= set(words.keys())
    assert set(words.keys()) == set(plain._words[0].keys())
    for word, wid in words.iteritems():
        assert sorted(grouped._postings(wid)) == list(plain._postings(plain._words[0][word])), word
    assert min(_stored_ids(grouped, "zoe")) >= len(grouped._codes)  # listed for its groups


def test_grouped_records_sets_are_made_as_read_with_the_ranks_of_records_not_all_grouped():
    """Every record grouped (the NDC directory): _Groups.assign gives the records' word sets
    as an iterator, each made as _postings reads it (a quarter of a million held at once
    took 45,000 page faults), and the ranks fill as it is read; the sets and ranks are those
    of the same records beside one that is not grouped (assign's list path)."""
    records = grouped_records(60)[:60]  # all grouped, none alone
    alone = CodeRecord("Q0001", "No product tablet")
    texts, mixed = writer._Texts.of(records), writer._Texts.of([*records, alone])
    vocabs, ranks = writer._Groups(len(records), texts).assign(texts)
    assert not isinstance(vocabs, list) and ranks == []
    read = [set(v) for v in vocabs]
    mixed_vocabs, mixed_ranks = writer._Groups(len(records) + 1, mixed).assign(mixed)
    assert read == [set(v) for v in mixed_vocabs[:60]] and ranks == mixed_ranks[:60]
    # "Brand0 0 mg tablet — 1 BOTTLE in 1 CARTON pkg0": its own words beyond its group's; its
    # rank counts the words of both parts.
    assert read[0] == {"1", "bottle", "in", "carton", "pkg0"} and ranks[0] == 4 + 6
    first = writer._Groups(len(records), texts)
    assert dict(writer._postings(first.assign(texts)[0])) == dict(writer._postings(read))


def test_texts_reach_the_helper_whole_with_shared_objects_sent_once():
    """The word index's helper gets the records' texts as one marshal message
    (writer._Texts.message): every column comes back equal, and what neighbouring records
    share (an NDC product's brand, terms list and group key) is sent once and shared again
    on arrival."""
    import marshal

    records = []
    for p in range(10):  # as the NDC importer makes them: one product's objects on its packages
        brand, terms, key = f"Brand{p}", [f"Labeler{p % 3}"], f"{p:05x}"
        records += [CodeRecord(f"P{p}{k}", f"Brand{p} — pkg {k}", short=brand, terms=terms, group=key) for k in range(3)]
    records += [CodeRecord("Q0001", "Alone", terms=[]), CodeRecord("Q0002", "Alone too", terms=[])]
    texts = writer._Texts.of(records)
    message = texts.message()
    back = writer._Texts.of_message(marshal.loads(marshal.dumps(message, 2)))
    for name in ("descriptions", "shorts", "terms", "groups"):
        assert getattr(back, name) == getattr(texts, name), name
    assert len(message[2][0]) == 12  # each distinct terms list once: ten products', two alone
    assert back.terms[0] is back.terms[1] is back.terms[2] and back.terms[2] is not back.terms[3]
    assert back.terms[-1] is not back.terms[-2]  # equal lists of their own stay apart
    assert back.shorts[3] is back.shorts[5] and back.groups[4] is back.groups[5]
    # An object that comes back after another is sent again, and arrives equal.
    again = writer._Texts.of([*records[:3], records[3], records[0], CodeRecord("Z", "Last")])
    back = writer._Texts.of_message(marshal.loads(marshal.dumps(again.message(), 2)))
    for name in ("descriptions", "shorts", "terms", "groups"):
        assert getattr(back, name) == getattr(again, name), name
    assert back.terms[0] is back.terms[2] and back.terms[4] == back.terms[0] and back.groups[5] is None
    empty = writer._Texts([], [], [], [])
    assert writer._Texts.of_message(marshal.loads(marshal.dumps(empty.message(), 2))) == empty


def test_postings_encoded_by_two_processes_are_the_same_bytes(tmp_path):
    """The word index's helper shares the postings' encoding with a forked process (Linux):
    the files are byte for byte those one process writes, and its part files are gone."""
    lists = [array(layout.OFFSET_TYPE, ids) for ids in (
        [3], [1, 2, 300], list(range(0, 9000, 7)), [5, 70000, 70001], list(range(100, 400)), [0, 2**31],
        *([k, k + 1] for k in range(50)), list(range(0, 5000, 3)),
    )]  # fmt: skip
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    _write_zpostings(one / "p.zidx", one / "p.zbin", lists)
    _write_zpostings(two / "p.zidx", two / "p.zbin", lists, writer._start_postings_helper())
    assert sorted(os.listdir(two)) == ["p.zbin", "p.zidx"]
    for name in ("p.zidx", "p.zbin"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name



def test_a_blob_with_a_part_written_elsewhere_has_both_parts_offsets(tmp_path):
    """_write_blob_offsets appends the postings helper's part (its bytes and offsets from 0)
    after this process's documents, its offsets moved on; the 4 GiB limit counts both parts."""
    idx, blob = tmp_path / "b.idx", tmp_path / "b.bin"
    writer._write_blob_offsets(idx, blob, [b"ab", b"", b"cde"], [7], (b"xyzw", array(layout.OFFSET_TYPE, [0, 1, 4])))
    assert blob.read_bytes() == b"abcdexyzw"
    assert list(array(layout.OFFSET_TYPE, idx.read_bytes())) == [7, 0, 2, 2, 5, 6, 9]
    with pytest.raises(IndexWriteError, match="too large"):
        writer._write_blob_offsets(idx, blob, [b"ab"], [], (b"", array(layout.OFFSET_TYPE, [0, 2**32 - 2])))

@pytest.mark.parametrize("fork", [False, True])
@pytest.mark.parametrize("compact", [False, True])
def test_work_left_to_the_writer_is_done_once_before_the_documents(tmp_path, fork, compact):
    """ImportResult.finish (the NDC products' documents): the writer runs it once, after its
    word index helper forked and before it writes documents, side stores and the manifest."""
    records = grouped_records(40)
    res = result(records, set_id="ndc", aux={"products": {}})
    res.compact = compact
    res.warnings = ["first"]
    calls = []

    def finish():
        calls.append(1)
        res.aux["products"] = {"00001": ["Brand1", None, 5]}
        records[3].detail = {"product": "00001", "late": True}
        records[4].effective = "2020-01-02"
        res.warnings = ["first", "from finish"]

    res.finish = finish
    rel = Release(write_release(tmp_path, res, fork=fork))
    assert calls == [1] and res.finish is None
    assert rel.aux("products", "00001") == ["Brand1", None, 5]
    assert rel.get(records[3].code).detail == {"product": "00001", "late": True}
    assert rel.get(records[4].code).effective == "2020-01-02"
    assert rel.manifest.warnings == ["first", "from finish"]
    assert [h.record.code for h in rel.search("labeler5 pkg17")] == ["P0017"]


def _stored_ids(rel: Release, word: str) -> list[int]:
    """The ids a word's postings entry holds, groups not yet mapped to their records."""
    raw = rel._words[1].get(rel._words[0][word])
    if not rel._compact_postings:
        return list(raw.cast(layout.OFFSET_TYPE))
    code = chr(raw[0])
    deltas = array(layout.RAW_DELTA_TYPES.get(code, code))
    deltas.frombytes(raw[1:] if code.islower() else zlib.decompress(raw[1:]))
    return list(accumulate(deltas))


def _grouped_release(tmp_path) -> Release:
    res = result(grouped_records())
    res.compact = True
    return Release(write_release(tmp_path, res))


@pytest.mark.parametrize("damage", ["member out of range", "ragged entry", "group out of range"])
def test_a_damaged_groups_entry_is_index_corrupt(tmp_path, damage):
    rel = _grouped_release(tmp_path)
    folder, n = rel.path, len(rel._codes)
    rel._words  # opens the groups
    groups = rel._groups
    first, last = groups.members[0], groups.members[groups.starts[groups.count - 1]]
    # A product word of the first group, or of the last, finds its packages through it.
    query = rel._record(last if damage == "group out of range" else first).short
    name = layout.GROUPS_BIN
    if damage == "member out of range":
        path = folder / layout.GROUPS_BIN
        data = bytearray(path.read_bytes())
        data[0:4] = array(layout.OFFSET_TYPE, [n + 5]).tobytes()
        path.write_bytes(bytes(data))
    elif damage == "ragged entry":
        path = folder / layout.GROUPS_IDX
        offsets = array(layout.OFFSET_TYPE, path.read_bytes())
        offsets[1] += 1  # no longer whole ids
        path.write_bytes(offsets.tobytes())
    else:
        # One group fewer in groups.idx than the postings name.
        path = folder / layout.GROUPS_IDX
        offsets = array(layout.OFFSET_TYPE, path.read_bytes())
        offsets.pop()
        offsets[-1] = (folder / layout.GROUPS_BIN).stat().st_size
        path.write_bytes(offsets.tobytes())
        manifest = json.loads((folder / layout.MANIFEST).read_text())
        manifest["files"][layout.GROUPS_IDX]["bytes"] = path.stat().st_size
        (folder / layout.MANIFEST).write_text(json.dumps(manifest))
        name = layout.POSTINGS_ZBIN
    stamps.record(folder, [path.name])  # with no write seen (bit rot): else its checksum refuses it at open
    damaged = Release(folder)
    assert damaged.get("P0017") is not None  # look-ups need no word index
    with pytest.raises(IndexCorrupt, match=f"{folder / name} is damaged"):
        damaged.search(query)
    if name == layout.POSTINGS_ZBIN:
        assert damaged.search("pkg17")  # other words still answer
    else:
        # The groups are checked whole when the word index opens: no word is trusted.
        with pytest.raises(IndexCorrupt, match=f"{folder / name} is damaged"):
            damaged.search("pkg17")


def test_a_compact_block_index_that_does_not_fit_is_refused(tmp_path):
    folder = write_release(tmp_path, compact_result())
    idx = folder / layout.RECORDS_ZIDX
    head = array(layout.OFFSET_TYPE, idx.read_bytes())
    head[0] = 1000  # a document count the blocks cannot hold
    idx.write_bytes(head.tobytes())
    stamps.record(folder, [idx.name])  # with no write seen (bit rot): else its checksum refuses it first
    with pytest.raises(IndexCorrupt, match="records.zidx is not a block index"):
        Release(folder)


def _ranked_by_tuples(rel: Release, query: str, limit: int, flag_mask: int) -> list[tuple[int, str]]:
    """The search order as documented, one tuple key per record: more score, in force, claim-
    valid code, lower rank, lower trie id (Release.search ranks on one integer instead)."""
    from medcode.index_builder.words import words

    trie = rel._words[0]
    total: dict[int, int] | None = None
    for qw in dict.fromkeys(words(query)):
        scores: dict[int, int] = {}
        matches = trie.iteritems(qw) if len(qw) >= 2 and not qw.isdigit() else ([(qw, trie[qw])] if qw in trie else [])
        for word, wid in matches:
            for rid in rel._postings(wid):
                scores[rid] = max(scores.get(rid, 0), 3 if word == qw else 1)
        total = scores if total is None else {rid: s + scores[rid] for rid, s in total.items() if rid in scores}
    flags, rank = rel._flags, rel._rank
    key = lambda rid: (-total[rid], bool(flags[rid] & layout.FLAG_TERMINATED), not flags[rid] & layout.FLAG_CODE, rank[rid], rid)  # noqa: E731
    best = sorted((rid for rid in total or {} if flags[rid] & flag_mask), key=key)[:limit]
    return [(total[rid], rel._record(rid).code) for rid in best]


def test_broad_searches_rank_as_the_documented_order(build_release):
    # Many records sharing words: whole words and beginnings, headers, terminated codes, and
    # descriptions of many lengths (the rank), so that every part of the order decides somewhere.
    records = []
    for i in range(600):
        words_ = ["fracture" if i % 3 else "fractured", "femur" if i % 5 else "tibia", "left" if i % 2 else "right"]
        desc = " ".join(words_ + ["part"] * (i % 7))
        records.append(
            CodeRecord(
                f"S{i:04d}",
                desc,
                kind=HEADER if i % 11 == 0 else CODE,
                terminated="2019-12-31" if i % 13 == 0 else None,
            )
        )
    rel = build_release(result(records, end=dt.date(2020, 9, 30)))
    for query in ("fractur", "fracture", "fracture femur", "fract left tib", "part", "zebra"):
        for limit, mask in ((50, layout.FLAG_CODE), (20, 0xFF), (700, 0xFF)):
            want = _ranked_by_tuples(rel, query, limit, mask)
            got = [(h.score, h.record.code) for h in rel.search(query, limit=limit, flag_mask=mask)]
            assert got == want, (query, limit, mask)
            assert (query == "zebra") == (not got)
    # Asked again, the remembered answer is the same, with records decoded afresh.
    first = rel.search("fractur", limit=5)
    first[0].record.description = "changed by a caller"
    again = rel.search("fractur", limit=5)
    assert [h.record.code for h in again] == [h.record.code for h in first]
    assert again[0].record.description != "changed by a caller"


def test_a_word_a_record_names_twice_lists_it_once_and_its_rank_counts_its_description(build_release):
    """The plain write path cuts each record's words as a list (description, short, terms; a
    word may come twice) and keeps each record once per word in the postings, in order."""
    rel = build_release(result([
        CodeRecord("S7200", "Fracture of unspecified part of neck of femur", terms=["femur fracture", "neck of femur"]),
        CodeRecord("S7201", "Fracture of head of femur", short="Fx head of femur"),
        CodeRecord("S72", "Fracture of femur", kind=HEADER),
    ]))  # fmt: skip
    trie, _ = rel._words
    for word, codes in {"of": ["S72", "S7200", "S7201"], "femur": ["S72", "S7200", "S7201"], "fx": ["S7201"], "neck": ["S7200"]}.items():
        ids = list(rel._postings(trie[word]))
        assert ids == sorted(set(ids)) and sorted(rel._codes.restore_key(i) for i in ids) == codes, word
    assert sorted(h.record.code for h in rel.search("fracture femur")) == ["S72", "S7200", "S7201"]  # each once
    ranks = array(layout.RANK_TYPE, (rel.path / layout.RANK).read_bytes())
    assert [ranks[rel._codes.key_id(c)] for c in ("S7200", "S7201", "S72")] == [8, 5, 3]


def test_plain_postings_keep_each_record_once_per_word():
    # A record naming a word twice (its description and its terms) is listed once under it.
    lists = writer._unique_ids(writer._postings([["fracture", "of", "femur", "of"], ["of"], [], ["femur", "femur", "of"]]))
    assert lists == {"fracture": [0], "of": [0, 1, 3], "femur": [0, 3]}
