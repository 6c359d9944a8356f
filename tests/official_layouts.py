"""Small files in the publishers' layouts, written by tests: CDC ICD-10-CM zips (order file,
tabular XML), a CMS HCPCS alpha-numeric zip, the FDA ndctext.zip, X12 837P claims and a CMS price
transparency CSV."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

# -- ICD-10-CM (CDC) ---------------------------------------------------------------------------
# Two fiscal years of a tiny code set: A00.9 is deleted in FY2027 (its category A00 stays, and
# A00.2 is new), so a FY2027 date of service makes A00.9 a deleted code.
CM_FY2026 = [
    ("A00", False, "Cholera"),
    ("A000", True, "Cholera due to Vibrio cholerae 01, biovar cholerae"),
    ("A001", True, "Cholera due to Vibrio cholerae 01, biovar eltor"),
    ("A009", True, "Cholera, unspecified"),
    ("E11", False, "Type 2 diabetes mellitus"),
    ("E119", True, "Type 2 diabetes mellitus without complications"),
]
CM_FY2027 = sorted([r for r in CM_FY2026 if r[0] != "A009"] + [("A002", True, "Cholera due to Vibrio cholerae O139")])


def order_file(codes) -> bytes:
    """The CDC order file: order 1-5, code 7-13, billable flag 15, short title 17-76, long 78-."""
    lines = [f"{n:05d} {code:<7} {int(billable)} {desc[:60]:<60} {desc}" for n, (code, billable, desc) in enumerate(codes, 1)]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def codes_file(codes) -> bytes:
    return ("\r\n".join(f"{code:<8}{desc}" for code, billable, desc in codes if billable) + "\r\n").encode("ascii")


def tabular_xml(year: int, codes) -> bytes:
    """A minimal <ICD10CM.tabular>: one chapter, one section, the codes nested by prefix."""
    by_code = {c: (b, d) for c, b, d in codes}

    def diag(code: str) -> str:
        name = code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
        kids = [c for c in by_code if len(c) == len(code) + 1 and c.startswith(code)]
        inner = "".join(diag(k) for k in kids)
        return f"<diag><name>{name}</name><desc>{by_code[code][1]}</desc>{inner}</diag>"

    tops = "".join(diag(c) for c in by_code if len(c) == 3)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ICD10CM.tabular><version>{year}</version>'
        f"<introduction/><chapter><name>1</name><desc>Certain infectious and parasitic diseases (A00-B99)</desc>"
        f'<section id="A00-E11"><desc>Test section (A00-E11)</desc>{tops}</section></chapter></ICD10CM.tabular>\n'
    ).encode()


def zip_bytes(members: dict[str, bytes], date=(2026, 6, 1, 12, 0, 0)) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def cdc_code_descriptions_zip(year: int, codes) -> bytes:
    """The CDC 'Code Descriptions' zip: order and codes files, plus addenda that must not be
    read as the code list (their lines are in the order layout, with a code no release has)."""
    addenda = order_file([("A0099", True, "ADDENDA LINE, NOT A CODE OF THE RELEASE")])
    return zip_bytes({
        f"Code Descriptions/icd10cm-order-{year}.txt": order_file(codes),
        f"Code Descriptions/icd10cm-codes-{year}.txt": codes_file(codes),
        f"Code Descriptions/icd10cm-order-addenda-{year}.txt": addenda,
        f"Code Descriptions/icd10cm-code-descriptions-addenda-{year}.pdf": b"%PDF-1.4 not really\n",
    })


def cdc_table_and_index_zip(year: int, codes) -> bytes:
    return zip_bytes({
        f"icd10cm-tabular-{year}.xml": tabular_xml(year, codes),
        f"icd10cm-index-{year}.xml": b'<?xml version="1.0"?><ICD10CM.index><version>2027</version></ICD10CM.index>',
    })


# -- HCPCS Level II (CMS alpha-numeric file) ---------------------------------------------------
def hcpcs_line(code: str, seq: int, ric: str, long: str, short: str = "", added: str = "", terminated: str = "", action: str = "N") -> str:
    """One 320-character record in CMS's layout (positions are 1-based, as documented)."""
    line = [" "] * 320

    def put(start: int, text: str) -> None:
        line[start - 1 : start - 1 + len(text)] = list(text)

    put(1, code if ric in "34" else f"   {code}")
    put(6, f"{seq:05d}")
    put(11, ric)
    put(12, long[:80])
    put(92, short[:28])
    put(269, added)
    put(285, terminated)
    put(293, action)
    return "".join(line)


def hcpcs_zip(year: int, month: str = "OCT") -> bytes:
    lines = [
        hcpcs_line("J1100", 100, "3", "Injection, dexamethasone sodium phosphate, 1 mg", "Dexamethasone sodium phos", "19840101"),
        hcpcs_line("G0008", 200, "3", "Administration of influenza virus vaccine", "Admin influenza virus vac", "19930101"),
        hcpcs_line("A4466", 300, "3", "Garment, belt, sleeve or other covering", "Elastic garment/covering", "20060101", "20161231", "D"),
        hcpcs_line("RT", 400, "7", "Right side (used to identify procedures performed on the right side of the body)", "Right side", "19920101"),
    ]
    text = "\r\n".join(lines) + "\r\n"
    return zip_bytes({
        f"HCPC{year}_{month}_ANWEB_09232026.txt": text.encode("cp1252"),
        f"HCPC{year}_recordlayout.txt": b"record layout (not data)\r\n",
    })


