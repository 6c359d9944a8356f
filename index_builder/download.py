"""Downloading one file over HTTP(S): progress, timeouts, retries with backoff, resume.

urllib's default opener reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment; this
module relies on that and never installs a ProxyHandler of its own (that would switch it off).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from . import __version__
from .fetch_limits import RETRIES, TIMEOUT
from .sources import SourceError, not_regular, open_without_blocking

CHUNK = 1 << 16
BACKOFF = 1.0  # seconds before the first retry; doubled before each next one
USER_AGENT = f"medcode/{__version__} (medcode index fetch)"

# done bytes, total bytes (None when the server does not say)
Progress = Callable[[int, int | None], None]


class DownloadError(SourceError):
    """A file could not be downloaded; the message says what happened and what to try."""


class _Truncated(Exception):
    def __init__(self, got: int, total: int):
        super().__init__(f"the connection closed after {got:,} of {total:,} bytes")
        self.got, self.total = got, total


@dataclass(frozen=True, slots=True)
class Fetched:
    path: Path
    bytes: int
    attempts: int
    resumed: bool  # some attempt continued a partial file (HTTP 206)


def local_name(url: str) -> str:
    """A file name for a URL: its last path segment, decoded. CMS addresses end in dates
    ('…-updated-12/19/2023.zip'): segments without letters take the one before them along."""
    parts = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    if not parts:
        return "download"
    name = parts.pop()
    while parts and not re.search(r"[A-Za-z]", name.rsplit(".", 1)[0]):
        name = f"{parts.pop()}-{name}"
    return re.sub(r"[^\w.\- ]", "_", name) or "download"


SCHEMES = ("https", "http", "file")


def check_url(url: str) -> None:
    """Refuse, before any attempt, an address that cannot be downloaded (DownloadError)."""
    if not url or any(c.isspace() or ord(c) < 32 for c in url):
        raise DownloadError(f"{url!r} is not a valid URL (it is empty or holds spaces or control characters)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError as exc:
        raise DownloadError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise DownloadError(f"{url!r} is not a URL medcode can download: use https://…, http://… or file:///path (a local mirror)")
    if parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise DownloadError(f"{url!r}: a file URL names a local path: file:///path/to/file")
    elif not parts.hostname:
        raise DownloadError(f"{url!r} is not a valid URL: it names no host")


def _copy_local(url: str, dest: Path, progress: Progress | None) -> Fetched:
    """A file:// URL (a local mirror): the file copied, never a FIFO or device."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        src = open_without_blocking(path)
    except OSError as exc:
        raise DownloadError(f"{url}: {path} cannot be read ({exc.strerror or exc})") from None
    with src:
        st = os.fstat(src.fileno())
        special = not_regular(st.st_mode)
        if special is not None:
            raise DownloadError(f"{url}: {path} is {special[1]}, not a file")
        done = 0
        with open(dest, "wb") as out:
            while block := src.read(CHUNK):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, st.st_size)
    return Fetched(dest, done, 1, False)


