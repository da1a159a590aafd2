"""The language server and the project index: a saved helper module re-publishes the
diagnostics of the open documents that import it (their own text did not change)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_lsp", reason="needs the test extra (pytest-lsp, pygls)")

from lsprotocol import types  # noqa: E402
from test_lsp import codes, open_document, published, start  # noqa: E402
from test_project_index import ENGINE_WITH_EVAL, ENGINE_WITHOUT_EVAL as ENGINE, TRAIN  # noqa: E402

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.slow]  # a server process per test

OTHER = "import torch\n\nprint(torch.__version__)\n"


def save(client, uri: str) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


async def test_saving_a_helper_republishes_its_callers(request, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (tmp_path / "engine.py").write_text(ENGINE)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "other.py").write_text(OTHER)
    client = await start(request, tmp_path, "visual-studio-code")
    try:
        train = open_document(client, tmp_path / "train.py")
        found = await published(client, train, version=1)
        assert codes(found) == ["TL101"]
        assert "engine.py:4" in found[0].message and found[0].range.start.line == 12
        other = open_document(client, tmp_path / "other.py")
        assert await published(client, other, version=1) == []
        engine = open_document(client, tmp_path / "engine.py")
        assert await published(client, engine, version=1) == []

        # The helper now calls model.eval() and is saved: train.py's finding goes away.
        (tmp_path / "engine.py").write_text(ENGINE_WITH_EVAL)
        save(client, engine)
        assert await published(client, train, version=1) == []
        # and back
        (tmp_path / "engine.py").write_text(ENGINE)
        save(client, engine)
        assert codes(await published(client, train, version=1)) == ["TL101"]
        # other.py does not name the module: never re-published
        assert not [p for p in client.published if p.uri == other]
    finally:
        await client.shutdown_session()
        await client.stop()
