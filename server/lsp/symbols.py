"""The document outline (interchange > group > transaction > provider > subscriber > patient >
claim > service lines; for files of many claims interchange > group > transaction > claim).

An editor asks for the outline after every edit, and a 50,000-claim file must not cost seconds
each time: the outline is kept per document version, and it is sent as plain JSON-ready
dicts, which the converter passes through as they are (building and unstructuring thousands
of lsprotocol objects cost more than finding the claims).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..x12.outline import Node, Outline, claims_outline, outline

if TYPE_CHECKING:
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
}
LIMIT = 5000  # entries; a 50,000-claim file would otherwise send hundreds of thousands
# Up to this many claims the outline shows every level (subscribers, patients, service lines);
# above it one entry per claim, so that far more claims fit under LIMIT.
FULL_CLAIMS = 500
RETRIES = 3  # builds voided by an edit before one is made on the loop
INDEX_WAIT = 2.0  # seconds to wait for a large document's line index, built after didOpen


class Symbols(list):
    """DocumentSymbol objects already in their JSON form: the converter sends them as they are
    (register_hook)."""


_hooked: weakref.WeakSet = weakref.WeakSet()  # the protocols whose converter knows Symbols


def register_hook(ls: MedcodeServer) -> None:
    protocol = ls.protocol
    converter = getattr(protocol, "_converter", None)  # pygls keeps its cattrs converter there
    if converter is not None and protocol not in _hooked:
        converter.register_unstructure_hook(Symbols, lambda symbols: symbols)
        _hooked.add(protocol)


@dataclass
class _Kept:
    doc: weakref.ref
    version: int
    encoding: str
    component: str
    symbols: Symbols


_kept: dict[str, _Kept] = {}  # uri -> the outline of the document's last version asked for


async def document_symbols(ls: MedcodeServer, doc: OpenDocument) -> Symbols | None:
    delims = doc.delimiters()
    if delims is None:
        return None
    component = ls.component_of(doc)
    kept = _kept.get(doc.uri)
    if kept is not None and kept.doc() is doc and (kept.version, kept.encoding, kept.component) == (doc.version, ls.encoding, component):
        return kept.symbols
    if not doc.has_index(ls.encoding):
        await _index_ready(ls, doc)
    register_hook(ls)
    for _ in range(RETRIES):
        # Built in a thread of its own (never one a check holds), off the loop; the line
        # index it reads is changed in place by edits, so an edit meanwhile voids the result.
        version, index = doc.version, doc.index(ls.encoding)
        # The check of this very text (if done) has counted the claims: the outline then
        # reads no further than its cut.
        analysis = ls.current_analysis(doc)
        total = len(analysis.x12.claims) if analysis is not None and analysis.x12 is not None else None
        symbols = await asyncio.to_thread(build, doc.source.snapshot(), delims, component, index, total)
        if doc.version == version and doc.has_index(ls.encoding) and ls.documents.get(doc.uri) is doc:
            break
    else:  # edits keep coming: built on the loop, where none can
        version = doc.version
        symbols = build(doc.source, delims, component, doc.index(ls.encoding), None)
    for uri in [u for u, k in _kept.items() if k.doc() is None or ls.documents.get(u) is not k.doc()]:
        del _kept[uri]  # closed documents
    _kept[doc.uri] = _Kept(weakref.ref(doc), version, ls.encoding, component, symbols)
    return symbols


def build(text: EditedText, delims: Delimiters, component: str, index: LineIndex, claims_total: int | None) -> Symbols:
    """The outline of a text as DocumentSymbol JSON. A large file is read through its pieces
    (never joined here); only a file of few claims, which is small, gets the full outline."""
    tree = claims_outline(text, delims, LIMIT, claims_total)
    if tree.claims <= FULL_CLAIMS:
        tree = outline(text.join(), delims, component, LIMIT)
    return to_symbols(tree, index, len(text))


async def _index_ready(ls: MedcodeServer, doc: OpenDocument) -> None:
    """A large document's line index is built in a worker right after didOpen (server.py):
    wait for it rather than build a second one on the loop; no check is waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + INDEX_WAIT
    while not doc.has_index(ls.encoding) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    if not doc.has_index(ls.encoding):  # its worker is busy elsewhere: build it off the loop
        await asyncio.to_thread(doc.index, ls.encoding)


def to_symbols(tree: Outline, index: LineIndex, length: int) -> Symbols:
    """The outline as DocumentSymbol JSON, its positions found in one pass over the offsets."""
    offsets: list[int] = []

    def collect(nodes: list[Node]) -> None:
        for n in nodes:
            offsets.extend((n.start, n.end))
            collect(n.children)

    collect(tree.nodes)
    if tree.cut_at is not None:
        offsets.extend((tree.cut_at, length))
    at = {o: {"line": line, "character": ch} for o, (line, ch) in index.positions(offsets).items()}

    def convert(node: Node) -> dict[str, Any]:
        start = at[node.start]
        # The name is a segment id: a few ASCII letters on the start's line.
        name_end = {"line": start["line"], "character": start["character"] + node.name_end - node.start}
        symbol: dict[str, Any] = {
            "name": node.name,
            "kind": KINDS.get(node.kind, types.SymbolKind.Class.value),
            "range": {"start": start, "end": at[node.end]},
            "selectionRange": {"start": start, "end": name_end},
        }
        if node.detail:
            symbol["detail"] = node.detail
        if node.children:
            symbol["children"] = [convert(c) for c in node.children]
        return symbol

    symbols = Symbols(convert(n) for n in tree.nodes)
    if tree.cut_at is not None:
        # The rest of the file: one entry where the outline stops, saying what is left out.
        here = at[tree.cut_at]
        what = f"{tree.claims_after:,} more claims" if tree.claims_after else "more entries"
        symbols.append(
            {
                "name": f"… {what} not shown (the outline stops after {LIMIT:,} entries)",
                "kind": types.SymbolKind.Null.value,
                "range": {"start": here, "end": at[length]},
                "selectionRange": {"start": here, "end": here},
            }
        )
    return symbols
