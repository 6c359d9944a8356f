"""Building indexes: the embedded defaults, and imports of official or local files."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import shutil
import threading
from contextlib import contextmanager
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from .codesets import CPT, EMBEDDED_SETS, HCPCS, ICD10CM, ICD10PCS, NDC, OFFICIAL_SETS, SET_ID_RE, set_name
from . import layout, stage
from .gcpause import paused_gc
from .model import CodeRecord, Download, ImportResult, Source, SourceFile
from .ncci_index import NCCI
from .sources import LayoutNotRecognised, SourceError, read_inputs
from .forked import Helper
from .writer import word_index_helper, write_family, write_release

# Labels earlier medcode versions built as embedded defaults, replaced by the per-year releases.
SUPERSEDED = {ICD10CM: ("FY2026-Apr",), ICD10PCS: ("FY2024-drg",)}
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


def _write(root: Path, result: ImportResult, started: float, helper: Helper | None = None) -> Built:
    path = write_release(root, result, helper=helper)
    from .reader import Release  # the manifest just written is the source of truth for counts

    records = Release(path).manifest.counts["records"]
    return Built(path, result, time.perf_counter() - started, records)


@contextmanager
def _heartbeat(progress: Progress | None, name: str, every: float = 3.0, poll: float = 0.5):
    """Progress lines while one long step runs: what it is doing now (stage.py) whenever that
    changes, and at least every few seconds with how long the step has taken, so the user
    sees the build is alive and where it is."""
    if progress is None:
        yield
        return
    stop = threading.Event()
    started = time.perf_counter()
    stage.doing("")

    def beat() -> None:
        said, said_at = "", started
        while not stop.wait(poll):
            now, at = stage.now(), time.perf_counter()
            if now != said or at - said_at >= every:
                progress(f"{name}: {now or 'still building'} … {at - started:.0f} s")
                said, said_at = now, at

    thread = threading.Thread(target=beat, name="medcode-build-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stage.doing("")


MCE_STEP = "mce"  # the claim edits' tables, built with ICD-10-CM
# Work of each embedded build step relative to the others (about its CPU seconds on a quiet
# 2-core machine, bench/bench_build.py), so the parallel build starts the longest first: NDC
# in one worker while the other builds the rest one after another, about as long in all.
_COST = {NDC: 7.0, ICD10CM: 3.0, ICD10PCS: 2.0, MCE_STEP: 0.4, HCPCS: 0.2}


def build_defaults(
    root: Path,
    sets: tuple[str, ...] = EMBEDDED_SETS,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    timings: dict[str, tuple[float, float]] | None = None,
) -> list[Built]:
    """Build the embedded defaults of `sets` (and the MCE tables with ICD-10-CM).

    The sets are independent, so on a machine with several cores they are built in separate
    processes (`workers`, default: up to two): the whole build then takes about as long as its
    longest set. A set that fails does not stop the others; the first failure is raised once
    they are done, after a progress line that names its set. `timings`, if given, receives
    per step (set id, or MCE_STEP) its wall-clock and CPU seconds (bench/bench_build.py)."""
    for set_id in sets:
        if set_id not in EMBEDDED_SETS:
            raise SourceError(f"{set_name(set_id)} has no embedded data; import your own files")
    steps = list(dict.fromkeys(sets))
    if ICD10CM in sets:
        steps.append(MCE_STEP)
    from . import parallel

    count = parallel.worker_count(workers, len(steps))
    if count > 1:
        return parallel.build_steps(root, steps, progress, count, lambda s: -_COST.get(s, 1.0), timings)
    out: list[Built] = []
    failed: list[tuple[str, Exception]] = []
    for step in steps:
        try:
            built, seconds, cpu = timed_step(root, step, progress)
        except Exception as exc:  # noqa: BLE001 - raised again below, once the other sets are built
            failed.append((step, exc))
            if progress:
                progress(f"{step_name(step)}: failed ({parallel.why(exc)})")
            continue
        out += built
        if timings is not None:
            timings[step] = (seconds, cpu)
    if failed:
        step, exc = failed[0]
        raise parallel.naming(exc, step_name(step))
    return out


def step_name(step: str) -> str:
    return "MCE tables" if step == MCE_STEP else set_name(step)


def timed_step(root: Path, step: str, progress: Progress | None, fork: bool = False) -> tuple[list[Built], float, float]:
    """build_step, with its wall-clock and CPU seconds (of this process and of the helper it
    forked, if any: the step's own)."""
    started, cpu = time.perf_counter(), _cpu()
    built = build_step(root, step, progress, fork=fork)
    return built, time.perf_counter() - started, _cpu() - cpu


def _cpu() -> float:
    """CPU seconds of this process and of its children waited for (a step's forked helper)."""
    try:
        import resource
    except ImportError:  # Windows: no forked helper there either
        return time.process_time()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_step(root: Path, step: str, progress: Progress | None = None, *, fork: bool = False) -> list[Built]:
    """One set's embedded default (all its releases), or the MCE tables. `fork`: a long write
    may fork a helper process (writer.write_release; the parallel build's workers ask)."""
    started = time.perf_counter()
    if step == MCE_STEP:
        with _heartbeat(progress, step_name(step)):
            _build_mce(root, progress)
        return []
    set_id = step
    out: list[Built] = []
    from .defaults.releases import RELEASES

    if progress:
        progress(f"{set_name(set_id)}: reading the embedded default …")
    # A set written as one release (NDC) may have its word index written by a helper process,
    # forked first: while this process is small, and before the progress thread starts
    # (writer.word_index_helper). The embedded NDC release installs its shipped word index and
    # leaves the helper unused; the helper is there for when that index is not for these
    # records after all, which would otherwise cost the step 5.5 s more on its own core.
    one_release = set_id not in RELEASES
    with paused_gc(), word_index_helper(fork and one_release) as helper, _heartbeat(progress, set_name(set_id)):
        if set_id in RELEASES:
            results = list(RELEASES[set_id]())
            if progress:
                progress(f"{set_name(set_id)}: writing {len(results)} release(s) ({', '.join(r.release for r in results)}) …")

            def done(result, path, records, started=started):
                out.append(Built(path, result, time.perf_counter() - started, records))
                if progress:
                    progress(f"{set_name(set_id)}: {result.title} from {result.source.describe()}: {records:,} records")

            write_family(root, results, progress=done)
        else:
            result = _importer(set_id).embedded_default()
            built = _write(root, result, started, helper)
            out.append(built)
            if progress:
                progress(
                    f"{set_name(set_id)}: {result.title} from {result.source.describe()}: "
                    f"{built.records:,} records in {built.seconds:.1f} s"
                )
    _remove_superseded(root, set_id, progress)
    return out


def _remove_superseded(root: Path, set_id: str, progress: Progress | None) -> None:
    """An embedded default an earlier medcode built would otherwise keep answering beside the
    releases that replace it (same dates, and its label sorts last)."""
    for label in SUPERSEDED.get(set_id, ()):
        folder = Path(root) / set_id / label
        try:
            kind = json.loads((folder / layout.MANIFEST).read_text(encoding="utf-8"))["source"]["kind"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if kind == "package":  # the user's own import under the same label stays
            shutil.rmtree(folder, ignore_errors=True)
            if progress:
                progress(f"{set_name(set_id)}: removed the superseded embedded release {label}")


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
    from .ncci_index import AOC

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
