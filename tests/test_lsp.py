"""End-to-end tests of `trainlint lsp` over stdio, driven by pytest-lsp's client with the
recorded capabilities of real editors (VS Code, Neovim)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import List

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="needs the test extra (pytest-lsp, pygls)")

import pytest_asyncio  # noqa: E402
from lsprotocol import types  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features  # noqa: E402

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.slow]  # slow: a server process per test

SERVER = [sys.executable, "-m", "trainlint", "lsp"]
TIMEOUT = 20.0

TRAIN = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("churn.csv")
    X, y = df.drop(columns="churned"), df["churned"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    clf = LogisticRegression(max_iter=500).fit(X_train, y_train)
    print(clf.score(X_test, y_test))
    """
)
SPLIT_LINE = 6  # 0-based line of the train_test_split call
STRATIFIED = TRAIN.replace("test_size=0.2)", "test_size=0.2, stratify=y)")


# -- the client -------------------------------------------------------------------------


def make_client() -> LanguageClient:
    """pytest-lsp's client, also keeping every publishDiagnostics (with its version) and
    every $/logTrace message, in order. `timeline` keeps every publication with the
    time.monotonic() of its arrival; `published` is consumed by `publication`."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []
    client.timeline = []
    client.traces = []
    client.registrations = []

    def on_publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)
        client.timeline.append((time.monotonic(), params))

    def on_trace(client: LanguageClient, params: types.LogTraceParams) -> None:
        client.traces.append(params.message)

    def on_register(client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.CLIENT_REGISTER_CAPABILITY] = on_register
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = on_publish
    features[types.LOG_TRACE] = on_trace
    register_lsp_features(client, features)
    return client


def capabilities(name: str) -> types.ClientCapabilities:
    if name == "vscode-pull":
        # VS Code 1.65 as recorded, plus the pull diagnostics of newer releases.
        caps = client_capabilities("visual-studio-code")
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(dynamic_registration=True)
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
        return caps
    return client_capabilities(name)


CLIENTS = ["visual-studio-code", "neovim", "neovim@v0.7.0"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "churn"\n')
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


async def start(request, workspace: Path, client_name: str, trace: str = "off",
                server_command: List[str] = SERVER) -> LanguageClient:
    client = await ClientServerConfig(server_command=server_command, client_factory=make_client).start()
    caps = capabilities(client_name)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="churn")],
            trace=types.TraceValue(trace),
        )
    )
    client.encoding = str(getattr(caps.general, "position_encodings", None) and
                          _chosen_encoding(caps) or "utf-16")
    return client


def server_with_worker(worker_code: str, prelude: str = "") -> List[str]:
    """The command of a language server whose analysis processes run `worker_code`
    (`prelude` runs in the server first)."""
    server = prelude + textwrap.dedent(
        f"""\
        import sys
        from trainlint.frontends.lsp import pool
        pool.WORKER_COMMAND = [sys.executable, "-c", {worker_code!r}]
        from trainlint.frontends.cli import main
        sys.exit(main(["lsp"]))
        """
    )
    return [sys.executable, "-c", server]


async def start_server(command: List[str], workspace: Path) -> LanguageClient:
    """A VS Code-like client, initialized, of the server `command` starts."""
    client = await ClientServerConfig(server_command=command, client_factory=make_client).start()
    try:
        await client.initialize_session(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=workspace.as_uri())
        )
    except BaseException:
        await client.stop()
        raise
    return client


def _chosen_encoding(caps: types.ClientCapabilities) -> str:
    for encoding in caps.general.position_encodings or []:
        if str(encoding) in ("utf-8", "utf-16", "utf-32"):
            return str(encoding)
    return "utf-16"


@pytest_asyncio.fixture(params=CLIENTS)
async def client(request, workspace):
    client = await start(request, workspace, request.param, trace="verbose")
    yield client
    await client.shutdown_session()
    await client.stop()


@pytest_asyncio.fixture
async def pull_client(request, workspace):
    client = await start(request, workspace, "vscode-pull")
    yield client
    await client.shutdown_session()
    await client.stop()


# -- helpers ------------------------------------------------------------------------------


def open_document(client: LanguageClient, path: Path, text: str = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=path.read_text() if text is None else text
            )
        )
    )
    return uri


def replace_text(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def publication(client: LanguageClient, uri: str, version: int = None) -> types.PublishDiagnosticsParams:
    """The first publication for `uri` (at `version`, if given) not yet consumed."""

    async def wait():
        while True:
            for index, params in enumerate(client.published):
                if params.uri == uri and (version is None or params.version == version):
                    # consume it and the older ones of the same document
                    client.published[: index + 1] = [p for p in client.published[:index] if p.uri != uri]
                    return params
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(wait(), TIMEOUT)


async def published(client: LanguageClient, uri: str, version: int = None) -> List[types.Diagnostic]:
    return list((await publication(client, uri, version)).diagnostics)


def codes(diagnostics) -> List[str]:
    return [d.code for d in diagnostics]


# -- diagnostics ------------------------------------------------------------------------


async def test_open_publishes_diagnostics_with_rule_metadata(client, workspace):
    uri = open_document(client, workspace / "train.py")
    diagnostics = await published(client, uri, version=1)
    assert codes(diagnostics) == ["TL301"]
    (diagnostic,) = diagnostics
    assert diagnostic.source == "trainlint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description.href.endswith("docs/rules/TL301.md")
    assert "stratify=y" in diagnostic.message
    line = TRAIN.splitlines()[SPLIT_LINE]
    start = line.index("train_test_split")
    assert diagnostic.range == types.Range(
        start=types.Position(line=SPLIT_LINE, character=start),
        end=types.Position(line=SPLIT_LINE, character=len(line)),
    )


async def test_edits_update_diagnostics_and_close_clears_them(client, workspace):
    uri = open_document(client, workspace / "train.py")
    assert codes(await published(client, uri, version=1)) == ["TL301"]
    replace_text(client, uri, 2, STRATIFIED)
    assert await published(client, uri, version=2) == []
    replace_text(client, uri, 3, TRAIN)
    assert codes(await published(client, uri, version=3)) == ["TL301"]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await published(client, uri) == []


async def test_rapid_edits_lint_only_the_last_version(client, workspace):
    uri = open_document(client, workspace / "train.py")
    await published(client, uri, version=1)
    for version in range(2, 7):
        replace_text(client, uri, version, TRAIN + f"\n# edit {version}\n")
    # Version 2, the first change after a pause, is linted at once (unless version 3
    # supersedes it first); the debounce cancels the runs of versions 3..5 of the burst.
    params = await publication(client, uri, version=6)
    assert codes(params.diagnostics) == ["TL301"]
    assert not {3, 4, 5} & {p.version for p in client.published}
    linted = [t for t in client.traces if "linted" in t]
    assert len(linted) in (2, 3), client.traces  # versions 1 and 6, and 2 if it finished


async def test_an_edit_after_a_pause_skips_the_debounce(workspace, request):
    """With a one-minute debounce, the first edit after a pause still publishes at once;
    the next keystrokes of its burst wait for the debounce."""
    client = await start(request, workspace, "neovim", server_command=[*SERVER, "--debounce", "60"])
    try:
        uri = open_document(client, workspace / "train.py")
        await published(client, uri, version=1)
        await asyncio.sleep(0.4)  # a pause
        replace_text(client, uri, 2, STRATIFIED)
        assert await published(client, uri, version=2) == []  # well within TIMEOUT, far below 60 s
        replace_text(client, uri, 3, TRAIN)
        await asyncio.sleep(1.0)
        assert 3 not in {p.version for p in client.published}  # waiting for the burst to end
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_half_typed_code_gives_a_syntax_diagnostic_not_a_crash(client, workspace):
    uri = open_document(client, workspace / "train.py")
    await published(client, uri, version=1)
    half = TRAIN.replace("test_size=0.2)", "test_size=")
    replace_text(client, uri, 2, half)
    diagnostics = await published(client, uri, version=2)
    assert codes(diagnostics) == ["TL001"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    # the server still answers
    actions = await client.text_document_code_action_async(code_action_params(uri, diagnostics[0].range))
    assert list(actions) == []


async def test_unchanged_text_reuses_results(client, workspace):
    uri = open_document(client, workspace / "train.py")
    await published(client, uri, version=1)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert codes(await published(client, uri)) == ["TL301"]
    assert any("reused" in t for t in client.traces), client.traces
    assert len([t for t in client.traces if "linted" in t]) == 1


# -- positions ----------------------------------------------------------------------------

UNICODE_LINE = 'print("données 😋"); X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)'


def expected_units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def test_positions_on_non_ascii_lines_use_the_client_encoding(client, workspace):
    lines = TRAIN.splitlines()
    lines[SPLIT_LINE] = UNICODE_LINE
    uri = open_document(client, workspace / "train.py", "\n".join(lines) + "\n")
    (diagnostic,) = await published(client, uri, version=1)
    prefix = UNICODE_LINE[: UNICODE_LINE.index("train_test_split")]
    assert diagnostic.range.start == types.Position(
        line=SPLIT_LINE, character=expected_units(prefix, client.encoding)
    )
    assert diagnostic.range.end.character == expected_units(UNICODE_LINE, client.encoding)
    if client.encoding == "utf-16":
        # "😋" is two UTF-16 code units: one more than its code point count
        assert diagnostic.range.start.character == len(prefix) + 1


async def test_emacs_negotiates_utf32(workspace, request):
    client = await start(request, workspace, "emacs")  # offers utf-32 first
    try:
        assert client.encoding == "utf-32"
        lines = TRAIN.splitlines()
        lines[SPLIT_LINE] = UNICODE_LINE
        uri = open_document(client, workspace / "train.py", "\n".join(lines) + "\n")
        (diagnostic,) = await published(client, uri, version=1)
        assert diagnostic.range.start.character == UNICODE_LINE.index("train_test_split")
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_syntax_error_after_emoji_is_placed_in_code_units(client, workspace):
    uri = open_document(client, workspace / "train.py", TRAIN + 'label = "😋" +\n')
    (diagnostic,) = await published(client, uri, version=1)
    assert diagnostic.code == "TL001"
    assert diagnostic.range.start.line == len(TRAIN.splitlines())
    assert diagnostic.range.start.character == expected_units('label = "😋" +', client.encoding)


# -- code actions -------------------------------------------------------------------------


def code_action_params(uri: str, range_: types.Range, only=None) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=range_,
        context=types.CodeActionContext(diagnostics=[], only=only),
    )


def apply_edits(text: str, edits: List[types.TextEdit]) -> str:
    """Apply single-line edits (all that these actions make) to `text` (UTF-16 = code points here)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        assert edit.range.start.line == edit.range.end.line
        line = lines[edit.range.start.line]
        lines[edit.range.start.line] = (
            line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character:]
        )
    return "\n".join(lines)


