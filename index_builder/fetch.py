"""`medcode index fetch`: download a release's official files, check them, import them.

Files are downloaded into ``<index>/.downloads/`` (the store skips dot folders), checked (size,
zip integrity, the catalogue's SHA-256), the wanted archive members extracted, and the result
imported by build.import_path, which writes the release atomically. Whatever happens, the
download folder is removed: an index is either fully imported or untouched.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import download as dl
from .build import Built, import_path
from .catalogue import Catalogue, CatalogueFile, CatalogueRelease, load
from .codesets import CPT, set_name
from .model import Download
from .sources import check_member, file_sha256
from .reader import IndexStore

DOWNLOADS = ".downloads"

Say = Callable[[str], None]
MeterFactory = Callable[[str], dl.Progress]


class FetchError(dl.DownloadError):
    """A release could not be fetched; nothing was imported."""


@dataclass
class Plan:
    """What one fetch will download and how it will label the result."""

    set_id: str
    label: str | None  # None: the importer reads it from the files (a --url without --release)
    effective: dt.date | None
    files: list[CatalogueFile]
    page: str = ""
    release: CatalogueRelease | None = None
    from_url: bool = False  # the user's --url (and --sha256), not the catalogue's files


@dataclass
class Result:
    plan: Plan
    built: Built | None  # None when the release was already installed
    downloads: list[Download] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan(
    set_id: str,
    *,
    label: str | None = None,
    url: str | None = None,
    sha256: str | None = None,
    catalogue: Catalogue | None = None,
    today: dt.date | None = None,
) -> Plan:
    """Which files to get: the catalogue's release (by label, else the newest in force), or
    the user's --url."""
    today = today or dt.date.today()
    if set_id == CPT:
        raise FetchError("CPT is AMA copyright and cannot be downloaded: import your licensed files with `medcode index import cpt PATH`")
    cat = catalogue or load()
    entry = cat.entry(set_id)
    page = entry.page if entry else ""
    if url is not None:
        dl.check_url(url)
        if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise FetchError(f"--sha256 {sha256!r} is not a SHA-256 (64 hex digits)")
        known = cat.release(set_id, label) if label else None
        if entry is not None and entry.daily:
            label, effective = today.isoformat(), today  # the release of a daily file is its download date
        else:
            effective = known.effective if known else None
        file = CatalogueFile(url, what="file given with --url", sha256=sha256.lower() if sha256 else None)
        return Plan(set_id, known.label if known else label, effective, [file], page, known, from_url=True)
    if entry is None:
        raise FetchError(
            f"the release catalogue ({cat.path}) has no downloads for {set_name(set_id)}: "
            f"pass --url URL, or import your own files with `medcode index import {set_id} PATH`"
        )
    if entry.daily:
        if label and label != today.isoformat():
            raise FetchError(
                f"the {entry.publisher} publishes only today's {set_name(set_id)} file: its release label is the "
                f"download date ({today}), so --release {label} cannot be fetched"
            )
        rel = cat.in_force(set_id, today)
        return Plan(set_id, rel.label, rel.effective, list(rel.files), page, rel)
    if label:
        rel = cat.release(set_id, label)
        if rel is None:
            known = ", ".join(r.label for r in entry.releases) or "none"
            raise FetchError(
                f"no {set_name(set_id)} release {label!r} in the release catalogue (known: {known}); "
                f"for another release pass --url URL (see {page})"
            )
    else:
        rel = cat.latest(set_id, today)
        if rel is None:
            raise FetchError(f"the release catalogue lists no {set_name(set_id)} release in force on {today}; pass --release or --url")
    return Plan(set_id, rel.label, rel.effective, list(rel.files), page, rel)


