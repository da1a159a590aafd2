"""What the server lints, and where each finding goes back to.

A unit is one engine run: a Python document, a notebook opened as JSON text, or a notebook
synchronised cell by cell (`notebookDocument/*`, as VS Code sends them). The engine sees
text and a path (`.ipynb` selects its notebook reader); the unit then places each finding
in the editor document it belongs to: the file itself, or the cell's own document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument, Workspace

from trainlint.core.diagnostics import Diagnostic
from trainlint.frontends.lsp.convert import split_lines, to_lsp_diagnostic
from trainlint.frontends.lsp.ipynb_text import cell_sources, locate, offset_to_line_col
from trainlint.run.notebook import is_notebook

PYTHON_SUFFIXES = (".py", ".pyi")
Pair = Tuple[Diagnostic, types.Diagnostic]
Placed = Dict[str, Tuple[Pair, ...]]


@dataclass(frozen=True)
class Unit:
    uri: str  # the text document or notebook document
    text: str  # what the engine lints: Python, or a notebook's JSON
    path: str  # the path the engine sees: its suffix picks the reader, globs match it
    folder: Path  # where the configuration is looked up
    documents: Tuple[str, ...]  # the editor documents that receive diagnostics
    place: Callable[[Sequence[Diagnostic], str], Placed]
    editable: bool  # whether `# noqa` can be written into the documents as they are


def _document(workspace: Workspace, uri: str) -> Optional[TextDocument]:
    return workspace.text_documents.get(unquote(uri))


def _path_and_folder(uri: str, name: str, root: Optional[str]) -> Tuple[str, Path]:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path:
        return path, Path(path).parent
    return name, Path(root) if root else Path.cwd()


def text_unit(document: TextDocument, root: Optional[str]) -> Optional[Unit]:
    name = document.filename or "untitled.py"
    if not (document.language_id == "python" or name.endswith(PYTHON_SUFFIXES) or is_notebook(name)):
        return None
    path, folder = _path_and_folder(document.uri, name, root)
    text = document.source
    uri = document.uri
    if is_notebook(path):
        def place(diagnostics: Sequence[Diagnostic], encoding: str) -> Placed:
            return {uri: tuple(_in_notebook_json(diagnostics, text, encoding))}

        return Unit(uri, text, path, folder, (uri,), place, editable=False)

    def place_python(diagnostics: Sequence[Diagnostic], encoding: str) -> Placed:
        lines = split_lines(text)
        return {uri: tuple((d, to_lsp_diagnostic(d, lines, encoding)) for d in diagnostics)}

    return Unit(uri, text, path, folder, (uri,), place_python, editable=True)


def _in_notebook_json(diagnostics: Sequence[Diagnostic], text: str, encoding: str) -> List[Pair]:
    """Findings in cell coordinates, moved to where those characters are in the JSON."""
    lines = split_lines(text)
    sources = cell_sources(text) or {}
    placed = []
    for diagnostic in diagnostics:
        moved = replace(diagnostic, line=1, col=1, end_line=1, end_col=1)  # whole-file problems
        parts = sources.get(diagnostic.cell) if diagnostic.cell else None
        if parts:
            start = locate(parts, diagnostic.line, diagnostic.col)
            end = locate(parts, diagnostic.end_line, diagnostic.end_col)
            if start is not None:
                line, col = offset_to_line_col(text, start)
                end_line, end_col = offset_to_line_col(text, end) if end is not None else (line, col)
                moved = replace(diagnostic, line=line, col=col, end_line=end_line, end_col=end_col)
        placed.append((diagnostic, to_lsp_diagnostic(moved, lines, encoding)))
    return placed


def notebook_unit(notebook: types.NotebookDocument, workspace: Workspace) -> Unit:
    """A synchronised notebook, rebuilt as nbformat JSON so the engine reads it like a file."""
    cells, documents = [], []
    for cell in notebook.cells:
        document = _document(workspace, cell.document)
        is_code = (
            cell.kind == types.NotebookCellKind.Code
            and document is not None
            and (document.language_id or "python") == "python"
        )
        source = document.source if document is not None else ""
        cells.append({"cell_type": "code" if is_code else "markdown", "metadata": {}, "source": source})
        documents.append(cell.document)
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    name = notebook.uri.rsplit("/", 1)[-1]
    path, folder = _path_and_folder(notebook.uri, name, workspace.root_path)
    if not is_notebook(path):
        path += ".ipynb"
    code_documents = tuple(uri for uri, cell in zip(documents, cells) if cell["cell_type"] == "code")

    def place(diagnostics: Sequence[Diagnostic], encoding: str) -> Placed:
        placed: Dict[str, List[Pair]] = {uri: [] for uri in code_documents}
        for diagnostic in diagnostics:
            if diagnostic.cell is not None and 0 < diagnostic.cell <= len(documents):
                uri = documents[diagnostic.cell - 1]
            elif code_documents:  # a problem of the whole notebook: shown on its first code cell
                uri, diagnostic = code_documents[0], replace(diagnostic, line=1, col=1, end_line=1, end_col=1)
            else:
                continue
            document = _document(workspace, uri)
            lines = split_lines(document.source if document is not None else "")
            placed.setdefault(uri, []).append((diagnostic, to_lsp_diagnostic(diagnostic, lines, encoding)))
        return {uri: tuple(pairs) for uri, pairs in placed.items()}

    return Unit(notebook.uri, text, path, folder, code_documents, place, editable=True)
