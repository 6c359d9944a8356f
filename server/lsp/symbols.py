"""The document outline (interchange > group > transaction > provider > subscriber > patient >
claim > service lines; for files of many claims interchange > group > transaction > claim).

An editor asks for the outline after every edit, and a 50,000-claim file must not cost seconds
each time: the outline is kept per document version, carried over edits that each stay inside
one segment (typing in a code or an amount, in several claims however far apart) or put lines
in past where the outline stops, instead of being built again, built off the loop in a
thread no check holds, and sent as plain JSON-ready dicts, which the converter passes through
as they are (building and unstructuring thousands of lsprotocol objects cost more than
finding the claims).
"""

from __future__ import annotations

import asyncio
import weakref
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable

import orjson
from lsprotocol import types

from .. import reading as r
from ..fhir.outline import fhir_outline
from ..fhir.outline_follow import Resources, follow
from ..fhir.reader import FhirReading
from ..kinds import is_json_name
from ..x12.edits import disjoint
from .protocol import PlainJson
from ..x12.outline import Node, Outline, Terminators, claims_outline, follow_edits, follow_insertions, outline

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..positions import LineIndex
    from ..x12.delimiters import Delimiters
    from .documents import OpenDocument
    from .pieces import EditedText
    from .server import MedcodeServer

KINDS = {
    "interchange": types.SymbolKind.Package.value,
    "group": types.SymbolKind.Namespace.value,
    "transaction": types.SymbolKind.Module.value,
    "claim": types.SymbolKind.Object.value,
    "line": types.SymbolKind.Field.value,
    "diagnosis": types.SymbolKind.Key.value,  # FHIR claims (fhir.outline)
    "procedure": types.SymbolKind.Method.value,
}
LIMIT = 5000  # entries; a 50,000-claim file would otherwise send hundreds of thousands
# Up to this many claims the outline shows every level (subscribers, patients, service lines);
# above it one entry per claim, so that far more claims fit under LIMIT.
FULL_CLAIMS = 500
RETRIES = 3  # builds voided by an edit before one is made on the loop
LOOP_BLOCKS = 4  # blocks of text (outline.Terminators) counted on the loop when an outline is carried
INDEX_WAIT = 2.0  # seconds to wait for a large document's line index, built after didOpen
CHECK_WAIT = 60.0  # seconds a FHIR outline waits for the check of the text (fhir_symbols)


class Symbols(PlainJson):
    """DocumentSymbol objects already in their JSON form."""


# A node and where its symbol is (holder[i]); the lines it spans are kept apart, in an array
# (Built.spans), not as two int objects in each. A symbol without children is held as its JSON
# (orjson.Fragment), not as a dict: 5,000 claim entries as dicts of dicts held 7 MB, as JSON
# about 1.5 MB.
Placed = tuple[Node, list, int]


@dataclass
class Built:
    """An outline as sent, with what is needed to carry it over a small edit (short outlines)."""

    symbols: Symbols
    tree: Outline
    short: bool  # claims_outline (else the full outline, built again after any edit)
    pairs: list[Placed]  # each node and where its symbol is
    spans: array  # pair k's symbol spans lines spans[2k] to spans[2k + 1]
    terminators: Terminators | None  # the text's segment terminators, per block (short outlines)
    lines: int  # lines of the text
    fhir: FhirPlaces | None = None  # a FHIR outline's (carried over edits: _fhir_followed)


@dataclass
class FhirPlaces:
    """What carrying a FHIR outline over edits needs besides its tree."""

    resources: Resources  # where the resources are (fhir.outline_follow)
    lines: array  # top-level entry k spans lines lines[2k] to lines[2k + 1]


@dataclass
class _Kept:
    doc: weakref.ref
    version: int
    revision: int  # of the document's edit log, for the edits since
    encoding: str
    component: str
    built: Built
    # From the check's reading of this very version (FHIR): else carried over edits, and built
    # again from the reading once the check of the version is done.
    read: bool = True


_kept: dict[str, _Kept] = {}  # uri -> the outline of the document's last version asked for


