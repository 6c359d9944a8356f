"""The pygls server: state, diagnostics scheduling, and thin feature handlers.

Each feature lives in its own module; the handlers (methods of MedcodeServer, registered from
the FEATURES table by create_server) only find the document and dispatch. Where medcode reaches
into pygls' internals is protocol.py, and only there.

Checks run in worker threads and never hold up the loop: hover and completion on a large
document answer from the text at the cursor and the last finished check (document_for_request).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import islice
from typing import TYPE_CHECKING

import orjson
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from medcode.index_builder import __version__
from medcode.index_builder.location import index_dir

from .. import heap, priority
from ..positions import UTF8, UTF16, UTF32, LineIndex
from .protocol import MedcodeProtocol, RawJson, publish_json, report_error, serve_stdio, serve_tcp, stop_workers
from .publish_hold import hold as hold_publish

# Only what answering `initialize` needs is imported above: pygls and lsprotocol (nearly all of
# the start), the transport and the lifecycle. The index reader, the settings, the document
# store and the rules are imported where they are first used, once the editor has its answer
# (tests/test_lsp_start.py names them). With the version a constant (index_builder.__version__,
# no importlib.metadata), that took 7% off the start's instructions (12% where Python compiles
# the sources at each start, without .pyc files); the rest is a bare pygls server's start.
if TYPE_CHECKING:  # imported after initialize (warm_up), or by the first request needing them
    from medcode.index_builder.reader import IndexDataError as MedcodeIndexError
    from medcode.index_builder.reader import IndexStore

    from ..analysis import Analysis
    from ..verdicts import Verdicts
    from ..x12.context import Cursor
    from ..x12.delimiters import Delimiters
    from ..x12.edits import EditLog
    from .diagnostics import DiagnosticsJson
    from .documents import Documents, OpenDocument
    from .pieces import EditedText
    from .settings import Settings

log = logging.getLogger("medcode.lsp")

_ENCODINGS = {types.PositionEncodingKind.Utf8: UTF8, types.PositionEncodingKind.Utf16: UTF16, types.PositionEncodingKind.Utf32: UTF32}
SETTINGS_WAIT = 2.0  # seconds the first diagnostics wait for the client's settings
BIG = 2_000_000  # characters from which a document's checks are debounced longer
SYNC_CHECK_LIMIT = 500_000  # characters a hover may check on the spot when no check is current
# Seconds before the end of a debounce that a large text is joined for the check it starts (a
# 40 MB join takes 30-60 ms on a loaded machine).
JOIN_AHEAD = 0.2
PUBLISH_HOLD = 0.1  # seconds a finished publish waits at most for answers to go first (publish_hold.py)
RECHECK_REQUESTS_S = 0.5  # hover and completion stat the index's files at most this often (recheck_index)
MEMO_KEEP = 256  # codes per memo kept after the check of a large document (its re-checks look at a few claims)


@dataclass(frozen=True, slots=True)
class X12Cursor:
    delims: Delimiters
    index: LineIndex
    offset: int
    component: str
    cur: Cursor


class MedcodeServer(LanguageServer):
    def __init__(self, index_root: str | None = None):
        super().__init__("medcode", __version__, protocol_cls=MedcodeProtocol, max_workers=2)
        self.cli_index_dir = index_root  # --index-dir / MEDCODE_INDEX_DIR; the indexDir setting overrides
        self.index_root = index_dir(index_root)
        self.generation = 0  # bumped when data or settings change: cached results are stale
        self.rechecked_at = float("-inf")  # time.monotonic() of the last recheck_index
        self.loop_seen: asyncio.AbstractEventLoop | None = None  # the loop handlers run on (on_loop)
        self.pull_diagnostics = False
        # Whether the client reads publishDiagnostics' version: such a client gets every
        # version's diagnostics, even when they are the ones it has (_publish_later).
        self.versioned_publish = False
        self._settings_ready: asyncio.Event | None = None
        self._settings_asked = 0  # workspace/configuration requests sent (pull_settings)
        self.settings_reported: list[str] = []  # the settings problems last shown, not repeated
        self.problems_shown: set[str] = set()  # the index problems shown (show_index_problems)
        self._pending: dict[str, asyncio.Task] = {}

    # The document store, the settings and the indexes are made on first use, after the
    # `initialize` answer: their modules are not imported before it (see the imports above).
    @cached_property
    def documents(self) -> Documents:
        from .documents import Documents

        return Documents()

    @cached_property
    def settings(self) -> Settings:
        from .settings import Settings

        return Settings()

    @cached_property
    def store(self) -> IndexStore:
        from medcode.index_builder.reader import IndexStore

        return IndexStore(self.index_root)

    @cached_property
    def verdicts(self) -> Verdicts:
        from ..verdicts import Verdicts

        return Verdicts(self.store)

    # -- transports (protocol.py) --------------------------------------------------------------
    def start_io(self, stdin=None, stdout=None) -> int:  # noqa: ARG002 - always the process's stdio
        """Serve on stdio; returns the exit status LSP asks for (1 on exit without shutdown)."""
        return serve_stdio(self)

    def start_tcp(self, host: str, port: int) -> None:
        serve_tcp(self.new_session, host, port)

    def new_session(self) -> MedcodeServer:
        """A fresh server for another TCP connection (create_server replaces this)."""
        return self

    def end_session(self) -> None:
        """A TCP client is gone: drop its pending work without blocking the listener."""
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        stop_workers(self)

    def report_server_error(self, error: Exception, source) -> None:
        report_error(self, error, source)

    # -- helpers for features ----------------------------------------------------------------
    @property
    def encoding(self) -> str:
        try:
            return _ENCODINGS.get(self.workspace.position_encoding, UTF16)
        except RuntimeError:  # before initialize
            return UTF16

    @staticmethod
    def range_of(index: LineIndex, start: int, end: int) -> types.Range:
        return types.Range(types.Position(*index.position(start)), types.Position(*index.position(end)))

    def component_of(self, doc: OpenDocument) -> str:
        """The component separator composites really use (the last check found it)."""
        a = self.current_analysis(doc)
        if a is not None and a.x12 is not None:
            return a.x12.component
        delims = doc.delimiters()
        return delims.component if delims else ":"

    def x12_cursor(self, doc: OpenDocument, position: types.Position) -> X12Cursor | None:
        """Where a position falls in an X12 document (None when it is not X12 or not on a segment)."""
        delims = doc.delimiters()
        if delims is None:
            return None
        index = doc.index(self.encoding)
        offset = index.offset(position.line, position.character)
        component = self.component_of(doc)
        from ..x12.context import cursor_at

        cur = cursor_at(doc.source, delims, component, offset)  # read near the offset only: no join
        return None if cur is None else X12Cursor(delims, index, offset, component, cur)

    def findings_at(self, doc: OpenDocument, start: int, end: int) -> list[str]:
        a = self.current_analysis(doc)
        if a is None:
            return []
        out: list[str] = []
        # Findings are sorted by start: read from the first at `start` to the first past `end`,
        # not the whole tail (9,000 findings in a 50,000-claim file, at every hover).
        for f in islice(a.findings, bisect_left(a.findings, start, key=lambda f: f.start), None):
            if f.start >= end or len(out) == 5:
                break
            if self.settings.severity_of(f.rule, f.effective_severity) is not None:
                out.append(f.message)
        return out

    # -- data --------------------------------------------------------------------------------
    def reload_store(self) -> None:
        from medcode.index_builder.reader import IndexStore

        from ..verdicts import Verdicts

        self.store = IndexStore(self.index_root)
        self.verdicts = Verdicts(self.store)
        self.generation += 1  # every open document's checker and analysis are now stale

    def on_loop(self, call) -> None:
        """Run call on the event loop: checks run in worker threads, and pygls writes are not
        thread-safe."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop_seen is not None and running is not self.loop_seen:
            self.loop_seen.call_soon_threadsafe(call)
        else:
            call()

    def set_aside(self, exc: MedcodeIndexError) -> bool:
        """Damage found in a release while answering: say which file and how to rebuild it,
        and answer on without that release instead of failing the request (-32603)."""
        aside = self.store.set_aside(exc)
        # What the store noted names the one command that rebuilds the release.
        message = f"medcode: {self.store.problems[-1] if aside and self.store.problems else exc}"
        log.error("%s", message)  # paths and commands only, no document text
        self.on_loop(lambda: self.window_show_message(types.ShowMessageParams(types.MessageType.Error, message)))
        if not aside:
            return False
        self.problems_shown.update(self.store.problems)  # the message above said it
        from ..verdicts import Verdicts

        self.verdicts = Verdicts(self.store)
        self.generation += 1  # checkers remember verdicts of the release set aside
        return True

    def recheck_index(self, at_most_every: float = 0.0) -> None:
        """Files of the index written in place since they were opened (a stat per file, a
        hash where one moved: IndexStore.recheck) are set aside before their answers are
        used, said as damage met while reading is. Nothing before the store is opened.
        at_most_every: for hover and completion (asked at every keystroke; the stats take
        1-2 ms), the seconds since their last recheck under which this one is skipped; they
        skip it too while a check holds a document (it rechecked as it began, and each stat
        would wait for the GIL behind it: up to 5 ms a file)."""
        store = self.__dict__.get("store")
        if store is None:
            return
        if at_most_every:
            now = time.monotonic()
            if now - self.rechecked_at < at_most_every or any(d.lock.locked() for d in self.documents.all()):
                return
            self.rechecked_at = now
        for exc in store.recheck():
            self.set_aside(exc)

    def show_index_problems(self) -> None:
        """Show each index problem once (window/showMessage): at start, and damage found
        while checking (the claim edits' own data, which a check notes and reads on without)."""
        new = [p for p in self.store.problems if p not in self.problems_shown]
        self.problems_shown.update(new)
        for problem in new:
            self.on_loop(lambda m=f"medcode: {problem}": self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, m)))

    def build_in_background(self) -> None:
        """First run: build the embedded defaults in a thread without blocking the editor,
        then reopen the indexes and re-check every open document.

        Call from the event loop. The thread never touches the protocol itself: progress and
        the end of the build are handed to the loop (pygls writes are not thread-safe)."""
        token = "medcode-build"
        loop = asyncio.get_running_loop()

        def report(message: str) -> None:
            self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

        def work() -> None:
            from medcode.index_builder.build import build_defaults

            started = time.perf_counter()
            ok = False
            try:
                build_defaults(self.index_root, progress=lambda msg: loop.call_soon_threadsafe(report, msg))
                ok = True
                log.info("embedded defaults built in %.1f s", time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - the editor must keep working without data
                log.exception("building the embedded defaults failed")
            finally:
                loop.call_soon_threadsafe(self._after_build, token, ok)

        self.window_show_message(types.ShowMessageParams(types.MessageType.Info, f"medcode: building the code indexes in {self.index_root} (first run, under a minute)"))
        try:
            self.work_done_progress.create(token)
        except Exception:  # noqa: BLE001 - progress is optional
            pass
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="medcode: building code indexes"))
        threading.Thread(target=work, name="medcode-build", daemon=True).start()

    def _after_build(self, token: str, ok: bool) -> None:
        self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done" if ok else "failed"))
        if not ok:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, "medcode: building the code indexes failed; run `medcode index build` in a terminal"))
        self.reload_store()
        self.refresh_all()

    def warn_if_stale(self) -> None:
        """Once per start: say which installed data is out of date and how to fetch current
        data (the same facts as `medcode index status`). A first run that is still building
        has nothing to compare yet."""
        if self.store.is_empty():
            return
        from medcode.index_builder import catalogue as release_catalogue
        from medcode.index_builder.freshness import freshness, stale_message

        try:
            message = stale_message(freshness(self.store, release_catalogue.load()))
        except Exception:  # noqa: BLE001 - a broken catalogue must not stop the editor
            log.exception("cannot tell how fresh the code data is")
            return
        if message:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))

    # -- settings ----------------------------------------------------------------------------
    def settings_event(self) -> asyncio.Event:
        if self._settings_ready is None:
            self._settings_ready = asyncio.Event()
        return self._settings_ready

    async def pull_settings(self) -> None:
        from .settings import SECTION, Settings

        caps = self.client_capabilities
        try:
            if caps.workspace and caps.workspace.configuration:
                self._settings_asked += 1
                asked = asyncio.ensure_future(
                    self.workspace_configuration_async(types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)]))
                )
                try:
                    (cfg,) = await asyncio.wait_for(asyncio.shield(asked), SETTINGS_WAIT)
                except asyncio.TimeoutError:
                    # A client still busy starting (a loaded machine) answers late: its
                    # settings count from then on, as a didChangeConfiguration's would, rather
                    # than never (the request was left open, not cancelled).
                    asked.add_done_callback(partial(self._late_settings, self._settings_asked))
                    raise
                self.settings = Settings.from_client(cfg)
                self.report_settings_problems()
        except (asyncio.TimeoutError, ValueError, TypeError):
            log.warning("the client did not answer workspace/configuration in time; using defaults until it does")
        finally:
            self._settings_taken()

    def _settings_taken(self) -> None:
        self.generation += 1  # settings change what a check says
        wanted = index_dir(self.settings.index_dir or self.cli_index_dir)
        if wanted != self.index_root:
            self.index_root = wanted
            self.reload_store()
        self.settings_event().set()

    def _late_settings(self, asked: int, answer: asyncio.Future) -> None:
        """The client's answer to the settings request numbered `asked`, after pull_settings
        stopped waiting for it: taken unless settings were asked for again since."""
        if answer.cancelled() or answer.exception() is not None or asked != self._settings_asked:
            return
        from .settings import Settings

        try:
            (cfg,) = answer.result()
            self.settings = Settings.from_client(cfg)
        except (ValueError, TypeError):
            log.warning("the client's late workspace/configuration answer cannot be read; keeping the defaults")
            return
        log.info("the client answered workspace/configuration late; its settings apply from now on")
        self.report_settings_problems()
        self._settings_taken()
        self.refresh_all()

    async def wait_for_settings(self) -> None:
        try:
            await asyncio.wait_for(self.settings_event().wait(), SETTINGS_WAIT)
        except asyncio.TimeoutError:
            pass

    def register_for_settings(self) -> None:
        """Ask a client that registers dynamically (VS Code) to tell us when the `medcode` section
        changes: vscode-languageclient sends didChangeConfiguration unasked only for the
        deprecated `synchronize.configurationSection` option. Neovim sends it unasked."""
        ws = self.client_capabilities.workspace
        if not (ws and ws.did_change_configuration and ws.did_change_configuration.dynamic_registration):
            return
        from .settings import SECTION

        options = types.DidChangeConfigurationRegistrationOptions(section=SECTION)
        registration = types.Registration(id="medcode.settings", method=types.WORKSPACE_DID_CHANGE_CONFIGURATION, register_options=options)
        future = self.client_register_capability(types.RegistrationParams([registration]))
        # A client that refuses only loses live settings changes: say so in the log, no more.
        future.add_done_callback(lambda f: f.cancelled() or f.exception() is None or log.warning("the client refused to report settings changes"))

    def report_settings_problems(self) -> None:
        """Bad values in the client's section, in one warning; the same ones are not shown
        again when the client re-sends the section (every change of any setting)."""
        problems = self.settings.problems
        if problems and problems != self.settings_reported:
            log.warning("settings: %s", " ".join(problems))  # setting names and values, no document text
            text = " ".join(problems) if len(problems) == 1 else "\n".join(f"- {p}" for p in problems)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, text if len(problems) == 1 else f"medcode settings:\n{text}"))
        self.settings_reported = problems

    # -- which documents are medcode's ---------------------------------------------------------
    def owns(self, doc: OpenDocument, text: str | None = None, version: int | None = None) -> bool:
        """Whether a document is medcode's (sniff.py): a JSON, Markdown or text file that does not
        look medical gets no diagnostics, hover, completion or code actions, and costs only
        this look, once per version. `text` is that version's text when the caller has it."""
        key = (doc.version if version is None else version, self.generation)
        owned = doc.owned
        if owned is None or owned[0] != key:
            from ..sniff import likely_medical

            owned = doc.owned = (key, likely_medical(_sniffed(doc) if text is None else text, doc.uri, doc.language_id, self.settings.attach))
        return owned[1]

    # -- diagnostics ---------------------------------------------------------------------------
    def _analyse(self, doc: OpenDocument, text: str, version: int, edits: EditLog | None = None) -> Analysis:
        """The check of this text of the document (reused when this version was checked);
        call with doc.lock held, in a worker thread. The text comes as an argument: the
        document's own may have moved on since the request."""
        if doc.analysis is None or doc.analysis_version != version or doc.generation != self.generation:
            from medcode.index_builder.reader import IndexDataError as MedcodeIndexError

            from ..analysis import Analysis, DocumentChecker  # imported after initialize (warm_up)
            from ..reading import NONE

            started = time.perf_counter()
            self.recheck_index()
            while True:
                if not self.owns(doc, text, version):
                    analysis = Analysis(NONE)  # not medcode's: nothing read, nothing to say
                    break
                if doc.checker is None or doc.generation != self.generation:
                    doc.checker = DocumentChecker(self.verdicts)
                    doc.generation = self.generation
                # A walk of a large file fills the per-code memos; its re-checks look at a few
                # claims (DocumentChecker.keep).
                doc.checker.keep = MEMO_KEEP if len(text) > BIG else None
                try:
                    analysis = doc.checker.check(text, doc.uri, doc.language_id, self.settings.options, edits and edits.bound(text))
                    break
                except MedcodeIndexError as exc:
                    if not self.set_aside(exc):  # each pass sets one release aside: this ends
                        raise
            self.show_index_problems()
            doc.analysis, doc.analysis_version = analysis, version
            if len(text) > BIG:
                # The check of a large file leaves millions of objects that live as long as the
                # document; once they are new, the collector's next full pass rescans them all
                # (1-2 s measured on 50,000 claims), holding up whatever runs, the loop too.
                # Frozen, full passes skip them; refcounting still frees them (they hold few
                # cycles: such a pass collected tens of objects).
                gc.freeze()
                heap.give_back()  # what the check freed stays in glibc's heaps otherwise
            log.info("checked %d characters in %.0f ms (%d claims re-checked)", len(text), 1000 * (time.perf_counter() - started), analysis.claims_checked)
        return doc.analysis

    def _check(self, doc: OpenDocument, snap: EditedText, version: int, always: bool, edits: EditLog) -> DiagnosticsJson | None:
        """Runs in a worker thread: join the snapshot of the text, check it and convert the
        findings for the client (only those the edits since the last conversion touched:
        diagnostics.py). None when the document moved on meanwhile and `always` is false:
        those diagnostics would be dropped, and their positions would need a line index of a
        text no longer open.

        A large document's requests never wait for its check, so the check gives way to them
        (priority.py): it pauses between its steps while the loop answers one."""
        with priority.background(len(snap) > SYNC_CHECK_LIMIT):
            with doc.lock:
                # Joined only once the check before it is done, and not at all when edits came
                # meanwhile and its diagnostics would be dropped: two checks joining at once held
                # three copies of a 40 MB text (the one open and two snapshots).
                if not always and not doc.source.same_as(snap):
                    return None
                # No edit since: the document keeps this string (no second join).
                text = doc.join_snapshot(snap)
                analysis = self._analyse(doc, text, version, edits)
            priority.pause()
            index = doc.index(self.encoding) if doc.source.same_as(snap) else None
            if index is None or not doc.source.same_as(snap):
                if not always:
                    return None
                index = LineIndex(text, self.encoding)
            diagnostics = doc.diagnostics.convert(analysis.findings, index, self.settings, edits)
            priority.pause()
            if len(text) > BIG:
                # Placing thousands of findings freed megabytes of the C heap after the check's
                # own give_back: 3-5 MB more held with the 50,000-claim file open otherwise.
                heap.give_back()
            if len(text) > SYNC_CHECK_LIMIT and (delims := doc.delimiters()) is not None:
                from ..x12.context import transaction_needles

                # Another job, so the publish does not wait for it (80 ms on 50,000 claims, once).
                try:
                    self.thread_pool.submit(self._mark, doc, snap, text, transaction_needles(delims))
                except RuntimeError:  # the pool is shut down: the session is ending
                    pass
            return diagnostics

    @staticmethod
    def _mark(doc: OpenDocument, snap: EditedText, text: str, needles: tuple[str, ...]) -> None:
        """Runs in a worker thread: where hover's needles are in the checked text (marks.py)."""
        with priority.background():
            doc.source.mark(snap, text, needles)

    def current_analysis(self, doc: OpenDocument) -> Analysis | None:
        """The check of the document's current text with the current data and settings, if done."""
        a = doc.analysis
        if a is not None and doc.analysis_version == doc.version and doc.generation == self.generation:
            return a
        return None

    def analysis_now(self, doc: OpenDocument) -> Analysis | None:
        """For hover, completion and code actions (on the event loop): the last finished check,
        never waiting for one (positions may lag an edit). Handlers that want the current
        check get the document through `document_for_request`."""
        return doc.analysis

    async def document_for_request(self, uri: str) -> OpenDocument | None:
        """The open document for hover, completion and code actions.

        A small document's check is brought up to date first, in a worker thread (a few
        milliseconds; the loop keeps answering). A large one never waits for its check: the
        answer comes from the text at the cursor and the last finished check. Its line index
        is built off the loop right after didOpen; until it is there, requests answer nothing
        rather than stall the loop."""
        doc = self.documents.get(uri)
        if doc is None or not self.owns(doc):
            return None
        if len(doc.source) <= SYNC_CHECK_LIMIT:
            if self.current_analysis(doc) is None:
                snap, version, edits = doc.source.snapshot(), doc.version, doc.edit_log
                with priority.waiting_for_worker():
                    await asyncio.get_running_loop().run_in_executor(self.thread_pool, self._analyse_locked, doc, snap, version, edits)
            return self.documents.get(uri)
        return doc if doc.has_index(self.encoding) else None

    def _analyse_locked(self, doc: OpenDocument, snap: EditedText, version: int, edits: EditLog) -> None:
        text = snap.join()
        with doc.lock:
            self._analyse(doc, text, version, edits)

    async def diagnostics(self, doc: OpenDocument, always: bool = True) -> tuple[DiagnosticsJson | None, int]:
        """The document's diagnostics and the version they are of; the text is taken here,
        on the loop, so text and version agree."""
        await self.wait_for_settings()
        # The edits that made this text are taken with it: the check re-walks only what they touched.
        snap, version, edits = doc.source.snapshot(), doc.version, doc.edit_log
        diagnostics = await asyncio.get_running_loop().run_in_executor(self.thread_pool, self._check, doc, snap, version, always, edits)
        return diagnostics, version

    def schedule(self, doc: OpenDocument, immediate: bool = False) -> None:
        if self.pull_diagnostics:
            return
        self.cancel_pending(doc.uri)
        delay = 0 if immediate else self.settings.debounce_ms / 1000 * (3 if len(doc.source) > BIG else 1)
        self._pending[doc.uri] = asyncio.ensure_future(self._publish_later(doc.uri, delay))

    def cancel_pending(self, uri: str) -> None:
        """Drop a document's scheduled check (a running one finishes; its result is dropped)."""
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()

    async def _publish_later(self, uri: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        if delay > JOIN_AHEAD:
            # A large text is joined before the debounce ends, not after: the re-publish
            # would wait for it. Not at once: while the user types, each keystroke's join
            # would be wasted.
            until = loop.time() + delay
            await asyncio.sleep(delay - JOIN_AHEAD)
            doc = self.documents.get(uri)
            if doc is not None and len(doc.source) > SYNC_CHECK_LIMIT and not doc.source.joined:
                loop.run_in_executor(self.thread_pool, doc.join_ahead)
            delay = max(0.0, until - loop.time())
        await asyncio.sleep(delay)
        doc = self.documents.get(uri)
        if doc is None:
            return
        diagnostics, version = await self.diagnostics(doc, always=False)
        if diagnostics is None or (diagnostics.digest == doc.published and not self.versioned_publish):
            # None: the text moved on. Or what the client shows already: most edits of a large
            # file change no diagnostic, and the client would parse megabytes to learn so.
            return
        await hold_publish(len(diagnostics.body), PUBLISH_HOLD)  # after the answers the client waits for
        if self.documents.get(uri) is doc and doc.version == version:
            publish_json(self, uri, version, diagnostics.body)
            doc.published = diagnostics.digest

    def index_in_background(self, doc: OpenDocument) -> None:
        """Build a large document's line index in a worker thread (about a second for 40 MB),
        so no request on the loop has to."""
        if len(doc.source) > SYNC_CHECK_LIMIT:
            asyncio.get_running_loop().run_in_executor(self.thread_pool, doc.index, self.encoding)

    def refresh_all(self) -> None:
        if self.pull_diagnostics:
            ws = self.client_capabilities.workspace
            if ws and ws.diagnostics and ws.diagnostics.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        for doc in self.documents.all():
            self.schedule(doc, immediate=True)

    # -- handlers (registered by create_server from FEATURES and COMMANDS) ---------------------
    def on_initialize(self, params: types.InitializeParams) -> None:
        caps = params.capabilities.text_document
        self.pull_diagnostics = bool(caps and caps.diagnostic)
        self.versioned_publish = bool(caps and caps.publish_diagnostics and caps.publish_diagnostics.version_support)

    async def on_initialized(self, params: types.InitializedParams) -> None:
        from . import stalls

        self.loop_seen = asyncio.get_running_loop()
        warm_up()
        stalls.start()  # only with MEDCODE_STALLS set (bench/)
        # Made here, on the loop, before the first await lets a check start in a worker thread:
        # cached_property has no lock since Python 3.12, and a thread and the loop making the
        # store at once would each get their own.
        self.verdicts  # noqa: B018 - made for its side effect
        await self.pull_settings()  # first: the indexDir setting may name another folder
        self.register_for_settings()
        empty = self.store.is_empty()  # opens the folder, which fills store.problems
        self.show_index_problems()
        if empty and not self.store.problems:  # a first run, not a damaged index
            self.build_in_background()
        self.warn_if_stale()  # after the settings: they may name another index folder

    async def on_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        # Checks and pulls that come after this notification wait for the new settings (as
        # the first ones wait for the first): with the old ones, a pull would answer for
        # settings the client has left, and a re-check unchanged under them go unsent.
        self.settings_event().clear()
        await self.pull_settings()
        self.refresh_all()

    def on_open(self, params: types.DidOpenTextDocumentParams) -> None:
        doc = self.documents.get(params.text_document.uri)
        if doc is not None:
            self.index_in_background(doc)
            self.schedule(doc, immediate=True)

    def on_save(self, params: types.DidSaveTextDocumentParams) -> None:
        doc = self.documents.get(params.text_document.uri)
        if doc is not None:
            self.schedule(doc, immediate=True)

    def on_change(self, params: types.DidChangeTextDocumentParams) -> None:
        doc = self.documents.get(params.text_document.uri)
        if doc is not None:
            from . import symbols

            symbols.forget_stale(doc)
            self.schedule(doc)

    def on_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self.cancel_pending(params.text_document.uri)
        if not self.pull_diagnostics:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    async def on_pull(self, params: types.DocumentDiagnosticParams):
        doc = self.documents.get(params.text_document.uri)
        if doc is None:
            return types.FullDocumentDiagnosticReport(items=[])
        diagnostics, _version = await self.diagnostics(doc)
        # Named by what it holds: after edits that changed no diagnostic (and after a reload
        # or settings change that changed none), the client keeps what it has.
        result_id = diagnostics.digest if diagnostics is not None else ""
        if params.previous_result_id == result_id:
            return types.UnchangedDocumentDiagnosticReport(result_id=result_id)
        from .diagnostics import full_report

        return RawJson(full_report(diagnostics, result_id))

    async def on_hover(self, params: types.HoverParams):
        from medcode.index_builder.reader import IndexDataError as MedcodeIndexError

        from . import hover

        doc = await self.document_for_request(params.text_document.uri)
        self.recheck_index(at_most_every=RECHECK_REQUESTS_S)
        try:
            found = hover.hover(self, doc, params.position) if doc else None
        except MedcodeIndexError as exc:
            self.set_aside(exc)
            return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, f"**medcode:** {exc}"))
        self.show_index_problems()  # damaged side data a hover read (the PCS tables): said once
        return found

    async def on_completion(self, params: types.CompletionParams):
        from medcode.index_builder.reader import IndexDataError as MedcodeIndexError

        from . import completion, completion_json

        doc = await self.document_for_request(params.text_document.uri)
        self.recheck_index(at_most_every=RECHECK_REQUESTS_S)
        try:
            return completion_json.answer(completion.complete(self, doc, params.position)) if doc else None
        except MedcodeIndexError as exc:
            self.set_aside(exc)
            return None

    def on_resolve(self, item: types.CompletionItem) -> types.CompletionItem:
        from medcode.index_builder.reader import IndexDataError as MedcodeIndexError

        from . import completion

        try:
            return completion.resolve(self, item)
        except MedcodeIndexError as exc:
            self.set_aside(exc)
            return item

    async def on_code_action(self, params: types.CodeActionParams):
        from . import actions

        doc = await self.document_for_request(params.text_document.uri)
        return actions.code_actions(self, doc, params) if doc else None

    async def on_symbols(self, params: types.DocumentSymbolParams):
        from . import symbols

        doc = self.documents.get(params.text_document.uri)
        outline = await symbols.document_symbols(self, doc) if doc else None
        # Written by orjson: pygls' json.dumps of 5,000 entries held the loop for 40-50 ms.
        return None if outline is None else RawJson(orjson.dumps(outline))

    def on_inlay(self, params: types.InlayHintParams):
        from . import inlay

        doc = self.documents.get(params.text_document.uri)
        return inlay.inlay_hints(self, doc, params.range) if doc else None


