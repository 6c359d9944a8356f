"""Findings to LSP diagnostics, with a handle to their quick fixes for code actions.

A diagnostic goes to the client as JSON made here (`diagnostic_json`), not through pygls'
converter: a 50,000-claim file has about 9,000 findings, and converting them to lsprotocol
objects and letting pygls unstructure and json.dumps them took about half a second, the last
part on the event loop. `DiagnosticsCache` keeps each document's converted diagnostics from one
check to the next, so that after an edit only the findings the edit touched are placed and
written again; the others are moved by the edit's line delta (see `_Move`).

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

from medcode.index_builder.gcpause import paused_gc

from ..findings import Finding
from ..priority import pause
from ..positions import LineIndex
from ..x12.edits import EditLog, span
from .settings import Settings

SOURCE = "medcode"

STEP = 512  # diagnostics converted between two pauses of a background check (priority.py)

_RANGE = b'{"range":{"start":{"line":%d,"character":%d},"end":{"line":%d,"character":%d}},'
_NEXT_RANGE = b"," + _RANGE

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
    # pull answers `unchanged` (server.py). Made in the worker thread, not on the loop; by
    # SHA-256, which the CPU computes (SHA extensions): 1.7 ms for 2.7 MB, BLAKE2b 3.6 ms.
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.sha256(self.body).hexdigest()[:24])


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
    left thousands of freed blocks of a few hundred bytes behind every conversion. Written
    between pauses (a background check's: priority.py), as the conversion is: 9,000 entries
    are milliseconds of the GIL that a request on the loop would share."""
    out = bytearray(b"[")
    head = _RANGE  # then with the comma in front: one append less per diagnostic
    for lo in range(0, len(entries), STEP):
        pause()
        for line, character, end_line, end_character, tail in entries[lo : lo + STEP]:
            out += head % (line, character, end_line, end_character)
            out += tail
            head = _NEXT_RANGE
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
        self._seen: dict[int, _Seen] = {}  # id(finding) -> how it was converted last
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

    def _handle(self, rule: str, message: str, fixes: Fixes, more: tuple[str, str, str] | None) -> int | None:
        """The handle for a diagnostic's quick fixes; None: it has none.

        Made from what it stands for, so that a conversion through the cache writes the same
        JSON as a fresh one (tests/test_lsp_diagnostics_cache.py) whatever came before."""
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

    @property
    def _entries(self) -> dict[tuple, _Entry]:
        """The last conversion's entries by content key (start, end, *Content)."""
        return {_key(r[0], r[1], r[2], r[3]): r[4] for r in self._seen.values()}

    def convert(self, findings: list[Finding], index: LineIndex, settings: Settings, edits: EditLog | None) -> DiagnosticsJson:
        """The diagnostics of `findings`, found in `index.text`, the text `edits` (the
        document's edit log) made at its latest revision; None: a text of no known lineage,
        converted whole and not kept.

        A finding converted last time, the same object at the place the edits moved it to,
        takes its entry from then (moved along, see _Move): no key is made of it, which cost
        more than the rest of a conversion. The others are placed afresh when they are few
        (the claims a re-check walked again), else looked up by what they say first."""
        # Tens of thousands of small objects (entries, records) that live until the next
        # conversion: the collector would scan them in generation 1 passes in this worker
        # thread, holding the GIL (stalls of the loop up to 10 ms measured); paused, they go
        # straight to the oldest generation.
        with self._lock, paused_gc():
            old: dict[int, _Seen] = {}
            steps = None
            if edits is not None and self._encoding == index.encoding:
                steps = edits.since(self._revision)
                if steps is not None:
                    old = self._seen
            # Let go as they are replaced: an edit that moves thousands of diagnostics makes
            # new entries for them, and with the old ones all held till the end the process
            # took new memory it kept (2 MB for a line added and removed, 50k claims).
            self._seen = {}
            move = _Move(steps, index)
            a, b, delta, edit_line = move.a, move.b, move.delta, move.edit_line
            seen: dict[int, _Seen] = {}
            out: list[_Entry] = []
            live: set[int] = set()  # the fix handles these diagnostics carry
            missing: list[tuple[int, Finding, int]] = []  # (place in out, finding, severity)
            severities: dict[tuple, int | None] = {}  # (rule, the finding's own severity) -> what the client sees
            shift = move.shift  # D (see _Move), found on the first entry past the edit
            for n, f in enumerate(findings):
                if not n % STEP:
                    pause()
                # Most findings keep their rule's severity: looked up by the rule alone.
                rule, own = f.rule, f.severity
                severity = severities.get(rule if own is None else (rule, own), 0)
                if severity == 0:
                    chosen = settings.severity_of(rule, f.effective_severity)
                    severity = severities[rule if own is None else (rule, own)] = None if chosen is None else int(chosen)
                if severity is None:
                    continue  # the user turned this rule off
                i = id(f)
                rec = old.get(i)
                if rec is not None and rec[0] is f and rec[3] == severity:
                    entry: _Entry | None = rec[4]
                    start, end = rec[1], rec[2]
                    if end < a:
                        if f.start != start or f.end != end:
                            entry = None
                    elif start > b and f.start == start + delta and f.end == end + delta:
                        if shift is None:
                            shift = move.shift = move.line_shift(entry, f.start)
                        if shift:
                            line = entry[0] + shift
                            entry = None if line <= edit_line else (line, entry[1], entry[2] + shift, entry[3], entry[4])
                        elif entry[0] <= edit_line:
                            entry = None
                    else:
                        entry = None
                    if entry is not None:
                        rec[1], rec[2], rec[4] = f.start, f.end, entry
                        seen[i] = rec
                        if rec[5] is not None:
                            live.add(rec[5])
                        out.append(entry)
                        continue
                missing.append((len(out), f, severity))
                out.append(None)  # type: ignore[arg-type] # placed below
            if missing:
                known: dict[tuple, _Entry] = {}
                if old and len(missing) > len(out) // 8:  # many: a whole walk, a CSV's re-read
                    known = self._known(old, seen, move)
                place: list[tuple[int, Finding, tuple]] = []
                for m, (i, f, severity) in enumerate(missing):
                    if not m % STEP:
                        pause()
                    key = _key(f, f.start, f.end, severity)
                    handle = self._handle(f.rule, f.message, key[5], f.more) if f.fixes or f.more else None
                    entry = known.pop(key, None) if known else None
                    if entry is None:
                        place.append((i, f, key))
                    else:
                        out[i] = entry
                    seen[id(f)] = [f, f.start, f.end, severity, entry, handle, key]
                    if handle is not None:
                        live.add(handle)
                if place:
                    # Placed in one pass: a minified JSON file is one line of many megabytes.
                    at = index.positions(x for _, f, _ in place for x in (f.start, f.end))
                    for m, (i, f, key) in enumerate(place):
                        if not m % STEP:
                            pause()
                        rec = seen[id(f)]
                        rec[4] = out[i] = (*at[f.start], *at[f.end], _tail(key[2:], rec[5]))
            pause()
            self._prune(live)
            if edits is not None:
                self._seen, self._revision, self._encoding = seen, edits.revision, index.encoding
            body = _array(out)
            pause()
            return DiagnosticsJson(body, len(out))

    def _known(self, old: dict[int, _Seen], seen: dict[int, _Seen], move: _Move) -> dict[tuple, _Entry]:
        """The last conversion's entries by content key, placed for the text now (those the
        edits may have moved within their line left out): for findings that are new objects
        saying what old ones said (a whole walk, a CSV's re-read)."""
        known: dict[tuple, _Entry] = {}
        a, b, delta, edit_line = move.a, move.b, move.delta, move.edit_line
        for count, (i, rec) in enumerate(old.items()):
            if not count % STEP:
                pause()
            f, start, end, severity, entry, _, key = rec
            # Its key when one was made (a finding never says otherwise than it did).
            if key is None or key[0] != start or key[1] != end:
                key = _key(f, start, end, severity) if key is None else (start, end, *key[2:])
            if i in seen or end < a:  # in seen: taken by its finding above, placed for this text
                known[key] = entry
            elif start > b:
                shift = move.shift
                if shift is None:
                    shift = move.shift = move.line_shift(entry, start + delta)
                line = entry[0] + shift
                if line > edit_line:
                    if shift:
                        entry = (line, entry[1], entry[2] + shift, entry[3], entry[4])
                    known[(start + delta, end + delta, *key[2:]) if delta else key] = entry
        return known


