"""The document outline (interchange > group > transaction > provider > subscriber > patient >
claim > service lines)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..x12.outline import Node, outline

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer

KINDS = {
    "interchange": types.SymbolKind.Package,
    "group": types.SymbolKind.Namespace,
    "transaction": types.SymbolKind.Module,
    "claim": types.SymbolKind.Object,
    "line": types.SymbolKind.Field,
}
LIMIT = 5000  # entries; a 50,000-claim file would otherwise send hundreds of thousands


def document_symbols(ls: MedcodeServer, doc: OpenDocument) -> list[types.DocumentSymbol]:
    delims = doc.delimiters()
    if delims is None:
        return []
    index = doc.index(ls.encoding)
    tree = outline(doc.text, delims, ls.component_of(doc), LIMIT)

    def convert(node: Node) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=node.name,
            detail=node.detail,
            kind=KINDS.get(node.kind, types.SymbolKind.Class),
            range=ls.range_of(index, node.start, node.end),
            selection_range=ls.range_of(index, node.start, node.name_end),
            children=[convert(c) for c in node.children],
        )

    symbols = [convert(n) for n in tree.nodes]
    if tree.cut_at is not None:
        # The rest of the file: one entry where the outline stops, saying what is left out.
        rest = ls.range_of(index, tree.cut_at, len(doc.text))
        here = ls.range_of(index, tree.cut_at, tree.cut_at)
        what = f"{tree.claims_after:,} more claims" if tree.claims_after else "more entries"
        symbols.append(
            types.DocumentSymbol(name=f"… {what} not shown (the outline stops after {LIMIT:,} entries)", kind=types.SymbolKind.Null, range=rest, selection_range=here)
        )
    return symbols
