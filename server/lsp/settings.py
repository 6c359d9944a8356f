"""The `medcode` settings a client can send (workspace/configuration), typed and defaulted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..findings import RULES, Severity

SECTION = "medcode"
SEVERITY_NAMES = {"error": Severity.ERROR, "warning": Severity.WARNING, "information": Severity.INFORMATION, "hint": Severity.HINT}


@dataclass
class Settings:
    inlay_hints: bool = False
    # rule id -> severity, or None to turn the rule off
    severity: dict[str, Severity | None] = field(default_factory=dict)
    debounce_ms: int = 200

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
        if isinstance(debounce, int) and 0 <= debounce <= 5000:
            out.debounce_ms = debounce
        return out

    def severity_of(self, rule: str, default: Severity) -> Severity | None:
        return self.severity.get(rule, default) if rule in self.severity else default
