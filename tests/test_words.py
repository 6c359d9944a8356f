"""How texts are cut into words for the word index: words_many (a build's bulk path) cuts
exactly as words() does one text at a time."""

from __future__ import annotations

from medcode.index_builder.words import words, words_many

TEXTS = [
    "Humulin R 100 [iU]/mL injection",  # ASCII only
    "Ménière's disease",  # a decomposable letter
    "Fixtura® 3 mg / 25 mg",  # a symbol NFKD drops
    "Advil™ Liqui-Gels",  # a symbol NFKD spells out (TM)
    "ﬁlm coated",  # a ligature NFKD splits
    "e\u0301 acute, \u00bd dose",  # a combining mark, a fraction
    "no-break\u00a0space",
    "",
    "Σ SIGMA ΑΩ",  # Greek: decomposes to nothing in ASCII
    "İstanbul",
]


def test_bulk_cut_matches_one_at_a_time_with_and_without_accents():
    assert words_many(TEXTS) == [words(t) for t in TEXTS]
    ascii_only = [t for t in TEXTS if t.isascii()]
    assert words_many(ascii_only) == [words(t) for t in ascii_only]
    assert words_many(TEXTS)[1] == ["meniere", "s", "disease"]
    assert words_many(TEXTS)[3] == ["adviltm", "liqui", "gels"]


def test_a_text_holding_a_newline_is_cut_on_its_own():
    texts = ["two\nlines é", "plain"]
    assert words_many(texts) == [words(t) for t in texts]
    assert words_many([]) == []
