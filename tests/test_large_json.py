"""A large JSON-RPC body parsed while it is read (server/lsp/large_json.py) means exactly what
json.loads makes of the whole body: same value, or an error where json.loads fails."""

from __future__ import annotations

import json
import random

import pytest

from medcode.server.lsp import large_json
from medcode.server.lsp.large_json import LargeBody

# What escapes and cuts can trip on: quotes, backslashes, line breaks, multi-byte UTF-8, a
# surrogate pair (two \u escapes in ASCII JSON), lone surrogates, control characters.
CHARS = ["a", "~", "*", ":", "\n", "\r", "\t", '"', "\\", "/", "é", "€", "😀", "\ud800", "\udc00", "\x00", " ", "\\u"]


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 64 bytes, so that short strings are converted in many pieces."""
    monkeypatch.setattr(large_json, "PIECE", 64)
    monkeypatch.setattr(large_json, "_SEARCH", 64)


def random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(CHARS) if rng.random() < 0.5 else rng.choice("ABC0123456789") for _ in range(n))


def parsed_in_chunks(body: bytes, rng: random.Random):
    large = LargeBody()
    for start in range(0, len(body), step := rng.randrange(1, 300)):
        large.feed(body[start : start + step])
    return large.message()


def whole(body: bytes):
    return json.loads(body.decode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("seed", range(4))
def test_parsed_in_chunks_equals_json_loads(small_pieces, seed):
    rng = random.Random(seed)
    for _ in range(400):
        text = random_text(rng, rng.randrange(0, 2000))  # mostly past 2 pieces: converted piece by piece
        message = {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": "file:///" + random_text(rng, 8), "version": 3},
                "contentChanges": [{"text": text}, {"range": {"start": {"line": 0, "character": 1}}, "text": random_text(rng, 200)}],
            },
        }
        body = json.dumps(message, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        got = parsed_in_chunks(body, rng)
        assert got == whole(body)


@pytest.mark.parametrize("seed", range(4))
def test_a_damaged_body_fails_as_json_loads_does(small_pieces, seed):
    rng = random.Random(100 + seed)
    for _ in range(400):
        body = json.dumps({"params": {"text": random_text(rng, rng.randrange(100, 1500)), "n": [1, 2]}}, ensure_ascii=False).encode("utf-8", "surrogatepass")
        at = rng.randrange(len(body))
        body = body[:at] + bytes([rng.choice(b'"\\{}x\x01\xff')]) + body[at + 1 :]
        try:
            want = whole(body)
        except ValueError:
            with pytest.raises(ValueError):
                parsed_in_chunks(body, rng)
        else:
            assert parsed_in_chunks(body, rng) == want


def test_a_body_that_ends_inside_a_string_fails(small_pieces):
    with pytest.raises(ValueError):
        parsed_in_chunks(b'{"text": "' + b"A\\n" * 200, random.Random(1))


def test_a_large_string_is_not_kept_in_the_skeleton(small_pieces):
    """The point of it all: the body's large string is held once, as text, not also as bytes."""
    text = "ISA*00~\n" * 1000
    large = LargeBody()
    body = json.dumps({"params": {"text": text}}).encode()
    for start in range(0, len(body), 100):
        large.feed(body[start : start + 100])
    assert len(large._skeleton) < 100
    assert large.message() == {"params": {"text": text}}


def test_the_body_keeps_nothing_once_its_message_is_taken(small_pieces):
    """The reader's variable outlives the message: it must not hold the document's text."""
    large = LargeBody()
    large.feed(json.dumps({"params": {"text": "HI*ABK:E119~\n" * 100}}).encode())
    message = large.message()
    assert message["params"]["text"].startswith("HI*ABK:E119~")
    assert not large._large and not large._skeleton
