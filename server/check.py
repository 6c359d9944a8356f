"""`medcode check`: the editor's findings for files and folders, for CI and reviewers."""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import orjson

from medcode.index_builder.reader import IndexDataError, IndexStore
from medcode.index_builder.sources import decode_chunks, not_regular, open_without_blocking

from .analysis import DocumentChecker
from .findings import INDEX_DAMAGED, Finding, Severity
from .kinds import Options
from .positions import place
from .reading import NONE
from .verdicts import Verdicts
from .x12.delimiters import looks_like_x12

# Binary files are recognised by NUL bytes that are not UTF-16 or UTF-32 text.
_SNIFF = 8192


@dataclass(frozen=True, slots=True)
class Located:
    path: str
    line: int
    character: int
    end_line: int
    end_character: int
    finding: Finding

    def to_json(self) -> dict:
        f = self.finding
        return {
            "path": self.path,
            "line": self.line,
            "character": self.character,
            "end_line": self.end_line,
            "end_character": self.end_character,
            "code": f.code,
            "code_set": f.code_set,
            "rule": f.rule,
            "severity": f.effective_severity.label,
            "message": f.message,
        }

    def to_text(self) -> str:
        f = self.finding
        return f"{self.path}:{self.line + 1}:{self.character + 1}: {f.effective_severity.label}: {f.message} [{f.rule}]"


# What comes between two findings as printed: a text line each, or the entries of one JSON array.
_SEPARATOR = {"text": "\n", "json": ",\n"}


def _json_entry(obj: dict) -> str:
    """One finding as an entry of the printed JSON array: the bytes json.dumps(indent=2,
    ensure_ascii=False) of the whole array gives it (each object indented one level more).
    orjson writes them in C, a tenth of the time of json's indenting encoder (written in
    Python); a lone surrogate (a file name that is not UTF-8) makes orjson refuse, and json
    writes it as before."""
    try:
        text = orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()
    except TypeError:  # orjson.JSONEncodeError
        text = json.dumps(obj, indent=2, ensure_ascii=False)
    return "  " + text.replace("\n", "\n  ")


@dataclass(frozen=True, slots=True)
class Printed:
    """Findings as `medcode check` prints them in one format: their entries (text lines, or
    objects of the JSON array as indented there) joined, and how many there are of each
    severity. A worker sends a file's findings back in this form: one string pickles and
    unpickles at a fraction of the cost of the objects, and the formatting is done beside the
    other workers rather than after them."""

    text: str
    counts: tuple[int, ...]  # by Severity, in its order
    damaged: int = 0  # findings whose codes a damaged index release kept from being verified

    @classmethod
    def of(cls, located: list[Located], fmt: str) -> Printed:
        if fmt == "json":
            entries = [_json_entry(x.to_json()) for x in located]
        else:
            entries = [x.to_text() for x in located]
        severities = [x.finding.effective_severity for x in located]
        damaged = sum(x.finding.rule == INDEX_DAMAGED for x in located)
        return cls(_SEPARATOR[fmt].join(entries), tuple(severities.count(s) for s in Severity), damaged)


@dataclass
class Report:
    """The findings of a run, file by file in walk order, as printed in one format."""

    fmt: str = "text"
    parts: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=lambda: [0] * len(Severity))
    damaged: int = 0  # Printed.damaged, summed
    problems: list[str] = field(default_factory=list)  # Outcome.problems, each once

    def add(self, printed: Printed) -> None:
        if printed.text:
            self.parts.append(printed.text)
        self.counts = [a + b for a, b in zip(self.counts, printed.counts)]
        self.damaged += printed.damaged

    def count(self, severity: Severity) -> int:
        return self.counts[list(Severity).index(severity)]

    @property
    def findings(self) -> int:
        return sum(self.counts)

    def text(self) -> str:
        """What goes to stdout, without its last newline."""
        if self.fmt == "json":
            return "[\n" + ",\n".join(self.parts) + "\n]" if self.parts else "[]"
        return "\n".join(self.parts)


class Skip(Exception):
    """A path that is not read: args are the short reason counted in the summary ("FIFO")
    and the note shown for the path ("a FIFO (named pipe), never opened")."""

    @property
    def reason(self) -> str:
        return self.args[0]

    @property
    def note(self) -> str:
        return self.args[1]


# Default for --max-size: larger files are skipped with a note, never read into memory.
DEFAULT_MAX_BYTES = 1 << 30


