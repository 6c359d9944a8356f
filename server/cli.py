"""The `medcode` command: index verbs, look-up and search (check and serve join them later)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from collections.abc import Sequence

from medcode.index_builder import __version__
from medcode.index_builder import catalogue as release_catalogue
from medcode.index_builder import download as downloads
from medcode.index_builder.build import EMBEDDED_SETS, build_defaults, import_path
from medcode.index_builder.codesets import NDC, OFFICIAL_SETS, display, guess_sets, normalise, set_name
from medcode.index_builder.fetch import fetch, plan
from medcode.index_builder.freshness import CURRENT, LOCAL, MISSING, STALE, SetFreshness, freshness
from medcode.index_builder.location import ENV_VAR, index_dir
from medcode.index_builder.lookup import Answer, Status, resolve
from medcode.index_builder.reader import IndexError as MedcodeIndexError
from medcode.index_builder.reader import IndexStore
from medcode.index_builder.sources import SourceError
from medcode.index_builder.writer import IndexWriteError

from . import textview
from .describe import describe

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _open_store(args: argparse.Namespace, *, build_if_empty: bool = True) -> IndexStore:
    root = index_dir(args.index_dir)
    store = IndexStore(root)
    if store.is_empty() and build_if_empty:
        _say(f"No code index in {root}: building the embedded defaults first.")
        build_defaults(root, progress=_say)
        store.reload()
    for problem in store.problems:
        _say(f"warning: {problem}")
    return store


# -- index -------------------------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    root = index_dir(args.index_dir)
    sets = tuple(args.set) if args.set else EMBEDDED_SETS
    _say(f"Building {', '.join(set_name(s) for s in sets)} into {root}")
    built = build_defaults(root, sets, progress=_say)
    _say(f"Done: {len(built)} index(es). HCPCS has no embedded data (import the CMS file); CPT needs your licensed AMA files.")
    return EXIT_OK


def cmd_index_import(args: argparse.Namespace) -> int:
    root = index_dir(args.index_dir)
    _say(f"Importing {args.path} as {set_name(args.set_id)} …")
    built = import_path(
        root,
        args.set_id,
        Path(args.path),
        release=args.release,
        effective=args.effective,
        complete=args.complete,
        two_column=args.two_column,
    )
    r = built.result
    for warning in r.warnings:
        _say(f"  note: {warning}")
    _say(f"{r.title} [{r.set_id}/{r.release}]: {built.records:,} records in {built.seconds:.1f} s → {built.path}")
    return EXIT_OK


def _release_row(rel, today: dt.date) -> dict:
    m = rel.manifest
    return {
        "set": m.set_id,
        "release": m.release,
        "title": m.title,
        "effective_from": m.effective_from,
        "effective_to": m.effective_to,
        "in_force_today": rel.covers(today),
        "complete": m.complete,
        "counts": m.counts,
        "source": m.source.describe(),
        "source_kind": m.source.kind,
        "source_files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in m.source.files],
        "source_url": m.source.url,
        "downloaded_at": m.source.downloaded_at,
        "builder": m.builder,
        "built_at": m.built_at,
        "path": str(rel.path),
        "warnings": m.warnings,
    }


def cmd_index_list(args: argparse.Namespace) -> int:
    store = _open_store(args, build_if_empty=False)
    today = dt.date.today()
    rows = [_release_row(r, today) for r in store.releases()]
    if args.json:
        print(json.dumps({"index_dir": str(store.root), "today": today.isoformat(), "releases": rows, "problems": store.problems}, indent=2))
        return EXIT_OK
    if not rows:
        _say(f"No code index in {store.root}. Run `medcode index build`.")
        return EXIT_OK
    print(f"Index folder: {store.root}  (set {ENV_VAR} to use another)")
    table = []
    for r in rows:
        eff = f"{r['effective_from'] or '…'} – {r['effective_to'] or '…'}"
        valid = r["counts"].get("code", 0)
        table.append(
            [
                r["set"],
                r["release"] + (" *" if r["in_force_today"] else ""),
                eff,
                f"{r['counts']['records']:,}",
                f"{valid:,}",
                "" if r["complete"] else "partial",
                r["source"],
                r["built_at"][:10],
            ]
        )
    print(textview.table(table, ["SET", "RELEASE", "EFFECTIVE", "RECORDS", "VALID", "", "SOURCE", "BUILT"]))
    print("* in force today")
    for item in _freshness(store, today):
        if item.state in (STALE, MISSING):
            run = f": {item.command}" if item.command else ""
            print(f"{item.state}: {item.name}: {item.reason}{run}")
        elif item.state == LOCAL and item.in_force is None:
            print(f"note: no {item.name} release installed is in force today ({today}); {item.answering_title} answers")
    return EXIT_OK


def _freshness(store: IndexStore, today: dt.date) -> list[SetFreshness]:
    """Freshness against the release catalogue; without a readable catalogue, nothing to say
    beyond the releases' own dates (the listing must still work)."""
    try:
        return freshness(store, release_catalogue.load(), today)
    except SourceError as exc:
        _say(f"warning: {exc}")
        return []


