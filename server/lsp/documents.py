"""Open documents, kept here rather than in pygls' workspace.

pygls re-splits the whole text into lines on every edit and uses str.splitlines(), which also
breaks at the \\x1c-\\x1e separators some X12 files use; a 40 MB claim file needs edits applied
by offset and lines found with LSP's own rule (positions.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsprotocol import types

from .. import priority
from ..positions import UTF16, LineIndex
from ..x12.delimiters import Delimiters, detect
from ..x12.edits import EditLog
from .diagnostics import DiagnosticsCache
from .pieces import EditedText

if TYPE_CHECKING:  # the checker is imported after the server answers initialize
    from ..analysis import Analysis, DocumentChecker

log = logging.getLogger("medcode.lsp")


@dataclass
class OpenDocument:
    uri: str
    source: EditedText  # the text; edits change it in place, without copying (pieces.py)
    version: int
    language_id: str = ""
    checker: DocumentChecker | None = None
    analysis: Analysis | None = None
    analysis_version: int | None = None
    # The server's data-and-settings generation the checker and analysis belong to: a reload
    # or a settings change bumps the server's, which makes both stale without taking the lock.
    generation: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)
    # ((version, generation), whether the document is medcode's): see MedcodeServer.owns.
    owned: tuple[tuple[int, int], bool] | None = None
    _index: LineIndex | None = None
    _delims: tuple[str, Delimiters | None] | None = None
    # The ranged edits since the text was opened or replaced whole: the checker re-walks only
    # what they touched (x12/incremental.py). Bound to the joined text when a check takes a
    # snapshot (MedcodeServer), as the text is not joined per keystroke.
    edit_log: EditLog = field(default_factory=EditLog)
    # The diagnostics last converted, moved along by the edit log: after an edit only the
    # findings it touched are converted again.
    diagnostics: DiagnosticsCache = field(default_factory=DiagnosticsCache)
    published: str | None = None  # the digest of the diagnostics last pushed to the client

    @property
    def text(self) -> str:
        """The whole text as one string (joined once after edits; cached until the next)."""
        return self.source.join()

    def index(self, encoding: str = UTF16) -> LineIndex:
        idx = self._index
        if idx is None or idx.text is not self.source or idx.encoding != encoding:
            source = self.source
            edits = source.edits
            idx = LineIndex(source, encoding)
            if source is self.source and source.edits == edits:  # else built off the loop while an edit came: not kept
                self._index = idx
        return idx

    def has_index(self, encoding: str = UTF16) -> bool:
        """The line index is built (never builds one)."""
        idx = self._index
        return idx is not None and idx.text is self.source and idx.encoding == encoding

    def delimiters(self) -> Delimiters | None:
        head = self.source[:512]
        if self._delims is None or self._delims[0] != head:
            self._delims = (head, detect(self.text).delimiters)
        return self._delims[1]

    def join_snapshot(self, snap: EditedText) -> str:
        """A snapshot's text as one string; the document rests on that string from now on
        (pieces.adopt), with the edits made since on top. Call with `lock` held, in a worker
        thread: two joins at once would hold three copies of a 40 MB text."""
        if self.source.same_as(snap):
            snap = self.source.snapshot()  # joined ahead (join_ahead) while the check waited for the lock
        text = snap.join()
        # The old text is freed once no request is in flight (its unmapping holds the GIL).
        released = self.source.adopt(snap)
        priority.pause()
        del released
        return text

    def join_ahead(self) -> None:
        """Join the text for the check the debounce will start (in a worker thread, while the
        debounce runs): the join of a 40 MB text is tens of milliseconds that the re-publish
        after an edit would otherwise wait for. Nothing when the text is joined already, or a
        check holds the document (it joins for itself)."""
        if not self.lock.acquire(blocking=False):
            return
        try:
            with priority.background():
                snap = self.source.snapshot()
                if not snap.joined:
                    self.join_snapshot(snap)
        finally:
            self.lock.release()

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        if isinstance(change, types.TextDocumentContentChangePartial):
            r = change.range
            if (r.start.line, r.start.character) > (r.end.line, r.end.character):
                # Applying it would duplicate the text between the two ends; the client is
                # wrong, and guessing which end it meant would be worse than skipping it.
                log.warning("an edit whose range ends before it starts was rejected (document version %s)", self.version)
                return
            # The line index is updated in place, not rebuilt, and the text is not copied: a
            # keystroke in a 40 MB file must not rescan or copy it.
            idx = self.index(encoding)
            start = idx.offset(change.range.start.line, change.range.start.character)
            end = idx.offset(change.range.end.line, change.range.end.character)
            idx.edit_lines(start, end, change.text)
            self.source.replace(start, end, change.text)
            self.edit_log = self.edit_log.then(start, end, len(change.text))
        else:
            self.source = EditedText(change.text)
            self.edit_log = self.edit_log.replaced()
            # The line index of the old text holds that text (a 40 MB file would be held twice
            # until the next index is built), and no diagnostic converted for it can be reused
            # (the log starts anew): both go now, before the new text is checked. (The quick
            # fixes stay: the client's diagnostics refer to them until the next publish.)
            self._index = None
            self.diagnostics = self.diagnostics.successor()


class Documents:
    def __init__(self) -> None:
        self._docs: dict[str, OpenDocument] = {}

    def open(self, item: types.TextDocumentItem) -> OpenDocument:
        doc = OpenDocument(item.uri, EditedText(item.text), item.version, item.language_id)
        self._docs[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> OpenDocument | None:
        doc = self._docs.get(params.text_document.uri)
        if doc is None:
            return None
        for change in params.content_changes:
            doc.apply(change, encoding)
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def get(self, uri: str) -> OpenDocument | None:
        return self._docs.get(uri)

    def all(self) -> list[OpenDocument]:
        return list(self._docs.values())
