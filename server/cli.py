"""The `medcode` command: index verbs, look-up and search (check and serve join them later)."""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import gc
import json
import os
import sys
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING

# Only what every verb's parser needs is imported here: `medcode check` and `medcode serve` start
# in a fraction of a second without the index builder, the catalogue, the release freshness or
# the text views, which the index and look-up verbs import where they run. The index reader
# too: `medcode serve` answers the editor's `initialize` before it needs one.
from medcode.index_builder import __version__, fetch_limits
from medcode.index_builder.codesets import EMBEDDED_SETS, NDC, OFFICIAL_SETS, display, guess_sets, normalise, set_name
from medcode.index_builder.location import ENV_VAR, index_dir

from . import entry
from .findings import OFF_BY_DEFAULT

if TYPE_CHECKING:
    from medcode.index_builder.freshness import SetFreshness
    from medcode.index_builder.lookup import Answer
    from medcode.index_builder.reader import IndexStore

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


def _size(text: str) -> int:
    """A byte count as typed: 500000, 500K, 20MB, 1G."""
    number = text.strip().rstrip("bBkKmMgG")
    unit = text.strip()[len(number):].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1
    if unit not in _SIZE_UNITS or not 0 < value < float("inf"):  # float() also reads "inf", "1e999", "nan"
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500K, 20MB, 1G)")
    return int(value * _SIZE_UNITS[unit])


def _open_store(args: argparse.Namespace, *, build_if_empty: bool = True) -> IndexStore:
    from medcode.index_builder.reader import IndexStore

    root = index_dir(args.index_dir)
    store = IndexStore(root)
    # An index whose every release is damaged is not a first run (as the server decides): its
    # damage is said below, not replaced by a build the user did not ask for.
    if store.is_empty() and build_if_empty and not store.problems:
        from medcode.index_builder.build import build_defaults

        _say(f"No code index in {root}: building the embedded defaults first.")
        build_defaults(root, progress=_say)
        store.reload()
    for problem in store.problems:
        _say(f"warning: {problem}")
    return store


# -- index -------------------------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    from medcode.index_builder.build import build_defaults
    from medcode.index_builder.writer import ensure_writable

    root = index_dir(args.index_dir)
    ensure_writable(root)
    sets = tuple(args.set) if args.set else EMBEDDED_SETS
    _say(f"Building {', '.join(set_name(s) for s in sets)} into {root}")
    built = build_defaults(root, sets, progress=_say)
    _say(f"Done: {len(built)} index(es). CPT needs your licensed AMA files; `medcode index status` shows what is behind.")
    return EXIT_OK


def cmd_index_import(args: argparse.Namespace) -> int:
    from medcode.index_builder.build import import_path
    from medcode.index_builder.ncci_index import NCCI
    from medcode.index_builder.writer import ensure_writable

    root = index_dir(args.index_dir)
    ensure_writable(root)
    if args.set_id == NCCI:
        return _import_ncci(args, root)
    if len(args.path) > 1:
        _say(f"medcode: {args.set_id} takes one PATH (a file, zip or folder); only `index import ncci` takes several")
        return EXIT_USAGE
    args.path = args.path[0]
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


def _import_ncci(args: argparse.Namespace, root: Path) -> int:
    from medcode.index_builder.build import import_ncci

    _say(f"Importing CMS NCCI edits from {len(args.path)} path(s) …")
    for built in import_ncci(root, [Path(p) for p in args.path], release=args.release, effective=args.effective):
        r = built.result
        for warning in r.warnings:
            _say(f"  note: {warning}")
        _say(f"{r.title} [{r.set_id}/{r.release}]: {built.records:,} codes in {built.seconds:.1f} s → {built.path}")
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


def _edits_data(store: IndexStore) -> list[dict]:
    """The data the claim edits are judged with (kept apart from the code sets' folders)."""
    from medcode.index_builder import mce_index, tabular_notes

    mce = mce_index.describe(store.root)
    return ([mce] if mce is not None else []) + tabular_notes.describe(store)


def _print_edits_data(rows: list[dict]) -> None:
    if not rows:
        print("Claim edits: no CMS MCE tables or tabular notes installed (`medcode index build` adds them)")
        return
    print("Claim edits judged with:")
    for r in rows:
        dates = f"{r['effective_from'] or '…'} – {r['effective_to'] or '…'}"
        if r["data"] == "mce":
            print(f"  {r['title']}: MCE {r['versions']}, {dates}, {r['codes']:,} flagged codes, from {r['source']}")
        else:
            print(f"  {r['title']}: in ICD-10-CM {', '.join(r['releases'])}, {dates}")


