"""What an editor keeps of a document between two lints: the last module and index.

`EditorHooks` plugs into the pipeline (`run.hooks`): the parse re-parses only the top-level
statements around the edit (`semantic.reparse`), and the index walks only those again
(`semantic.pieces`). The facts and rules run on the whole module as in any run, so the
diagnostics are those of a cold lint of the same text (tests/test_lsp_edits.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import libcst as cst

from trainlint.run.hooks import Hooks
from trainlint.semantic.reparse import EditedDocument

# Documents whose last module is kept: those being edited; the others are parsed whole.
KEPT_DOCUMENTS = 8


class EditorHooks(Hooks):
    """The hooks of one document of an editor."""

    def __init__(self, document: EditedDocument) -> None:
        self._document = document

    def parse(self, text: str, python_accepts: bool, parse_whole: Callable[[], Any]) -> Any:
        module = self._document.parse(text) if python_accepts else None
        return module if module is not None else parse_whole()

    def new_context(self, context_class: type, *args: Any) -> Any:
        ctx = context_class(*args)
        ctx.previous_pieces, ctx.keep_pieces = self._document.pieces, True
        return ctx

    def linted(self, ctx: Any) -> None:
        index = ctx.__dict__.get("index")  # built only when a rule asked for it
        if index is not None and type(ctx.module) is cst.Module:
            self._document.remember(ctx.text, ctx.module, index)
        else:
            self._document.forget()


class EditorSession:
    """The documents of one editor session, by path; the least recently linted are dropped."""

    def __init__(self) -> None:
        self._documents: "OrderedDict[str, EditedDocument]" = OrderedDict()

    def hooks_for(self, path: str) -> EditorHooks:
        document = self._documents.pop(path, None) or EditedDocument()
        self._documents[path] = document
        while len(self._documents) > KEPT_DOCUMENTS:
            self._documents.popitem(last=False)
        return EditorHooks(document)
