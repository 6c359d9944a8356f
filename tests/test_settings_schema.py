"""The one settings schema (server/lsp/settings.py): what the server reads, what it says about
bad values, and that VS Code's package.json and the README table are written from it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medcode.server.findings import RULES, Severity
from medcode.server.kinds import ALL_KINDS, CSV, FHIR, JSON
from medcode.server.lsp import settings_docs
from medcode.server.lsp.settings import SCHEMA, Settings


def test_package_json_configuration_is_written_from_the_schema():
    manifest = json.loads(settings_docs.PACKAGE_JSON.read_text(encoding="utf-8"))
    assert manifest["contributes"]["configuration"] == settings_docs.vscode_configuration(), (
        "run: python -m medcode.server.lsp.settings_docs --write"
    )


def test_readme_table_is_written_from_the_schema():
    readme = settings_docs.README.read_text(encoding="utf-8")
    assert "\n".join(settings_docs.readme_table()) in readme, "run: python -m medcode.server.lsp.settings_docs --write"
    assert settings_docs.readme_written(readme) == readme


def test_vscode_readme_table_is_written_from_the_schema():
    readme = settings_docs.VSCODE_README.read_text(encoding="utf-8")
    assert settings_docs.vscode_readme_written(readme) == readme, "run: python -m medcode.server.lsp.settings_docs --write"
    assert "| `medcode.server.path` |" in readme and "| `medcode.server.path` |" not in settings_docs.README.read_text(encoding="utf-8")


def test_the_check_passes_without_writing(capsys):
    assert settings_docs.main([]) == 0
    assert capsys.readouterr().out == ""


def test_the_writer_repairs_drift():
    manifest = json.loads(settings_docs.PACKAGE_JSON.read_text(encoding="utf-8"))
    manifest["contributes"]["configuration"]["properties"]["medcode.debounceMs"]["default"] = 999
    repaired = json.loads(settings_docs.package_written(json.dumps(manifest)))
    assert repaired["contributes"]["configuration"]["properties"]["medcode.debounceMs"]["default"] == 200
    readme = settings_docs.README.read_text(encoding="utf-8").replace("| `medcode.debounceMs` | `200` |", "| `medcode.debounceMs` | `999` |")
    assert "`999`" not in settings_docs.readme_written(readme)


def test_every_rule_has_a_severity_setting():
    severity = settings_docs.vscode_configuration()["properties"]["medcode.severity"]
    assert set(severity["properties"]) == set(RULES)
    for rule, (level, _) in RULES.items():
        assert f"(default: {level.label})." in severity["properties"][rule]["description"], rule


def _vscode_section() -> dict:
    """The whole section as VS Code sends it with every default (client settings included)."""
    section: dict = {}
    for setting in SCHEMA:
        *groups, last = setting.key.split(".")
        where = section
        for group in groups:
            where = where.setdefault(group, {})
        where[last] = setting.default
    return section


def test_defaults_as_vscode_sends_them_are_the_server_defaults_without_a_word():
    s = Settings.from_client(_vscode_section())
    assert s == Settings() and s.problems == []
    assert Settings.from_client(None).problems == [] and Settings.from_client({}).problems == []
    assert Settings.from_client([]).problems == []  # Neovim sends Lua's empty table as []
    assert Settings.from_client({"severity": [], "fileKinds": []}) == Settings()


def test_every_server_setting_is_read():
    """A valid non-default value of each setting changes what the server holds."""
    values = {
        "indexDir": " /srv/idx ",
        "date": "2026-01-15",
        "inlayHints.enabled": True,
        "severity": {"not-billable": "Error", "not-in-index": "off"},
        "debounceMs": 0,
        "fileKinds": {"csv": False, "fhir": False},
        "codeSets": {"cpt": False},
        "templates.bareCodeHints": True,
        "files.include": ["*.note"],
        "files.exclude": ["**/fixtures/**"],
    }
    assert set(values) == {s.key for s in SCHEMA if not s.client_only}
    section: dict = {}
    for key, value in values.items():
        group, _, leaf = key.rpartition(".")
        (section.setdefault(group, {}) if group else section)[leaf] = value
    s = Settings.from_client(section)
    assert s.problems == []
    assert s.index_dir == "/srv/idx" and s.date == dt.date(2026, 1, 15) and s.inlay_hints and s.debounce_ms == 0
    assert s.severity == {"not-billable": Severity.ERROR, "not-in-index": None}
    assert s.kinds == ALL_KINDS - {CSV, FHIR} and "cpt" not in s.sets and JSON in s.kinds
    assert s.bare_codes and s.include == ("*.note",) and s.exclude == ("**/fixtures/**",)
    assert s.attach.every_template and s.options.day == dt.date(2026, 1, 15)


def test_a_bad_value_is_named_once_with_its_type_and_the_default():
    s = Settings.from_client({"debounceMs": "fast"})
    (problem,) = s.problems
    assert problem.startswith("medcode.debounceMs:")
    assert "a string" in problem and '"fast"' in problem and "the default (200)" in problem
    assert s.debounce_ms == 200


@pytest.mark.parametrize(
    "section, named, kept",
    [
        ({"debounceMs": 5001}, "medcode.debounceMs", lambda s: s.debounce_ms == 200),
        ({"debounceMs": True}, "a boolean", lambda s: s.debounce_ms == 200),
        ({"debounceMs": 12.5}, "a number", lambda s: s.debounce_ms == 200),
        ({"inlayHints": {"enabled": "false"}}, "medcode.inlayHints.enabled", lambda s: s.inlay_hints is False),
        ({"inlayHints": "yes"}, "medcode.inlayHints.enabled", lambda s: s.inlay_hints is False),
        ({"severity": {"bad-format": "fatal"}}, "medcode.severity.bad-format", lambda s: s.severity == {}),
        ({"severity": {"no-such-rule": "error"}}, '"no-such-rule" is not a rule id', lambda s: s.severity == {}),
        ({"severity": ["error"]}, "an array", lambda s: s.severity == {}),
        ({"fileKinds": {"json": 0}}, "medcode.fileKinds.json", lambda s: JSON in s.kinds),
        ({"fileKinds": {"XML": False}}, '"XML" is not one of x12', lambda s: s.kinds == ALL_KINDS),
        ({"codeSets": "cpt"}, "the default (all true)", lambda s: "cpt" in s.sets),
        ({"templates": {"bareCodeHints": 1}}, "medcode.templates.bareCodeHints", lambda s: not s.bare_codes),
        ({"indexDir": 42}, "medcode.indexDir", lambda s: s.index_dir is None),
        ({"date": "15/01/2026"}, "YYYY-MM-DD", lambda s: s.date is None),
        ({"date": "2026-02-30"}, "no day of the calendar", lambda s: s.date is None),
        ({"files": {"include": ["*.md", 3]}}, "medcode.files.include", lambda s: s.include == ()),
        ({"files": ["*.md"]}, "medcode.files: expected an object", lambda s: s.include == s.exclude == ()),
        (["debounceMs"], "expected an object of settings", lambda s: s == Settings()),
    ],
)
def test_bad_values_keep_their_default_and_say_so(section, named, kept):
    s = Settings.from_client(section)
    assert len(s.problems) == 1 and named in s.problems[0], s.problems
    assert kept(s)


def test_good_values_beside_bad_ones_still_count():
    s = Settings.from_client({"debounceMs": "fast", "severity": {"invalid-code": "hint", "bad-format": 3}, "inlayHints": True})
    assert len(s.problems) == 2
    assert s.severity == {"invalid-code": Severity.HINT} and s.inlay_hints is True
