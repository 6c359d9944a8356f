"""Files are decoded a piece at a time (the raw bytes are never held whole next to the text):
the text must be exactly what decoding the whole bytes at once gives, whatever the encoding
and wherever a piece ends."""

from __future__ import annotations

import pytest

from medcode.index_builder.sources import decode, decode_chunks
from medcode.server import check
from medcode.server.check import Skip, read_text

SAMPLES = {
    "ascii": b"code,description\r\n99213,Office visit\r\n" * 50,
    "utf-8": "code,description\nJ0135,Adalimumab \u00e9t\u00e9 \u20ac5 \U0001f489\n".encode() * 40,
    "utf-8 BOM": b"\xef\xbb\xbf" + "code,caf\u00e9\n".encode() * 40,
    "two BOMs": b"\xef\xbb\xbf\xef\xbb\xbf" + b"code\n" * 10,
    "broken utf-8 after BOM": b"\xef\xbb\xbf" + b"code,caf\xe9\n" * 40,
    # Valid UTF-8 for many pieces, then a Windows-1252 byte: decoding starts again in cp1252.
    "cp1252 late": b"code,description\n" * 300 + b"J0135,na\xefve \x93quoted\x94\n",
    # 0x81 is not in cp1252 either: the last encoding with replacement characters.
    "undefined in cp1252": b"code\n" * 300 + b"\x81\x93x\x94\n",
    "utf-16 LE BOM": "\ufeffcode,caf\u00e9 \U0001f489\n".encode("utf-16-le") * 30,
    "utf-16 BE BOM": "\ufeffcode,caf\u00e9\n".encode("utf-16-be") * 30,
    "utf-16 LE no BOM": "code,description\n".encode("utf-16-le") * 30,
    "utf-16 BE no BOM": "code,description\n".encode("utf-16-be") * 30,
    "utf-16 odd length": "\ufeffcode\n".encode("utf-16-le") * 30 + b"\x00",
    "utf-16 lone surrogate": "\ufeffab".encode("utf-16-le") + b"\x00\xd8" + "cd\n".encode("utf-16-le") * 30,
    "utf-32 LE BOM": "\ufeffcode,caf\u00e9 \U0001f489\n".encode("utf-32-le") * 30,
    "utf-32 BE BOM": "\ufeffcode,caf\u00e9\n".encode("utf-32-be") * 30,
    "utf-32 LE no BOM": "code,description\n".encode("utf-32-le") * 30,
    "utf-32 BE no BOM": "code,description\n".encode("utf-32-be") * 30,
    # A character past the BMP among the first 50 (the 200 bytes the codec is settled from).
    "utf-32 LE no BOM astral": "code,caf\u00e9 \U0001f489\n".encode("utf-32-le") * 30,
    "utf-32 BE no BOM astral": "\U00020000 code,description\n".encode("utf-32-be") * 30,
    # Every other character a control: its NULs are UTF-32's shape, its plane bytes are not.
    "utf-16 LE no BOM controls": "a\nb\r".encode("utf-16-le") * 60,
    "truncated utf-8 at the end": b"code\n" * 300 + b"\xe2\x82",
    "empty": b"",
}


def _pieces(data: bytes, size: int):
    return lambda: (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
def test_pieces_decode_exactly_as_the_whole_bytes(name, size):
    data = SAMPLES[name]
    assert decode_chunks(_pieces(data, size), data[:200]) == decode(data)


@pytest.mark.parametrize("name", [n for n in SAMPLES if n.startswith(("utf-16", "utf-32")) and "odd" not in n and "lone" not in n])
def test_utf16_and_utf32_decode_to_their_text(name):
    # UTF-32's little-endian BOM begins as UTF-16's does, and its NULs pass UTF-16's test: it
    # was decoded as UTF-16, one NUL between each two characters.
    data = SAMPLES[name]
    codec = name[:6] + ("-le" if " LE" in name else "-be")
    assert decode(data).lstrip("\ufeff") == data.decode(codec).lstrip("\ufeff")


def test_a_late_cp1252_byte_decodes_the_whole_file_again_in_cp1252():
    data = SAMPLES["cp1252 late"]
    calls = []

    def chunks():
        calls.append(1)
        return _pieces(data, 64)()

    text = decode_chunks(chunks, data[:200])
    assert text.endswith("J0135,na\u00efve \u201cquoted\u201d\n")  # not mojibake, not U+FFFD
    assert text.startswith("code,description\n") and len(calls) == 2  # read again from the start


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_read_text_reads_files_in_pieces_like_whole(name, tmp_path, monkeypatch):
    monkeypatch.setattr(check, "_CHUNK", 5)  # many pieces, and the cp1252 byte far past the first
    data = SAMPLES[name]
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    expected = decode(data)
    assert read_text(path) == (expected[1:] if expected.startswith("\ufeff") else expected)


def test_binary_files_are_still_recognised(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"PK\x03\x04\x00\x00binary" * 100)
    assert read_text(path) is None


def test_a_file_larger_than_the_limit_is_skipped(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"code\n" * 100)
    with pytest.raises(Skip):
        read_text(path, max_bytes=50)


def test_a_file_that_grew_past_the_limit_since_the_stat_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(check, "_refusal", lambda st, max_bytes: None)  # the stat saw it small
    monkeypatch.setattr(check, "_CHUNK", 16)
    path = tmp_path / "f.csv"
    path.write_bytes(b"code\n" * 100)
    with pytest.raises(Skip, match="too large"):
        read_text(path, max_bytes=50)