async def document_symbols(ls: MedcodeServer, doc: OpenDocument) -> Symbols | None:
    delims = doc.delimiters()
    if delims is None:
        return await fhir_symbols(ls, doc)
    component = ls.component_of(doc)
    kept = _kept.get(doc.uri)
    if kept is not None and (kept.doc() is not doc or (kept.encoding, kept.component) != (ls.encoding, component)):
        kept = None
    if kept is not None and kept.version == doc.version:
        return kept.built.symbols
    if not doc.has_index(ls.encoding):
        await _index_ready(ls, doc)
    if kept is not None and await _follow(ls, doc, delims, kept):
        return kept.built.symbols
    # Built again below: the old outline goes first, not once the new one is made (two
    # outlines of 5,000 entries at once took 4 MB more that the process kept).
    _kept.pop(doc.uri, None)
    kept = None
    for _ in range(RETRIES):
        # Built in a thread of its own (never one a check holds), off the loop; the line
        # index it reads is changed in place by edits, so an edit meanwhile voids the result.
        version, revision, index = doc.version, doc.edit_log.revision, doc.index(ls.encoding)
        # The check of this very text (if done) has counted the claims: the outline then
        # reads no further than its cut.
        analysis = ls.current_analysis(doc)
        total = len(analysis.x12.claims) if analysis is not None and analysis.x12 is not None else None
        built = await asyncio.to_thread(build, doc.source.snapshot(), delims, component, index, total)
        if doc.version == version and doc.has_index(ls.encoding) and ls.documents.get(doc.uri) is doc:
            break
    else:  # edits keep coming: built on the loop, where none can
        version, revision = doc.version, doc.edit_log.revision
        built = build(doc.source, delims, component, doc.index(ls.encoding), None)
    for uri in [u for u, k in _kept.items() if k.doc() is None or ls.documents.get(u) is not k.doc()]:
        del _kept[uri]  # closed documents
    _kept[doc.uri] = _Kept(weakref.ref(doc), version, revision, ls.encoding, component, built)
    return built.symbols


async def fhir_symbols(ls: MedcodeServer, doc: OpenDocument) -> Symbols | None:
    """The outline of FHIR claims (fhir.outline), from the check of the document's current
    text, and kept per version as X12's outline is. The outline does not read the text again:
    the FHIR reader takes seconds on a Bundle of thousands of claims (about 1.5 s of CPU per
    1,000 claims with their codes), the outline from its reading milliseconds. After edits
    inside its claims the kept outline is carried over them (_follow_fhir) and answers at once;
    after others, and on first open, it waits for the check. A stale outline is never sent in
    the meantime: LSP has no request that would make the client ask for the outline again once
    the check is done, so it would show wrong places until the next edit."""
    kept = _kept.get(doc.uri)
    if kept is not None and (kept.doc() is not doc or kept.encoding != ls.encoding):
        kept = None
    checked = ls.current_analysis(doc) is not None
    if kept is not None and kept.version == doc.version and (kept.read or not checked):
        return kept.built.symbols
    last = ls.analysis_now(doc)
    if last is not None and last.kind != r.FHIR:
        return None  # not FHIR claims (as of its last check)
    if r.FHIR not in ls.settings.kinds or not (is_json_name(doc.uri, doc.language_id) or doc.source[:64].lstrip("\ufeff \t\r\n").startswith("{")):
        return None  # as kinds.read: FHIR is JSON by name or by content; no check to wait for
    if kept is not None and kept.version != doc.version and not checked and await _follow_fhir(ls, doc, kept):
        return kept.built.symbols
    for _ in range(RETRIES):
        # A small document is checked now, as for a hover; a large one's check is waited for
        # (document_for_request does not wait for it, nor for its line index).
        await ls.document_for_request(doc.uri)
        if ls.documents.get(doc.uri) is not doc or not ls.owns(doc):
            return None
        analysis = await _checked(ls, doc)
        if analysis is None:
            return None
        if not isinstance(analysis.reading, FhirReading):
            return None
        version = doc.version
        if not doc.has_index(ls.encoding):
            await _index_ready(ls, doc)
        built = await asyncio.to_thread(_fhir_built, analysis.reading, doc.index(ls.encoding), len(doc.source))
        if doc.version == version and ls.documents.get(doc.uri) is doc:
            break
    else:
        return None  # edits keep coming: the next request outlines the text they leave
    _kept[doc.uri] = _Kept(weakref.ref(doc), version, doc.edit_log.revision, ls.encoding, "", built)
    return built.symbols


async def _follow_fhir(ls: MedcodeServer, doc: OpenDocument, kept: _Kept) -> bool:
    """Carry the kept FHIR outline over the edits since (fhir.outline_follow), off the loop.
    False when it must come from the check: an edit outside its claims' text, or edits that
    keep coming while it is carried."""
    if kept.built.fhir is None:
        return False
    if not doc.has_index(ls.encoding):
        await _index_ready(ls, doc)
    for _ in range(RETRIES):
        steps = doc.edit_log.since(kept.revision)
        if steps is None:
            return False
        # The line index is changed in place by edits: one meanwhile voids the result.
        version, revision, index, snap = doc.version, doc.edit_log.revision, doc.index(ls.encoding), doc.source.snapshot()
        try:
            built = await asyncio.to_thread(_fhir_followed, kept.built, snap, disjoint(steps), index)
        except (IndexError, ValueError):
            if doc.version == version:
                raise
            continue  # the index changed under it
        if built is None or ls.documents.get(doc.uri) is not doc or _kept.get(doc.uri) is not kept:
            return False
        if doc.version == version:
            kept.built, kept.version, kept.revision, kept.read = built, version, revision, False
            return True
    return False


