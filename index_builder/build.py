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
from .model import CodeRecord, Download, ImportResult, Source, SourceFile
from .ncci import NCCI
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
    return out


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
    if set_id == NCCI:
        built = import_ncci(root, [Path(path)], release=release, effective=effective, downloads=downloads)
        if len(built) != 1:
            raise SourceError(f"{path} holds files of {len(built)} quarters; import them with `medcode index import ncci`")
        return built[0]
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


def import_ncci(
    root: Path,
    paths: list[Path],
    *,
    release: str | None = None,
    effective: dt.date | None = None,
    downloads: list[Download] | None = None,
) -> list[Built]:
    """CMS NCCI files (PTP, MUE, add-on codes) of one or more quarters: one release each.

    A quarter already installed keeps the tables this import does not bring (the PTP files
    one day, the MUE tables the next), so its files can come in separate commands."""
    from .importers import ncci as importer
    from .reader import IndexStore

    started = time.perf_counter()
    with paused_gc():
        results, skipped = importer.read_quarters([Path(p) for p in paths], release=release, effective=effective)
        out = []
        for result in results:
            if skipped:
                result.warnings.append("skipped: " + "; ".join(skipped[:10]))
            old = IndexStore(root).release(NCCI, result.release)
            if old is not None:
                _keep_tables(old, result)
            if downloads:
                result.source = _downloaded(result.source, downloads)
            out.append(_write(root, result, started))
            started = time.perf_counter()
    return out


def _keep_tables(old, result: ImportResult) -> None:
    """Carry over the tables of an installed release that this import does not replace."""
    from .ncci import AOC

    tables = result.meta.setdefault("tables", {})
    old_tables = old.meta.get("tables", {})
    records = {r.code: r for r in result.records}
    kept = []
    for name, info in old_tables.items():
        if name in tables:
            continue
        kept.append(name)
        tables[name] = info
        if name.startswith("ptp-"):
            trie = old.key_set(name)
            if trie is not None:
                result.key_sets[name] = list(trie.keys())
                for k in result.key_sets[name]:
                    for code in (k[:5], k[5:10]):
                        records.setdefault(code, CodeRecord(code, ""))
            continue
        for code in old.keys():
            detail = old.get(code).detail
            rec = records.setdefault(code, CodeRecord(code, ""))
            if name == AOC and AOC in detail:
                rec.detail[AOC] = detail[AOC]
            elif name.startswith("mue-"):
                setting = name[4:]
                row = detail.get("mue", {}).get(setting)
                if row is not None:
                    rec.detail.setdefault("mue", {})[setting] = row
    if kept:
        result.records = list(records.values())
        result.warnings.append(f"kept from the installed {result.release}: {', '.join(sorted(kept))}")