# Commands are plain functions: pygls reads their parameters (after `ls`) to spread the
# command's arguments.
async def choose_code(ls: MedcodeServer, uri: str, start_line: int, start_char: int, end_line: int, end_char: int, set_id: str, key: str, release: str) -> str | None:
    from . import actions

    return await actions.choose_code(ls, uri, start_line, start_char, end_line, end_char, set_id, key, release)


def reload_indexes(ls: MedcodeServer) -> dict:
    ls.reload_store()
    ls.refresh_all()
    return {"releases": [f"{r.set_id}/{r.label}" for r in ls.store.releases()], "problems": ls.store.problems}


# LSP method, its server options, the MedcodeServer method that answers it.
FEATURES: tuple[tuple[str, object, str], ...] = (
    (types.INITIALIZE, None, "on_initialize"),
    (types.INITIALIZED, None, "on_initialized"),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, "on_configuration"),
    (types.TEXT_DOCUMENT_DID_OPEN, None, "on_open"),
    (types.TEXT_DOCUMENT_DID_SAVE, None, "on_save"),
    (types.TEXT_DOCUMENT_DID_CHANGE, None, "on_change"),
    (types.TEXT_DOCUMENT_DID_CLOSE, None, "on_close"),
    (types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(identifier="medcode", inter_file_dependencies=False, workspace_diagnostics=False), "on_pull"),
    (types.TEXT_DOCUMENT_HOVER, None, "on_hover"),
    (types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[":", "*"], resolve_provider=True), "on_completion"),
    (types.COMPLETION_ITEM_RESOLVE, None, "on_resolve"),
    (
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]),
        "on_code_action",
    ),
    (types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, None, "on_symbols"),
    (types.TEXT_DOCUMENT_INLAY_HINT, None, "on_inlay"),
)
CHOOSE = "medcode.chooseCode"  # the code action "choose a code" (actions.py) runs this command
COMMANDS = ((CHOOSE, choose_code), ("medcode.reloadIndexes", reload_indexes))


