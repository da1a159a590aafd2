"""The trainlint language server (pygls): diagnostics as you type, `# noqa` and quick fixes.

Linting runs in analysis processes (pool.py), never on the event loop: requests, and the
diagnostics of other documents, are answered while a large document is analysed. Edits are
debounced per document within a burst of typing, the first change after a pause is linted
at once (debounce.py), and a newer version of a document cancels the analysis of the older
one; results are published only if the document still has the text that was analysed.

Clients that support pull diagnostics and can be asked to refresh them get pull; every
other client gets `textDocument/publishDiagnostics`. Never both: VS Code and Neovim keep
pushed and pulled diagnostics apart and would show each finding twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple
from pathlib import Path, PurePath
from urllib.parse import unquote

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument

from trainlint import __version__
from trainlint.core.diagnostics import INTERNAL_ERROR, Edit
from trainlint.run.engine_diagnostics import engine_diagnostic, timed_out
from trainlint.frontends.lsp.actions import LineLayout, noqa_edit
from trainlint.frontends.lsp.convert import SOURCE, overlaps, split_lines, to_text_edit
from trainlint.frontends.lsp.debounce import Debouncer
from trainlint.frontends.lsp.framing import serve_frames
from trainlint.frontends.lsp.pool import AnalysisPool
from trainlint.frontends.lsp.settings import ConfigResolver
from trainlint.frontends.lsp.units import Pair, Placed, Unit, notebook_unit, text_unit
from trainlint.rules import get_rule

FIX_ALL = "source.fixAll.trainlint"

DEBOUNCE_SECONDS = 0.1
CONFIG_FILES = ("pyproject.toml",)
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)
CONFIG_POLL_SECONDS = 2.0  # for clients that cannot watch pyproject.toml for us
_KEEP_RESULTS = 256  # results of recently closed documents are kept for a reopen

logger = logging.getLogger("trainlint.lsp")


@dataclass(frozen=True)
class LintResult:
    key: Tuple[str, str, object]  # text digest, path, effective config
    result_id: str
    placed: Placed  # editor document -> its (engine diagnostic, LSP diagnostic) pairs

    def pairs(self, uri: str) -> Tuple[Pair, ...]:
        return self.placed.get(uri, ())


_ANSWERED = object()  # a request already answered with an error while it was decoded


class TrainlintProtocol(LanguageServerProtocol):
    """pygls drops a request whose params do not match the spec without answering it, and
    the client then waits forever; answer it with the JSON-RPC error instead."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "jsonrpc" in data and "id" in data and "method" in data:
                self._send_response(data["id"], None, error.to_response_error())
                return _ANSWERED
            raise

    def handle_message(self, message) -> None:
        if message is not _ANSWERED:
            super().handle_message(message)

    @property
    def is_shut_down(self) -> bool:
        return bool(getattr(self, "_shutdown", False))


