"""The language server and the project index: the fixture projects' scripts get their
markers' findings, both ways, and a saved helper module re-publishes the diagnostics of the
open documents that import it (their own text did not change), also through a package's
`__init__.py`."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

pytest.importorskip("pytest_lsp", reason="needs the test extra (pytest-lsp, pygls)")

from lsprotocol import types  # noqa: E402
from test_lsp import codes, open_document, published, start  # noqa: E402
from test_fixtures import expected_findings  # noqa: E402
from test_project_index import ENGINE_WITH_EVAL, ENGINE_WITHOUT_EVAL as ENGINE, PROJECTS, TRAIN  # noqa: E402

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


async def test_the_fixture_projects_scripts_get_their_markers(request, tmp_path):
    # scripts only: notebooks are opened as notebook documents (test_lsp_notebooks)
    root = tmp_path / "projects"
    shutil.copytree(PROJECTS, root)
    (root / "pyproject.toml").write_text('[project]\nname = "projects"\n')
    client = await start(request, root, "visual-studio-code")
    try:
        scripts = sorted(root.rglob("*.py"))
        uris = {path: open_document(client, path) for path in scripts}
        for path, uri in uris.items():
            found = Counter((d.range.start.line + 1, d.code) for d in await published(client, uri, version=1))
            assert found == Counter(expected_findings(path)), path.relative_to(root)
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_saving_a_module_of_a_package_republishes_the_importers_of_the_package(request, tmp_path):
    root = tmp_path / "models_package"
    shutil.copytree(PROJECTS / "models_package", root)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    client = await start(request, root, "visual-studio-code")
    try:
        train = open_document(client, root / "train.py")
        assert [d.range.start.line + 1 for d in await published(client, train, version=1)] == [20]
        net = open_document(client, root / "models" / "net.py")
        assert await published(client, net, version=1) == []
        # TinyNet gains dropout: train.py (which imports `models`, not `net`) is re-linted
        text = (root / "models" / "net.py").read_text()
        (root / "models" / "net.py").write_text(text.replace(
            "self.out = nn.Linear(128, num_classes)", "self.out = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes))"))
        save(client, net)
        assert [d.range.start.line + 1 for d in await published(client, train, version=1)] == [20, 41]
    finally:
        await client.shutdown_session()
        await client.stop()
