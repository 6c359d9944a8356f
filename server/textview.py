"""Plain-text rendering of code views and index listings for the terminal."""

from __future__ import annotations

import textwrap

from .describe import CodeView

NOTE_ITEMS_SHOWN = 6


def code_view(view: CodeView, width: int = 100) -> str:
    lines = [f"{view.code}  {view.description or '(no description)'}" if view.found or view.description else view.code]
    lines.append(f"  {view.release or view.set_name + (' · index cannot be read' if view.data_problem else ' · no data')} · {view.summary}")
    if view.path:
        lines.append("  " + view.path[0].code + " " + view.path[0].description)
        for step in view.path[1:]:
            lines.append(f"    › {step.code} {step.description}")
    for label, value in view.facts:
        lines.extend(_wrapped(f"{label}: {value}", width))
    for group in view.notes:
        items = group.texts[:NOTE_ITEMS_SHOWN]
        more = len(group.texts) - len(items)
        head = f"{group.label} ({group.source}): "
        lines.extend(_wrapped(head + "; ".join(items) + (f"; … {more} more" if more > 0 else ""), width))
    if view.children:
        lines.append(f"  {view.children_total} subdivision(s), {view.billable_below:,} billable code(s) below:")
        for child in view.children:
            lines.append(f"    {child.code:<9} {child.description}")
        if view.children_total > len(view.children):
            lines.append(f"    … {view.children_total - len(view.children)} more")
    for hint in view.hints:
        lines.extend(_wrapped("→ " + hint, width))
    return "\n".join(lines)


def _wrapped(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent="  ", subsequent_indent="      ") or ["  "]


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    for r in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(out)
