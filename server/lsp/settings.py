"""The `medcode` settings a client can send (workspace/configuration), typed and defaulted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medcode.index_builder.codesets import OFFICIAL_SETS

from .. import kinds
from ..findings import OFF_BY_DEFAULT, RULES, Severity

SECTION = "medcode"
SEVERITY_NAMES = {"error": Severity.ERROR, "warning": Severity.WARNING, "information": Severity.INFORMATION, "hint": Severity.HINT}
# Settings keys for the file kinds, as the README documents them.
KIND_KEYS = {"x12": kinds.X12, "csv": kinds.CSV, "json": kinds.JSON, "templates": kinds.TEMPLATES}


@dataclass
class Settings:
    inlay_hints: bool = False
    # rule id -> severity, or None to turn the rule off
    severity: dict[str, Severity | None] = field(default_factory=dict)
    debounce_ms: int = 200
    kinds: frozenset[str] = kinds.ALL_KINDS
    sets: frozenset[str] = frozenset(OFFICIAL_SETS)
    bare_codes: bool = False  # templates: code-shaped words without a set become hints
    index_dir: str | None = None

    @classmethod
    def from_client(cls, data: Any) -> Settings:
        """Lenient: unknown keys and bad values fall back to defaults rather than failing."""
        out = cls()
        if not isinstance(data, dict):
            return out
        hints = data.get("inlayHints")
        if isinstance(hints, dict):
            out.inlay_hints = bool(hints.get("enabled", False))
        elif isinstance(hints, bool):
            out.inlay_hints = hints
        sev = data.get("severity")
        if isinstance(sev, dict):
            for rule, value in sev.items():
                if rule in RULES and isinstance(value, str):
                    if value.lower() == "off":
                        out.severity[rule] = None
                    elif value.lower() in SEVERITY_NAMES:
                        out.severity[rule] = SEVERITY_NAMES[value.lower()]
        debounce = data.get("debounceMs")
        if isinstance(debounce, int) and not isinstance(debounce, bool) and 0 <= debounce <= 5000:
            out.debounce_ms = debounce
        file_kinds = data.get("fileKinds")
        if isinstance(file_kinds, dict):
            out.kinds = frozenset(k for key, k in KIND_KEYS.items() if file_kinds.get(key, True) is not False)
        code_sets = data.get("codeSets")
        if isinstance(code_sets, dict):
            out.sets = frozenset(s for s in OFFICIAL_SETS if code_sets.get(s, True) is not False)
        templates = data.get("templates")
        if isinstance(templates, dict):
            out.bare_codes = bool(templates.get("bareCodeHints", False))
        index_dir = data.get("indexDir")
        if isinstance(index_dir, str) and index_dir.strip():
            out.index_dir = index_dir.strip()
        return out

    def severity_of(self, rule: str, default: Severity) -> Severity | None:
        return self.severity.get(rule, default) if rule in self.severity else default

    @property
    def options(self) -> kinds.Options:
        # A severity given for a rule that is off by default turns it on.
        enabled = frozenset(r for r in OFF_BY_DEFAULT if self.severity.get(r) is not None)
        return kinds.Options(kinds=self.kinds, sets=self.sets, bare_hints=self.bare_codes, enabled_rules=enabled)
