"""LineIndex on ASCII text answers positions without slicing lines, and an edit that brings
in a character outside ASCII turns the code-unit counting back on."""

from __future__ import annotations

from medcode.server.positions import UTF8, UTF16, LineIndex


def test_ascii_positions_and_offsets_then_an_edit_outside_ascii():
    text = '{"a": "x", "code": "99213"}\r\nsecond line\rthird\n'
    index = LineIndex(text)
    assert index.position(text.index("99213")) == (0, text.index("99213"))
    assert index.offset(0, 20) == 20
    assert index.offset(0, 10_000) == text.index("\r\n")  # clamped before the line break
    assert index.offset(1, 10_000) == text.index("\rthird")
    assert index.position(text.index("third") + 2) == (2, 2)
    # An emoji before the code: two UTF-16 units, four UTF-8 bytes, one character.
    at = text.index('"x"') + 1
    text = index.edit(at, at + 1, "\U0001f600")
    code = text.index("99213")
    assert index.position(code) == (0, code + 1)
    assert index.offset(0, code + 1) == code
    utf8 = LineIndex(text, UTF8)
    assert utf8.position(code) == (0, code + 3)
    assert utf8.offset(0, code + 3) == code
    assert LineIndex(text, UTF16).position(code) == (0, code + 1)