def _refusal(st: os.stat_result, max_bytes: int) -> Skip | None:
    """Why a file is not to be read (never opened if not regular), or None."""
    special = not_regular(st.st_mode)
    if special is not None:
        return Skip(special[0], f"{special[1]}, never opened")
    if st.st_size > max_bytes:
        return Skip("too large", f"{_size_text(st.st_size)}, larger than {_size_text(max_bytes)} (see --max-size)")
    return None


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


BINARY = "binary"
NOT_A_KIND = "not a kind medcode reads"
READS = "X12 837, price-transparency CSV or JSON, chargemaster CSV, templates"


@dataclass
class Walk:
    """What happened to every path named: checked, skipped (and why) or unreadable."""

    max_bytes: int = DEFAULT_MAX_BYTES
    checked: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # short reason -> count
    notes: list[str] = field(default_factory=list)  # one line per path worth naming
    errors: list[str] = field(default_factory=list)  # paths that could not be read
    _seen: set[tuple[int, int]] = field(default_factory=set)
    # Files named on the command line (not found in a folder), and how many of those were not
    # a kind medcode reads: a folder may hold anything, a file named alone is meant to be checked.
    _named: set[Path] = field(default_factory=set)
    _named_refused: int = 0

    def skip(self, path: Path | str, reason: str, note: str | None = None) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if note is None and reason in (BINARY, NOT_A_KIND) and Path(path) in self._named:
            self._named_refused += 1
            note = f"{reason} ({READS})" if reason == NOT_A_KIND else "a binary file"
        if note:
            self.notes.append(f"{path}: skipped: {note}")

    def error(self, path: Path | str, exc: OSError) -> None:
        self.errors.append(f"{path}: cannot be read ({exc.strerror or exc})")

    def files(self, paths: list[str]) -> Iterator[Path]:
        """Regular files under paths, each once; everything else is noted and never opened."""
        for raw in paths:
            if not raw:  # Path("") is ".": an unset shell variable must not mean the working folder
                self.errors.append("an empty path names no file")
                continue
            path = Path(raw)
            try:
                st = path.stat()
            except FileNotFoundError:
                self.errors.append(f"{path} does not exist")
                continue
            except OSError as exc:
                self.error(path, exc)
                continue
            if stat.S_ISDIR(st.st_mode):
                before = (self.checked, len(self.errors))
                yield from self._folder(path)
                if (self.checked, len(self.errors)) == before:
                    self.notes.append(f"{path}: no file of a kind medcode reads ({READS})")
            elif self._wanted(path, st):
                self._named.add(path)
                yield path

    def _folder(self, top: Path) -> Iterator[Path]:
        def unreadable(exc: OSError) -> None:
            self.error(exc.filename or top, exc)

        for root, dirs, files in os.walk(top, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                path = Path(root) / name
                try:
                    st = path.stat()  # follows links: a link to /dev/zero is a device
                except FileNotFoundError:
                    self.skip(path, "broken link", "a link to nothing")
                    continue
                except OSError as exc:
                    self.error(path, exc)
                    continue
                if self._wanted(path, st):
                    yield path

    def _wanted(self, path: Path, st: os.stat_result) -> bool:
        key = (st.st_dev, st.st_ino)
        if key in self._seen:  # named twice, or reached again through a link
            return False
        self._seen.add(key)
        refused = _refusal(st, self.max_bytes)
        if refused is not None:
            self.skip(path, refused.reason, refused.note)
            return False
        return True

    @property
    def nothing_checked(self) -> bool:
        """Nothing was checked although something was named that could not be (a FIFO, an
        unreadable, over-large or binary file, a file of no kind medcode reads): that is no
        clean result. A folder that holds nothing medcode reads is only noted."""
        refused = any(r not in (BINARY, NOT_A_KIND) for r in self.skipped) or self._named_refused > 0
        return self.checked == 0 and (bool(self.errors) or refused)

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        line = f"checked {self.checked} file(s)"
        if skipped:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
            line += f", skipped {skipped} ({why})"
        if self.errors:
            line += f", {len(self.errors)} unreadable"
        return line


# Bytes decoded at a time: the raw file is never held whole next to its text.
_CHUNK = 1 << 20


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """The file as text, or None when it is binary. Opened without blocking and checked again
    once open, so a path swapped for a FIFO or device after the walk is still never read
    (raises Skip)."""
    with open_without_blocking(path) as fh:
        refused = _refusal(os.fstat(fh.fileno()), max_bytes)
        if refused is not None:
            raise refused
        head = fh.read(_SNIFF)
        # UTF-16 or UTF-32 (sources.decode_chunks tells them apart), by a BOM or their NULs.
        wide = head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or (len(head) > 1 and head.count(0) > len(head) // 4 and (head[1] == 0 or head[0] == 0))
        if b"\x00" in head and not wide and not _x12_head(head):
            return None

        def chunks() -> Iterator[bytes]:
            fh.seek(0)
            seen = 0
            while chunk := fh.read(_CHUNK):
                seen += len(chunk)
                if seen > max_bytes:  # grew since the stat
                    raise Skip("too large", f"larger than {_size_text(max_bytes)} (see --max-size)")
                yield chunk

        text = decode_chunks(chunks, head)
    return text[1:] if text.startswith("\ufeff") else text


def _x12_head(head: bytes) -> bool:
    """An interchange with a stray NUL is still a claim file: it is checked, and the byte
    reported (x12-structure), rather than passed over as binary."""
    return looks_like_x12(head.removeprefix(b"\xef\xbb\xbf").decode("latin-1"))


@dataclass(slots=True)
class Outcome:
    """What checking one file gave: its findings, or why it was skipped or not read. Built in
    a worker process or in this one, and applied to the Walk in the order the walk named the
    files, so `-j N` reports exactly what `-j 1` does."""

    located: list[Located] = field(default_factory=list)
    checked: bool = False
    skip: tuple[str, str | None] | None = None  # (short reason, note)
    error: OSError | None = None
    printed: Printed | None = None  # the findings as printed, once `located` is dropped
    # Index damage that checking the file found (in a worker too: its store is its own).
    problems: tuple[str, ...] = ()
    # Damage in a release's records met while checking the file (the sizes checked on open
    # were right): the file is checked again once the run has set that release aside
    # (without_damage); its findings so far are not kept.
    damage: IndexDataError | None = None

    def print_as(self, fmt: str) -> Outcome:
        """This outcome with its findings printed in fmt instead of held as objects."""
        if self.checked and self.printed is None:
            self.printed = Printed.of(self.located, fmt)
            self.located = []
        return self

    def apply(self, walk: Walk, path: Path, report: Report) -> bool:
        """Count the outcome in the walk (its findings are the report's once the run knows
        they stand: check_paths); True when the file was checked."""
        report.problems += [p for p in self.problems if p not in report.problems]
        if self.error is not None:
            walk.error(path, self.error)
        elif self.skip is not None:
            walk.skip(path, *self.skip)
        elif self.checked:
            walk.checked += 1
            self.print_as(report.fmt)
            return True
        return False


def check_file(path: Path, checker: DocumentChecker, options: Options, max_bytes: int) -> Outcome:
    """One file's outcome. The checker is shared by the files one process checks: its memos
    (code verdicts, claim edits, tabular notes) fill once, not once per file, and its claim
    cache is keyed by the claim's text and everything around it that matters."""
    try:
        text = read_text(path, max_bytes)
    except Skip as exc:
        return Outcome(skip=(exc.reason, exc.note))
    except OSError as exc:
        return Outcome(error=exc)
    if text is None:
        return Outcome(skip=(BINARY, None))
    store = checker.verdicts.store
    known = len(store.problems)
    try:
        analysis = checker.check(text, name=str(path), options=options)
    except IndexDataError as exc:
        return Outcome(checked=True, problems=tuple(store.problems[known:]), damage=exc)
    if analysis.kind == NONE:
        return Outcome(skip=(NOT_A_KIND, None))
    # Only the findings are kept: the reading (a price file's slot table, megabytes) goes
    # before the findings are placed, so the two are never held at once.
    findings, analysis = analysis.findings, None
    outcome = Outcome(checked=True, problems=tuple(store.problems[known:]))
    if findings:
        at = place(text, [x for f in findings for x in (f.start, f.end)])
        for f in findings:
            outcome.located.append(Located(str(path), *at[f.start], *at[f.end], f))
    return outcome


def default_jobs() -> int:
    """The cores this process may run on."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def check_paths(
    paths: list[str], store: IndexStore, options: Options = Options(), walk: Walk | None = None, jobs: int = 1, fmt: str = "text"
) -> tuple[Report, list[str]]:
    walk = walk if walk is not None else Walk()
    report = Report(fmt)
    if jobs > 1:
        # A dry walk (stat only, its notes dropped) tells how many files there are: a pool
        # for one file would only add its start-up.
        planned = list(Walk(max_bytes=walk.max_bytes).files(paths))
        if len(planned) > 1:
            from .check_pool import CheckPool

            checked: list[tuple[Path, Outcome]] = []
            with CheckPool(min(jobs, len(planned)), store.root, options, walk.max_bytes, fmt) as pool:
                pool.plan(planned)
                for path in walk.files(paths):
                    outcome = pool.outcome(path)
                    if outcome.apply(walk, path, report):
                        checked.append((path, outcome))
            return _reported(checked, store, options, walk, report), walk.errors
    checked = []
    checker = DocumentChecker(Verdicts(store))
    for path in walk.files(paths):
        outcome = check_file(path, checker, options, walk.max_bytes)
        if outcome.apply(walk, path, report):
            checked.append((path, outcome))
    return _reported(checked, store, options, walk, report), walk.errors


def _reported(checked: list[tuple[Path, Outcome]], store: IndexStore, options: Options, walk: Walk, report: Report) -> Report:
    """The findings of the files checked, in walk order, into the report: as checked, or
    (when damage was met in a release's records) as without_damage judges them."""
    if any(outcome.damage is not None for _, outcome in checked):
        known = len(store.problems)
        checked = without_damage(checked, store, options, walk.max_bytes, report.fmt)
        report.problems += [p for p in store.problems[known:] if p not in report.problems]
    for _, outcome in checked:
        report.add(outcome.printed)
    return report


def without_damage(checked: list[tuple[Path, Outcome]], store: IndexStore, options: Options, max_bytes: int, fmt: str) -> list[tuple[Path, Outcome]]:
    """Every file checked again, in this process, with the releases whose records were found
    damaged set aside (as the language server does): the codes of their days then get
    `index-damaged` findings, the others their usual ones. All files, not only those that met
    the damage: a file checked before it was found was judged from that release too, and
    which files those are depends on the order and on -j, the output must not. Damage first
    met in this pass sets its release aside too, and the pass is made again (once per
    release at most). Only on a damaged index: an intact one never comes here."""
    for _, outcome in checked:
        if outcome.damage is not None:
            store.set_aside(outcome.damage)  # False when another file's outcome named it first
    while True:
        again = False
        checker = DocumentChecker(Verdicts(store))
        out = []
        for path, before in checked:
            while (outcome := check_file(path, checker, options, max_bytes)).damage is not None:
                if not store.set_aside(outcome.damage):
                    raise outcome.damage  # damage in nothing that can be set aside: the run stops (exit 2)
                again = True
                checker = DocumentChecker(Verdicts(store))
            # A file gone or changed into something else since: what it gave the first time.
            out.append((path, outcome.print_as(fmt) if outcome.checked else before))
        if not again:
            return out


def run(paths: list[str], store: IndexStore, fmt: str, options: Options = Options(), max_bytes: int = DEFAULT_MAX_BYTES, jobs: int = 1) -> int:
    """Check paths; findings on stdout (text lines or one JSON array), everything about the
    run itself (unreadable paths, skipped files, counts) on stderr.

    Exit 1 when there are errors among the findings; else 2 when a path could not be read,
    nothing named could be checked, or codes could not be verified because the index release
    in force on their date is damaged (index-damaged: the index is an input too, and an
    unchecked file must not pass as clean); else 0. With jobs > 1 the files are checked in
    that many processes; the output is the same."""
    walk = Walk(max_bytes=max_bytes)
    named = set(store.problems)  # by cli._open_store
    report, errors = check_paths(list(dict.fromkeys(paths)), store, options, walk, jobs, fmt)
    for e in errors:
        print(f"medcode: {e}", file=sys.stderr)
    for problem in report.problems:  # damage found while reading (the claim edits' data)
        if problem not in named:
            print(f"medcode: warning: {problem}", file=sys.stderr)
    for note in walk.notes:
        print(f"medcode: note: {note}", file=sys.stderr)
    if fmt == "json" or report.parts:
        print(report.text())
    if fmt != "json":
        summary = ", ".join(f"{report.count(s)} {s.label}(s)" for s in Severity if report.count(s))
        print(summary or ("no findings" if walk.checked else "nothing was checked"), file=sys.stderr)
    print(walk.summary(), file=sys.stderr)
    if report.damaged:
        print(f"medcode: {report.damaged} finding(s) [{INDEX_DAMAGED}]: codes not verified, a damaged index must be rebuilt", file=sys.stderr)
    if report.count(Severity.ERROR):
        return 1
    return 2 if errors or walk.nothing_checked or report.damaged else 0
