"""`medcode check --format json` writes each finding with orjson: the bytes must be exactly
those of json.dumps(indent=2, ensure_ascii=False), whatever the text holds (control
characters, quotes, non-ASCII, a file name that is not UTF-8)."""

from __future__ import annotations

import json

import pytest

from medcode.server.check import _json_entry

ODD = [
    "plain",
    "quote \" backslash \\ slash /",
    "tab\t nl\n cr\r ff\f bs\b nul\x00 us\x1f del\x7f",
    "caf\u00e9 \u20ac \U0001f600 \u2028 \u2029 \ufffd",
    "claims/\udcff\udcfe.837",  # os.fsdecode of a name that is not UTF-8: lone surrogates
]


@pytest.mark.parametrize("text", ODD)
def test_entries_are_the_bytes_json_writes(text):
    obj = {
        "path": text, "line": 0, "character": 12, "end_line": 1_000_000, "end_character": 3,
        "code": text, "code_set": None, "rule": "invalid-code", "severity": "error", "message": text,
    }
    expected = json.dumps([obj], indent=2, ensure_ascii=False)
    assert "[\n" + _json_entry(obj) + "\n]" == expected