async def test_disable_rule_for_this_line(client, workspace):
    uri = open_document(client, workspace / "train.py")
    (diagnostic,) = await published(client, uri, version=1)
    cursor = types.Range(start=diagnostic.range.start, end=diagnostic.range.start)
    actions = await client.text_document_code_action_async(code_action_params(uri, cursor))
    titles = [action.title for action in actions]
    assert titles[-1] == "Disable TL301 for this line"  # after the rule's own fix, if any
    action = actions[-1]
    assert not action.is_preferred
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.diagnostics[0].code == "TL301"
    edited = apply_edits(TRAIN, action.edit.changes[uri])
    assert edited.splitlines()[SPLIT_LINE].endswith("test_size=0.2)  # noqa: TL301")
    replace_text(client, uri, 2, edited)
    assert await published(client, uri, version=2) == []
    # Nothing to offer away from a finding, or for kinds we do not make.
    elsewhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=3))
    assert not await client.text_document_code_action_async(code_action_params(uri, elsewhere))
    refactor = code_action_params(uri, cursor, only=[types.CodeActionKind.Refactor])
    assert not await client.text_document_code_action_async(refactor)


async def test_code_action_for_the_line_diagnostics_in_context(client, workspace):
    # Neovim's code_action(): the cursor anywhere on the line, the line's diagnostics as context
    # (Neovim 0.7 even sends their columns in bytes).
    uri = open_document(client, workspace / "train.py")
    (diagnostic,) = await published(client, uri, version=1)
    line_start = types.Position(line=SPLIT_LINE, character=0)
    params = code_action_params(uri, types.Range(start=line_start, end=line_start))
    params.context.diagnostics = [diagnostic]
    actions = await client.text_document_code_action_async(params)
    assert "Disable TL301 for this line" in [action.title for action in actions]


