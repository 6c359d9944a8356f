"""Markdown for hovers and completion documentation, from the same CodeView the CLI prints."""

from __future__ import annotations

from ..describe import CodeView

NOTE_ITEMS = 8


def _escape(text: str) -> str:
    # Descriptions hold brackets and asterisks ("[HIV]", "E11.-"); keep them literal.
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def code_view(view: CodeView, findings: list[str] | None = None) -> str:
    title = f"**{view.code}** {_escape(view.description)}" if view.description else f"**{view.code}**"
    where = view.release or view.set_name + (": index cannot be read" if view.data_problem else ": no data installed")
    lines = [title, "", f"*{_escape(where)}* · {_escape(view.summary)}"]
    if findings:
        lines += [""] + [f"⚠ {_escape(f)}" for f in findings]
    if view.path:
        lines += ["", " › ".join(f"{_escape(s.code)} {_escape(s.description)}" for s in view.path)]
    if view.facts:
        lines.append("")
        lines += [f"- {_escape(label)}: {_escape(str(value))}" for label, value in view.facts]
    for group in view.notes:
        items = group.texts[:NOTE_ITEMS]
        more = len(group.texts) - len(items)
        lines += ["", f"**{_escape(group.label)}** ({_escape(group.source)})"]
        lines += [f"- {_escape(t)}" for t in items]
        if more > 0:
            lines.append(f"- … {more} more")
    if view.children:
        lines += ["", f"{view.children_total} subdivision(s), {view.billable_below:,} billable code(s) below:"]
        lines += [f"- `{c.code}` {_escape(c.description)}" for c in view.children]
    for hint in view.hints:
        lines += ["", f"→ {_escape(hint)}"]
    return "\n".join(lines)