def fetch(
    root: Path,
    the_plan: Plan,
    *,
    force: bool = False,
    accept_changed: bool = False,
    timeout: float = dl.TIMEOUT,
    retries: int = dl.RETRIES,
    backoff: float | None = None,
    say: Say = lambda _: None,
    meter: MeterFactory | None = None,
) -> Result:
    """Download, check and import one planned release."""
    p = the_plan
    root = Path(root)
    if p.label and not force:
        installed = IndexStore(root).release(p.set_id, p.label)
        if installed is not None:
            src = installed.manifest.source
            when = f", fetched {src.downloaded_at}" if src.downloaded_at else ""
            say(f"{installed.title} [{p.set_id}/{p.label}] is already installed{when}; --force downloads it again")
            return Result(p, None)
    root.mkdir(parents=True, exist_ok=True)
    downloads_dir = root / DOWNLOADS
    downloads_dir.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{p.set_id}-{p.label or 'url'}-", dir=downloads_dir))
    result = Result(p, None)
    try:
        into = work / "import"
        into.mkdir()
        for f in p.files:
            try:
                got = _get(f, work, timeout, retries, backoff, say, meter, accept_changed, p)
                _unpack(got, f, into)
            except dl.DownloadError as exc:
                message = str(exc) + _unverified_hint(f, p)
                if not f.optional:
                    raise FetchError(message) from None
                result.warnings.append(f"skipped the optional {f.what or 'file'}: {message}")
                say(f"  warning: {result.warnings[-1]}")
                continue
            result.downloads.append(got)
        result.built = import_path(root, p.set_id, into, release=p.label, effective=p.effective, downloads=result.downloads)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
        try:
            downloads_dir.rmdir()  # only when empty: another fetch may be running
        except OSError:
            pass


def _unverified_hint(f: CatalogueFile, p: Plan) -> str:
    if not f.unverified:
        return ""
    where = f" (see {p.page})" if p.page else ""
    return f". This catalogue address is unverified: find the file on the publisher's page{where} and pass --url URL"


def _get(f: CatalogueFile, work: Path, timeout, retries, backoff, say: Say, meter: MeterFactory | None, accept_changed: bool, p: Plan) -> Download:
    name = dl.local_name(f.url)
    dest = work / "files" / name
    dest.parent.mkdir(exist_ok=True)
    proxy = dl.proxy_for(f.url)
    say(f"Downloading {f.url}" + (f" (through {proxy})" if proxy else ""))
    if f.unverified and f.note:
        say(f"  note: {f.note}")
    progress = meter(name) if meter else None
    fetched = dl.download(f.url, dest, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
    if progress is not None and hasattr(progress, "done"):
        progress.done(fetched.bytes)
    if fetched.resumed:
        say(f"  resumed after a broken connection ({fetched.attempts} attempts)")
    digest = file_sha256(dest)
    _check_archive(dest, f)
    if f.sha256 and digest != f.sha256:
        expected = f"--sha256 expects {f.sha256}" if p.from_url else f"the catalogue pins {f.sha256}"
        if accept_changed:
            say(f"  warning: {name} has SHA-256 {digest}, but {expected}; accepted with --accept-changed")
        else:
            raise FetchError(
                f"{name} from {f.url} has SHA-256 {digest}, but {expected}: the file changed upstream "
                "(publishers re-issue files with corrections), or it was altered on the way. Nothing was imported. "
                "If the new file is the one you want, run the command again with --accept-changed; "
                "the checksum of what was imported is recorded in the index manifest."
            )
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return Download(f.url, name, digest, fetched.bytes, now)


def _is_zip_name(f: CatalogueFile, path: Path) -> bool:
    return bool(f.members) or path.name.lower().endswith(".zip")


def _check_archive(path: Path, f: CatalogueFile) -> None:
    """A zip must open and every member must pass its CRC check: a truncated or damaged
    download, or a web page served where the file was, is refused before anything is read."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head.startswith(b"PK"):
        if _is_zip_name(f, path):
            shown = head[:40].decode("latin-1").replace("\n", " ").strip()
            raise FetchError(
                f"{path.name} from {f.url} is not a zip archive (it starts with {shown!r}): "
                "the address may now serve a web page instead of the file"
            )
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                check_member(path.name, info)
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise FetchError(f"{path.name} from {f.url} is a damaged zip archive ({exc})") from None
    if bad is not None:
        raise FetchError(f"{path.name} from {f.url} is a damaged zip archive ({bad} fails its CRC check)")


def _unpack(got: Download, f: CatalogueFile, into: Path) -> None:
    """Put what is to be imported into the import folder: the archive members the catalogue
    names, or the downloaded file itself."""
    path = into.parent / "files" / got.name
    if not f.members:
        shutil.move(str(path), into / got.name)
        return
    pattern = re.compile(f.members)
    taken = []
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        for info in members:
            base = Path(info.filename).name
            if info.is_dir() or "__MACOSX" in info.filename or not pattern.search(base):
                continue
            target = into / base
            if target.exists():
                raise FetchError(f"{got.name} holds two members named {base}")
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            taken.append(base)
    if not taken:
        names = ", ".join(Path(i.filename).name for i in members[:8])
        raise FetchError(f"no member of {got.name} matches {f.members!r} (it holds {names}): the archive's layout changed upstream")
    path.unlink()

