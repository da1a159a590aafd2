"""Notebook cells get the parse guard scripts get: a cell nested too deep for libcst's native
parser (which crashes the process, no exception) is reported in its own coordinates, TL001
where CPython refuses it and TL004 where CPython accepts it, and the other cells are still
analysed.

Whether CPython's `ast` accepts a 4,000-link attribute chain depends on the version and on
the recursion limit (Python 3.9, 3.10 and 3.13 accept it by default, 3.11 and 3.12 do not),
so the in-process tests raise the limit as a host program may: the cell then parses in
CPython and must still never reach libcst.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from trainlint.core.config import Config
from trainlint.run.parallel import lint_paths

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)
BRACKETS = "x = " + "(" * 100_000 + ")" * 100_000 + "\n"
CHAIN = "x = a" + ".b" * 4_000 + "\n"


def write_notebook(path, *cells):
    path.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
                  for source in cells],
    }))
    return path


@pytest.fixture
def host_recursion_limit():
    """A host that raised the recursion limit (or a Python whose `ast` accepts the chain)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    yield
    sys.setrecursionlimit(previous)


@pytest.mark.parametrize("deep, code", [(BRACKETS, "TL001"), (CHAIN, "TL004")], ids=["brackets", "chain"])
def test_a_deep_cell_is_reported_and_the_other_cells_are_analysed(tmp_path, host_recursion_limit, deep, code):
    path = write_notebook(tmp_path / "deep.ipynb", deep, FLAGGED)
    found = lint_paths([path], Config(), jobs=1)
    assert [(d.code, d.cell) for d in found] == [(code, 1), ("TL301", 2)], found
    assert "\n" not in found[0].message and len(found[0].message) <= 300


def test_several_deep_cells_each_get_their_own_diagnostic(tmp_path, host_recursion_limit):
    path = write_notebook(tmp_path / "deep.ipynb", CHAIN, FLAGGED, BRACKETS, "import torch\n" + CHAIN)
    found = lint_paths([path], Config(), jobs=1)
    assert [(d.code, d.cell) for d in found] == [("TL004", 1), ("TL301", 2), ("TL001", 3), ("TL004", 4)]
    assert found[0].message.startswith("file skipped: expression too deep or long for the parser")


@pytest.mark.slow  # a CLI subprocess
def test_the_cli_survives_deep_cells(tmp_path, run_trainlint):
    write_notebook(tmp_path / "deep.ipynb", BRACKETS, CHAIN, FLAGGED)
    result = run_trainlint("--no-cache", "-j", "1", "deep.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(": ")[1].split()[0] for line in lines[:3]] == ["TL001", "TL004", "TL301"], lines
    assert lines[0].startswith("deep.ipynb:cell 1:") and lines[1].startswith("deep.ipynb:cell 2:")
    assert lines[2].startswith("deep.ipynb:cell 3:4:36:")
    assert "Traceback" not in result.stderr
