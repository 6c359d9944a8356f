"""The `medcode` settings: one schema, read by the server, shown by the editors.

`SCHEMA` is the single source: the server validates what the client sends against it
(`Settings.from_client`, which returns one sentence per bad value, naming the setting, what it
got and the default used), and `settings_docs.py` writes the VS Code `contributes.configuration`
and the README table from it (tests/test_settings_schema.py fails when they drift). The editors
pass the section through as they hold it and check nothing themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from medcode.index_builder.codesets import OFFICIAL_SETS

from .. import kinds
from ..sniff import Attach
from ..findings import OFF_BY_DEFAULT, RULES, Severity

SECTION = "medcode"
SEVERITY_NAMES = {"error": Severity.ERROR, "warning": Severity.WARNING, "information": Severity.INFORMATION, "hint": Severity.HINT}
OFF = "off"
MAX_DEBOUNCE_MS = 5000
# Settings keys for the file kinds, with what each covers.
KIND_KEYS = {"x12": kinds.X12, "csv": kinds.CSV, "json": kinds.JSON, "fhir": kinds.FHIR, "templates": kinds.TEMPLATES}
_KIND_TEXT = {
    "x12": "X12 837 claim files (recognised by their content, whatever the file is called).",
    "csv": "CSV files: CMS price transparency files and chargemasters.",
    "json": "JSON files: CMS price transparency files.",
    "fhir": "FHIR claims: Claim and ExplanationOfBenefit resources in JSON, Bundles and NDJSON.",
    "templates": "Documentation templates: Markdown and text files.",
}
_SET_TEXT = {
    "icd10cm": "ICD-10-CM diagnosis codes.",
    "icd10pcs": "ICD-10-PCS procedure codes.",
    "hcpcs": "HCPCS Level II codes.",
    "cpt": "CPT codes.",
    "ndc": "National Drug Codes.",
}


@dataclass(frozen=True)
class Setting:
    """One key of the `medcode` section, dotted as VS Code nests it (`inlayHints.enabled`)."""

    key: str
    schema: dict[str, Any]  # JSON schema as package.json contributes it (default included)
    description: str  # markdown, for the VS Code settings editor
    summary: str  # the README tables' "meaning" column
    client_only: bool = False  # read by the VS Code extension, not the server (only in its README)
    readme_default: str = ""  # the README's "default" column when the default value says too little

    @property
    def default(self) -> Any:
        return self.schema["default"]


def _severity_properties() -> dict[str, dict]:
    out = {}
    for rule, (severity, meaning) in RULES.items():
        off = "Off by default. " if rule in OFF_BY_DEFAULT else ""
        meaning = meaning.removesuffix(" (off by default)")
        out[rule] = {"$ref": "#/definitions/severity", "description": f"{off}{meaning[:1].upper()}{meaning[1:]} (default: {severity.label})."}
    return out


def _switches(keys: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "default": {key: True for key in keys},
        "properties": {key: {"type": "boolean", "description": text} for key, text in keys.items()},
        "additionalProperties": False,
    }


def _globs(default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default}


SCHEMA: tuple[Setting, ...] = (
    Setting(
        "server.path",
        {"type": ["string", "array"], "items": {"type": "string"}, "default": "", "scope": "machine-overridable"},
        "The command that starts the medcode language server, as a path (`/home/me/.venv/bin/medcode`) or a list "
        '(`["/usr/bin/python3", "-m", "medcode.server"]`). `~` and `${workspaceFolder}` are expanded. Empty: `medcode` '
        "on `PATH`, then the Python extension's interpreter with `-m medcode.server`, then `python3` / `python` on "
        "`PATH`. `#medcode.server.args#` are appended.",
        "the command that starts the server: a path (`~/.venvs/medcode/bin/medcode`) or a list "
        '(`["/usr/bin/python3", "-m", "medcode.server"]`); `~` and `${workspaceFolder}` are expanded. '
        "Empty: found automatically (below)",
        client_only=True,
    ),
    Setting(
        "server.args",
        {"type": "array", "items": {"type": "string"}, "default": ["serve"], "scope": "machine-overridable"},
        'Arguments appended to `#medcode.server.path#` to start the language server (default `["serve"]`).',
        "arguments appended to the server command",
        client_only=True,
    ),
    Setting(
        "indexDir",
        {"type": "string", "default": "", "scope": "machine-overridable"},
        "Folder of the code indexes, for the server (its `indexDir` setting, and `MEDCODE_INDEX_DIR` in its environment) "
        "and for the commands. Empty: `MEDCODE_INDEX_DIR` from the environment, else the user data directory "
        "(`~/.local/share/medcode/indexes` on Linux). `~` and `${workspaceFolder}` are expanded. Changing it restarts the server.",
        "the index folder (default: `MEDCODE_INDEX_DIR`, else the user data directory)",
        readme_default="—",
    ),
    Setting(
        "date",
        {"type": "string", "default": "", "pattern": r"^(\d{4}-\d{2}-\d{2})?$", "patternErrorMessage": "a date written YYYY-MM-DD"},
        "The day (`YYYY-MM-DD`) codes are judged on in files that give no date of their own (chargemasters, bare "
        "templates, claims without dates). Empty: today. Messages that depend on the day say which day was used and why.",
        "the day (`YYYY-MM-DD`) for files that give no date (chargemasters, bare templates, undated claims); default today. Like `check --date`",
        readme_default="—",
    ),
    Setting(
        "inlayHints.enabled",
        {"type": "boolean", "default": False},
        "Show short descriptions after codes (inlay hints).",
        "show short descriptions after codes",
    ),
    Setting(
        "severity",
        {
            "type": "object",
            "default": {},
            "properties": _severity_properties(),
            "additionalProperties": False,
            "definitions": {"severity": {"type": "string", "enum": [*SEVERITY_NAMES, OFF]}},
        },
        'Severity per rule, e.g. `{"not-billable": "error", "not-in-index": "off"}`. Rules not listed keep their default severity.',
        'per-rule severity: `{"not-billable": "error", "not-in-index": "off"}` (`error`, `warning`, `information`, `hint`, `off`)',
    ),
    Setting(
        "debounceMs",
        {"type": "integer", "default": 200, "minimum": 0, "maximum": MAX_DEBOUNCE_MS},
        "Pause in milliseconds after typing before the server re-checks a document (tripled for files over 2 million characters).",
        "pause after typing before re-checking (tripled for files over 2 M characters)",
    ),
    Setting(
        "fileKinds",
        _switches(_KIND_TEXT),
        "Which kinds of files the server checks. A kind is checked unless it is set to `false`.",
        'which kinds are checked: `{"x12": true, "csv": true, "json": true, "fhir": true, "templates": true}` '
        "(`json`: price files; `fhir`: FHIR claims in JSON or NDJSON)",
        readme_default="all `true`",
    ),
    Setting(
        "codeSets",
        _switches({s: _SET_TEXT[s] for s in OFFICIAL_SETS}),
        "Which code sets give findings. A set is checked unless it is set to `false`; findings about the file's "
        "structure and about local code sets are not affected.",
        'which sets give findings: `{"icd10cm", "icd10pcs", "hcpcs", "cpt", "ndc"}` → `true`/`false`',
        readme_default="all `true`",
    ),
    Setting(
        "templates.bareCodeHints",
        {"type": "boolean", "default": False},
        "In documentation templates, code-shaped words that no prefix, front matter or table header assigns to a set "
        "become hints (never errors). Off: such words are ignored. On: every Markdown and text file is read as a template.",
        "in templates, code-shaped words without a set become hints (and every Markdown / text file is read)",
    ),
    Setting(
        "files.include",
        _globs([]),
        "Glob patterns (`*`, `**`, `?`; without a `/` matched against the file name) of files always read, e.g. "
        '`["notes/**/*.md", "*.smartphrase"]`. JSON, Markdown and text files are otherwise read only when their '
        "content looks medical (a FHIR claim, a CMS price file, a code-set name such as `ICD-10-CM:` or `CPT`); "
        "X12 claims and price files are always read.",
        "glob patterns of files always read, although their content does not look medical (JSON, Markdown and text "
        "files are otherwise read only when they name a code set or are FHIR claims or CMS price files)",
    ),
    Setting(
        "files.exclude",
        _globs([]),
        "Glob patterns of files never read, whatever their content, e.g. `[\"**/fixtures/**\"]`. Wins over `#medcode.files.include#`.",
        "glob patterns of files never read (wins over `files.include`)",
    ),
    Setting(
        "trace.server",
        {"type": "string", "enum": ["off", "messages", "verbose"], "default": "off"},
        "Trace the messages between VS Code and the server in the medcode output channel. `verbose` copies document "
        "text (which may be protected health information) into that local channel: use it only with test files.",
        "`messages` or `verbose` log the conversation with the server in the *medcode* output channel. `verbose` "
        "copies document text (possibly protected health information) into that local channel: use it with test files only",
        client_only=True,
    ),
)

# -- validation against the schema --------------------------------------------------------------


def _json_type(value: Any) -> str:
    """What a value is, in the words of JSON (the client sent JSON)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _got(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return f"{_json_type(value)} ({shown})" if len(shown) <= 40 and not isinstance(value, (dict, list)) else _json_type(value)


def _expected(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return "true or false"
    if kind == "integer":
        return f"a whole number from {schema['minimum']} to {schema['maximum']}"
    if kind == "array":
        return "a list of strings"
    if kind == "object":
        return "an object"
    return schema.get("patternErrorMessage", "a string")


def _fits(schema: dict[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and schema["minimum"] <= value <= schema["maximum"]
    if kind == "array":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == "object":
        return isinstance(value, dict)
    if "enum" in schema:
        return isinstance(value, str) and value.lower() in schema["enum"]
    if not isinstance(value, str):
        return False
    return "pattern" not in schema or re.fullmatch(schema["pattern"], value.strip()) is not None


def _shown_default(setting: Setting, sub: str | None = None) -> str:
    """The default a bad value gives way to, for the message."""
    if setting.key == "severity":
        return f"the default ({RULES[sub][0].label})" if sub in RULES else "the defaults"
    default = setting.default if sub is None else setting.default.get(sub)
    if isinstance(default, dict) and default and all(v is True for v in default.values()):
        return "the default (all true)"
    if default in ("", None, [], {}):
        return "the default (none)"
    return f"the default ({json.dumps(default)})"


def _lookup(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted key, as VS Code nests it. A bare value where a group of one setting
    is expected stands for that setting (`"inlayHints": true`, as Neovim users write it)."""
    group, _, leaf = key.rpartition(".")
    if not group:
        return data.get(key)
    value = data.get(group)
    if isinstance(value, dict):
        return value.get(leaf)
    return value if _alone(group) else None


def _alone(group: str) -> bool:
    """Whether a group (`inlayHints`, `files`) holds a single setting."""
    return sum(1 for s in SCHEMA if s.key.startswith(group + ".")) == 1


def validate(data: Any) -> tuple[dict[str, Any], list[str]]:
    """The server's settings from a section as the client sent it: dotted key -> valid value
    (bad values left out, so the default stands), and one sentence per bad value."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    if data is None or data == []:  # Lua's empty table is sent as [] (Neovim's `settings = { medcode = {} }`)
        return values, problems
    if not isinstance(data, dict):
        return values, [f"{SECTION}: expected an object of settings, got {_json_type(data)}; using the defaults."]
    groups = {s.key.rpartition(".")[0] for s in SCHEMA if not s.client_only} - {""}
    for group in sorted(groups):
        value = data.get(group)
        if value is not None and not isinstance(value, dict) and not _alone(group):
            problems.append(f"{SECTION}.{group}: expected an object, got {_got(value)}; using the defaults.")
    for setting in SCHEMA:
        if setting.client_only:
            continue
        raw = _lookup(data, setting.key)
        name = f"{SECTION}.{setting.key}"
        if raw is None:
            continue
        if raw == [] and setting.schema["type"] == "object":
            raw = {}  # Lua's empty table again (`severity = {}`)
        if not _fits(setting.schema, raw):
            problems.append(f"{name}: expected {_expected(setting.schema)}, got {_got(raw)}; using {_shown_default(setting)}.")
            continue
        properties = setting.schema.get("properties")
        if properties is None:
            values[setting.key] = raw
            continue
        entries = {}
        for sub, entry in raw.items():
            schema = properties.get(sub)
            if schema is None:
                known = "a rule id (see the README's rule table)" if setting.key == "severity" else "one of " + ", ".join(properties)
                problems.append(f"{name}: {json.dumps(sub)} is not {known}; ignored.")
                continue
            schema = setting.schema["definitions"]["severity"] if "$ref" in schema else schema
            if not _fits(schema, entry):
                problems.append(f"{name}.{sub}: expected {_expected(schema)}, got {_got(entry)}; using {_shown_default(setting, sub)}.")
                continue
            entries[sub] = entry
        values[setting.key] = entries
    day = values.pop("date", "").strip()
    if day:
        try:
            values["date"] = dt.date.fromisoformat(day)
        except ValueError:
            problems.append(f"{SECTION}.date: {json.dumps(day)} is no day of the calendar; using the default (none: today).")
    return values, problems


DEFAULTS: dict[str, Any] = {setting.key: setting.default for setting in SCHEMA}


@dataclass
class Settings:
    """The server's reading of the section (defaults from SCHEMA)."""

    inlay_hints: bool = DEFAULTS["inlayHints.enabled"]
    # rule id -> severity, or None to turn the rule off
    severity: dict[str, Severity | None] = field(default_factory=dict)
    debounce_ms: int = DEFAULTS["debounceMs"]
    kinds: frozenset[str] = kinds.ALL_KINDS
    sets: frozenset[str] = frozenset(OFFICIAL_SETS)
    bare_codes: bool = DEFAULTS["templates.bareCodeHints"]  # templates: code-shaped words without a set become hints
    index_dir: str | None = None
    date: dt.date | None = None  # the day for files that give none (default: today)
    include: tuple[str, ...] = ()  # files.include: globs of files always read
    exclude: tuple[str, ...] = ()  # files.exclude: globs of files never read
    # What was wrong with the section the client sent (one sentence per bad value).
    problems: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def from_client(cls, data: Any) -> Settings:
        """Never fails: a bad value leaves its default and is named in `problems`."""
        values, problems = validate(data)
        severity = {rule: (None if level.lower() == OFF else SEVERITY_NAMES[level.lower()]) for rule, level in values.get("severity", {}).items()}
        file_kinds = values.get("fileKinds", {})
        code_sets = values.get("codeSets", {})
        return cls(
            inlay_hints=values.get("inlayHints.enabled", DEFAULTS["inlayHints.enabled"]),
            severity=severity,
            debounce_ms=values.get("debounceMs", DEFAULTS["debounceMs"]),
            kinds=frozenset(kind for key, kind in KIND_KEYS.items() if file_kinds.get(key, True)),
            sets=frozenset(s for s in OFFICIAL_SETS if code_sets.get(s, True)),
            bare_codes=values.get("templates.bareCodeHints", DEFAULTS["templates.bareCodeHints"]),
            index_dir=values.get("indexDir", "").strip() or None,
            date=values.get("date"),
            include=tuple(values.get("files.include", ())),
            exclude=tuple(values.get("files.exclude", ())),
            problems=problems,
        )

    def severity_of(self, rule: str, default: Severity) -> Severity | None:
        return self.severity.get(rule, default) if rule in self.severity else default

    @property
    def attach(self) -> Attach:
        return Attach(self.include, self.exclude, every_template=self.bare_codes)

    @property
    def options(self) -> kinds.Options:
        rules_on = frozenset(rule for rule, severity in self.severity.items() if rule in OFF_BY_DEFAULT and severity is not None)
        day = {"day": self.date, "day_source": "the medcode.date setting"} if self.date else {}
        return kinds.Options(kinds=self.kinds, sets=self.sets, bare_hints=self.bare_codes, rules_on=rules_on, **day)
