"""Tabular code files: CMS hospital price transparency files in CSV (`hpt_csv.py`) and JSON
(`hpt_json.py`) with what the CMS templates define (`hpt_vocabulary.py`), internal
chargemasters (`cdm_csv.py`), and the position-keeping CSV reader they share
(`csv_cells.py`). Each reader hands a `Reading` to the document rules."""