async def test_quick_fix_from_the_rule(client, workspace):
    uri = open_document(client, workspace / "train.py")
    (diagnostic,) = await published(client, uri, version=1)
    actions = await client.text_document_code_action_async(code_action_params(uri, diagnostic.range))
    fixes = [action for action in actions if not action.title.startswith("Disable ")]
    assert fixes, "TL301 provides a fix (stratify=y); it must be offered"
    (fix,) = fixes
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics[0].code == "TL301"
    edited = apply_edits(TRAIN, fix.edit.changes[uri])
    assert edited == STRATIFIED
    replace_text(client, uri, 2, edited)
    assert await published(client, uri, version=2) == []


async def test_disable_extends_an_existing_noqa(client, workspace):
    text = TRAIN.replace("test_size=0.2)", "test_size=0.2)  # noqa: TL101")
    uri = open_document(client, workspace / "train.py", text)
    (diagnostic,) = await published(client, uri, version=1)
    actions = await client.text_document_code_action_async(code_action_params(uri, diagnostic.range))
    edited = apply_edits(text, actions[-1].edit.changes[uri])
    assert edited.splitlines()[SPLIT_LINE].endswith("# noqa: TL101, TL301")


# -- configuration ------------------------------------------------------------------------


async def test_config_reload_on_watched_file_change(client, workspace):
    uri = open_document(client, workspace / "train.py")
    assert codes(await published(client, uri, version=1)) == ["TL301"]
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.trainlint]\nignore = ["TL301"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    assert await published(client, uri) == []
    pyproject.write_text('[project]\nname = "churn"\n')
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    assert codes(await published(client, uri)) == ["TL301"]


async def test_config_change_is_noticed_without_file_events(workspace, request):
    client = await start(request, workspace, "neovim@v0.7.0")  # cannot watch files for servers
    try:
        uri = open_document(client, workspace / "train.py")
        assert codes(await published(client, uri, version=1)) == ["TL301"]
        (workspace / "pyproject.toml").write_text('[tool.trainlint]\nignore = ["TL301"]\n')
        assert await published(client, uri) == []  # no notification sent: the server looked
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_broken_config_is_reported_and_defaults_apply(client, workspace):
    (workspace / "pyproject.toml").write_text("[tool.trainlint]\nselect = [\n")
    uri = open_document(client, workspace / "train.py")
    assert codes(await published(client, uri, version=1)) == ["TL301"]
    assert any("invalid TOML" in m.message for m in client.messages)


async def test_vscode_is_asked_to_watch_pyproject(workspace, request):
    client = await start(request, workspace, "visual-studio-code")
    try:
        await asyncio.wait_for(_until(lambda: client.registrations), TIMEOUT)
        (registration,) = client.registrations
        assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        globs = [w["globPattern"] for w in registration.register_options["watchers"]]
        assert globs == ["**/pyproject.toml"]
    finally:
        await client.shutdown_session()
        await client.stop()


# -- pull diagnostics -------------------------------------------------------------------


async def test_pull_diagnostics_when_the_client_supports_them(pull_client, workspace):
    client = pull_client
    uri = open_document(client, workspace / "train.py")
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert report.kind == "full"
    assert codes(report.items) == ["TL301"]
    again = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id
        )
    )
    assert again.kind == "unchanged" and again.result_id == report.result_id
    (workspace / "pyproject.toml").write_text('[tool.trainlint]\nignore = ["TL301"]\n')
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await asyncio.wait_for(_until(lambda: client.diagnostic_refresh_count > 0), TIMEOUT)
    after = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id
        )
    )
    assert after.kind == "full" and list(after.items) == []
    assert client.published == []  # pull clients are never pushed to: no duplicates


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


