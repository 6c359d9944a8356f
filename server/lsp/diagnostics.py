"""Findings to LSP diagnostics, with a handle to their quick fixes for code actions.

A diagnostic goes to the client as JSON made here (`diagnostic_json`), not through pygls'
converter: a 50,000-claim file has about 9,000 findings, and converting them to lsprotocol
objects and letting pygls unstructure and json.dumps them took about half a second, the last
part on the event loop. `DiagnosticsCache` keeps each document's converted diagnostics from one
check to the next, so that after an edit only the findings the edit touched are placed and
written again; the others are moved by the edit's line delta (see `_carried`).

A diagnostic's quick fixes stay here, not in its JSON: its `data` is only a number that the
code-action handler looks up (`quick_fixes`). Writing the fixes out made the 50,000-claim
bench's publishes 23% larger (titles with official descriptions, up to 16 per header code),
and every publish is parsed whole by the client, holding up the answers queued behind it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

import orjson

from ..findings import Finding
from ..priority import pause
from ..positions import LineIndex
from ..x12.edits import EditLog, span
from .settings import Settings

SOURCE = "medcode"

STEP = 512  # diagnostics converted between two pauses of a background check (priority.py)

_RANGE = b'{"range":{"start":{"line":%d,"character":%d},"end":{"line":%d,"character":%d}},'

# What a diagnostic says apart from where: (rule, message, severity, fixes relative to the
# start, more). With the finding's start and end in front it is the cache's key.
Content = tuple
# A finding's quick fixes: ((title, start, end, text, preferred), ...), start and end relative
# to the finding's start.
Fixes = tuple

# A converted diagnostic: (line, character, end line, end character, its JSON after the range).
# The range is written at each conversion, not kept in the JSON: an edit that adds or removes
# a line moves thousands of diagnostics, and rewriting each one's JSON left megabytes of freed
# blocks behind that the process did not give back (3.5 MB for a line added and removed in
# the 50,000-claim bench).
_Entry = tuple[int, int, int, int, bytes]


@dataclass(frozen=True, slots=True)
class QuickFixes:
    """What a diagnostic's `data` handle stands for; rule and message tell a handle of this
    document's diagnostics from one the client kept from before (another server, a reload)."""

    rule: str
    message: str
    fixes: Fixes
    more: tuple[str, str, str] | None  # where more choices come from (Finding.more)


@dataclass(frozen=True, slots=True)
class DiagnosticsJson:
    """A document's diagnostics as the JSON array LSP sends, and how many it holds."""

    body: bytes
    count: int
    # What the client would see, in a few bytes: equal digests, the same diagnostics (ranges,
    # texts and fix handles). A re-check that changes nothing is then not sent again, and a
    # pull answers `unchanged` (server.py). Made in the worker thread, not on the loop.
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.blake2b(self.body, digest_size=12).hexdigest())


def full_report(diagnostics: DiagnosticsJson | None, result_id: str) -> bytes:
    """A pull request's answer (FullDocumentDiagnosticReport) holding the diagnostics."""
    items = diagnostics.body if diagnostics is not None else b"[]"
    return b'{"kind":"full","resultId":%s,"items":%s}' % (orjson.dumps(result_id), items)


def _fixes(f: Finding) -> Fixes:
    # Fix ranges relative to the finding's start: clients move diagnostics with edits, so the
    # code action re-anchors them on the diagnostic's current range.
    return tuple((x.title, x.start - f.start, x.end - f.start, x.text, x.preferred) for x in f.fixes)


def _tail(content: Content, handle: int | None) -> bytes:
    """The JSON of a diagnostic after its range, from the '{' on (the range goes in front)."""
    rule, message, severity = content[:3]
    d: dict = {"message": message, "severity": severity, "code": rule, "source": SOURCE}
    if handle is not None:
        d["data"] = handle
    return orjson.dumps(d)[1:]


