"""Notebooks in the language server: synchronised cell by cell (`notebookDocument/*`, as
VS Code sends them) and `.ipynb` files opened as JSON text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="needs the test extra (pytest-lsp, pygls)")

import pytest_asyncio  # noqa: E402
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, client_capabilities  # noqa: E402

from test_lsp import SERVER, code_action_params, codes, make_client, publication, published  # noqa: E402

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.slow]  # slow: a server process per test

LOAD = 'import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split\n\ndf = pd.read_csv("churn.csv")\nX, y = df.drop(columns="churned"), df["churned"]\n'
SPLIT = '%matplotlib inline\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\nclf = LogisticRegression().fit(X_train, y_train)\nprint(f"accuracy \\"é\\": {clf.score(X_test, y_test)}")\n'
SPLIT_CELL_LINE = 1  # 0-based line of the split inside its cell


@pytest_asyncio.fixture
async def client(tmp_path: Path):
    client = await ClientServerConfig(server_command=SERVER, client_factory=make_client).start()
    caps = client_capabilities("visual-studio-code")
    # VS Code 1.65 predates notebook sync in LSP; newer releases declare it like this.
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    result = await client.initialize_session(
        types.InitializeParams(capabilities=caps, root_uri=tmp_path.as_uri(), trace=types.TraceValue.Verbose)
    )
    client.server_capabilities = result.capabilities
    yield client
    await client.shutdown_session()
    await client.stop()


def cell_uri(notebook: Path, index: int) -> str:
    return f"vscode-notebook-cell:{notebook}#W{index}sZmlsZQ%3D%3D"


async def test_synchronised_notebook_gets_diagnostics_per_cell(client, tmp_path):
    assert client.server_capabilities.notebook_document_sync is not None
    notebook = tmp_path / "churn.ipynb"
    cells = [("markdown", "# Churn\n"), ("python", LOAD), ("python", SPLIT)]
    uris = [cell_uri(notebook, i) for i in range(len(cells))]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook.as_uri(), notebook_type="jupyter-notebook", version=1,
                cells=[
                    types.NotebookCell(
                        kind=types.NotebookCellKind.Markup if language == "markdown" else types.NotebookCellKind.Code,
                        document=uri,
                    )
                    for (language, _), uri in zip(cells, uris)
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
                for (language, text), uri in zip(cells, uris)
            ],
        )
    )
    (diagnostic,) = await published(client, uris[2])
    assert diagnostic.code == "TL301"
    line = SPLIT.splitlines()[SPLIT_CELL_LINE]
    assert diagnostic.range.start == types.Position(line=SPLIT_CELL_LINE, character=line.index("train_test_split"))
    assert await published(client, uris[1]) == []  # the other code cell: nothing, but told so

    # the quick actions work inside the cell
    actions = await client.text_document_code_action_async(code_action_params(uris[2], diagnostic.range))
    assert "Disable TL301 for this line" in [action.title for action in actions]

    # an edit of the cell updates its diagnostics
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook.as_uri(), version=2),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=uris[2], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(
                                text=SPLIT.replace("test_size=0.2)", "test_size=0.2, stratify=y)")
                            )],
                        )
                    ]
                )
            ),
        )
    )
    assert (await publication(client, uris[2], version=2)).diagnostics in ([], ())

    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook.as_uri()),
            cell_text_documents=[types.TextDocumentIdentifier(uri=uri) for uri in uris],
        )
    )
    assert await published(client, uris[2]) == []


def notebook_json(cells) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
                 **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                for kind, source in cells
            ],
            "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
        ensure_ascii=True,  # "é" written as \\u00e9: columns in the JSON differ from the cell's
    )


async def test_ipynb_opened_as_text_points_into_the_json(client, tmp_path):
    notebook = tmp_path / "churn.ipynb"
    split = 'print("é"); ' + "\n".join(SPLIT.splitlines()[SPLIT_CELL_LINE:]) + "\n"
    text = notebook_json([("markdown", "# Churn\n"), ("code", LOAD), ("code", split)])
    notebook.write_text(text)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=notebook.as_uri(), language_id="json", version=1, text=text)
        )
    )
    (diagnostic,) = await published(client, notebook.as_uri())
    assert diagnostic.code == "TL301"
    json_line = text.splitlines()[diagnostic.range.start.line]
    assert json_line[diagnostic.range.start.character:].startswith("train_test_split(X, y")
    # no `# noqa` edits into JSON strings
    actions = await client.text_document_code_action_async(code_action_params(notebook.as_uri(), diagnostic.range))
    assert not actions


async def test_broken_cell_in_a_synchronised_notebook(client, tmp_path):
    notebook = tmp_path / "half.ipynb"
    cells = [LOAD, "X_train, X_test = train_test_split(X, y,\n", SPLIT]
    uris = [cell_uri(notebook, i) for i in range(3)]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook.as_uri(), notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=uri) for uri in uris],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
                for text, uri in zip(cells, uris)
            ],
        )
    )
    assert codes(await published(client, uris[1])) == ["TL001"]
    assert codes(await published(client, uris[2])) == ["TL301"]  # the other cells still analysed