def _fhir_followed(built: Built, text: EditedText, edits: list[tuple[int, int, int]], index: LineIndex) -> Built | None:
    """The kept outline carried over the edits, as sent (None: it must come from a read)."""
    moved = follow(built.tree, built.fhir.resources, text, edits, LIMIT) if built.fhir is not None else None
    if moved is None:
        return None
    tree, resources = moved
    if index.line_count == built.lines and not any(text.find(c, a, a + n) >= 0 for a, _, n in edits for c in "\n\r"):
        symbols, lines = _placed_again(built, tree, index, edits, len(text))
        return Built(symbols, tree, False, [], array("l"), None, index.line_count, FhirPlaces(resources, lines))
    return _fhir_symbols(tree, index, len(text), resources)


def _placed_again(built: Built, tree: Outline, index: LineIndex, edits: list[tuple[int, int, int]], length: int) -> tuple[Symbols, array]:
    """The symbols of a carried FHIR outline when no line was added or removed: those of the
    top-level entries spanning an edited line made again (the edited claims, and any other on
    such a line: NDJSON, minified JSON), the others' held as they were (their positions hold).
    Making all 5,000 again cost about 85 ms of CPU per keystroke."""
    lines = built.fhir.lines
    starts, ends = lines[0::2], lines[1::2]
    again: set[int] = set()
    for line in {index.position(a)[0] for a, _, _ in edits}:
        k = bisect_right(starts, line) - 1
        while k >= 0 and ends[k] >= line:
            again.add(k)
            k -= 1
    symbols, lines = Symbols(built.symbols), array(lines.typecode, lines)
    nodes = [tree.nodes[k] for k in sorted(again)]
    # Their positions found in one pass, as to_symbols does: entries on one long line
    # (minified JSON) would otherwise each be counted from the line's start.
    offsets: list[int] = []
    _collect(nodes, offsets)
    if tree.cut_at is not None:
        offsets.extend((tree.cut_at, length))
    at = index.positions(offsets)
    for k, node in zip(sorted(again), nodes):
        holder: list = []
        _convert(node, at, [], array("l"), holder)
        symbols[k] = holder[0]
        lines[2 * k], lines[2 * k + 1] = at[node.start][0], at[node.end][0]
    if tree.cut_at is not None:
        symbols[-1] = _rest(tree, at[tree.cut_at], at[length])
    return symbols, lines


def _fhir_symbols(tree: Outline, index: LineIndex, length: int, resources: Resources) -> Built:
    """A FHIR outline as sent, with the lines of its top-level entries; not its pairs, which
    only X12's carrying reads."""
    symbols, pairs, spans = to_symbols(tree, index, length)
    top = [k for k, (_, holder, _) in enumerate(pairs) if holder is symbols]
    lines = array("l", [line for k in top for line in (spans[2 * k], spans[2 * k + 1])])
    return Built(symbols, tree, False, [], array("l"), None, index.line_count, FhirPlaces(resources, lines))