def _array(entries: list[_Entry]) -> bytes:
    """The diagnostics as a JSON array, written piece by piece: joining each one's JSON first
    left thousands of freed blocks of a few hundred bytes behind every conversion."""
    out = bytearray(b"[")
    for n, entry in enumerate(entries):
        if n:
            out += b","
        out += _RANGE % entry[:4]
        out += entry[4]
    out += b"]"
    return bytes(out)


def diagnostics_json(findings: list[Finding], index: LineIndex, settings: Settings) -> DiagnosticsJson:
    """The findings as diagnostics, converted afresh (what the cache must always equal)."""
    return DiagnosticsCache().convert(findings, index, settings, None)


class DiagnosticsCache:
    """One document's diagnostics as last converted, for the next conversion to reuse.

    Checks of one document may run in two worker threads at once (a publish and a pull): the
    cache is read and replaced under a lock of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, _Entry] = {}  # (start, end, *content) -> converted
        self._revision: int | None = None  # the edit-log revision of the text converted
        self._encoding: str | None = None
        # Quick fixes by the handle their diagnostics carry, and the handle of each; a handle
        # keeps its meaning while any diagnostic written with it may still be in the client.
        self._fixes: dict[int, QuickFixes] = {}
        self._handles: dict[QuickFixes, int] = {}
        self._last_live: set[int] = set()  # the handles the previous conversion wrote

    def quick_fixes(self, handle: object, rule: object, message: object) -> QuickFixes | None:
        """The quick fixes of a diagnostic this cache wrote, from its data, code and message;
        None for any other (called on the event loop, while a check may convert)."""
        if handle is None:
            # A client that does not keep `data` (no dataSupport): the one fix set said so.
            said = [q for q in list(self._fixes.values()) if q.rule == rule and q.message == message]
            return said[0] if len(said) == 1 else None
        if type(handle) is float and handle.is_integer():
            handle = int(handle)  # a client that keeps every number as a double
        found = self._fixes.get(handle) if type(handle) is int else None
        if found is None or found.rule != rule or found.message != message:
            return None
        return found

    def successor(self) -> DiagnosticsCache:
        """A cache for a new whole text of the document: nothing converted, the quick fixes
        kept (the diagnostics in the client refer to them until the next publish). A new
        object, not this one emptied: a check of the old text may be converting into this
        one, and the loop must not wait for it."""
        new = DiagnosticsCache()
        # Copies: dict() of a dict is one step under the GIL, safe while that check adds.
        new._fixes, new._handles, new._last_live = dict(self._fixes), dict(self._handles), set(self._last_live)
        return new

    def _handle(self, key: tuple) -> int | None:
        """The handle for the quick fixes of a cache key (start, end, *Content); None: none.

        Made from what it stands for, so that a conversion through the cache writes the same
        JSON as a fresh one (tests/test_lsp_diagnostics_cache.py) whatever came before."""
        rule, message, _severity, fixes, more = key[2:]
        if not fixes and not more:
            return None
        quick = QuickFixes(rule, message, fixes, more)
        handle = self._handles.get(quick)
        if handle is None:
            handle = hash(quick) & 0x7FFFFFFF
            while handle in self._fixes:  # two fixes of one hash: never the other's fixes
                handle = (handle + 1) & 0x7FFFFFFF
            self._handles[quick] = handle
            self._fixes[handle] = quick
        return handle

    def _prune(self, now: set[int]) -> None:
        """Forget the handles no diagnostic of the last two conversions carries (`now`: this
        one's), once they outnumber those in use (edits keep making new ones)."""
        if len(self._fixes) > 64 + 2 * (len(now) + len(self._last_live)):
            keep = now | self._last_live
            self._handles = {q: h for q, h in self._handles.items() if h in keep}
            self._fixes = {h: q for h, q in self._fixes.items() if h in keep}
        self._last_live = now

    def convert(self, findings: list[Finding], index: LineIndex, settings: Settings, edits: EditLog | None) -> DiagnosticsJson:
        """The diagnostics of `findings`, found in `index.text`, the text `edits` (the
        document's edit log) made at its latest revision; None: a text of no known lineage,
        converted whole and not kept."""
        with self._lock:
            known = self._carried(index, edits) if edits is not None else {}
            entries: dict[tuple, _Entry] = {}
            out: list[_Entry] = []
            live: set[int] = set()  # the fix handles these diagnostics carry
            missing: list[tuple[int, tuple, Finding]] = []  # (place in out, key, finding)
            severities: dict[tuple, int | None] = {}  # (rule, the finding's own severity) -> what the client sees
            for n, f in enumerate(findings):
                if not n % STEP:
                    pause()
                rule = f.rule
                severity = severities.get((rule, f.severity), 0)
                if severity == 0:
                    chosen = settings.severity_of(rule, f.effective_severity)
                    severity = severities[(rule, f.severity)] = None if chosen is None else int(chosen)
                if severity is None:
                    continue  # the user turned this rule off
                # This order is the cache's key: (start, end, *Content).
                key = (f.start, f.end, rule, f.message, severity, _fixes(f) if f.fixes else (), f.more)
                if f.fixes or f.more:
                    live.add(self._handle(key))
                entry = known.pop(key, None)
                if entry is None:
                    entry = entries.get(key)  # the same finding twice
                if entry is None:
                    missing.append((len(out), key, f))
                    out.append(entry)  # placed below
                else:
                    entries[key] = entry
                    out.append(entry)
            if missing:
                # Placed in one pass: a minified JSON file is one line of many megabytes.
                at = index.positions(x for _, _, f in missing for x in (f.start, f.end))
                for i, key, f in missing:
                    entry = entries.get(key) or (*at[f.start], *at[f.end], _tail(key[2:], self._handle(key)))
                    entries[key] = entry
                    out[i] = entry
            self._prune(live)
            if edits is not None:
                self._entries, self._revision, self._encoding = entries, edits.revision, index.encoding
            return DiagnosticsJson(_array(out), len(out))

    def _carried(self, index: LineIndex, edits: EditLog) -> dict[tuple, _Entry]:
        """The last conversion's entries, keyed and placed for the text `edits` made now;
        those the edits may have moved within their line are left out (placed again).

        With the edits since the last conversion taken as one, text[a:b] of the old text
        became n characters. A position at an old offset x <= a - 1 is unchanged: its line
        start and the characters before it are all before the edit. For x >= b + 1, the line
        starts in (b, x] are those of (a + n, x + delta] in the new text, so its line moved by
        the same D for every such x; its character is unchanged when its line starts after
        the edit ends, i.e. its new line is past the one holding offset a + n. (One character
        of margin each side: a \\r before the edit and a \\n after it may join into one break.)"""
        if self._revision is None or self._encoding != index.encoding:
            return {}
        steps = edits.since(self._revision)
        if steps is None:
            return {}
        # Taken out of the cache as they are carried (and out of what this returns as the
        # conversion finds them): an edit that moves thousands of diagnostics makes new keys
        # for them, and with the old ones all held till the end, three sets of keys at once
        # took new memory the process kept (2 MB for a line added and removed, 50k claims).
        old, self._entries = self._entries, {}
        edit = span(steps)
        if edit is None:
            return old
        a, b, n = edit
        delta = n - (b - a)
        edit_line = index.position(a + n)[0]
        moved: dict[tuple, _Entry] = {}
        shift: int | None = None  # D, the same for every entry past the edit: any order will do
        count = 0
        while old:
            if not count % STEP:
                pause()
            count += 1
            key, entry = old.popitem()
            start, end = key[0], key[1]
            if end < a:
                moved[key] = entry
            elif start > b:
                if shift is None:
                    shift = index.position(start + delta)[0] - entry[0]
                line = entry[0] + shift
                if line <= edit_line:
                    continue
                if shift:
                    entry = (line, entry[1], entry[2] + shift, entry[3], entry[4])
                moved[key if not delta else (start + delta, end + delta, *key[2:])] = entry
        return moved
