"""Messages that cite another line say "cell N, line M" in notebooks (issue 21, item 5).

Every rule example and fixture script whose findings cite a line is turned into a notebook
(one cell per chunk, with markdown cells between, so cell numbers are not code-cell
indexes); each cited line must then be named by cell, and name the same code."""

from __future__ import annotations

import re
from typing import Dict, List, Set

import pytest

from conftest import FIXTURES
from notebook_fixtures import notebook_code_lines, script_to_notebook
from trainlint import lint_source
from trainlint.rules import all_rules

CITED = re.compile(r"(?:(cell (\d+), )?)\bline (\d+)")
# The rules whose messages cite other lines; each must be exercised here.
CROSS_REFERENCING = {"TL302", "TL303", "TL304", "TL306", "TL307", "TL402"}


def full_text(diagnostic) -> str:
    """The message with whatever `--output-format full` adds below it."""
    return " ".join(filter(None, (diagnostic.message, diagnostic.explanation)))


def _citing(text: str, path: str) -> List:
    return [d for d in lint_source(text, path) if CITED.search(full_text(d))]


def _examples() -> Dict[str, str]:
    examples = {}
    for rule in all_rules():
        for number, snippet in enumerate(rule.invalid_snippets()):
            if isinstance(snippet, str) and _citing(snippet, "script.py"):
                examples[f"{rule.code}-example-{number}"] = snippet
    return examples


EXAMPLES = _examples()
FIXTURE_SCRIPTS = sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.py"))


def test_every_cross_referencing_rule_is_exercised():
    codes: Set[str] = set()
    for text in EXAMPLES.values():
        codes |= {d.code for d in _citing(text, "script.py")}
    assert CROSS_REFERENCING <= codes


def _cases():
    # the rule examples run in the fast subset; the fixture scripts, slower, in the full suite
    yield from sorted(EXAMPLES)
    for name in FIXTURE_SCRIPTS:
        yield pytest.param(name, marks=pytest.mark.slow)


@pytest.mark.parametrize("name", list(_cases()))
def test_notebook_messages_cite_lines_by_cell(name):
    script = EXAMPLES[name] if name in EXAMPLES else (FIXTURES / name).read_text(encoding="utf-8")
    script_lines = script.splitlines()
    cited_in_script = sorted(
        (d.code, script_lines[int(m.group(3)) - 1].strip())
        for d in _citing(script, "script.py") for m in CITED.finditer(full_text(d))
    )
    notebook = script_to_notebook(script, name)
    cell_lines = {(cell, line): text for cell, line, text in notebook_code_lines(notebook)}
    cited_in_notebook = []
    for diagnostic in _citing(notebook, "nb.ipynb"):
        for match in CITED.finditer(full_text(diagnostic)):
            assert match.group(1), f"{diagnostic.code} cites a line of the joined cells: {diagnostic.message}"
            cited = cell_lines[(int(match.group(2)), int(match.group(3)))]
            cited_in_notebook.append((diagnostic.code, cited.strip()))
    # the same findings cite the same code, by cell
    assert sorted(cited_in_notebook) == cited_in_script
