"""CMS NCCI files in their official layouts, written by tests (real code numbers, no CPT
descriptors: the rationale column holds CMS's own short policy phrases or nothing)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

PTP_HEADER = (
    "CPT codes, descriptions and other data only are copyright American Medical Association. All rights reserved.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
)


def ptp_text(rows: list[tuple[str, str, str, str, str]]) -> str:
    """rows: (column 1, column 2, effective YYYYMMDD, deletion YYYYMMDD or '*', indicator)."""
    body = "".join(f"{c1}\t{c2}\t\t{eff}\t{dele}\t{ind}\tStandards of medical / surgical services\n" for c1, c2, eff, dele, ind in rows)
    return PTP_HEADER + body


def ptp_zip(folder: Path, setting: str, version: str, rows, part: int = 1) -> Path:
    """A CMS PTP zip (``ccipra-v322r0-f1.zip`` holding the .txt and an Excel copy)."""
    prefix = {"practitioner": "ccipra", "outpatient": "ccioph"}[setting]
    name = f"{prefix}-v{version}r0-f{part}"
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.txt", ptp_text(rows))
        zf.writestr(f"{name}.xlsx", b"PK\x03\x04 not a real workbook")
    return path


MUE_VALUE_HEADER = {
    "practitioner": "Practitioner Services MUE Values",
    "outpatient": "Outpatient Hospital Services MUE Values",
    "dme": "DME Supplier Services MUE Values",
}
MUE_NAME = {"practitioner": "PractitionerServices", "outpatient": "OutpatientHospitalServices", "dme": "DMESupplierServices"}
MAI_TEXT = {"1": "1 Line Edit", "2": "2 Date of Service Edit: Policy", "3": "3 Date of Service Edit: Clinical"}


def mue_csv(setting: str, rows: list[tuple[str, int, str]]) -> str:
    """rows: (code, MUE value, MAI digit)."""
    out = io.StringIO()
    out.write('"CPT codes, descriptions and other data only are copyright American Medical Association.\nAll rights reserved.",,,\n')
    out.write(f'"HCPCS/\nCPT Code","{MUE_VALUE_HEADER[setting]}","MUE Adjudication Indicator","MUE Rationale"\n')
    for code, value, mai in rows:
        out.write(f'{code},{value},"{MAI_TEXT[mai]}","Clinical: Data"\n')
    return out.getvalue()


def mue_file(folder: Path, setting: str, effective: str, rows) -> Path:
    """effective: MM-DD-YYYY, as CMS writes it in the file name."""
    path = folder / f"MCR_MUE_{MUE_NAME[setting]}_Eff_{effective}.csv"
    path.write_text(mue_csv(setting, rows))
    return path


AOC_HEADER = [
    "Add-on Code", "Add-On Code Effective Date", "Add-On Code Deletion Date", "Primary Code",
    "Primary Code Effective Date", "Primary Code Deletion Date", "AOC Edit Type",
    "AOC Edit Effective Date", "AOC Edit Deletion Date", "Special Instruction Notes",
]


def aoc_file(folder: Path, quarter: str, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """rows: (add-on code, primary code or 'CCCCC', type, edit effective YYYYMMDD, deletion or '')."""
    lines = ["\t".join(AOC_HEADER)]
    for addon, primary, kind, eff, dele in rows:
        lines.append("\t".join([addon, "20100101", "", primary, "20100101", "", kind, eff, dele, ""]))
    path = folder / f"AOC_V{quarter}-MCR.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- two quarters of files: 2026-Q2 (v32.1) and 2026-Q3 (v32.2) --------------------------------
Q2 = dt.date(2026, 5, 12)
Q3 = dt.date(2026, 8, 3)

# Practitioner PTP pairs: (column 1, column 2, effective, deletion, modifier indicator).
PTP_Q2 = [
    ("17000", "11900", "19960101", "*", "0"),  # never together
    ("99213", "36415", "20100101", "*", "1"),  # allowed with a modifier
    ("93000", "93005", "19960101", "*", "9"),  # no edit
    ("20610", "20611", "20150101", "*", "1"),  # deleted in the next quarter's file
]
PTP_Q3 = [
    ("17000", "11900", "19960101", "*", "0"),
    ("99213", "36415", "20100101", "*", "1"),
    ("93000", "93005", "19960101", "*", "9"),
    ("20610", "20611", "20150101", "20260701", "1"),  # deleted as of 2026-07-01
    ("97110", "97140", "20260701", "*", "1"),  # added in Q3
    ("97530", "97535", "20260815", "*", "0"),  # takes effect in the middle of Q3
]
OPH_Q3 = [("96372", "96374", "20100101", "*", "0")]
MUE_PRACTITIONER = [("36415", 2, "2"), ("97110", 4, "3"), ("J1100", 10, "1")]
MUE_OUTPATIENT = [("96372", 3, "2")]
AOC_ROWS = [
    ("99417", "99205", "1", "20230101", ""),
    ("99417", "99215", "1", "20230101", ""),
    ("15777", "CCCCC", "2", "20100101", ""),
    ("0984T", "36221", "3", "20250101", ""),
]


def quarter_files(folder: Path, version: str, effective: str, quarter: str, ptp, outpatient=None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [
        ptp_zip(folder, "practitioner", version, ptp),
        mue_file(folder, "practitioner", effective, MUE_PRACTITIONER),
        mue_file(folder, "outpatient", effective, MUE_OUTPATIENT),
        aoc_file(folder, quarter, AOC_ROWS),
    ]
    if outpatient:
        files.append(ptp_zip(folder, "outpatient", version, outpatient))
    return files
