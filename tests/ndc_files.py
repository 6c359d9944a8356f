"""FDA NDC directory files (product.txt, package.txt) in the official layout, for the importer
and the default-build tests."""

from __future__ import annotations

from pathlib import Path

from official_layouts import PACKAGE_COLUMNS, PRODUCT_COLUMNS

HUMULIN = "0002-8215_4562cc37-b4df-44f9-87f2-c92d8f83f824"
FIXTURA = "12345-678_0b7c1d2e-1111-4a4a-9b9b-123456789abc"
ALLEGRA = "50090-1234_a746d7f1-a45d-4257-ad0d-746fa72ef24b"

PRODUCTS = [
    # Real row (0002-8215), suffix padded with a space as the FDA publishes it.
    [HUMULIN, "0002-8215", "HUMAN OTC DRUG", "Humulin", "R ", "Insulin human", "INJECTION, SOLUTION",
     "PARENTERAL", "19830627", "", "NDA", "NDA018780", "Eli Lilly and Company", "INSULIN HUMAN", "100",
     "[iU]/mL", "", "", "N", "20191231"],
    # Synthetic: cp1252 ® (0xAE) and em dash (0x97), a bare quote, two ingredients, a class with a comma.
    [FIXTURA, "12345-678", "HUMAN PRESCRIPTION DRUG", "Fixtura®", "", "olanzapine and fluoxetine",
     "CAPSULE", "ORAL; SUBLINGUAL", "20100115", "20200131", "ANDA", "ANDA012345",
     'Acme "Sultan" Labs — Generics', "OLANZAPINE; FLUOXETINE HYDROCHLORIDE", "3; 25", "mg/1; mg/1",
     "Atypical Antipsychotic [EPC],Antibodies, Monoclonal [CS]", "CIV", "N", "20201231"],
    [ALLEGRA, "50090-1234", "HUMAN OTC DRUG", "Allegra Allergy", "", "fexofenadine hydrochloride",
     "TABLET, FILM COATED", "ORAL", "20141128", "", "NDA", "NDA020872", "A-S Medication Solutions",
     "FEXOFENADINE HYDROCHLORIDE", "180", "mg/1", "Histamine-1 Receptor Antagonist [EPC]", "", "N", "20191231"],
]

PACKAGES = [
    [HUMULIN, "0002-8215", "0002-8215-01", "1 VIAL in 1 CARTON (0002-8215-01)  > 10 mL in 1 VIAL",
     "19830627", "", "N", "N"],
    [FIXTURA, "12345-678", "12345-678-90", "30 CAPSULE in 1 BOTTLE (12345-678-90)",
     "2010013X", "20200131", "N", "N"],  # malformed start date
    [ALLEGRA, "50090-1234", "50090-1234-0",
     "1 BOTTLE, PLASTIC in 1 CARTON (50090-1234-0)  > 30 TABLET, FILM COATED in 1 BOTTLE, PLASTIC",
     "20141128", "", "N", "Y"],
    [FIXTURA, "12345-678", "12345-67-890", "malformed package code", "20100115", "", "N", "N"],
    ["99999-999_missing", "99999-999", "99999-999-99", "10 TABLET in 1 BLISTER PACK (99999-999-99)",
     "20150101", "", "N", "N"],  # its product is not in product.txt
    [HUMULIN, "0002-8215", "0002-8215-01", "a repeated listing", "19830627", "", "N", "N"],
]

KEYS = {"00002821501", "12345067890", "50090123400", "99999099999"}


def tsv(columns, rows) -> bytes:
    """The official layout: tab-delimited, header row, CRLF, Windows-1252, no quoting."""
    lines = ["\t".join(columns)] + ["\t".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def write_folder(folder: Path, products=PRODUCTS, packages=PACKAGES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "product.txt").write_bytes(tsv(PRODUCT_COLUMNS, products))
    (folder / "package.txt").write_bytes(tsv(PACKAGE_COLUMNS, packages))
    return folder