def create_server(index_root: str | None = None) -> MedcodeServer:
    heap.one_arena()  # before the worker threads exist (heap.py)
    server = MedcodeServer(index_root)
    server.new_session = lambda: create_server(index_root)
    # pygls marks the handlers it registers with attributes, which bound methods cannot carry:
    # each handler is the class's function with the server bound by a partial.
    for method, options, name in FEATURES:
        server.feature(method, options)(partial(getattr(MedcodeServer, name), server))
    for command, function in COMMANDS:
        server.command(command)(function)
    return server


def warm_up() -> threading.Thread:
    """Import, in a thread, the modules the first check and the first requests need: the
    server answers `initialize` without them (tests/test_lsp_start.py), and they are loaded
    while the client sends its settings and first document rather than by the first hover."""

    def work() -> None:
        from .. import analysis  # noqa: F401
        from ..fhir import reader  # noqa: F401 - these three: sniff.py, for JSON and templates
        from ..tables import hpt_json  # noqa: F401
        from ..templates import patterns  # noqa: F401
        from ..x12 import context  # noqa: F401
        from . import completion, hover, inlay, symbols  # noqa: F401

    thread = threading.Thread(target=work, name="medcode-warm-up", daemon=True)
    thread.start()
    return thread


def _sniffed(doc: OpenDocument) -> str:
    """What sniff.py needs of a document: X12 and CSV are decided by name and head, so a 40 MB
    claim file is not joined for it; JSON and templates by their whole text."""
    from ..kinds import is_json_name, is_template_name
    from ..x12.delimiters import looks_like_x12

    head = doc.source[:4096]
    if looks_like_x12(head) or not (is_json_name(doc.uri, doc.language_id) or is_template_name(doc.uri, doc.language_id)):
        return head
    return doc.text