# -- robustness ---------------------------------------------------------------------------


async def raw_request(client: LanguageClient, method: str, params: dict):
    """Send a request exactly as given, bypassing the client's typed serialisation."""
    msg_id = f"raw-{uuid.uuid4()}"
    future: Future = Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT)


async def test_server_keeps_answering_after_bad_requests(client, workspace):
    from pygls.exceptions import JsonRpcException

    uri = open_document(client, workspace / "train.py")
    await published(client, uri, version=1)
    never_opened = (workspace / "missing.py").as_uri()
    cursor = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    assert not await client.text_document_code_action_async(code_action_params(never_opened, cursor))
    with pytest.raises(JsonRpcException):  # params of the wrong shape
        await raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, {"textDocument": 5})
    with pytest.raises(JsonRpcException):
        await raw_request(client, "trainlint/noSuchMethod", {})
    # a change for a document the server never saw, then real work still goes through
    replace_text(client, never_opened, 2, "x = 1\n")
    replace_text(client, uri, 2, STRATIFIED)
    assert await published(client, uri, version=2) == []


CRASHING_RULE = textwrap.dedent(
    """\
    import sys
    import trainlint.run.engine, trainlint.rules
    from trainlint.core.diagnostics import Severity
    from trainlint.rules import Rule

    class AlwaysCrashes(Rule):
        code, name, severity = "TL999", "always-crashes", Severity.WARNING
        summary = message = "crashes"
        triggers = ("train_test_split",)

        def check(self, ctx):
            raise ZeroDivisionError("rule bug")
            yield

    original = trainlint.rules.all_rules
    patched = lambda: original() + (AlwaysCrashes,)
    trainlint.rules.all_rules = trainlint.run.engine.all_rules = patched
    """
)
# The rule is patched in the server and in its analysis processes, which lint.
CRASHING_SERVER = server_with_worker(CRASHING_RULE + "from trainlint.frontends.lsp.analysis import main; main()",
                                     prelude=CRASHING_RULE)


