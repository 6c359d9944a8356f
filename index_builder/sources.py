"""Reading the files users and packages hand us: plain files, zips, folders; bytes to text."""

from __future__ import annotations

import codecs
import io
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable

from .model import Source, SourceFile

# hashlib (libcrypto), zipfile and importlib.metadata are imported where used: together they
# are about 8 MB of a `medcode check` process, which reads files here but never hashes or unzips.
if TYPE_CHECKING:
    import zipfile


class SourceError(Exception):
    """The input cannot be imported; the message says which file and why."""


class LayoutNotRecognised(SourceError):
    """No file in the input is in the set's official layout (a two-column list may still be)."""


@dataclass(frozen=True, slots=True)
class InputFile:
    name: str  # base name of the file or zip member
    data: bytes

    @property
    def lower(self) -> str:
        return self.name.lower()


_SPECIAL = (
    (stat.S_ISFIFO, "FIFO", "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket", "a socket"),
    (stat.S_ISCHR, "device", "a character device"),
    (stat.S_ISBLK, "device", "a block device"),
    (stat.S_ISDIR, "folder", "a folder"),
)


def not_regular(mode: int) -> tuple[str, str] | None:
    """For a file mode that is not a regular file, a short and a long name of what it is
    ("FIFO", "a FIFO (named pipe)"); None for a regular file. Such files are never opened:
    a FIFO blocks, /dev/zero never ends."""
    if stat.S_ISREG(mode):
        return None
    return next(((short, long) for test, short, long in _SPECIAL if test(mode)), ("special file", "not a regular file"))


def open_without_blocking(path: Path) -> BinaryIO:
    """Open for reading without blocking: opening a FIFO with no writer would wait forever.
    Callers check what was opened (os.fstat, not_regular) before reading from it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags), "rb")


def read_regular(path: Path) -> bytes:
    """A regular file's bytes; a FIFO, socket or device (also behind a link) is refused
    without blocking: opened non-blocking and checked once open."""
    try:
        fh = open_without_blocking(path)
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist") from None
    except OSError as exc:
        raise SourceError(f"{path} cannot be read ({exc.strerror or exc})") from None
    with fh:
        special = not_regular(os.fstat(fh.fileno()).st_mode)
        if special is not None:
            raise SourceError(f"{path} is {special[1]}, not a file: give the path of a file, a zip or a folder")
        return fh.read()


# A zip member is read whole into memory: members declaring more than this, or expanding more
# than _MAX_RATIO times beyond a few megabytes, are refused before any byte is inflated (zip
# bombs). The largest official member (the NDC package list) is well under both.
MAX_MEMBER_BYTES = 2 << 30
_MAX_RATIO = 200
_RATIO_FROM = 16 << 20


def check_member(archive: str, info: zipfile.ZipInfo) -> None:
    """Refuse a member whose declared size is implausible; zipfile never inflates past the
    declared size, so this bounds what reading it can cost."""
    size, packed = info.file_size, max(info.compress_size, 1)
    if size > MAX_MEMBER_BYTES or (size > _RATIO_FROM and size / packed > _MAX_RATIO):
        raise SourceError(
            f"{archive}: the member {info.filename} would expand from {packed:,} to {size:,} bytes "
            "(a zip bomb, or a damaged archive); it was not read"
        )


def read_inputs(path: Path) -> list[InputFile]:
    """The files inside path: itself, a zip's members (one level of nested zips), or a folder's files."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if path.is_dir():
        out: list[InputFile] = []
        for p in sorted(path.rglob("*")):
            if p.is_file():  # FIFOs and devices (also behind links) are not files
                out.extend(read_inputs(p))
        return out
    data = read_regular(path)
    return _expand(path.name, data)


# Office documents are zips too; their parts are never code files.
_NOT_ARCHIVES = (".xlsx", ".xlsm", ".docx", ".pptx")


def _expand(name: str, data: bytes, depth: int = 0) -> list[InputFile]:
    # Inside an archive only members named .zip are opened (CMS zips carry .xlsx copies).
    is_archive = data[:4] == b"PK\x03\x04" and not name.lower().endswith(_NOT_ARCHIVES)
    if not is_archive or (depth > 0 and not name.lower().endswith(".zip")):
        return [InputFile(name, data)]
    if depth > 1:
        return []
    import zipfile

    out: list[InputFile] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.is_dir() or "__MACOSX" in info.filename:
                    continue
                check_member(name, info)
                member = zf.read(info)
                out.extend(_expand(Path(info.filename).name, member, depth + 1))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise SourceError(f"{name} is not a readable zip archive ({exc})") from exc
    return out


