"""The embedded default data: the CMS tables shipped in `data/` (written by maintainers with
`generate.py`, reading the registry packages through `cms_tables.py`; never at install
time), how to read those files back (`data_files.py`), and the default releases built from
them on first use (`releases.py`)."""