class _NoDecodeTracebacks(logging.Filter):
    """pygls logs a full traceback for every message it cannot decode; the frame reader
    already says so in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Unable to deserialize message")


logging.getLogger("pygls.protocol.json_rpc").addFilter(_NoDecodeTracebacks())


class TrainlintServer(LanguageServer):
    def __init__(self, debounce: float = DEBOUNCE_SECONDS) -> None:
        super().__init__(
            "trainlint",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=TrainlintProtocol,
        )
        self.debounce = debounce
        self.debouncer = Debouncer(debounce)
        self.configs = ConfigResolver(on_error=self.warn_user)
        self.results: "OrderedDict[str, LintResult]" = OrderedDict()
        self.pending: Dict[str, asyncio.Task] = {}
        self.pool = AnalysisPool()
        self.analyses: Dict[str, Tuple[tuple, asyncio.Task]] = {}  # unit -> (key, its analysis)
        self.published: Dict[str, Set[str]] = {}  # unit -> documents last sent diagnostics
        self.pull_mode = False
        self.config_watch: Optional[asyncio.Future] = None

    def start_io(self, stdin=None, stdout=None) -> int:
        """Serve on stdio until `exit` or the end of input; the exit code the spec asks
        for: 0 after `shutdown`, 1 without."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        fd = (stdin or sys.stdin.buffer).fileno()
        try:
            asyncio.run(self._serve_stdio(fd))
            code = 0 if self.protocol.is_shut_down else 1  # the client went away
        except SystemExit as exit:  # the `exit` notification
            code = exit.code if isinstance(exit.code, int) else 1
        except BrokenPipeError:
            logger.warning("trainlint lsp: the client closed the connection")
            code = 0 if self.protocol.is_shut_down else 1
        finally:
            self.shutdown()
        return code

    async def _serve_stdio(self, fd: int) -> None:
        try:
            await serve_frames(fd, self.protocol, self._stop_event, self.report_bad_frame)
        finally:  # `exit`, or the client is gone: no analysis process outlives the server
            self.pool.close()

    @staticmethod
    def report_bad_frame(message: str) -> None:
        logger.warning("trainlint lsp: %s", message)

    # -- talking to the user --------------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def trace(self, message: str) -> None:
        if self.protocol.trace not in (None, types.TraceValue.Off):
            self.log_trace(types.LogTraceParams(message=message))

    def warn_user(self, message: str) -> None:
        self.log(message, types.MessageType.Warning)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    def report_server_error(self, error: Exception, source) -> None:
        # pygls would pop up a message box for every failed notification; a log line is
        # enough, and requests already carry their error in the response.
        self.log(f"trainlint server error ({source.__name__}): {type(error).__name__}: {error}",
                 types.MessageType.Error)

    # -- documents ------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The negotiated position encoding: "utf-16" unless the client offered another."""
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return str(getattr(encoding, "value", encoding))

    def document(self, uri: str) -> Optional[TextDocument]:
        return self.workspace.text_documents.get(unquote(uri))

    def unit_uri(self, uri: str) -> str:
        """The uri that is linted for a document: a notebook cell's notebook, or itself."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def unit(self, uri: str) -> Optional[Unit]:
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is not None:
            return notebook_unit(notebook, self.workspace)
        document = self.document(uri)
        if document is None or self.unit_uri(uri) != uri:
            return None
        return text_unit(document, self.workspace.root_path)

    def open_units(self) -> List[str]:
        notebooks = list(self.workspace.notebook_documents)
        texts = [uri for uri in self.workspace.text_documents if self.unit_uri(uri) == uri]
        return notebooks + texts

    async def lint(self, uri: str) -> Optional[LintResult]:
        """Diagnostics of an open document or notebook; reused while text and config are
        unchanged. None if the document is not linted, or changed while it was analysed."""
        unit = self.unit(uri)
        if unit is None:
            return None
        config = self.configs.for_folder(unit.folder)
        digest = hashlib.blake2b(unit.text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        key = (digest, unit.path, config)
        cached = self.results.get(uri)
        if cached is not None and cached.key == key:
            self.results.move_to_end(uri)
            self.trace(f"{unit.path}: unchanged, diagnostics reused")
            return cached
        # One analysis per document: a request for the same text shares it, a newer text
        # supersedes it (its process is told to stop).
        running = self.analyses.get(uri)
        if running is None or running[0] != key:
            if running is not None:
                running[1].cancel()
            running = (key, asyncio.ensure_future(self._analyse(unit, config, key)))
            self.analyses[uri] = running
        return await asyncio.shield(running[1])

    async def _analyse(self, unit: Unit, config, key: tuple) -> Optional[LintResult]:
        started = time.perf_counter()
        try:
            status, value = await self.pool.run("lint", unit.text, unit.path, config)
        except asyncio.CancelledError:
            return None  # superseded by a newer version, or the document closed
        finally:
            if self.analyses.get(unit.uri, (None,))[0] == key:
                del self.analyses[unit.uri]
        if status == "ok":
            diagnostics = value
        elif status == "timeout":  # the process was stuck where the engine's alarm cannot reach
            self.log(f"trainlint: {unit.path}: {value}", types.MessageType.Warning)
            diagnostics = [timed_out(unit.path, config)]
        else:
            self.log(f"trainlint: {unit.path}: {value}", types.MessageType.Error)
            diagnostics = [engine_diagnostic(INTERNAL_ERROR, unit.path, f"analysis failed: {value}")]
        for diagnostic in diagnostics:
            if diagnostic.code == INTERNAL_ERROR and diagnostic.detail:
                self.log(f"{unit.path}: {diagnostic.message}\n{diagnostic.detail}", types.MessageType.Error)
        result = LintResult(
            key=key,
            result_id=hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest(),
            placed=unit.place(diagnostics, self.encoding),
        )
        self.results[unit.uri] = result
        self.results.move_to_end(unit.uri)
        while len(self.results) > _KEEP_RESULTS:
            self.results.popitem(last=False)
        elapsed = (time.perf_counter() - started) * 1000
        self.trace(f"{unit.path}: linted in {elapsed:.1f} ms, {len(diagnostics)} diagnostics")
        return result

    async def current_lint(self, uri: str) -> Optional[LintResult]:
        """`lint` for a request: when the text changes meanwhile, the newer text's result."""
        while True:
            result = await self.lint(uri)
            unit = self.unit(uri)
            if result is not None or unit is None or uri not in self.analyses:
                return result

    # -- push diagnostics -----------------------------------------------------------------

    async def publish(self, uri: str) -> None:
        unit = self.unit(uri)
        result = await self.lint(uri)
        if result is None or unit is None:
            return
        now = self.unit(uri)
        if now is None or now.text != unit.text:
            return  # edited meanwhile: the newer version's run publishes
        stale = self.published.get(uri, set()) - set(result.placed)  # e.g. deleted cells
        for document_uri in stale:
            self._send(document_uri, [])
        for document_uri, pairs in result.placed.items():
            self._send(document_uri, [lsp for _, lsp in pairs])
        self.published[uri] = set(result.placed)

    def _send(self, uri: str, diagnostics: List[types.Diagnostic]) -> None:
        document = self.document(uri)
        version = document.version if document is not None else None
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def schedule(self, uri: str, delay: float) -> None:
        """Lint `uri` after `delay` seconds, cancelling a run of it that is still waiting."""
        if self.pull_mode:
            return
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri, delay))

    async def _publish_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.pending.get(uri) is asyncio.current_task():
            del self.pending[uri]
        try:
            await self.publish(uri)
        except Exception as error:  # noqa: BLE001 - one document's failure must not stop the server
            self.log(f"trainlint: cannot lint {uri}: {type(error).__name__}: {error}", types.MessageType.Error)

    def changed(self, uri: str) -> None:
        """`uri` (a document or notebook) changed: lint it now or after the burst."""
        self.schedule(uri, self.debouncer.delay(uri))

    def clear(self, uri: str, documents: Sequence[str] = ()) -> None:
        self.debouncer.forget(uri)
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        analysis = self.analyses.pop(uri, None)
        if analysis is not None:
            analysis[1].cancel()
        shown = self.published.pop(uri, set()) | set(documents) | ({uri} if not documents else set())
        if not self.pull_mode:
            for document_uri in shown:
                self._send(document_uri, [])

    async def watch_config(self) -> None:
        while True:
            await asyncio.sleep(CONFIG_POLL_SECONDS)
            if self.configs.stale():
                self.log("trainlint: configuration file changed, re-linting open documents")
                self.relint_open_documents()

    def relint_open_documents(self) -> None:
        self.configs.clear()
        if self.pull_mode:
            self.workspace_diagnostic_refresh(None)
            return
        for uri in self.open_units():
            self.schedule(uri, 0)

    def relint_importers(self, saved_uri: str) -> None:
        """A saved Python module may hold helpers of other open documents: the project index
        reads helpers from disk, so their callers' diagnostics may change although their own
        text did not. Re-lint every other open document whose text names the module (a
        word-level match: an import of it must contain the name; a false match costs one
        analysis, never a wrong diagnostic)."""
        saved = self.unit(saved_uri)
        if saved is None or not saved.path.endswith(".py"):
            return
        module = PurePath(saved.path)
        names = {module.parent.name if module.stem == "__init__" else module.stem}  # a package: its folder
        if Path(module.parent, "__init__.py").is_file():
            names.add(module.parent.name)  # `from models import Net` re-exported from models/net.py
        mention = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
        importers = [uri for uri in self.open_units()
                     if uri != saved_uri and (unit := self.unit(uri)) is not None and mention.search(unit.text)]
        for uri in importers:
            self.results.pop(uri, None)  # its text is unchanged: the cached result is not
        if importers and self.pull_mode:
            self.workspace_diagnostic_refresh(None)
            return
        for uri in importers:
            self.schedule(uri, 0)

    # -- code actions ---------------------------------------------------------------------

    async def code_actions(self, params: types.CodeActionParams) -> List[types.CodeAction]:
        uri = params.text_document.uri
        unit = self.unit(self.unit_uri(uri))
        result = await self.current_lint(unit.uri) if unit is not None else None
        document = self.document(uri)
        unit = self.unit(self.unit_uri(uri))  # as it is now, after the wait
        if document is None or result is None or unit is None:
            return []
        wanted = params.context.only
        if wanted and any(FIX_ALL.startswith(kind) for kind in wanted):
            fix_all = await self.fix_all_action(uri, document, unit)
            return [fix_all] if fix_all is not None else []
        if wanted and not any(types.CodeActionKind.QuickFix.value.startswith(kind) for kind in wanted):
            return []
        lines = split_lines(document.source)
        encoding = self.encoding
        fixes: List[types.CodeAction] = []
        silencers: List[types.CodeAction] = []
        layout: Optional[LineLayout] = None
        silenced = set()
        # Neovim asks with the cursor position and the diagnostics of the cursor's line, whose
        # columns it does not always convert back (0.7 sends bytes): match on code and line.
        in_context = {(d.code, d.range.start.line) for d in params.context.diagnostics if d.source == SOURCE}
        for diagnostic, lsp_diagnostic in result.pairs(uri):
            key = (lsp_diagnostic.code, lsp_diagnostic.range.start.line)
            if not overlaps(lsp_diagnostic.range, params.range) and key not in in_context:
                continue
            # a notebook shown as its JSON text: fixes are in cell coordinates, not the JSON's
            if diagnostic.fix is not None and unit.editable:
                edits = [to_text_edit(edit, lines, encoding) for edit in diagnostic.fix.edits]
                fixes.append(self._action(
                    diagnostic.fix.description or f"Fix {diagnostic.code} ({diagnostic.name})",
                    uri, edits, lsp_diagnostic, preferred=diagnostic.fix.safe,
                ))
            rule = get_rule(diagnostic.code)
            if not unit.editable or rule is None or not rule.suppressible:
                continue
            if (diagnostic.line, diagnostic.code) in silenced:
                continue
            silenced.add((diagnostic.line, diagnostic.code))
            layout = layout or LineLayout.of(document.source)
            edit = noqa_edit(lines, layout, diagnostic.line, diagnostic.code)
            if edit is not None:
                silencers.append(self._action(
                    f"Disable {diagnostic.code} for this line", uri,
                    [to_text_edit(edit, lines, encoding)], lsp_diagnostic, preferred=False,
                ))
        return fixes + silencers

    async def fix_all_action(self, uri: str, document: TextDocument, unit: Unit) -> Optional[types.CodeAction]:
        """`source.fixAll.trainlint`: every safe fix of a Python document, applied round after
        round as `trainlint --fix` does, as one edit of the whole document. Unsafe fixes stay
        individual quick fixes. Notebooks are fixed from the command line."""
        if unit.uri != uri or not unit.editable or unit.path.endswith(".ipynb"):
            return None
        config = self.configs.for_folder(unit.folder)
        source = document.source
        status, fixed = await self.pool.run("fix_all", source, unit.path, config)
        if status != "ok" or fixed is None:
            return None
        lines = split_lines(source)
        whole = Edit(1, 1, len(lines), len(lines[-1]) + 1, fixed[0])
        return types.CodeAction(
            title=f"trainlint: apply {fixed[1]} safe fix(es)",
            kind=FIX_ALL,
            edit=types.WorkspaceEdit(changes={uri: [to_text_edit(whole, lines, self.encoding)]}),
        )

    @staticmethod
    def _action(title: str, uri: str, edits: Sequence[types.TextEdit],
                diagnostic: types.Diagnostic, preferred: bool) -> types.CodeAction:
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            edit=types.WorkspaceEdit(changes={uri: list(edits)}),
            is_preferred=preferred or None,
        )

    # -- pull diagnostics -----------------------------------------------------------------

    async def pull(self, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        result = await self.current_lint(self.unit_uri(uri))
        if result is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        if params.previous_result_id == result.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result.result_id)
        return types.RelatedFullDocumentDiagnosticReport(
            items=[lsp for _, lsp in result.pairs(uri)], result_id=result.result_id
        )


