"""Building indexes: the embedded defaults, and imports of official or local files."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from .codesets import CPT, HCPCS, ICD10CM, ICD10PCS, NDC, OFFICIAL_SETS, SET_ID_RE, set_name
from .gcpause import paused_gc
from .model import Download, ImportResult, Source, SourceFile
from .sources import LayoutNotRecognised, SourceError, read_inputs
from .writer import write_release

# Sets with data shipped by a package this one depends on. HCPCS has none on any registry;
# CPT cannot have one (AMA copyright).
EMBEDDED_SETS = (ICD10CM, ICD10PCS, NDC)
_IMPORTER_MODULES = {ICD10CM: "icd10cm", ICD10PCS: "icd10pcs", HCPCS: "hcpcs", NDC: "ndc", CPT: "cpt"}

Progress = Callable[[str], None]


def _importer(set_id: str):
    return importlib.import_module(f".importers.{_IMPORTER_MODULES[set_id]}", __package__)


@dataclass(slots=True)
class Built:
    path: Path
    result: ImportResult
    seconds: float
    records: int


def _write(root: Path, result: ImportResult, started: float) -> Built:
    path = write_release(root, result)
    from .reader import Release  # the manifest just written is the source of truth for counts

    records = Release(path).manifest.counts["records"]
    return Built(path, result, time.perf_counter() - started, records)


def build_defaults(root: Path, sets: tuple[str, ...] = EMBEDDED_SETS, progress: Progress | None = None) -> list[Built]:
    out = []
    for set_id in sets:
        if set_id not in EMBEDDED_SETS:
            raise SourceError(f"{set_name(set_id)} has no embedded data; import your own files")
        started = time.perf_counter()
        if progress:
            progress(f"{set_name(set_id)}: reading the embedded default …")
        with paused_gc():
            result = _importer(set_id).embedded_default()
            built = _write(root, result, started)
        if progress:
            progress(
                f"{set_name(set_id)}: {result.title} from {result.source.describe()}: "
                f"{built.records:,} records in {built.seconds:.1f} s"
            )
        out.append(built)
    if ICD10CM in sets:
        _build_mce(root, progress)
    return out


def _build_mce(root: Path, progress: Progress | None) -> None:
    """The CMS MCE tables for the claim edits, from the data files shipped in the package."""
    from . import mce_index

    started = time.perf_counter()
    with paused_gc():
        path = mce_index.build(root)
    if progress:
        from .reader import Release

        rel = Release(path)
        progress(f"{rel.title}: from {rel.manifest.source.describe()}: {len(rel):,} flagged codes in {time.perf_counter() - started:.1f} s")


def import_path(
    root: Path,
    set_id: str,
    path: Path,
    *,
    release: str | None = None,
    effective: dt.date | None = None,
    complete: bool | None = None,
    two_column: bool = False,
    downloads: list[Download] | None = None,
) -> Built:
    """Import files in the set's official layout; a plain two-column list when asked to, or
    when the official layout is not recognised and the file is one.

    `downloads` are the files `medcode index fetch` got for this release: the manifest then
    names their URLs, checksums and download times instead of the temporary folder read."""
    if set_id not in OFFICIAL_SETS and not SET_ID_RE.match(set_id):
        raise SourceError(
            f"{set_id!r} is not a code set id: use one of {', '.join(OFFICIAL_SETS)}, "
            "or a local set name of lower-case letters, digits and '-'"
        )
    with paused_gc():
        return _import(root, set_id, Path(path), release, effective, complete, two_column, downloads or [])


def _downloaded(source: Source, downloads: list[Download]) -> Source:
    """Provenance of fetched files: the downloads first (URL, SHA-256, time), then the members
    the importer read from them."""
    files = [SourceFile(d.name, d.sha256, d.bytes) for d in downloads]
    files += [f for f in source.files if f.name not in {d.name for d in downloads}]
    return Source(
        kind="download",
        name=downloads[0].url,
        files=files,
        url=downloads[0].url,
        downloaded_at=max(d.downloaded_at for d in downloads),
        downloads=list(downloads),
    )


def _import(root, set_id, path, release, effective, complete, two_column, downloads) -> Built:
    started = time.perf_counter()
    generic = importlib.import_module(".importers.generic", __package__)
    if set_id in OFFICIAL_SETS and not two_column:
        try:
            result = _importer(set_id).from_path(Path(path), release=release, effective=effective)
        except LayoutNotRecognised as exc:
            if not generic.looks_like_two_columns(read_inputs(Path(path))):
                raise
            result = generic.from_path(Path(path), set_id=set_id, release=release, effective=effective, complete=complete)
            result.warnings.append(f"not in the official {set_name(set_id)} layout ({exc}); read as a two-column list")
        else:
            if complete is not None:
                result.complete = complete
    else:
        result = generic.from_path(Path(path), set_id=set_id, release=release, effective=effective, complete=complete)
    if downloads:
        result.source = _downloaded(result.source, downloads)
    return _write(root, result, started)
