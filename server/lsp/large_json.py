"""A large JSON-RPC body (a 40 MB didOpen or whole-text didChange) parsed while it is read.

Read whole and then parsed, such a body is held twice beside the text the server already has:
the body (or the text decoded from it) and the string parsed out of it, 76 MB at once for a
38 MB claim file, which made the server's peak. Here the body comes in chunks; a string value
that grows past PIECE bytes is turned into text piece by piece as it arrives (each piece parsed
as a JSON string of its own, cut where no escape or character is split, so it means what
json.loads makes of it), and the rest of the body, small, is parsed with a placeholder in its
place. The text grows in place (`_grown`): at most one copy of it, plus a piece, is held.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator
from typing import Any

import orjson

PIECE = 1 << 20  # bytes of a string value converted at a time
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_SEARCH = 1 << 16  # bytes searched back from a piece's end for a place to cut


def loads(body: bytes | bytearray) -> Any:
    """A JSON document: orjson, the fastest, else json (what orjson refuses and json accepts:
    lone surrogates, huge integers)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _grown() -> Generator[str | None, str | None, None]:
    """Appends each piece sent to a string that only this frame holds, so CPython resizes it
    in place rather than copying it (as pieces.py joins); None ends it and yields the text."""
    text = ""
    while (piece := (yield None)) is not None:
        text += piece
    yield text


def _backslashes_before(buf: bytearray, end: int) -> int:
    """How many backslashes come right before buf[end]."""
    n = 0
    while end - n - 1 >= 0 and buf[end - n - 1] == _BACKSLASH:
        n += 1
    return n


def _cut(raw: bytearray) -> int:
    """Where the escaped bytes of a string may be cut (0: nowhere found): before an ASCII
    byte with no backslash in the 6 bytes before it (so no escape, \\uXXXX the longest, and
    no UTF-8 sequence is split), else before an escape that is not the second half of a
    surrogate pair."""
    lo = max(6, len(raw) - _SEARCH)
    for p in range(len(raw) - 1, lo - 1, -1):
        if raw[p] < 0x80 and _BACKSLASH not in raw[p - 6 : p]:
            return p
    for p in range(len(raw) - 7, lo - 1, -1):
        if raw[p] == _BACKSLASH and _backslashes_before(raw, p) % 2 == 0:
            low_surrogate = raw[p + 1] in b"uU" and raw[p + 2] in b"dD" and raw[p + 3] in b"cdefCDEF"
            if not low_surrogate:
                return p
    return 0


class LargeBody:
    """Feed a body's bytes in order (`feed`), then take the message (`message`). A body that
    is not valid JSON raises where json.loads would (at the latest in `message`)."""

    def __init__(self) -> None:
        self._skeleton = bytearray()  # the body with each large string as a placeholder
        self._raw = bytearray()  # the open string's escaped bytes not converted yet
        self._in_string = False
        self._text: Generator[str | None, str | None, None] | None = None  # the open string, once large
        self._tag = uuid.uuid4().hex
        self._large: dict[str, str] = {}  # placeholder -> the string's text
        self._error: ValueError | None = None

    def feed(self, chunk: bytes | bytearray) -> None:
        if self._error is None:
            try:
                self._feed(chunk)
            except ValueError as exc:  # a piece that is not a JSON string: said by message()
                self._error = exc
                self._skeleton = self._raw = bytearray()

    def _feed(self, chunk: bytes | bytearray) -> None:
        pos, n = 0, len(chunk)
        while pos < n:
            if not self._in_string:
                q = chunk.find(b'"', pos)
                if q < 0:
                    self._skeleton += chunk[pos:]
                    return
                self._skeleton += chunk[pos:q]
                self._in_string, pos = True, q + 1
                continue
            q = chunk.find(b'"', pos)
            while q >= 0:
                before = q - pos
                run = _backslashes_before(chunk, q) if q > pos else 0
                if run == before:  # the backslashes may go on in what came before
                    run += _backslashes_before(self._raw, len(self._raw))
                if run % 2 == 0:
                    break
                q = chunk.find(b'"', q + 1)
            if q < 0:
                self._raw += chunk[pos:]
                if len(self._raw) >= 2 * PIECE:
                    self._convert()
                return
            self._raw += chunk[pos:q]
            self._close()
            pos = q + 1

    def _convert(self) -> None:
        """Turn the open string's bytes, up to a place where they may be cut, into text."""
        at = _cut(self._raw)
        if at == 0:
            return  # no place to cut yet: more bytes are kept
        if self._text is None:
            self._text = _grown()
            next(self._text)
        self._text.send(json.loads(b'"' + self._raw[:at] + b'"'))
        del self._raw[:at]

    def _close(self) -> None:
        raw, self._raw, self._in_string = self._raw, bytearray(), False
        if self._text is None:
            self._skeleton += b'"' + raw + b'"'
            return
        grown, self._text = self._text, None
        grown.send(json.loads(b'"' + raw + b'"'))
        del raw
        text = grown.send(None)
        grown.close()
        name = f"\x00{self._tag}:{len(self._large)}"
        self._large[name] = text
        self._skeleton += orjson.dumps(name)

    def message(self) -> Any:
        """The message; once only: the strings are handed over, not kept (a reader that kept
        this object would hold the document's old text as long)."""
        if self._error is not None:
            raise self._error
        if self._in_string:
            raise json.JSONDecodeError("Unterminated string", self._skeleton.decode("utf-8", "replace"), len(self._skeleton))
        skeleton, large = self._skeleton, self._large
        self._skeleton, self._large = bytearray(), {}
        data = loads(skeleton)
        return _put_back(data, large) if large else data


def _put_back(value: Any, large: dict[str, str]) -> Any:
    """`value` with each placeholder replaced by its string (in place in dicts and lists)."""
    if isinstance(value, str):
        return large.get(value, value)
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (str, dict, list)):
                value[k] = _put_back(v, large)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (str, dict, list)):
                value[i] = _put_back(v, large)
    return value
