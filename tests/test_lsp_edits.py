"""Diagnostics after each edit of a session are those of a cold full lint of the same text.

The language server lints each new version of a document on its own; should it ever reuse
work between versions (an incremental analysis), this keeps it honest: a sequence of small
edits, each one's published diagnostics compared with `lint_source` of the text the client
has after it (codes and ranges)."""

from __future__ import annotations

import asyncio
from typing import List, Tuple

import pytest

pytest.importorskip("pytest_lsp", reason="needs the test extra (pytest-lsp, pygls)")

from lsprotocol import types  # noqa: E402

from conftest import FIXTURES  # noqa: E402
from test_lsp import published, start, workspace  # noqa: E402,F401 - workspace: the fixture
from trainlint import lint_source  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="function")

SCRIPT = (FIXTURES / "tl1" / "cifar_single_script.py").read_text(encoding="utf-8")

Edit = Tuple[int, int, int, int, str]  # start line, start column, end line, end column, new text (0-based)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def _apply(text: str, edit: Edit) -> str:
    lines = text.split("\n")
    start_line, start_col, end_line, end_col, new = edit
    offset = lambda line, col: sum(len(x) + 1 for x in lines[:line]) + col  # noqa: E731 - ASCII text
    return text[:offset(start_line, start_col)] + new + text[offset(end_line, end_col):]


def _sessions() -> List[List[str]]:
    """Edit sequences, each edit given by how to find its place in the current text."""
    return [["add-eval", "comment-eval", "uncomment-eval"], ["typo", "fix-typo"], ["augment-validation", "add-eval"]]


def _edit(text: str, step: str) -> Edit:
    if step == "add-eval":  # the validation block switches to eval mode: TL101 goes
        line = _line_of(text, "val_hits = 0")
        return (line, 0, line, 0, "    net.eval()\n")
    if step == "comment-eval":
        line = _line_of(text, "net.eval()")
        return (line, 4, line, 4, "# ")
    if step == "uncomment-eval":
        line = _line_of(text, "# net.eval()")
        return (line, 4, line, 6, "")
    if step == "typo":  # a half-typed line inside the training loop: TL001
        line = _line_of(text, "seen += images.size(0)")
        end = len(text.splitlines()[line])
        return (line, end, line, end, " +")
    if step == "fix-typo":
        line = _line_of(text, "seen += images.size(0) +")
        end = len(text.splitlines()[line])
        return (line, end - 2, line, end, "")
    if step == "augment-validation":  # the validation set gets the random pipeline: TL305
        line = _line_of(text, "val_set = ")
        start = text.splitlines()[line].index("transform=plain") + len("transform=")
        return (line, start, line, start + len("plain"), "augment")
    raise ValueError(step)


def _expected(text: str, path: str) -> List[tuple]:
    return sorted((d.code, d.line - 1, d.col - 1, d.end_line - 1, d.end_col - 1) for d in lint_source(text, path))


def _got(diagnostics) -> List[tuple]:
    return sorted((d.code, d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
                  for d in diagnostics)


@pytest.mark.parametrize("session", _sessions(), ids=lambda steps: "+".join(steps))
async def test_each_edit_publishes_what_a_full_lint_finds(request, workspace, session):
    client = await start(request, workspace, "neovim")
    try:
        path = workspace / "cifar.py"
        path.write_text(SCRIPT)
        text = SCRIPT
        uri = path.as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        assert _got(await published(client, uri, version=1)) == _expected(text, str(path))
        for version, step in enumerate(session, start=2):
            edit = _edit(text, step)
            text = _apply(text, edit)
            start_line, start_col, end_line, end_col, new = edit
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(start_line, start_col),
                                      end=types.Position(end_line, end_col)), text=new)]))
            assert _got(await published(client, uri, version=version)) == _expected(text, str(path)), step
            await asyncio.sleep(0.3)  # a pause: the next edit is linted at once
    finally:
        await client.shutdown_session()
        await client.stop()


# A document of many functions: edits in the middle ones are re-parsed in place (the
# server keeps the other statements and their part of the index, run.editing).
FUNCTIONS = "import torch\n\n\n" + "".join(
    f"def evaluate_{i}(model, loader):\n"
    "    correct = 0\n"
    "    for x, y in loader:\n"
    "        correct += (model(x).argmax(1) == y).sum().item()\n"
    "    return correct / len(loader.dataset)\n\n\n" for i in range(8)
) + "if __name__ == '__main__':\n    main()\n"
MIDDLE_EDITS = [  # (needle, text inserted at the start of its line)
    ("def evaluate_4", ""), ("    correct = 0", "    model.eval()\n"), ("    model.eval()", "# "),
    ("#     model.eval()", "    total = len(loader)\n"), ("    for x, y in loader:", "    model.train()\n"),
]


async def test_edits_reparsed_in_place_publish_what_a_full_lint_finds(request, workspace):
    client = await start(request, workspace, "neovim")
    try:
        path = workspace / "evaluate.py"
        path.write_text(FUNCTIONS)
        text, uri = FUNCTIONS, path.as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        assert _got(await published(client, uri, version=1)) == _expected(text, str(path))
        after = text.index("def evaluate_4")
        for version, (needle, new) in enumerate(MIDDLE_EDITS[1:], start=2):
            line = _line_of(text[after:], needle) + text[:after].count("\n")
            edit = (line, 0, line, 0, new)
            text = _apply(text, edit)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line, 0), end=types.Position(line, 0)), text=new)]))
            assert _got(await published(client, uri, version=version)) == _expected(text, str(path)), needle
            await asyncio.sleep(0.3)
    finally:
        await client.shutdown_session()
        await client.stop()
