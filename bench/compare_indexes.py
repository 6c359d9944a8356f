"""Compare two index folders by content: what every look-up and search would answer.

Used to show a faster build writes the same index: for every set and release in either folder,
the keys, flags, ranks, every record, every word and the records it finds (sorted: a
grouped compact release lists a product's words once for the product, layout.py), every side-store document,
meta.json, key sets and the manifest (except build time, builder and file checksums, which
differ when only the compression differs). Prints the differences; exit 1 when there are any.

    python bench/compare_indexes.py OLD_DIR NEW_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from medcode.index_builder import layout
from medcode.index_builder.reader import Release

SKIP_MANIFEST = {"built_at", "builder", "files"}


def releases(root: Path) -> dict[str, Path]:
    return {
        f"{m.parent.parent.relative_to(root)}/{m.parent.name}": m.parent
        for m in sorted(root.rglob(layout.MANIFEST))
        if not any(part.startswith((".building-", ".removing-", ".replaced-")) for part in m.relative_to(root).parts)
    }


def content(rel: Release):
    m = rel.manifest.to_json()
    yield "manifest", {k: v for k, v in m.items() if k not in SKIP_MANIFEST}
    codes = rel._codes
    yield "keys", list(codes.keys())
    yield "flags", bytes(rel._flags)
    yield "rank", bytes(rel._rank)
    for key, i in codes.iteritems():
        yield f"record {key}", rel._records.json(i)
    trie, _ = rel._words
    for word, wid in trie.iteritems():
        yield f"postings {word}", sorted(rel._postings(wid))
    for name in rel.manifest.aux:
        trie_name, _, _ = layout.aux_files(name)
        from medcode.index_builder.reader import _trie

        for key in _trie(rel.path / trie_name).keys():
            yield f"aux {name} {key}", rel.aux(name, key)
    yield "meta", rel.meta
    for name in rel.manifest.key_sets:
        yield f"keyset {name}", list(rel.key_set(name).keys())


def main() -> int:
    old_root, new_root = Path(sys.argv[1]), Path(sys.argv[2])
    old, new = releases(old_root), releases(new_root)
    problems = [f"only in {old_root}: {r}" for r in sorted(set(old) - set(new))]
    problems += [f"only in {new_root}: {r}" for r in sorted(set(new) - set(old))]
    for name in sorted(set(old) & set(new)):
        a, b = dict(content(Release(old[name]))), dict(content(Release(new[name])))
        diff = [k for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
        print(f"{name}: {len(a):,} items, {len(diff)} differ")
        problems += [f"{name}: {k} differs" for k in sorted(diff)[:20]]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