def cmd_index_status(args: argparse.Namespace) -> int:
    store = _open_store(args, build_if_empty=False)
    today = dt.date.today()
    cat = release_catalogue.load()
    items = freshness(store, cat, today)
    if args.json:
        print(json.dumps(
            {"index_dir": str(store.root), "today": today.isoformat(), "catalogue": cat.path,
             "sets": [i.to_json() for i in items], "problems": store.problems},
            indent=2,
        ))
        return EXIT_OK
    print(f"Index folder: {store.root}  (today: {today})")
    table = []
    for i in items:
        official = "—"
        if i.official is not None:
            official = i.official.label + ("" if i.official_installed else " (not installed)")
        table.append([i.name, i.state, ", ".join(i.installed) or "—", i.in_force or "none", official])
    print(textview.table(table, ["SET", "STATE", "INSTALLED", "IN FORCE TODAY", "OFFICIAL TODAY"]))
    for i in items:
        if i.state != CURRENT:
            print(f"{i.name}: {i.reason}" + (f"\n  → {i.command}" if i.command else ""))
    return EXIT_OK


def cmd_index_fetch(args: argparse.Namespace) -> int:
    if args.url and len(args.sets) > 1:
        _say("medcode: --url names one file, so it goes with one set only")
        return EXIT_USAGE
    if args.sha256 and not args.url:
        _say("medcode: --sha256 checks a --url download; catalogue files carry their own checksums")
        return EXIT_USAGE
    root = index_dir(args.index_dir)
    cat = release_catalogue.load()
    failed = 0
    for set_id in dict.fromkeys(args.sets):
        try:
            planned = plan(set_id, label=args.release, url=args.url, sha256=args.sha256, catalogue=cat)
            what = planned.label or "the release named by the file"
            _say(f"{set_name(set_id)} {what}: {len(planned.files)} file(s) from {planned.page or args.url}")
            if planned.release is not None and planned.release.note:
                _say(f"  note: {planned.release.note}")
            result = fetch(
                root, planned, force=args.force, accept_changed=args.accept_changed,
                timeout=args.timeout, retries=args.retries, say=_say,
                meter=lambda name: downloads.Meter(name, sys.stderr),
            )
        except (SourceError, IndexWriteError, MedcodeIndexError) as exc:
            _say(f"medcode: {set_name(set_id)}: {exc}")
            failed += 1
            continue
        built = result.built
        if built is None:
            continue
        r = built.result
        for warning in r.warnings:
            _say(f"  note: {warning}")
        _say(f"{r.title} [{r.set_id}/{r.release}]: {built.records:,} records from {len(result.downloads)} download(s) → {built.path}")
    return EXIT_USAGE if failed else EXIT_OK


def cmd_index_verify(args: argparse.Namespace) -> int:
    store = _open_store(args, build_if_empty=False)
    bad = list(store.problems)
    for rel in store.releases():
        bad += rel.verify()
    for problem in bad:
        print(problem)
    if not bad:
        print(f"{len(store.releases())} release(s) verified in {store.root}")
    return EXIT_FINDINGS if bad else EXIT_OK


def cmd_index_remove(args: argparse.Namespace) -> int:
    import shutil

    store = _open_store(args, build_if_empty=False)
    rel = store.release(args.set_id, args.release)
    if rel is None:
        _say(f"no {args.set_id} release {args.release!r} in {store.root}")
        return EXIT_USAGE
    shutil.rmtree(rel.path)
    _say(f"removed {rel.title} ({rel.path})")
    return EXIT_OK


