"""`medcode check`: the editor's findings for files and folders, for CI and reviewers."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from medcode.index_builder.reader import IndexStore
from medcode.index_builder.sources import decode

from .analysis import DocumentChecker
from .findings import Finding, Severity
from .kinds import Options
from .positions import LineIndex
from .verdicts import Verdicts
from .x12.delimiters import looks_like_x12

# Binary files are recognised by NUL bytes that are not UTF-16 text.
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


def iter_files(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def read_text(path: Path) -> str | None:
    """The file as text, or None when it is binary."""
    data = path.read_bytes()
    head = data[:_SNIFF]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 1 and head.count(0) > len(head) // 4 and (head[1] == 0 or head[0] == 0))
    if b"\x00" in head and not utf16 and not _x12_head(head):
        return None
    text = decode(data)
    return text[1:] if text.startswith("\ufeff") else text


def _x12_head(head: bytes) -> bool:
    """An interchange with a stray NUL is still a claim file: it is checked, and the byte
    reported (x12-structure), rather than passed over as binary."""
    return looks_like_x12(head.removeprefix(b"\xef\xbb\xbf").decode("latin-1"))


def check_paths(paths: list[str], store: IndexStore, options: Options = Options()) -> tuple[list[Located], list[str]]:
    verdicts = Verdicts(store)
    located: list[Located] = []
    errors: list[str] = []
    for path in iter_files(paths):
        try:
            text = read_text(path)
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
            continue
        if text is None:
            continue
        analysis = DocumentChecker(verdicts).check(text, name=str(path), options=options)
        if not analysis.findings:
            continue
        index = LineIndex(text)
        for f in analysis.findings:
            line, char = index.position(f.start)
            end_line, end_char = index.position(f.end)
            located.append(Located(str(path), line, char, end_line, end_char, f))
    return located, errors


def run(paths: list[str], store: IndexStore, fmt: str, options: Options = Options()) -> int:
    missing = [p for p in paths if not Path(p).exists()]
    for p in missing:
        print(f"medcode: {p} does not exist", file=sys.stderr)
    if missing:
        return 2
    located, errors = check_paths(paths, store, options)
    for e in errors:
        print(f"medcode: {e}", file=sys.stderr)
    if fmt == "json":
        print(json.dumps([item.to_json() for item in located], indent=2, ensure_ascii=False))
    else:
        for item in located:
            print(item.to_text())
        counts = {s: sum(1 for i in located if i.finding.effective_severity == s) for s in Severity}
        summary = ", ".join(f"{n} {s.label}(s)" for s, n in counts.items() if n)
        print(summary or "no findings", file=sys.stderr)
    if errors:
        return 2
    return 1 if any(i.finding.effective_severity == Severity.ERROR for i in located) else 0
