"""Findings to LSP diagnostics, with their quick fixes carried along for code actions."""

from __future__ import annotations

from lsprotocol import types

from ..findings import Finding
from ..positions import LineIndex
from .settings import Settings

SOURCE = "medcode"


def to_diagnostics(findings: list[Finding], index: LineIndex, settings: Settings) -> list[types.Diagnostic]:
    out = []
    # Placed in one pass: a minified JSON file is one line of many megabytes.
    at = index.positions(x for f in findings for x in (f.start, f.end))
    for f in findings:
        severity = settings.severity_of(f.rule, f.effective_severity)
        if severity is None:
            continue  # the user turned this rule off
        start, end = at[f.start], at[f.end]
        data = None
        if f.fixes:
            # Fix ranges relative to the finding's start: clients move diagnostics with edits,
            # so the code action re-anchors them on the diagnostic's current range.
            data = {"fixes": [{"t": x.title, "s": x.start - f.start, "e": x.end - f.start, "x": x.text, "p": x.preferred} for x in f.fixes]}
        if f.more:
            data = {**(data or {}), "more": list(f.more)}
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(*start), types.Position(*end)),
                message=f.message,
                severity=types.DiagnosticSeverity(int(severity)),
                code=f.rule,
                source=SOURCE,
                data=data,
            )
        )
    return out