def _client_pulls(capabilities: types.ClientCapabilities) -> bool:
    return (
        get_capability(capabilities, "text_document.diagnostic") is not None
        and bool(get_capability(capabilities, "workspace.diagnostics.refresh_support", False))
    )


def create_server(debounce: float = DEBOUNCE_SECONDS) -> TrainlintServer:
    server = TrainlintServer(debounce)

    @server.feature(types.INITIALIZE)
    def initialize(ls: TrainlintServer, params: types.InitializeParams) -> None:
        if params.trace is not None:
            ls.protocol.trace = params.trace
        ls.pull_mode = _client_pulls(params.capabilities)
        ls.pool.warm_up()
        if ls.pull_mode and types.TEXT_DOCUMENT_DIAGNOSTIC not in ls.protocol.fm.features:
            options = types.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False)
            ls.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, options)(pull_diagnostics)

    async def pull_diagnostics(ls: TrainlintServer, params: types.DocumentDiagnosticParams):
        return await ls.pull(params)

    @server.feature(types.INITIALIZED)
    def initialized(ls: TrainlintServer, params: types.InitializedParams) -> None:
        mode = "pull" if ls.pull_mode else "push"
        ls.log(f"trainlint {__version__} language server ready ({mode} diagnostics,"
               f" {ls.encoding} positions)", types.MessageType.Info)
        if get_capability(ls.client_capabilities, "workspace.did_change_watched_files.dynamic_registration", False):
            watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
            registration = types.Registration(
                id="trainlint-config-files",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
            )
            ls.client_register_capability(types.RegistrationParams(registrations=[registration]))
        else:  # Neovim and others do not watch files for servers: look at the stamps now and then
            ls.config_watch = asyncio.ensure_future(ls.watch_config())

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TrainlintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TrainlintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TrainlintServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)
        ls.relint_importers(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TrainlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.clear(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: TrainlintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: TrainlintServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.changed(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: TrainlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: TrainlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.clear(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: TrainlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.endswith(CONFIG_FILES) for change in params.changes):
            ls.log("trainlint: configuration file changed, re-linting open documents")
            ls.relint_open_documents()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: TrainlintServer, params: types.DidChangeConfigurationParams) -> None:
        ls.relint_open_documents()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]),
    )
    async def code_action(ls: TrainlintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TrainlintServer, params: None) -> None:
        for task in [*ls.pending.values(), *(task for _, task in ls.analyses.values()), ls.config_watch]:
            if task is not None:
                task.cancel()
        ls.pending.clear()
        ls.analyses.clear()
        ls.pool.close()

    return server
