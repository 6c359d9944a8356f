"""How descriptions and queries are cut into words, the same way on both sides of the search."""

from __future__ import annotations

import re
import unicodedata
from itertools import compress
from operator import not_

_WORD_RE = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'Ménière' is found by 'meniere'.

    Decomposing and dropping what is not ASCII keeps the base letters; anything else outside
    ASCII (dashes, symbols) was never part of a word anyway."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


def words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


# Every ASCII character that is no word character, to a space (a newline stays a newline),
# and the upper-case letters to lower case: for an ASCII text, what .lower() then mapping the
# others to spaces gives, in one pass.
_NOT_WORD = {c: " " for c in range(128) if not chr(c).isalnum() and c != 10}
_TO_WORDS = {**_NOT_WORD, **{ord(c): c.lower() for c in map(chr, range(ord("A"), ord("Z") + 1))}}


def words_many(texts: list[str]) -> list[list[str]]:
    """[words(t) for t in texts], for a build's hundreds of thousands of texts (word_lines)."""
    return list(map(str.split, word_lines(texts)))


def word_lines(texts: list[str]) -> list[str]:
    """Per text, a line whose str.split() is words(text): folded and cut as one text (a regex
    call per text cost about four times as long), then split per line. A build that needs
    each text's words only for a moment keeps these lines and splits each when it reads it:
    the NDC packages' 2.4 million word strings, held at once, took 60,000 page faults."""
    joined = "\n".join(texts)
    if not joined.isascii():
        # Only the texts outside ASCII are decomposed (fold), each on its own: ASCII folds to
        # itself lower-cased. One of the NDC products' 75,729 distinct summaries is outside
        # ASCII, and decomposing their whole joined text (NFKD) for it cost 0.5 billion
        # instructions (cachegrind), most of this function's work in the NDC build.
        texts = list(texts)
        for i in compress(range(len(texts)), map(not_, map(str.isascii, texts))):
            texts[i] = fold(texts[i])
        joined = "\n".join(texts)
    lines = joined.translate(_TO_WORDS).split("\n")  # ASCII here: the others were folded
    if len(lines) != len(texts):  # a text holding a newline (or none at all): one by one
        return [" ".join(words(t)) for t in texts]
    return lines
