"""run.editing: an editor's lint of each new text, which re-parses and re-walks only the
statements around the edit, gives exactly the diagnostics of a cold lint of that text."""

from __future__ import annotations

import random

import pytest

from conftest import FIXTURES
from test_reparse import edits
from trainlint import lint_source
from trainlint.core.config import Config
from trainlint.run.editing import KEPT_DOCUMENTS, EditorSession
from trainlint.run.engine import lint_text
from trainlint.semantic import reparse

CONFIG = Config()
# Fixtures with several top-level statements after their first function: edits there are
# re-parsed in place.
DOCUMENTS = ["tl2/torch_denominators.py", "tl3/helper_refits_given_encoder.py",
             "tl4/cifar_cnn_test_checkpoint.py", "tl4/keras_callbacks_checkpoint.py"]


@pytest.fixture
def reparsed(monkeypatch):
    """How many lints took the re-parse of the statements around the edit."""
    count = [0]
    real = reparse.EditedDocument.parse

    def counting(self, text):
        module = real(self, text)
        count[0] += module is not None
        return module

    monkeypatch.setattr(reparse.EditedDocument, "parse", counting)
    return count


@pytest.mark.parametrize("path", [FIXTURES / name for name in DOCUMENTS], ids=lambda path: path.name)
def test_every_edit_of_a_session_lints_as_a_cold_lint(path, reparsed):
    session = EditorSession()
    text = path.read_text(encoding="utf-8")
    assert lint_text(text, path.name, CONFIG, session.hooks_for(path.name)) == lint_source(text, path.name)
    for number, edited in enumerate(edits(text, seed=len(path.name), count=40)):
        if random.Random(number).random() < 0.5:
            text = edited  # a session that keeps its edits; else each edit of the same text
        editor = lint_text(edited, path.name, CONFIG, session.hooks_for(path.name))
        assert editor == lint_source(edited, path.name), f"edit {number}"
    assert reparsed[0] > 0


def test_a_session_with_findings_coming_and_going(reparsed):
    lines = ["import torch\n", "\n", "\n", "def train_epoch(model, loader, optimizer, criterion):\n",
             "    model.train()\n", "    for x, y in loader:\n", "        optimizer.zero_grad()\n",
             "        criterion(model(x), y).backward()\n", "        optimizer.step()\n", "\n", "\n"]
    for i in range(6):
        lines += [f"def evaluate_{i}(model, loader):\n", "    correct = 0\n", "    for x, y in loader:\n",
                  "        correct += (model(x).argmax(1) == y).sum().item()\n",
                  "    return correct / len(loader.dataset)\n", "\n", "\n"]
    lines += ["if __name__ == '__main__':\n", "    main()\n"]
    text = "".join(lines)
    session = EditorSession()
    hooks = lambda: session.hooks_for("train.py")  # noqa: E731
    assert lint_text(text, "train.py", CONFIG, hooks()) == lint_source(text, "train.py")
    middle = text.index("def evaluate_3")
    steps = [
        text[:middle] + text[middle:].replace("    correct = 0\n", "    model.eval()\n    correct = 0\n", 1),
        text[:middle] + text[middle:].replace("    correct = 0\n", "    model.eval\n    correct = 0\n", 1),
        text[:middle] + text[middle:].replace("    correct = 0\n", "    correct = (\n", 1),  # TL001
        text,
    ]
    for number, step in enumerate(steps):
        assert lint_text(step, "train.py", CONFIG, hooks()) == lint_source(step, "train.py"), number
    assert reparsed[0] >= 3


def test_the_session_keeps_a_bounded_number_of_documents():
    session = EditorSession()
    for number in range(KEPT_DOCUMENTS + 5):
        lint_text("import torch\n", f"doc_{number}.py", CONFIG, session.hooks_for(f"doc_{number}.py"))
    assert len(session._documents) == KEPT_DOCUMENTS


def test_a_notebook_cell_edit_lints_as_a_cold_lint(reparsed):
    import json

    path = sorted((FIXTURES / "notebooks").glob("*.ipynb"), key=lambda p: -p.stat().st_size)[0]
    notebook = json.loads(path.read_text(encoding="utf-8"))
    session = EditorSession()
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    texts = [path.read_text(encoding="utf-8")]
    for cell in code_cells[1:-1]:  # each middle cell gains a line, as an editor would type it
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cell["source"] = source.rstrip("\n") + "\nprint('checked')\n"
        texts.append(json.dumps(notebook))
    for number, text in enumerate(texts):
        assert lint_text(text, path.name, CONFIG, session.hooks_for(path.name)) == lint_source(text, path.name), number
    assert reparsed[0] > 0  # the cells' joined code: a cell edit re-parses the statements around it
