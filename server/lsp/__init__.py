"""The language server: `server.py` holds the pygls server, document sync and diagnostics
scheduling with thin handlers, `protocol.py` the one place that depends on pygls internals,
`settings.py` the client settings; every feature has its own module (`hover.py`,
`completion.py` and `doc_completion.py`, `actions.py`, `symbols.py`, `inlay.py`,
`diagnostics.py`), sharing `codes.py` (slot to code set and key) and `markdown.py`."""