def _settled_codec(head: bytes) -> str | None:
    """The codec a BOM, or the NUL bytes of UTF-16 or UTF-32, settle from a file's first bytes;
    None when the fallback encodings must be tried in turn. `head` is the first 200 bytes (all
    when fewer)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"  # drops that one BOM, as data[3:] would, without copying the bytes
    # UTF-32's little-endian BOM starts as UTF-16's does: asked first.
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = head[:200]
    if head and head.count(0) > len(head) // 4:
        wide = _utf32_order(head)
        if wide is not None:
            return wide
        return "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    return None


def _utf32_order(head: bytes) -> str | None:
    """UTF-32 without a BOM: one byte of every four NUL (the top of a code point, at most
    U+10FFFF), the next one at most 0x10 (its plane) and NUL for most characters, and not all
    NUL. A character past the Basic Multilingual Plane (an emoji in a name among the first 50)
    is allowed: asking every plane byte to be NUL read such a file as UTF-16, each character
    cut in two. Most planes NUL keeps UTF-16 text whose every other character is a control
    (`a\nb\n`, a plane byte 0x0A each time) UTF-16."""
    head = head[: len(head) // 4 * 4]
    if len(head) < 8:
        return None
    for codec, top, plane, low in (("utf-32-le", 3, 2, 0), ("utf-32-be", 0, 1, 3)):
        planes = head[plane::4]
        if not head[top::4].strip(b"\x00") and max(planes) <= 0x10 and planes.count(0) * 2 > len(planes) and head[low::4].strip(b"\x00"):
            return codec
    return None


def decode(data: bytes, encodings: tuple[str, ...] = ("utf-8", "cp1252")) -> str:
    """Text from bytes: a BOM decides; UTF-16 or UTF-32 without BOM is recognised by its NUL bytes;
    otherwise the first encoding that decodes wins (publishers use UTF-8 or Windows-1252)."""
    return decode_chunks(lambda: (data,), data[:200], encodings)


def decode_chunks(chunks: Callable[[], Iterable[bytes]], head: bytes, encodings: tuple[str, ...] = ("utf-8", "cp1252")) -> str:
    """decode()'s text (decode is the one-piece case), from bytes read a piece at a time, so
    that a large file's whole raw copy is never held next to its text (peak memory while
    checking a file is about its text, not bytes plus text). `chunks()` gives the bytes from the start each time it is called: when an
    encoding fails part way, the next one decodes again from the first byte. `head` is the
    first 200 bytes or more (all when fewer)."""
    settled = _settled_codec(head)
    if settled is not None:
        return _decode_pieces(chunks(), settled, "replace")
    for enc in encodings:
        try:
            return _decode_pieces(chunks(), enc, "strict")
        except UnicodeDecodeError:
            continue
    return _decode_pieces(chunks(), encodings[-1], "replace")


def _decode_pieces(chunks: Iterable[bytes], codec: str, errors: str) -> str:
    decoder = codecs.getincrementaldecoder(codec)(errors)
    text = ""
    for chunk in chunks:
        # `text` is referenced from nowhere else, so CPython appends in place (the string is
        # resized, not copied once per chunk); a list and "".join would hold the text twice.
        # Under a profiler or tracer (cProfile, coverage) CPython 3.11 runs the unspecialised
        # `+=`, which copies the text at every chunk: a profile shows this function at about
        # 0.6 s for a 38 MB file, where it otherwise takes what bytes.decode takes (0.06 s).
        text += decoder.decode(chunk)
    text += decoder.decode(b"", True)
    return text


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (index files and downloads can be large)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_source(path: Path, used: list[InputFile] | None = None) -> Source:
    """Provenance of a user-given file: its name and checksum, plus the members actually read."""
    path = Path(path)
    files = []
    if path.is_file():
        data = read_regular(path)
        files.append(SourceFile(path.name, sha256(data), len(data)))
    for f in used or []:
        if not files or f.name != files[0].name:
            files.append(SourceFile(f.name, sha256(f.data), len(f.data)))
    return Source(kind="file", name=str(path.resolve()), files=files)


def package_source(dist: str, *relative: str) -> tuple[Source, list[Path]]:
    """Provenance and paths of data files inside an installed distribution, found without
    importing it (some of these packages do work at import time that we do not need)."""
    from importlib import metadata

    try:
        d = metadata.distribution(dist)
    except metadata.PackageNotFoundError as exc:
        raise SourceError(f"the package {dist} is not installed; reinstall medcode-ls") from exc
    paths = [Path(str(d.locate_file(r))) for r in relative]
    files = []
    for p in paths:
        if not p.is_file():
            raise SourceError(f"{p} is missing from the installed package {dist} {d.version}")
        data = p.read_bytes()  # dropped file by file
        files.append(SourceFile(p.name, sha256(data), len(data)))
    return Source(kind="package", name=dist, version=d.version, files=files), paths