def cmd_index_list(args: argparse.Namespace) -> int:
    from medcode.index_builder.freshness import LOCAL, MISSING, STALE

    from . import textview

    store = _open_store(args, build_if_empty=False)
    today = dt.date.today()
    rows = [_release_row(r, today) for r in store.releases()]
    if args.json:
        print(json.dumps({"index_dir": str(store.root), "today": today.isoformat(), "releases": rows, "claim_edits": _edits_data(store), "problems": store.problems}, indent=2))
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
    _print_edits_data(_edits_data(store))
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
    from medcode.index_builder import catalogue as release_catalogue
    from medcode.index_builder.freshness import freshness
    from medcode.index_builder.sources import SourceError

    try:
        return freshness(store, release_catalogue.load(), today)
    except SourceError as exc:
        _say(f"warning: {exc}")
        return []


def cmd_index_status(args: argparse.Namespace) -> int:
    from medcode.index_builder import catalogue as release_catalogue
    from medcode.index_builder.freshness import CURRENT, freshness

    from . import textview

    store = _open_store(args, build_if_empty=False)
    today = dt.date.today()
    cat = release_catalogue.load()
    items = freshness(store, cat, today)
    if args.json:
        print(json.dumps(
            {"index_dir": str(store.root), "today": today.isoformat(), "catalogue": cat.path,
             "sets": [i.to_json() for i in items], "claim_edits": _edits_data(store), "problems": store.problems},
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
    _print_edits_data(_edits_data(store))
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
    from medcode.index_builder import catalogue as release_catalogue
    from medcode.index_builder import download as downloads
    from medcode.index_builder.fetch import fetch, plan
    from medcode.index_builder.reader import IndexDataError
    from medcode.index_builder.sources import SourceError
    from medcode.index_builder.writer import IndexWriteError, ensure_writable

    root = index_dir(args.index_dir)
    ensure_writable(root)
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
        except (SourceError, IndexWriteError, IndexDataError) as exc:
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
    from medcode.index_builder.writer import remove_release

    store = _open_store(args, build_if_empty=False)
    rel = store.release(args.set_id, args.release)
    if rel is None:
        _say(f"no {args.set_id} release {args.release!r} in {store.root}")
        return EXIT_USAGE
    remove_release(rel.path)
    _say(f"removed {rel.title} ({rel.path})")
    return EXIT_OK


# -- lookup / search ---------------------------------------------------------------------------
def answers_for(store: IndexStore, text: str, set_id: str | None, day: dt.date | None) -> list[Answer]:
    """Every reading of a typed code; with no set given, each set its shape allows."""
    from medcode.index_builder.lookup import resolve

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


def _unknown_set(store: IndexStore, set_id: str | None) -> bool:
    """Say so when --set names neither an official set nor a local one installed here."""
    if not set_id or set_id in OFFICIAL_SETS or set_id in store.sets():
        return False
    local = [s for s in store.sets() if s not in OFFICIAL_SETS]
    also = f"; local sets installed: {', '.join(local)}" if local else ""
    _say(f"medcode: --set {set_id}: no such code set; use one of {', '.join(OFFICIAL_SETS)}{also}")
    return True


def cmd_lookup(args: argparse.Namespace) -> int:
    from medcode.index_builder.lookup import Status

    from . import textview
    from .describe import describe

    store = _open_store(args)
    if _unknown_set(store, args.set):
        return EXIT_USAGE
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
    if any(v.found and a.status in (Status.FOUND, Status.TERMINATED, Status.NOT_YET) for a, v in zip(answers, views)):
        return EXIT_OK
    # Not found because the release in force is damaged: the index is an input (as for check).
    return EXIT_USAGE if any(v.data_problem for v in views) else EXIT_FINDINGS


def cmd_search(args: argparse.Namespace) -> int:
    store = _open_store(args)
    if _unknown_set(store, args.set):
        return EXIT_USAGE
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
    day = {"day": args.date, "day_source": "--date"} if args.date else {}
    options = Options(rules_on=frozenset(args.enable or ()), **day)
    jobs = args.jobs or check.default_jobs()
    return check.run(args.paths, _open_store(args), args.format, options, max_bytes=args.max_size or check.DEFAULT_MAX_BYTES, jobs=jobs)


def cmd_serve(args: argparse.Namespace) -> int:
    from .lsp import logs
    from .lsp.server import create_server

    logs.configure()
    # Checks run in a worker thread; a shorter switch interval lets hover and completion
    # take the GIL between the check's steps instead of waiting 5 ms slices.
    sys.setswitchinterval(0.001)
    address = None
    if args.tcp:
        address = _tcp_address(args.tcp)
        if isinstance(address, str):
            _say(f"medcode: {address}")
            return EXIT_USAGE
    server = create_server(args.index_dir)
    if address is None:
        return server.start_io()  # 1 when the client sent exit without shutdown, as LSP asks
    host, port = address
    try:
        server.start_tcp(host, port)
    except OSError as exc:
        import errno

        why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        _say(f"medcode: cannot listen on {host}:{port}: {why}; choose another port (or stop what is using it)")
        return EXIT_USAGE
    return EXIT_OK


def _tcp_address(text: str) -> tuple[str, int] | str:
    """(host, port) from --tcp HOST:PORT, or what is wrong with it."""
    import socket

    from .digits import is_digits

    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not is_digits(port) or not 1 <= int(port) <= 65535:
        return f"--tcp needs HOST:PORT with a port from 1 to 65535, not {text!r}"
    try:
        socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        return f"--tcp {text}: the host {host!r} does not resolve ({reason}); try 127.0.0.1"
    return host, int(port)


# -- parser ------------------------------------------------------------------------------------
CHECK_EPILOG = """\
file kinds (recognised by content, then by name):
  X12 837 P/I/D claims          any name; starts with ISA
  price-transparency CSV/JSON   CMS standard-charge files, v2 and v3, tall and wide
  chargemaster CSV/TSV          a header row with CPT / HCPCS / NDC / revenue-code columns
  templates                     .md .markdown .txt .text .j2 .jinja .jinja2 .hbs .smartphrase .note
Folders are searched recursively (dot files and dot folders are left out). FIFOs, sockets and
devices are never opened; files larger than --max-size are skipped; both are noted on stderr,
with a count of the files checked and skipped. -j N checks files in N processes (default: every
core); the output and its order are the same as with -j 1.

output: --format text prints path:line:column: severity: message [rule];
        --format json prints one JSON array of findings (path, line, character, end_line,
        end_character, code, code_set, rule, severity, message); notes go to stderr.

exit status:
  0  no errors found (warnings and notes may be printed)
  1  at least one finding of severity error
  2  usage or input error (a path missing or unreadable, nothing checked, or codes not
     verified because the index release in force on their date is damaged: index-damaged)
  3  internal error (a bug in medcode)
"""

TOP_EPILOG = """\
verbs:
  index build | import | list | status | fetch | verify | remove   manage the code indexes
  lookup CODE        describe a code          search WORDS   find codes by description
  check PATH...      report code errors       serve          run the language server

exit status: 0 ok, 1 findings (or nothing found), 2 usage or input error, 3 internal error.
Run `medcode VERB --help` for a verb's options.
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _index_dir_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--index-dir works before or after the verb: only the top-level copy sets a default,
    so a verb's copy, when not given, never overwrites one given before the verb."""
    parser.add_argument(
        "--index-dir",
        metavar="FOLDER",
        default=None if top else argparse.SUPPRESS,
        help=f"index folder (default: ${ENV_VAR}, else the user data directory)",
    )


class _Parser(argparse.ArgumentParser):
    """Sub-verbs inherit the index-dir option and a help formatter that keeps epilog layout."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def _verb(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, **kwargs)
    _index_dir_option(parser)
    return parser


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="medcode", description="US medical codes: indexes, look-up, search, file checks and the language server.", epilog=TOP_EPILOG)
    p.add_argument("--version", action="version", version=f"medcode {__version__}", help="show the version and exit")
    _index_dir_option(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="VERB", parser_class=_Parser)

    index = _verb(sub, "index", help="build, import, list, fetch, verify and remove code indexes")
    isub = index.add_subparsers(dest="index_command", required=True, metavar="ACTION", parser_class=_Parser)
    b = _verb(isub, "build", help="build every embedded default (ICD-10-CM, ICD-10-PCS, HCPCS, NDC)")
    b.add_argument("--set", action="append", choices=EMBEDDED_SETS, help="only this set (repeatable)")
    b.set_defaults(func=cmd_index_build)
    imp = _verb(isub, "import", help="import official files (zip, file or folder) or a two-column list")
    imp.add_argument("set_id", metavar="SET", help=f"{', '.join(OFFICIAL_SETS)}, ncci (CMS NCCI edit files), or a local set name")
    imp.add_argument("path", metavar="PATH", nargs="+", help="a zip, a file or a folder of the set's official files, or a code,description list (ncci: several, e.g. the PTP, MUE and add-on code zips)")
    imp.add_argument("--release", help="release label (default: from the file names or contents)")
    imp.add_argument("--effective", type=_date, help="first day the release is in force (YYYY-MM-DD)")
    imp.add_argument("--two-column", action="store_true", help="read PATH as a plain code,description list")
    g = imp.add_mutually_exclusive_group()
    g.add_argument("--complete", dest="complete", action="store_true", default=None, help="the file lists every code of the set")
    g.add_argument("--partial", dest="complete", action="store_false", help="the file lists only some codes")
    imp.set_defaults(func=cmd_index_import)
    ls = _verb(isub, "list", help="installed releases with counts, dates and sources")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_index_list)
    st = _verb(isub, "status", help="per set: releases installed, the one in force today, and what is stale or missing")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.set_defaults(func=cmd_index_status)
    fe = _verb(
        isub,
        "fetch",
        help="download, check and import official releases (CDC, CMS, FDA)",
        description=(
            "Download the official files of each SET (icd10cm, icd10pcs, hcpcs, ndc), check them and import them. "
            "Addresses come from the release catalogue shipped with medcode (or $MEDCODE_CATALOGUE). "
            "Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured. "
            "--url also takes file:///path for a local mirror."
        ),
    )
    fe.add_argument("sets", nargs="+", metavar="SET", help="icd10cm, icd10pcs, hcpcs, ndc")
    which = fe.add_mutually_exclusive_group()
    which.add_argument("--release", metavar="LABEL", help="a release of the catalogue (e.g. FY2027, 2026-Q4)")
    which.add_argument("--latest", action="store_true", help="the newest release in force today (the default)")
    fe.add_argument("--url", help="download this file instead of the catalogue's (one set only; http, https or file URL)")
    fe.add_argument("--sha256", metavar="HEX", help="with --url: the checksum the download must have")
    fe.add_argument("--accept-changed", action="store_true", help="import files whose SHA-256 differs from the catalogue's (changed upstream)")
    fe.add_argument("--force", action="store_true", help="download again a release that is already installed")
    fe.add_argument("--timeout", type=float, default=fetch_limits.TIMEOUT, metavar="SECONDS", help=f"to connect, and between received blocks (default {fetch_limits.TIMEOUT:g})")
    fe.add_argument("--retries", type=int, default=fetch_limits.RETRIES, metavar="N", help=f"further attempts after a failure, with backoff (default {fetch_limits.RETRIES})")
    fe.set_defaults(func=cmd_index_fetch)
    ver = _verb(isub, "verify", help="check every index file against its checksum")
    ver.set_defaults(func=cmd_index_verify)
    rm = _verb(isub, "remove", help="remove one installed release")
    rm.add_argument("set_id", metavar="SET", help="the code set of the release (see `medcode index list`)")
    rm.add_argument("release", metavar="RELEASE", help="the release label (see `medcode index list`)")
    rm.set_defaults(func=cmd_index_remove)

    lk = _verb(sub, "lookup", help="describe a code")
    lk.add_argument("code", metavar="CODE", help="the code as written (E11.9, E119, 0016070, 0002-1433-80 …)")
    lk.add_argument("--set", help="the code set (default: every set the code's shape allows)")
    lk.add_argument("--date", type=_date, help="date of service (default: today)")
    lk.add_argument("--json", action="store_true", help="print JSON instead of text")
    lk.set_defaults(func=cmd_lookup)

    se = _verb(sub, "search", help="find codes by description words")
    se.add_argument("words", nargs="+", metavar="WORD", help="words of the description (word beginnings match too)")
    se.add_argument("--set", help="search one set only")
    se.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N results (default 20)")
    se.add_argument("--date", type=_date, help="use the releases in force on this date")
    se.add_argument("--json", action="store_true", help="print JSON instead of text")
    se.set_defaults(func=cmd_search)
    ck = _verb(
        sub,
        "check",
        help="report invalid codes in files and folders (exit 1 on errors)",
        description="Check files and folders for code errors: the same findings as the editor.",
        epilog=CHECK_EPILOG,
    )
    ck.add_argument("paths", nargs="+", metavar="PATH", help="files and folders to check")
    ck.add_argument("--format", choices=("text", "json"), default="text", help="text (default): one line per finding; json: one JSON array")
    ck.add_argument(
        "--max-size",
        type=_size,
        metavar="SIZE",
        help="skip files larger than this, with a note (default 1G; e.g. 500M, 20MB)",
    )
    ck.add_argument(
        "--enable",
        action="append",
        choices=sorted(OFF_BY_DEFAULT),
        metavar="RULE",
        help=f"switch on a rule that is off by default ({', '.join(sorted(OFF_BY_DEFAULT))}); repeatable",
    )
    ck.add_argument("--date", type=_date, help="judge codes in files that give no date on this day (default: today)")
    ck.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        metavar="N",
        help="check files in N processes (default: every core this process may use; 1: in this process); the output is the same",
    )
    ck.set_defaults(func=cmd_check)

    sv = _verb(sub, "serve", help="run the language server (stdio unless --tcp)")
    sv.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP port instead of stdio")
    sv.add_argument("--stdio", action="store_true", help="use stdio (the default; accepted for editor clients)")
    sv.set_defaults(func=cmd_serve)
    return p


def _index_dir_problem(args: argparse.Namespace) -> str | None:
    root = index_dir(args.index_dir)
    if root.exists() and not root.is_dir():
        return f"the index folder {root} is a file: pass --index-dir FOLDER (or set {ENV_VAR}) naming a folder"
    return None


def _internal_error(exc: BaseException) -> str:
    """One line for a bug: the exception's type and where it was raised, never its message
    (it may quote document text, which is protected health information)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return (
        f"medcode: internal error ({type(exc).__name__}{where}); this is a bug in medcode {__version__}: "
        "please report it with the command you ran"
    )


def _input_errors() -> tuple[type[Exception], ...]:
    """The errors of bad input files or folders (exit 2). Looked up only once one is raised:
    their modules are the index builder's, which `check` and `serve` do not otherwise import."""
    from medcode.index_builder.reader import IndexDataError
    from medcode.index_builder.sources import SourceError
    from medcode.index_builder.writer import IndexWriteError

    return (SourceError, IndexWriteError, IndexDataError)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        entry.started()  # Ctrl-C is KeyboardInterrupt again, handled below
        args = _parser().parse_args(argv)
        if argv is None:
            # The command line's own run: the process ends with it (see _heap_left_as_is).
            atexit.register(_heap_left_as_is)
        problem = _index_dir_problem(args)
        if problem:
            _say(f"medcode: {problem}")
            return EXIT_USAGE
        return args.func(args)
    # An except clause's exceptions are looked up only when something is raised, in order:
    # these two come first so that --help, a usage error (SystemExit) or Ctrl-C do not import
    # the index builder's modules that _input_errors names.
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _say("medcode: interrupted")
        return EXIT_USAGE
    except _input_errors() as exc:
        _say(f"medcode: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # The machine said no (permissions, a full disk, a missing file): the user can act on it.
        where = f"{exc.filename}: " if exc.filename else ""
        _say(f"medcode: {where}{exc.strerror or exc}")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a bug: exit 3 so CI tells it from findings (1)
        if os.environ.get("MEDCODE_DEBUG"):
            raise
        _say(_internal_error(exc))
        return EXIT_INTERNAL
    finally:
        entry.ending()


def _heap_left_as_is() -> None:
    """The interpreter's last act before the process ends is a full garbage collection, which
    walks every object still alive: after `medcode check` millions (the memos of every code
    and claim edit met), 0.06 s or more, and after `-j N` longer again, since the walk writes
    to pages the fork left shared. Nothing they hold needs freeing by a process about to end:
    frozen, they are left out of that collection (atexit: after every other handler of this
    run, which registered later)."""
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