async def _checked(ls: MedcodeServer, doc: OpenDocument) -> Analysis | None:
    """The check of the document's current text, waited for up to CHECK_WAIT seconds (it
    runs after the edits' debounce, or when a pull client asks for diagnostics)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CHECK_WAIT
    while (analysis := ls.current_analysis(doc)) is None and loop.time() < deadline and ls.documents.get(doc.uri) is doc:
        await asyncio.sleep(0.05)
    return analysis


def _fhir_built(reading: FhirReading, index: LineIndex, length: int) -> Built:
    return _fhir_symbols(fhir_outline(reading, LIMIT), index, length, Resources.of(reading))


def forget_stale(doc: OpenDocument) -> None:
    """Drop the document's kept outline once no edit can carry it over (the text was replaced
    whole: its edit log starts anew), rather than hold it (4 MB for 5,000 entries) until the
    next request builds another."""
    kept = _kept.get(doc.uri)
    if kept is not None and (kept.doc() is not doc or doc.edit_log.since(kept.revision) is None):
        del _kept[doc.uri]


async def _follow(ls: MedcodeServer, doc: OpenDocument, delims: Delimiters, kept: _Kept) -> bool:
    """Carry a short outline over the edits since it was built, when each stayed inside one
    segment (typing in a code or an amount, in one claim or several far apart): offsets past
    them move, the entries on the edited lines are placed again, and nothing else is read. Or,
    for edits that put in lines past where the outline stops, _follow_insertions. False when it
    must be built again."""
    built, term = kept.built, delims.segment
    steps = doc.edit_log.since(kept.revision)
    if not built.short or built.terminators is None or steps is None or len(term) != 1:
        return False
    version, revision, index = doc.version, doc.edit_log.revision, doc.index(ls.encoding)
    snap = doc.source.snapshot()
    # Apart, not as one span: keystrokes far apart (or the edits of several versions since
    # the outline was last asked for) would span claims and their terminators; and a line
    # added then taken out leaves nothing.
    edits = disjoint(steps)
    # Searched, not sliced: what an edit holds may be long (a paste), and a terminator is
    # found within its first segment.
    if index.line_count != built.lines or any(snap.find(c, a, a + n) >= 0 for a, _, n in edits for c in (term, "\n", "\r")):
        return _follow_insertions(doc, delims, kept, edits, index)
    # Where text was removed, as many terminators as before, so none of them: counted in the
    # blocks it was removed from, on the loop when they are few (a millisecond or two).
    if built.terminators.touched(edits) <= LOOP_BLOCKS:
        starts = built.terminators.moved(snap, term, edits)
    else:
        since = kept.revision
        starts = await asyncio.to_thread(built.terminators.moved, snap, term, edits)
        if kept.version == doc.version:
            return True  # another request for this version carried it meanwhile
        if doc.version != version or kept.revision != since:
            return False
    if starts is None:
        return False
    moved = follow_edits(built.tree, doc.source, delims, edits)
    if moved is None:
        return False
    built.terminators.starts = starts
    # Placed again: the entries whose symbol starts or ends on an edited line (no line was
    # added or removed: the others' positions hold), found by a search of the spans' bytes, and
    # those renamed or ending in an edited segment (few: a pass over the pairs only then). A
    # Python pass over all 5,000 pairs held the loop about 5 ms per keystroke.
    again = _on_lines(built.spans, {index.position(a)[0] for a, _, _ in edits})
    if moved:
        ids = {id(node) for node in moved}
        again.update(k for k, (node, _, _) in enumerate(built.pairs) if id(node) in ids)
    for k in sorted(again):
        _place_again(built, index, k)
    if built.tree.cut_at is not None:
        built.symbols[-1].update(_rest(built.tree, index.position(built.tree.cut_at), index.position(len(doc.source))))
    kept.version, kept.revision = version, revision
    return True


def _follow_insertions(doc: OpenDocument, delims: Delimiters, kept: _Kept, edits: list[tuple[int, int, int]], index: LineIndex) -> bool:
    """Carry an outline cut at its limit over insertions past the cut (lines, segments, claims:
    outline.follow_insertions): no entry moves but the ones still open at the cut, whose ends
    are placed again, and the one saying how many claims are left out. False when it must be
    built again."""
    built = kept.built
    if built.terminators is None or any(b > a for a, b, _ in edits):
        return False
    moved = follow_insertions(built.tree, doc.source, delims, edits)
    if moved is None:
        return False
    built.terminators = built.terminators.inserted(doc.source, delims.segment, edits)
    ids = {id(node) for node in moved}
    for k, (node, _, _) in enumerate(built.pairs):
        if id(node) in ids:
            _place_again(built, index, k)
    built.symbols[-1].update(_rest(built.tree, index.position(built.tree.cut_at), index.position(len(doc.source))))
    built.lines = index.line_count
    kept.version, kept.revision = doc.version, doc.edit_log.revision
    return True


def _place_again(built: Built, index: LineIndex, k: int) -> None:
    """Pair k's symbol and line span, from where its node now is."""
    node, holder, i = built.pairs[k]
    start, end = index.position(node.start), index.position(node.end)
    holder[i] = _placed(node, start, end, holder[i].get("children") if isinstance(holder[i], dict) else None)
    built.spans[2 * k], built.spans[2 * k + 1] = start[0], end[0]


