"""How descriptions and queries are cut into words, the same way on both sides of the search."""

from __future__ import annotations

import re
import unicodedata

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
