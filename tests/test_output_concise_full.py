"""`--output-format concise|full` (issue 21): concise, the default, is one short line per
finding; full adds the explanation (why it matters, what to do) and the rule's page below it.
JSON findings carry `explanation`, `url` and `noqa_row`."""

from __future__ import annotations

import json
import re

import pytest

from conftest import FIXTURES
from notebook_fixtures import script_to_notebook
from trainlint import lint_source
from trainlint.core.project import rule_url
from trainlint.rules import all_rules
from trainlint.rules.base import split_message

SPLIT = (
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
    "LogisticRegression().fit(X_train, y_train)\n"
)
CONCISE = 100  # characters of message, quoted code counted as one character


def _length(message: str) -> int:
    return len(re.sub(r"`[^`]*`", "`x`", message))


def _examples():
    for rule in all_rules():
        for snippet in rule.invalid_snippets():
            if isinstance(snippet, str):
                yield rule.code, snippet


def test_every_rule_message_is_short_and_explained():
    for code, snippet in _examples():
        for diagnostic in lint_source(snippet, "example.py"):
            if diagnostic.code.startswith("TL0"):
                continue  # engine diagnostics: the parser's or reader's own words
            assert _length(diagnostic.message) <= CONCISE, (code, diagnostic.message)
            assert diagnostic.explanation, (code, diagnostic.message)


@pytest.mark.slow  # every fixture
def test_fixture_messages_are_short():
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix in (".py", ".ipynb"):
            for diagnostic in lint_source(path.read_text(encoding="utf-8"), str(path)):
                assert _length(diagnostic.message) <= CONCISE, (str(path), diagnostic.message)


def test_split_message_cuts_at_the_first_top_level_clause():
    assert split_message("split without stratification: the mix differs; pass stratify=y") == (
        "split without stratification", "the mix differs; pass stratify=y")
    assert split_message("`a; b` is computed (over x: y), so it leaks") == (
        "`a; b` is computed (over x: y)", "so it leaks")
    assert split_message("no clause") == ("no clause", "")


def test_concise_is_the_default_and_full_adds_the_explanation(run_trainlint, tmp_path):
    (tmp_path / "train.py").write_text(SPLIT, encoding="utf-8")
    default = run_trainlint("train.py", cwd=tmp_path)
    concise = run_trainlint("--output-format", "concise", "train.py", cwd=tmp_path)
    assert default.stdout == concise.stdout == (
        "train.py:3:36: TL301 [*] classification target split without stratification\n")
    full = run_trainlint("--output-format", "full", "train.py", cwd=tmp_path)
    first, *below = full.stdout.splitlines()
    assert first == default.stdout.rstrip("\n")
    assert below and all(line.startswith("    ") for line in below)
    assert "pass stratify=y" in " ".join(line.strip() for line in below)
    assert below[-1].strip() == rule_url("TL301")
    assert full.returncode == default.returncode == 1


def test_full_in_the_config(run_trainlint, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\noutput-format = "full"\n', encoding="utf-8")
    (tmp_path / "train.py").write_text(SPLIT, encoding="utf-8")
    assert rule_url("TL301") in run_trainlint("train.py", cwd=tmp_path).stdout


def test_json_has_url_explanation_and_noqa_row_in_cell_lines(run_trainlint, tmp_path):
    (tmp_path / "nb.ipynb").write_text(script_to_notebook(SPLIT, "Split"), encoding="utf-8")
    result = run_trainlint("--output-format", "json", "nb.ipynb", cwd=tmp_path)
    [finding] = json.loads(result.stdout)
    assert finding["url"] == rule_url("TL301")
    assert "stratify" in finding["explanation"]
    assert finding["cell"] is not None and finding["noqa_row"] == finding["line"]
    # the row is the cell's: a `# noqa` put there silences the finding
    notebook = json.loads((tmp_path / "nb.ipynb").read_text(encoding="utf-8"))
    source = notebook["cells"][finding["cell"] - 1]["source"]
    row = finding["noqa_row"] - 1
    source[row] = source[row].rstrip("\n") + "  # noqa: TL301" + ("\n" if source[row].endswith("\n") else "")
    assert not [d for d in lint_source(json.dumps(notebook), "nb.ipynb") if d.code == "TL301"]
