"""The settings schema (settings.py SCHEMA) written out for people: VS Code's
`contributes.configuration` in editor-clients/vscode/package.json, the README's table of the
server's settings, and the VS Code README's table of all of them.

    python -m medcode.server.lsp.settings_docs          # exit 1 and name what drifted
    python -m medcode.server.lsp.settings_docs --write  # rewrite both from the schema

tests/test_settings_schema.py fails when either differs from what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .settings import SCHEMA, SECTION, Setting

REPO = Path(__file__).resolve().parents[2]
PACKAGE_JSON = REPO / "editor-clients" / "vscode" / "package.json"
README = REPO / "README.md"
VSCODE_README = REPO / "editor-clients" / "vscode" / "README.md"
TABLE_HEAD = "| setting | default | meaning |"


def vscode_configuration() -> dict[str, Any]:
    """`contributes.configuration`: every setting, the extension's own included."""
    properties = {}
    for setting in SCHEMA:
        schema = dict(setting.schema)
        schema["markdownDescription"] = setting.description
        properties[f"{SECTION}.{setting.key}"] = schema
    return {"title": SECTION, "properties": properties}


def _readme_default(setting: Setting) -> str:
    if setting.readme_default:
        return setting.readme_default
    return f"`{json.dumps(setting.default)}`"


def readme_table(with_client: bool = False) -> list[str]:
    """The README's table of the server's settings; with_client: the VS Code README's, which
    also has the extension's own."""
    lines = [TABLE_HEAD, "|---|---|---|"]
    for setting in SCHEMA:
        if with_client or not setting.client_only:
            lines.append(f"| `{SECTION}.{setting.key}` | {_readme_default(setting)} | {setting.summary} |")
    return lines


def _table_span(lines: list[str]) -> tuple[int, int]:
    start = lines.index(TABLE_HEAD)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def readme_written(text: str, with_client: bool = False) -> str:
    lines = text.split("\n")
    start, end = _table_span(lines)
    return "\n".join([*lines[:start], *readme_table(with_client), *lines[end:]])


def vscode_readme_written(text: str) -> str:
    return readme_written(text, with_client=True)


def package_written(text: str) -> str:
    manifest = json.loads(text)
    manifest["contributes"]["configuration"] = vscode_configuration()
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    drifted = []
    for path, write in ((PACKAGE_JSON, package_written), (README, readme_written), (VSCODE_README, vscode_readme_written)):
        old = path.read_text(encoding="utf-8")
        new = write(old)
        if new != old:
            drifted.append(path)
            if "--write" in argv:
                path.write_text(new, encoding="utf-8")
    verb = "rewrote" if "--write" in argv else "differs from the schema (run with --write)"
    for path in drifted:
        print(f"{path.relative_to(REPO)}: {verb}")
    return 1 if drifted and "--write" not in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
