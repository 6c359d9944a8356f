"""The client side of the end-to-end LSP tests: a pytest-lsp client that records what the
server sends, a Session that hides push vs pull diagnostics, start/stop of `medcode serve`, and
where things are in the X12 fixtures. Shared by the test_lsp_* modules and test_neovim."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = (FIXTURES / "claims_837p.x12").read_text()
I837 = (FIXTURES / "claims_837i.x12").read_text()
D837 = (FIXTURES / "claims_837d.x12").read_text()
SERVE = [sys.executable, "-m", "medcode.server", "serve"]
STDERR_WRAPPER = Path(__file__).parent / "lsp_stderr_server.py"
PROFILES = ["visual-studio-code", "neovim"]
TIMEOUT = 10.0  # seconds for anything the server does by itself (push diagnostics, settings)

ERROR, WARNING, INFORMATION = (
    types.DiagnosticSeverity.Error,
    types.DiagnosticSeverity.Warning,
    types.DiagnosticSeverity.Information,
)


# -- where things are in the fixtures -----------------------------------------------------------
def place(text: str, line_prefix: str, needle: str, nth: int = 0) -> tuple[int, int, int]:
    """(line, start, end) of needle on the nth line starting with line_prefix (ASCII text, so
    characters are the same in every position encoding)."""
    seen = 0
    for n, line in enumerate(text.splitlines()):
        if line.startswith(line_prefix):
            if seen == nth:
                col = line.index(needle)
                return n, col, col + len(needle)
            seen += 1
    raise AssertionError(f"no line starts with {line_prefix!r}")


def change_in_place(ls, uri: str, version: int, old: str, new: str) -> None:
    """An in-process server's document `uri` with the first `old` replaced by `new`, as one
    ranged didChange. The text is read through a slice: reading `doc.text` would join the
    document's pieces, which the tests of joining ahead look at."""
    doc = ls.documents.get(uri)
    text = doc.source[: len(doc.source)]
    at = text.index(old)
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    change = types.TextDocumentContentChangePartial(range=rng(line, col, col + len(old)), text=new)
    ls.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=version, uri=uri), [change]), ls.encoding)


def line_of(text: str, line_prefix: str) -> int:
    return place(text, line_prefix, line_prefix[:1])[0]


def rng(line: int, start: int, end: int) -> types.Range:
    return types.Range(types.Position(line, start), types.Position(line, end))


def as_tuple(r: types.Range) -> tuple[int, int, int, int]:
    return r.start.line, r.start.character, r.end.line, r.end.character


def keyed(diagnostics) -> set[tuple[str, int, int, int, int]]:
    """(rule, line, start, end, severity) of single-line diagnostics."""
    out = set()
    for d in diagnostics:
        assert d.range.start.line == d.range.end.line, d
        out.add((d.code, d.range.start.line, d.range.start.character, d.range.end.character, d.severity))
    return out


HI_ERR = "HI*ABK:E11*"
HI_OK = "HI*ABK:E119"


def expected_837p() -> set[tuple[str, int, int, int, int]]:
    """What tests/test_x12_rules.py expects of the 837P fixture, with LSP severities."""
    e11 = place(P837, HI_ERR, "E11*")
    return {
        ("not-billable", e11[0], e11[1], e11[1] + 3, WARNING),
        ("bad-format", *place(P837, HI_ERR, "E11.9"), ERROR),
        ("invalid-code", *place(P837, HI_ERR, "E1199"), ERROR),
        ("wrong-code-set", *place(P837, HI_ERR, "0DTJ4ZZ"), ERROR),
        ("not-billable", *place(P837, HI_ERR, "S72001"), WARNING),
        ("bad-format", *place(P837, "SV1*HC:478331", "478331"), ERROR),
        ("invalid-pointer", *place(P837, "SV1*HC:478331", "9"), ERROR),
        ("bad-format", *place(P837, "LIN**N4*0002", "0002-8215-01"), ERROR),
        ("wrong-icd-version", *place(P837, "HI*BK:25000", "25000"), ERROR),
        # No CPT data in the embedded defaults: one note on the first CPT code (HCPCS codes
        # are judged by the embedded CMS I/OCE tables).
        ("not-in-index", *place(P837, "SV1*HC:99213", "99213"), INFORMATION),
        # No NCCI files imported: one note, on the first service line's procedure composite.
        ("not-in-index", *place(P837, "SV1*HC:J1100", "HC:J1100"), INFORMATION),
    }


def after_fixing_dotted(expected: set[tuple[str, int, int, int, int]], line: int, start: int) -> set[tuple[str, int, int, int, int]]:
    """The keyed diagnostics once the dotted E11.9 at (line, start) is edited to E119: its
    bad-format goes, and everything after it on the line moves one character left."""
    moved = set()
    for rule, ln, c1, c2, sev in expected:
        if (rule, ln, c1) == ("bad-format", line, start):
            continue
        if ln == line and c1 > start:
            c1, c2 = c1 - 1, c2 - 1
        moved.add((rule, ln, c1, c2, sev))
    return moved


