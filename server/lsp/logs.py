"""Logging that never carries document text.

Claim files hold protected health information. pygls logs message bodies and parameters at
debug/info level and the text of exceptions at error level; a filter on every record drops
the arguments of other libraries' records and every exception's message (the traceback's
frames stay, so a failure can still be located). medcode's own records carry only fixed
wording, ids, counts and timings.
"""

from __future__ import annotations

import logging
import sys


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and not record.name.startswith("medcode"):
            record.msg = f"{record.msg} [arguments withheld]"
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, _, tb = record.exc_info
            record.exc_info = (exc_type, None, tb)
            record.exc_text = None
        return True


def configure(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("medcode %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