async def test_a_crashing_rule_is_logged_and_the_others_still_report(workspace):
    client = await start_server(CRASHING_SERVER, workspace)
    try:
        uri = open_document(client, workspace / "train.py")
        diagnostics = await published(client, uri, version=1)
        assert sorted(codes(diagnostics)) == ["TL003", "TL301"]
        errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
        assert any("ZeroDivisionError: rule bug" in m and "Traceback" in m for m in errors), errors
    finally:
        await client.shutdown_session()
        await client.stop()


# -- any document: the server survives it (issue 23.3) -------------------------------------

DEEP_DOCUMENTS = {  # what crashes libcst's native parser, which runs in the analysis process
    "brackets.py": ("x = " + "(" * 100_000 + ")" * 100_000 + "\n", "TL001"),
    "attributes.py": ("x = a" + ".b" * 8_000 + "\n", "TL004"),
    "terms.py": ("x = " + " + ".join(["a"] * 7_000) + "\n", "TL004"),
}


async def test_documents_too_deep_for_the_parser_get_one_diagnostic_and_the_server_goes_on(workspace, request):
    client = await start(request, workspace, "visual-studio-code")
    try:
        deep = {open_document(client, workspace / name, TRAIN + text): code
                for name, (text, code) in DEEP_DOCUMENTS.items()}
        for uri, code in deep.items():
            assert codes(await published(client, uri, version=1)) == [code], uri
        uri = open_document(client, workspace / "train.py")
        assert codes(await published(client, uri, version=1)) == ["TL301"]
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_document_over_the_analysis_budget_gets_its_tl004_and_the_server_goes_on(client, workspace):
    big = TRAIN + ("# " + "x" * 98 + "\n") * 4_200  # 420 KB: over the default 400 KB
    uri = open_document(client, workspace / "generated_train.py", big)
    (skipped,) = await published(client, uri, version=1)
    assert skipped.code == "TL004" and "max-analysis-size (400 KB)" in skipped.message
    uri = open_document(client, workspace / "train.py")
    assert codes(await published(client, uri, version=1)) == ["TL301"]


