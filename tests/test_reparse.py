"""semantic.reparse: re-parsing an edited document keeps the statements it did not touch, and
the result is, tree for tree, what a parse of the whole new text gives."""

from __future__ import annotations

import random
import zlib
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.reparse import EditedDocument

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SCRIPT = textwrap.dedent(
    """\
    # A training script
    import torch

    def train(model, loader, optimizer):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
        # after the loop, at the block's indentation

    # about evaluate
    def evaluate(model, loader):
        correct = 0
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
        return correct / len(loader.dataset)


    history = []
    for epoch in range(3):
        train(model, train_loader, optimizer)
        history.append(evaluate(model, val_loader))

    if __name__ == "__main__":
        main()
    """
)

# What an editor does to a line: type into it, delete it, add one, indent or comment it.
SNIPPETS = ["x", "(", ")", ":", "\n", "    ", "#", "\\", '"""', "'", "pass\n", "    # note\n",
            "\n\n", "model.eval()\n", "    y = 2\n", "def f():\n", "\t", "\f", "\r\n", "lambda: 0"]


def edits(text: str, seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.3:
            end = min(len(text), at + rng.randrange(1, 40))
            yield text[:at] + text[end:]
        else:
            yield text[:at] + rng.choice(SNIPPETS) + text[at:]


def remembered(document: EditedDocument, text: str, module: cst.Module) -> None:
    document.remember(text, module, ModuleIndex(module, text, previous=document.pieces, keep=True))


def parse_or_none(text: str):
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError:
        return None


def sources():
    texts = {"script": SCRIPT}
    for path in sorted(FIXTURES.rglob("*.py"))[::6]:
        texts[path.name] = path.read_text(encoding="utf-8")
    return texts


@pytest.mark.parametrize("name", sorted(sources()))
def test_a_reparse_is_the_parse_of_the_whole_text(name):
    base = sources()[name]
    base_module = cst.parse_module(base)
    reused = 0
    for number, edited in enumerate(edits(base, seed=zlib.crc32(name.encode()), count=60)):
        document = EditedDocument()
        remembered(document, base, base_module)
        spliced = document.parse(edited)
        whole = parse_or_none(edited)
        if spliced is None:
            continue
        reused += 1
        assert whole is not None, f"edit {number}: a stretch parsed where the whole text does not"
        assert spliced.code == whole.code, f"edit {number}"
        assert spliced.deep_equals(whole), f"edit {number}"
    if name == "script":
        assert reused >= 3  # edits of the statements between the first block and the last


def test_a_sequence_of_edits_keeps_reusing_and_stays_exact():
    document = EditedDocument()
    text = SCRIPT
    remembered(document, text, cst.parse_module(text))
    rng = random.Random(7)
    for step in range(40):
        line = text.index("history = []")
        edited = text[:line] + f"setting_{step} = {rng.randrange(100)}\n" + text[line:]
        module = document.parse(edited)
        assert module is not None, step
        assert module.deep_equals(cst.parse_module(edited)), step
        remembered(document, edited, module)
        text = edited


def test_untouched_statements_are_the_same_nodes_and_their_records_are_reused():
    document = EditedDocument()
    module = cst.parse_module(SCRIPT)
    remembered(document, SCRIPT, module)
    edited = SCRIPT.replace("history = []", "history = [0.0]")
    spliced = document.parse(edited)
    assert spliced is not None
    same = [a is b for a, b in zip(module.body, spliced.body)]
    assert same.count(False) == 3 and same[:2] == [True, True] and same[-1]  # the edited one, its neighbours
    index = ModuleIndex(spliced, edited, previous=document.pieces, keep=True)
    whole = ModuleIndex(cst.parse_module(edited), edited)
    for node, other in zip(index._preorder, whole._preorder):
        assert type(node) is type(other)
        assert index.positions[node] == whole.positions[other]


@pytest.mark.parametrize("edit", [
    lambda text: "#!/usr/bin/env python\n" + text,  # the header
    lambda text: text + "print('done')\n",  # after the last statement
    lambda text: text.replace("import torch", "import torch, numpy"),  # the first statement
    # the first block, whose indent is the module's default, indented otherwise
    lambda text: text.replace("        optimizer.step()\n", "        optimizer.step()\n    # done\n").replace(
        "def evaluate(model, loader):\n    correct", "def evaluate(model, loader):\n  correct"),
])
def test_edits_that_only_a_whole_parse_can_settle(edit):
    document = EditedDocument()
    remembered(document, SCRIPT, cst.parse_module(SCRIPT))
    assert document.parse(edit(SCRIPT)) is None