# -- lookup / search ---------------------------------------------------------------------------
def answers_for(store: IndexStore, text: str, set_id: str | None, day: dt.date | None) -> list[Answer]:
    """Every reading of a typed code; with no set given, each set its shape allows."""
    if set_id:
        candidates = [(set_id, k) for k in normalise(set_id, text)]
    else:
        candidates = [(c.set_id, c.key) for c in guess_sets(text)]
    answers = [resolve(store, s, k, day) for s, k in candidates]
    # A bare 10-digit NDC stands for three 11-digit codes: keep those that exist, or one miss.
    ndc = [a for a in answers if a.set_id == NDC]
    if len(ndc) > 1:
        answers = [a for a in answers if a.set_id != NDC] + ([a for a in ndc if a.found] or ndc[:1])
    # A shape that fits several sets: once a likelier set has the code, later sets without it
    # add only noise (S72001A is PCS-shaped); an earlier one stays (J1100 with no HCPCS data).
    shown: list[Answer] = []
    for a in answers:
        if a.found or not any(b.found for b in shown):
            shown.append(a)
    return sorted(shown, key=lambda a: not a.found)


def cmd_lookup(args: argparse.Namespace) -> int:
    store = _open_store(args)
    answers = answers_for(store, args.code, args.set, args.date)
    if not answers:
        hint = f" for {set_name(args.set)}" if args.set else ""
        _say(f"{args.code!r} does not have the shape of a code{hint}")
        if args.json:
            print(json.dumps({"query": args.code, "results": []}, indent=2))
        return EXIT_FINDINGS
    views = [describe(store, a, args.code) for a in answers]
    if args.json:
        print(json.dumps({"query": args.code, "results": [v.to_json() for v in views]}, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(textview.code_view(v) for v in views))
    return EXIT_OK if any(a.status in (Status.FOUND, Status.TERMINATED, Status.NOT_YET) for a in answers) else EXIT_FINDINGS


def cmd_search(args: argparse.Namespace) -> int:
    store = _open_store(args)
    query = " ".join(args.words)
    sets = [args.set] if args.set else store.sets()
    hits = []
    for set_id in sets:
        choice = store.release_for(set_id, args.date)
        if choice is None:
            continue
        rel = choice[0]
        for hit in rel.search(query, limit=args.limit):
            hits.append((hit, rel))
    hits.sort(key=lambda hr: -hr[0].score)
    hits = hits[: args.limit]
    if args.json:
        out = [
            {
                "code": display(rel.set_id, h.record.code),
                "set": rel.set_id,
                "release": rel.label,
                "description": h.record.description,
                "kind": h.record.kind,
                "terminated": h.record.terminated,
                "score": h.score,
            }
            for h, rel in hits
        ]
        print(json.dumps({"query": query, "results": out}, indent=2, ensure_ascii=False))
    else:
        for h, rel in hits:
            tag = "" if h.record.kind == "code" else f" ({h.record.kind})"
            if h.record.terminated:
                tag += f" (terminated {h.record.terminated})"
            print(f"{display(rel.set_id, h.record.code):<14} {set_name(rel.set_id):<14} {h.record.description}{tag}")
        if not hits:
            _say(f"nothing matches {query!r}")
    return EXIT_OK if hits else EXIT_FINDINGS


# -- check ---------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from . import check

    from .kinds import Options

    # --date: the day for files that give none (chargemasters, templates, undated claims).
    options = Options(day=args.date, day_source="--date") if args.date else Options()
    return check.run(args.paths, _open_store(args), args.format, options)


def cmd_serve(args: argparse.Namespace) -> int:
    from .lsp import logs
    from .lsp.server import create_server

    logs.configure()
    # Checks run in a worker thread; a shorter switch interval lets hover and completion
    # take the GIL between the check's steps instead of waiting 5 ms slices.
    sys.setswitchinterval(0.001)
    server = create_server(args.index_dir)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            _say(f"medcode: --tcp needs HOST:PORT, not {args.tcp!r}")
            return EXIT_USAGE
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medcode", description="US medical codes: indexes, look-up, search.")
    p.add_argument("--version", action="version", version=f"medcode {__version__}")
    p.add_argument("--index-dir", help=f"index folder (default: ${ENV_VAR}, else the user data directory)")
    sub = p.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build, import and list code indexes")
    isub = index.add_subparsers(dest="index_command", required=True)
    b = isub.add_parser("build", help="build every embedded default (ICD-10-CM, ICD-10-PCS, NDC)")
    b.add_argument("--set", action="append", choices=EMBEDDED_SETS, help="only this set (repeatable)")
    b.set_defaults(func=cmd_index_build)
    imp = isub.add_parser("import", help="import official files (zip, file or folder) or a two-column list")
    imp.add_argument("set_id", metavar="SET", help=f"{', '.join(OFFICIAL_SETS)}, or a local set name")
    imp.add_argument("path", metavar="PATH")
    imp.add_argument("--release", help="release label (default: from the file names or contents)")
    imp.add_argument("--effective", type=_date, help="first day the release is in force (YYYY-MM-DD)")
    imp.add_argument("--two-column", action="store_true", help="read PATH as a plain code,description list")
    g = imp.add_mutually_exclusive_group()
    g.add_argument("--complete", dest="complete", action="store_true", default=None, help="the file lists every code of the set")
    g.add_argument("--partial", dest="complete", action="store_false", help="the file lists only some codes")
    imp.set_defaults(func=cmd_index_import)
    ls = isub.add_parser("list", help="installed releases with counts, dates and sources")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_index_list)
    st = isub.add_parser("status", help="per set: releases installed, the one in force today, and what is stale or missing")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_index_status)
    fe = isub.add_parser(
        "fetch",
        help="download, check and import official releases (CDC, CMS, FDA)",
        description=(
            "Download the official files of each SET (icd10cm, icd10pcs, hcpcs, ndc), check them and import them. "
            "Addresses come from the release catalogue shipped with medcode (or $MEDCODE_CATALOGUE). "
            "Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured."
        ),
    )
    fe.add_argument("sets", nargs="+", metavar="SET", help="icd10cm, icd10pcs, hcpcs, ndc")
    which = fe.add_mutually_exclusive_group()
    which.add_argument("--release", metavar="LABEL", help="a release of the catalogue (e.g. FY2027, 2026-Q4)")
    which.add_argument("--latest", action="store_true", help="the newest release in force today (the default)")
    fe.add_argument("--url", help="download this file instead of the catalogue's (one set only)")
    fe.add_argument("--sha256", metavar="HEX", help="with --url: the checksum the download must have")
    fe.add_argument("--accept-changed", action="store_true", help="import files whose SHA-256 differs from the catalogue's (changed upstream)")
    fe.add_argument("--force", action="store_true", help="download again a release that is already installed")
    fe.add_argument("--timeout", type=float, default=downloads.TIMEOUT, metavar="SECONDS", help=f"to connect, and between received blocks (default {downloads.TIMEOUT:g})")
    fe.add_argument("--retries", type=int, default=downloads.RETRIES, metavar="N", help=f"further attempts after a failure, with backoff (default {downloads.RETRIES})")
    fe.set_defaults(func=cmd_index_fetch)
    ver = isub.add_parser("verify", help="check every index file against its checksum")
    ver.set_defaults(func=cmd_index_verify)
    rm = isub.add_parser("remove", help="remove one installed release")
    rm.add_argument("set_id", metavar="SET")
    rm.add_argument("release", metavar="RELEASE")
    rm.set_defaults(func=cmd_index_remove)

    lk = sub.add_parser("lookup", help="describe a code")
    lk.add_argument("code")
    lk.add_argument("--set", help="the code set (default: every set the code's shape allows)")
    lk.add_argument("--date", type=_date, help="date of service (default: today)")
    lk.add_argument("--json", action="store_true")
    lk.set_defaults(func=cmd_lookup)

    se = sub.add_parser("search", help="find codes by description words")
    se.add_argument("words", nargs="+")
    se.add_argument("--set", help="search one set only")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--date", type=_date, help="use the releases in force on this date")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_search)
    ck = sub.add_parser("check", help="report invalid codes in files and folders (exit 1 on errors)")
    ck.add_argument("paths", nargs="+", metavar="PATH")
    ck.add_argument("--format", choices=("text", "json"), default="text")
    ck.add_argument("--date", type=_date, help="judge codes in files that give no date on this day (default: today)")
    ck.set_defaults(func=cmd_check)

    sv = sub.add_parser("serve", help="run the language server (stdio unless --tcp)")
    sv.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP port instead of stdio")
    sv.add_argument("--stdio", action="store_true", help="use stdio (the default; accepted for editor clients)")
    sv.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (SourceError, IndexWriteError, MedcodeIndexError) as exc:
        _say(f"medcode: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("medcode: interrupted")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