# A finding as last converted: [the finding, its start and end then, the severity written,
# its entry, its fix handle, its key if one was made]. Kept by the finding's identity: a re-check hands most findings
# over as the very objects it had (analysis.py moves those past an edit in place), and a
# finding object never says anything else than it did.
_Seen = list


def _key(f: Finding, start: int, end: int, severity: int) -> tuple:
    """What a diagnostic is, as a key: (start, end, *Content)."""
    return (start, end, f.rule, f.message, severity, _fixes(f) if f.fixes else (), f.more)


class _Move:
    """Where the last conversion's entries go in the text now.

    With the edits since the last conversion taken as one, text[a:b] of the old text became n
    characters. A position at an old offset x <= a - 1 is unchanged: its line start and the
    characters before it are all before the edit. For x >= b + 1, the line starts in (b, x]
    are those of (a + n, x + delta] in the new text, so its line moved by the same D for every
    such x; its character is unchanged when its line starts after the edit ends, i.e. its new
    line is past the one holding offset a + n. (One character of margin each side: a \\r
    before the edit and a \\n after it may join into one break.) No edits: all unchanged."""

    __slots__ = ("a", "b", "delta", "edit_line", "shift", "index")

    def __init__(self, steps: tuple | None, index: LineIndex):
        self.index = index
        self.shift: int | None = None  # D, the same for every entry past the edit: found on the first
        edit = span(steps) if steps else None
        if edit is None:
            self.a = self.b = 1 << 62  # every entry lies before an edit that is not there
            self.delta, self.edit_line = 0, -1
        else:
            a, b, n = edit
            self.a, self.b, self.delta = a, b, n - (b - a)
            self.edit_line = index.position(a + n)[0]

    def line_shift(self, entry: _Entry, new_start: int) -> int:
        """D, from an entry past the edit whose finding now starts at new_start."""
        return self.index.position(new_start)[0] - entry[0]
