"""How descriptions and queries are cut into words, the same way on both sides of the search."""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'Ménière' is found by 'meniere'."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))