# An analysis process that dies in native code on a document (as libcst's parser would
# without the checks before it): the signal is the crash.
SEGFAULTING_WORKER = textwrap.dedent(
    """\
    import os, signal
    from trainlint.frontends.lsp import analysis

    real = analysis.lint

    def lint(text, path, config):
        if "CRASH_THE_PARSER" in text:
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(text, path, config)

    analysis.JOBS["lint"] = lint
    analysis.main()
    """
)
SEGFAULTING_SERVER = server_with_worker(SEGFAULTING_WORKER)


async def test_an_analysis_process_that_crashes_costs_one_document_one_diagnostic(workspace):
    client = await start_server(SEGFAULTING_SERVER, workspace)
    try:
        crashing = open_document(client, workspace / "crash.py", TRAIN + "# CRASH_THE_PARSER\n")
        (diagnostic,) = await published(client, crashing, version=1)
        assert diagnostic.code == "TL003" and "ended by signal 11" in diagnostic.message, diagnostic.message
        uri = open_document(client, workspace / "train.py")  # a fresh process analyses it
        assert codes(await published(client, uri, version=1)) == ["TL301"]
        replace_text(client, crashing, 2, STRATIFIED)  # and the crashed document's next version
        assert await published(client, crashing, version=2) == []
    finally:
        await client.shutdown_session()
        await client.stop()


REFIT = TRAIN + textwrap.dedent(
    """\
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.fit_transform(X_test)
    """
)


async def test_fix_all_applies_safe_fixes_only(client, workspace):
    uri = open_document(client, workspace / "train.py", REFIT)
    diagnostics = await published(client, uri, version=1)
    assert sorted(d.code for d in diagnostics) == ["TL301", "TL307"]
    whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    actions = await client.text_document_code_action_async(
        code_action_params(uri, whole, only=["source.fixAll"]))
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.trainlint"
    (edit,) = fix_all.edit.changes[uri]
    assert edit.range.start == types.Position(line=0, character=0)
    assert edit.new_text == REFIT.replace("test_size=0.2)", "test_size=0.2, stratify=y)")  # TL307's is unsafe
    # the unsafe fix is still offered on its own, as a quick fix that is not preferred
    refit = next(d for d in diagnostics if d.code == "TL307")
    actions = await client.text_document_code_action_async(code_action_params(uri, refit.range))
    (unsafe,) = [a for a in actions if not a.title.startswith("Disable ")]
    assert unsafe.kind == types.CodeActionKind.QuickFix and not unsafe.is_preferred
    assert apply_edits(REFIT, unsafe.edit.changes[uri]).endswith("X_test = scaler.transform(X_test)\n")
