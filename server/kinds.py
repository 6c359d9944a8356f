"""Which reader a document goes to: by content first (X12, CMS price files), then by name or
editor language (CSV chargemasters, Markdown / text templates)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from medcode.index_builder.codesets import OFFICIAL_SETS

from .reading import FHIR, X12, Reading

# The reader families a user can switch on (`medcode.kinds`); X12 and FHIR are one document kind each.
CSV = "csv"
JSON = "json"
TEMPLATES = "templates"
ALL_KINDS = frozenset({X12, CSV, JSON, FHIR, TEMPLATES})

_CSV_EXT = {".csv", ".tsv"}
_JSON_EXT = {".json"}
_NDJSON_EXT = {".ndjson", ".jsonl"}
_TEXT_EXT = {".md", ".markdown", ".txt", ".text", ".j2", ".jinja", ".jinja2", ".hbs", ".smartphrase", ".note"}
_CSV_LANG = {"csv", "tsv"}
_JSON_LANG = {"json", "jsonc"}
_NDJSON_LANG = {"ndjson", "jsonl", "jsonlines"}
_TEXT_LANG = {"markdown", "plaintext", "text", "jinja", "handlebars"}


@dataclass(frozen=True)
class Options:
    """What the user switched on (the `medcode` settings), applied to every check."""

    kinds: frozenset[str] = ALL_KINDS
    sets: frozenset[str] = frozenset(OFFICIAL_SETS)
    bare_hints: bool = False
    rules_on: frozenset[str] = frozenset()  # rules that are off by default (findings.OFF_BY_DEFAULT) switched on
    # The day for codes whose file gives none (`check --date`, the `medcode.date` setting),
    # and where it came from, for messages; None: today.
    day: dt.date | None = None
    day_source: str = ""


def path_of(name: str) -> str:
    """The path of a URI (or a path as given), with forward slashes."""
    if "://" in name:
        name = unquote(urlparse(name).path)
    return name.replace("\\", "/")


def suffix_of(name: str) -> str:
    """The extension of a path or URI ("" when there is none)."""
    return PurePosixPath(path_of(name)).suffix.lower()


def is_template_name(name: str, language: str = "") -> bool:
    """Whether a document's name or editor language makes it a template candidate."""
    return suffix_of(name) in _TEXT_EXT or (language or "").lower() in _TEXT_LANG


def is_json_name(name: str, language: str = "") -> bool:
    """Whether a document's name or editor language says JSON (or NDJSON)."""
    return suffix_of(name) in _JSON_EXT | _NDJSON_EXT or (language or "").lower() in _JSON_LANG | _NDJSON_LANG


def read(text: str, name: str = "", language: str = "", options: Options = Options()) -> Reading | None:
    """A reading of a non-X12 document, or None when it is none of the kinds medcode reads."""
    ext = suffix_of(name)
    language = (language or "").lower()
    head = text.lstrip("\ufeff \t\r\n")[:1]
    ndjson = ext in _NDJSON_EXT or language in _NDJSON_LANG
    if FHIR in options.kinds and (ndjson or ext in _JSON_EXT or language in _JSON_LANG or (head == "{" and ext not in _TEXT_EXT)):
        # FHIR claims by content: a Claim or ExplanationOfBenefit resource (alone, in a Bundle, or NDJSON).
        from .fhir import reader as fhir_reader

        found = fhir_reader.read(text, ndjson=ndjson)
        if found is not None:
            return found
    if JSON in options.kinds and (ext in _JSON_EXT or language in _JSON_LANG or (head == "{" and ext not in _TEXT_EXT)):
        from .tables import hpt_json

        found = hpt_json.read(text)
        if found is not None or ext in _JSON_EXT or language in _JSON_LANG:
            return found
    if CSV in options.kinds:
        from .tables import cdm_csv, hpt_csv

        if ext in _CSV_EXT or language in _CSV_LANG:
            return hpt_csv.read(text) or cdm_csv.read(text)
        if ext not in _TEXT_EXT and language not in _TEXT_LANG:
            # Price files come with any name; the CMS header rows are unmistakable.
            found = hpt_csv.read(text)
            if found is not None:
                return found
    if TEMPLATES in options.kinds and is_template_name(name, language):
        from .templates import reader

        return reader.read(text, bare_hints=options.bare_hints)
    return None