# -- NDC (FDA ndctext.zip) ---------------------------------------------------------------------
PRODUCT_COLUMNS = (
    "PRODUCTID PRODUCTNDC PRODUCTTYPENAME PROPRIETARYNAME PROPRIETARYNAMESUFFIX NONPROPRIETARYNAME "
    "DOSAGEFORMNAME ROUTENAME STARTMARKETINGDATE ENDMARKETINGDATE MARKETINGCATEGORYNAME APPLICATIONNUMBER "
    "LABELERNAME SUBSTANCENAME ACTIVE_NUMERATOR_STRENGTH ACTIVE_INGRED_UNIT PHARM_CLASSES DEASCHEDULE "
    "NDC_EXCLUDE_FLAG LISTING_RECORD_CERTIFIED_THROUGH"
).split()
PACKAGE_COLUMNS = (
    "PRODUCTID PRODUCTNDC NDCPACKAGECODE PACKAGEDESCRIPTION STARTMARKETINGDATE ENDMARKETINGDATE "
    "NDC_EXCLUDE_FLAG SAMPLE_PACKAGE"
).split()
HUMULIN = "0002-8215_4562cc37-b4df-44f9-87f2-c92d8f83f824"


def _tsv(columns, rows) -> bytes:
    return ("\r\n".join(["\t".join(columns)] + ["\t".join(r) for r in rows]) + "\r\n").encode("cp1252")


def ndctext_zip() -> bytes:
    products = [[HUMULIN, "0002-8215", "HUMAN OTC DRUG", "Humulin", "R", "Insulin human", "INJECTION, SOLUTION",
                 "PARENTERAL", "19830627", "", "NDA", "NDA018780", "Eli Lilly and Company", "INSULIN HUMAN", "100",
                 "[iU]/mL", "", "", "N", "20271231"]]
    packages = [[HUMULIN, "0002-8215", "0002-8215-01", "1 VIAL in 1 CARTON (0002-8215-01)  > 10 mL in 1 VIAL",
                 "19830627", "", "N", "N"]]
    return zip_bytes({"product.txt": _tsv(PRODUCT_COLUMNS, products), "package.txt": _tsv(PACKAGE_COLUMNS, packages)})


# -- X12 837P ------------------------------------------------------------------------------------
def claim_837p(claims: list[tuple[str, list[str], list[tuple[str, dt.date]]]]) -> str:
    """An 837P with one claim per (claim id, diagnosis codes, [(HCPCS code, date of service)])."""
    body = [
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*0001*20260315*1200*CH",
        "NM1*41*2*MEDCODE TEST CLINIC*****46*TEST01",
        "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*TEST PAYER*****46*PAYER01",
        "HL*1**20*1",
        "NM1*85*2*MEDCODE TEST CLINIC*****XX*1234567893",
        "N3*1 MAIN ST",
        "N4*ANYTOWN*CA*90001",
        "REF*EI*123456789",
    ]
    for n, (claim_id, diagnoses, lines) in enumerate(claims, 2):
        body += [
            f"HL*{n}*1*22*0",
            "SBR*P*18*******CI",
            "NM1*IL*1*DOE*JANE****MI*MEMBER01",
            "NM1*PR*2*TEST PAYER*****PI*PAYER01",
            f"CLM*{claim_id}*100.00***11:B:1*Y*A*Y*Y",
            "HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(diagnoses)),
        ]
        for i, (code, day) in enumerate(lines, 1):
            body += [f"LX*{i}", f"SV1*HC:{code}*50.00*UN*1***1", f"DTP*472*D8*{day:%Y%m%d}"]
    body.append(f"SE*{len(body) + 1}*0001")
    head = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260315*1200*^*00501*000000101*0*T*:",
        "GS*HC*SUBMITTER*RECEIVER*20260315*1200*101*X*005010X222A1",
    ]
    tail = ["GE*1*101", "IEA*1*000000101"]
    return "~\n".join(head + body + tail) + "~\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- hospital price transparency (CMS) -----------------------------------------------------------
# A CMS v3 tall standard charges CSV: rows 1-3 headers, then items. Row 5 has a HCPCS code typed
# CPT, row 6 an unknown type, row 7 a header ICD-10-CM code under type ICD.
HPT_TALL_V3 = (
    "hospital_name,last_updated_on,version,location_name,hospital_address,license_number|CA,type_2_npi,"
    '"To the best of its knowledge and belief, this hospital has included all applicable standard charge information",attester_name\n'
    'Medcode Test Hospital,2026-03-01,3.0.0,Main,"1 Main St, Anytown, CA",12345,1234567893,true,Pat Doe\n'
    "description,code|1,code|1|type,code|2,code|2|type,setting,standard_charge|gross,payer_name,plan_name,standard_charge|methodology\n"
    "Office visit,99213,CPT,0510,RC,outpatient,150.00,Acme,PPO,fee schedule\n"
    "Dexamethasone injection,J1100,CPT,,,outpatient,12.00,Acme,PPO,fee schedule\n"
    "Mystery item,12345,WIDGET,,,outpatient,1.00,Acme,PPO,fee schedule\n"
    "Diabetes education,E11,ICD,,,outpatient,80.00,Acme,PPO,fee schedule\n"
)