def proxy_for(url: str) -> str | None:
    """The proxy urllib will use for this URL, from the environment (None: direct)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme)
    if proxy and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return proxy


def download(
    url: str,
    dest: Path,
    *,
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    backoff: float | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Download url into dest. A broken transfer is retried and, when the server honours
    Range, continued where it stopped; on failure no partial file is left behind."""
    check_url(url)
    if urlsplit(url).scheme.lower() == "file":
        return _copy_local(url, dest, progress)
    backoff = BACKOFF if backoff is None else backoff
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    # build_opener includes a ProxyHandler built from the environment (HTTPS_PROXY …).
    opener = urllib.request.build_opener()
    state = _State()
    last: BaseException | None = None
    attempt = 0
    try:
        for attempt in range(1, retries + 2):
            have = part.stat().st_size if part.exists() else 0
            try:
                got = _attempt(opener, url, part, have, state, timeout, progress)
                part.replace(dest)
                return Fetched(dest, got, attempt, state.resumed)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == 416 and have:
                    part.unlink(missing_ok=True)  # the range is gone: start over
                elif exc.code not in (408, 429) and exc.code < 500:
                    raise DownloadError(explain(url, exc, timeout)) from None
                last = exc
            except (_Truncated, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                last = exc
            if attempt <= retries:
                time.sleep(backoff * 2 ** (attempt - 1))
        raise DownloadError(explain(url, last, timeout) + f" (gave up after {attempt} attempt{'s' if attempt > 1 else ''})")
    finally:
        part.unlink(missing_ok=True)


@dataclass(slots=True)
class _State:
    """What the attempts of one download share."""

    validator: str | None = None  # ETag or Last-Modified of the file the partial copy is of
    resumed: bool = False


def _attempt(opener, url: str, part: Path, have: int, state: _State, timeout: float, progress: Progress | None) -> int:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if state.validator:
            # The rest only if the file is still the one we have the start of; else a 200.
            headers["If-Range"] = state.validator
    with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
        status = resp.status
        resumed = False
        start = 0
        total: int | None = None
        if status == 206 and have:
            m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                part.unlink(missing_ok=True)  # not the part we asked for: start again
                raise http.client.HTTPException(f"the server answered bytes={have}- with {resp.headers.get('Content-Range')!r}")
            start, resumed = have, True
            total = int(m.group(3)) if m.group(3) != "*" else None
        if not resumed:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() and status == 200 else None
            if status != 200:
                raise DownloadError(f"{url}: unexpected HTTP {status} {resp.reason}")
        if not resumed:
            state.validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        state.resumed |= resumed
        done = start
        with open(part, "ab" if resumed else "wb") as out:
            if progress:
                progress(done, total)
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        # http.client returns an empty read, not an error, when a connection closes before
        # Content-Length bytes came: the count is the only sign of a truncated file.
        if total is not None and done != total:
            raise _Truncated(done, total)
        return done


def explain(url: str, exc: BaseException | None, timeout: float) -> str:
    """What went wrong, in words a user can act on."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    proxy = proxy_for(url)
    via = f" through the proxy {proxy}" if proxy else ""
    hint = (
        f"; check the proxy ({parts.scheme.upper()}_PROXY={proxy})" if proxy
        else f"; no network? behind a proxy, set {parts.scheme.upper()}_PROXY"
    )
    reason = exc.reason if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError) else exc
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return f"{url}: HTTP 404 Not Found: the file is not (or no longer) at this address"
        if exc.code == 407:
            return f"{url}: HTTP 407: the proxy {proxy} wants credentials (put them in the proxy URL)"
        return f"{url}: HTTP {exc.code} {exc.reason}"
    if isinstance(exc, _Truncated):
        return f"{url}: {exc}"
    if isinstance(reason, socket.gaierror):
        return f"cannot reach {host}{via}: the name does not resolve ({reason.strerror or reason}){hint}"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"cannot reach {where}{via}: no answer within {timeout:g} s{hint}"
    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {where}{via}: connection refused{hint}"
    if isinstance(reason, OSError) and "Tunnel connection failed" in str(reason):
        return f"cannot reach {where}: the proxy {proxy} refused the connection ({reason}){hint}"
    if isinstance(reason, OSError):
        return f"cannot reach {where}{via}: {reason.strerror or reason}{hint}"
    return f"{url}: download failed ({reason})"


class Meter:
    """Progress on a stream (stderr): one updating line on a terminal, a line every tenth of
    the file (or every few seconds when the size is unknown) otherwise."""

    def __init__(self, name: str, stream: TextIO | None = None):
        self.name = name
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._shown = -1.0
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not done:
            return
        if total:
            step = done * 10 // total
            due = step > self._shown or done >= total
            if self.tty:
                due = now - self._last > 0.2 or done >= total
            if not due:
                return
            self._shown = step
            text = f"  {self.name}: {_size(done)} of {_size(total)} ({done * 100 // total}%)"
        else:
            if now - self._last < (0.2 if self.tty else 5.0):
                return
            text = f"  {self.name}: {_size(done)}"
        self._last = now
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
            if total and done >= total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, size: int) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"  {self.name}: downloaded {_size(size)} in {time.monotonic() - self.started:.1f} s\n")
        self.stream.flush()


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