# -- the client side ------------------------------------------------------------------------------
def _record_publish(client: LanguageClient, params: types.PublishDiagnosticsParams):
    # pytest-lsp's own handler keeps only the latest list; tests also need the version.
    client.diagnostics[params.uri] = params.diagnostics
    client.published.setdefault(params.uri, []).append(params)


def _answer_message_request(client: LanguageClient, params: types.ShowMessageRequestParams):
    # The user picks the second choice offered (tests read what was offered).
    client.message_requests.append(params)
    return params.actions[1] if params.actions and len(params.actions) > 1 else None


def _apply_edit(client: LanguageClient, params: types.ApplyWorkspaceEditParams):
    client.applied_edits.append(params.edit)
    return types.ApplyWorkspaceEditResult(applied=True)


def _record_registration(client: LanguageClient, params: types.RegistrationParams):
    client.registrations.extend(params.registrations)


def make_client(features: dict | None = None) -> LanguageClient:
    """The test client; `features` replaces some of its handlers (a slow settings answer)."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = {}
    client.registrations = []
    client.message_requests = []
    client.applied_edits = []
    register_lsp_features(
        client,
        {
            **DEFAULT_CLIENT_FEATURES,
            types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record_publish,
            types.WINDOW_SHOW_MESSAGE_REQUEST: _answer_message_request,
            types.WORKSPACE_APPLY_EDIT: _apply_edit,
            types.CLIENT_REGISTER_CAPABILITY: _record_registration,
            **(features or {}),
        },
    )
    return client


@dataclass
class Session:
    """A started, initialized client plus helpers that hide push vs pull."""

    client: LanguageClient
    profile: str
    init: types.InitializeResult
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def pull(self) -> bool:
        return self.profile.startswith("neovim")

    @property
    def versioned_push(self) -> bool:
        caps = client_capabilities(self.profile).text_document
        return bool(caps and caps.publish_diagnostics and caps.publish_diagnostics.version_support)

    @property
    def encoding(self) -> str:
        return self.init.capabilities.position_encoding or types.PositionEncodingKind.Utf16

    def doc(self, uri: str) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri)

    def open(self, uri: str, text: str, language_id: str = "x12") -> None:
        self.versions[uri] = 1
        self.client.published.pop(uri, None)  # a reopened URI starts again at version 1
        item = types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(item))

    def change(self, uri: str, *changes: types.TextDocumentContentChangeEvent) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=list(changes),
            )
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(self.doc(uri)))

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The diagnostics of the document's current version, pulled or as pushed."""
        if self.pull:
            report = await self.client.text_document_diagnostic_async(types.DocumentDiagnosticParams(self.doc(uri)))
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport | types.FullDocumentDiagnosticReport), report
            assert uri not in self.client.published, "a pull client must not get publishDiagnostics"
            return list(report.items)
        version = self.versions[uri]
        # What the server finds in this version, asked without a push: a client that does not
        # read versions is not sent the diagnostics it shows already (lsp/server.py), so when
        # they are those, no publish of this version comes; when they are not, one must.
        now = None
        if not self.versioned_push:
            now = await self.client.text_document_diagnostic_async(types.DocumentDiagnosticParams(self.doc(uri)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            published = self.client.published.get(uri, [])
            for params in reversed(published):
                if params.version == version:
                    return list(params.diagnostics)
            if published and now is not None and list(published[-1].diagnostics) == list(now.items):
                return list(published[-1].diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no publishDiagnostics for {uri} version {version} within {TIMEOUT} s")

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(types.HoverParams(self.doc(uri), types.Position(line, character)))

    async def complete(self, uri: str, line: int, character: int):
        return await self.client.text_document_completion_async(types.CompletionParams(self.doc(uri), types.Position(line, character)))

    async def actions(self, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        params = types.CodeActionParams(self.doc(uri), diagnostic.range, types.CodeActionContext(diagnostics=[diagnostic]))
        return list(await self.client.text_document_code_action_async(params) or [])

    async def symbols(self, uri: str):
        return list(await self.client.text_document_document_symbol_async(types.DocumentSymbolParams(self.doc(uri))) or [])

    async def inlay(self, uri: str, first: int, last: int) -> list[types.InlayHint]:
        params = types.InlayHintParams(self.doc(uri), types.Range(types.Position(first, 0), types.Position(last, 0)))
        return list(await self.client.text_document_inlay_hint_async(params) or [])

    def settings(self, medcode: dict) -> None:
        """Change the client's settings and tell the server (it pulls them: notification only)."""
        self.client.set_configuration({"medcode": medcode})
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))


async def start(
    profile: str, index: Path, command: list[str] | None = None, settings: dict | None = None, client_features: dict | None = None
) -> Session:
    config = ClientServerConfig(
        server_command=command or SERVE,
        server_env={**os.environ, "MEDCODE_INDEX_DIR": str(index)},
        client_factory=lambda: make_client(client_features),
    )
    client = await config.start()
    if settings is not None:
        client.set_configuration({"medcode": settings})
    init = await client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities(profile), root_uri="file:///tmp/medcode-e2e")
    )
    return Session(client, profile, init)


async def stop(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()