def _on_lines(spans: array, lines: Iterable[int]) -> set[int]:
    """The pairs whose symbol starts or ends on one of `lines` (Built.spans), found by a
    search of the array's bytes (memchr speed: array.index compares int objects, about 2 ms
    over the spans of 5,000 entries, per line)."""
    raw, size = spans.tobytes(), spans.itemsize
    found: set[int] = set()
    for line in lines:
        needle = array(spans.typecode, [line]).tobytes()
        at = raw.find(needle)
        while at >= 0:
            if at % size:  # bytes of two neighbours: not a value of the array
                at = raw.find(needle, at + 1)
                continue
            found.add(at // size // 2)
            at = raw.find(needle, at + size)
    return found


def build(text: EditedText, delims: Delimiters, component: str, index: LineIndex, claims_total: int | None) -> Built:
    """The outline of a text as DocumentSymbol JSON. A large file is read through its pieces
    (never joined here); only a file of few claims, which is small, gets the full outline."""
    tree = claims_outline(text, delims, LIMIT, claims_total)
    short = tree.claims > FULL_CLAIMS
    if not short:
        tree = outline(text.join(), delims, component, LIMIT)
    symbols, pairs, spans = to_symbols(tree, index, len(text))
    terminators = Terminators.of(text, delims.segment) if short and len(delims.segment) == 1 else None
    return Built(symbols, tree, short, pairs, spans, terminators, index.line_count)


async def _index_ready(ls: MedcodeServer, doc: OpenDocument) -> None:
    """A large document's line index is built in a worker right after didOpen (server.py):
    wait for it rather than build a second one on the loop; no check is waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + INDEX_WAIT
    while not doc.has_index(ls.encoding) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    if not doc.has_index(ls.encoding):  # its worker is busy elsewhere: build it off the loop
        await asyncio.to_thread(doc.index, ls.encoding)


def _position(at: tuple[int, int]) -> dict[str, int]:
    return {"line": at[0], "character": at[1]}


def _symbol(node: Node, start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    """A node as DocumentSymbol JSON, without its children."""
    symbol: dict[str, Any] = {
        "name": node.name,
        "kind": KINDS.get(node.kind, types.SymbolKind.Class.value),
        "range": {"start": _position(start), "end": _position(end)},
        # The name is a segment id: a few ASCII letters on the start's line.
        "selectionRange": {"start": _position(start), "end": {"line": start[0], "character": start[1] + node.name_end - node.start}},
    }
    if node.detail:
        symbol["detail"] = node.detail
    return symbol


def _rest(tree: Outline, here: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    """The entry where the outline stops, saying what is left out."""
    what = f"{tree.claims_after:,} more claims" if tree.claims_after else "more entries"
    return {
        "name": f"… {what} not shown (the outline stops after {LIMIT:,} entries)",
        "kind": types.SymbolKind.Null.value,
        "range": {"start": _position(here), "end": _position(end)},
        "selectionRange": {"start": _position(here), "end": _position(here)},
    }


def to_symbols(tree: Outline, index: LineIndex, length: int) -> tuple[Symbols, list[Placed], array]:
    """The outline as DocumentSymbol JSON, its positions found in one pass over the offsets,
    each node paired with its symbol, and the lines each pair's symbol spans (Built.spans)."""
    # Module functions, not nested ones that call themselves: those would be a reference cycle
    # holding the positions until a full collection, which the server's gc.freeze() may
    # postpone for good.
    offsets: list[int] = []
    _collect(tree.nodes, offsets)
    if tree.cut_at is not None:
        offsets.extend((tree.cut_at, length))
    at = index.positions(offsets)
    pairs: list[Placed] = []
    spans = array("l")
    symbols = Symbols()
    for n in tree.nodes:
        _convert(n, at, pairs, spans, symbols)
    if tree.cut_at is not None:
        symbols.append(_rest(tree, at[tree.cut_at], at[length]))
    return symbols, pairs, spans


def _collect(nodes: list[Node], offsets: list[int]) -> None:
    for n in nodes:
        offsets.extend((n.start, n.end))
        _collect(n.children, offsets)


def _convert(node: Node, at: dict[int, tuple[int, int]], pairs: list[Placed], spans: array, holder: list) -> None:
    """Put the node's symbol at the end of holder, its children's in its own list."""
    start, end = at[node.start], at[node.end]
    children: list | None = [] if node.children else None
    pairs.append((node, holder, len(holder)))
    spans.extend((start[0], end[0]))
    holder.append(_placed(node, start, end, children))
    for c in node.children:
        _convert(c, at, pairs, spans, children)


def _placed(node: Node, start: tuple[int, int], end: tuple[int, int], children: list | None) -> dict[str, Any] | orjson.Fragment:
    """A node's symbol as held: a dict holding its children's list, or the JSON of one
    without children."""
    symbol = _symbol(node, start, end)
    if children is None:
        # Copied out: what orjson.dumps returns keeps the 4 KB it wrote into.
        return orjson.Fragment(memoryview(orjson.dumps(symbol)).tobytes())
    symbol["children"] = children
    return symbol
