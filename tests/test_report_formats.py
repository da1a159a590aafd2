"""Output formats: text with code frames, JSON, GitHub annotations, statistics, and the
`--output-format` / `--output-file` / `--show-source` / `--statistics` options end to end.
SARIF has its own file (test_report_sarif.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity
from trainlint.report import ReportOptions, render
from trainlint.report.frame import code_frame, source_lines
from trainlint.report.github import escape_data, escape_property, format_github
from trainlint.report.json import format_json
from trainlint.report.statistics import format_statistics

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    Xa, Xb, ya, yb = train_test_split(
        X, y,
        test_size=0.3)
    RandomForestClassifier().fit(Xa, ya)
    """
)


def diagnostic(**changes) -> Diagnostic:
    values = dict(
        code="TL301", name="unstratified-split", message="split without stratification",
        severity=Severity.WARNING, line=4, col=36, end_line=4, end_col=58, path="train.py",
    )
    values.update(changes)
    return Diagnostic(**values)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- pure reporters -----------------------------------------------------------------------


def test_json_fields():
    fix = Fix(edits=(Edit(4, 57, 4, 57, ", stratify=y"),), safe=True, description="Pass stratify=y")
    [item] = json.loads(format_json([diagnostic(fix=fix)]))
    assert item == {
        "path": "train.py", "cell": None, "code": "TL301", "name": "unstratified-split",
        "message": "split without stratification", "severity": "warning",
        "explanation": "",
        "url": "https://github.com/trainlint-ml/trainlint/blob/main/docs/rules/TL301.md",
        "line": 4, "column": 36, "end_line": 4, "end_column": 58, "noqa_row": 4,
        "fix": {
            "applicability": "safe", "description": "Pass stratify=y",
            "edits": [{"content": ", stratify=y", "line": 4, "column": 57, "end_line": 4, "end_column": 57}],
        },
    }


def test_json_of_nothing_is_an_empty_list():
    assert json.loads(format_json([])) == []


def test_github_escaping():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("dir:a,b%.py") == "dir%3Aa%2Cb%25.py"
    line = format_github([diagnostic(path="a,b:c.py", message="50% of rows\nare: test, rows")])
    assert line == (
        "::warning file=a%2Cb%3Ac.py,line=4,col=36,endLine=4,endColumn=58,title=TL301"
        "::50%25 of rows%0Aare: test, rows\n"
    )


def test_github_levels_and_notebook_cells():
    error = format_github([diagnostic(severity=Severity.ERROR, code="TL001")])
    assert error.startswith("::error file=train.py,line=4,")
    notice = format_github([diagnostic(severity=Severity.INFO)])
    assert notice.startswith("::notice ")
    cell = format_github([diagnostic(path="nb.ipynb", cell=3, line=2, col=5)])
    assert cell == "::warning file=nb.ipynb,title=TL301::cell 3, line 2, col 5: split without stratification\n"


def test_statistics_sorted_by_count_then_code():
    found = [diagnostic(code="TL301"), diagnostic(code="TL101", name="eval-in-train-mode"),
             diagnostic(code="TL301", line=9), diagnostic(code="TL001", name="syntax-error")]
    assert format_statistics(found) == (
        "2  TL301  unstratified-split\n1  TL001  syntax-error\n1  TL101  eval-in-train-mode\n"
    )
    assert format_statistics([]) == ""


def test_code_frame_single_and_multi_line():
    lines = source_lines(FLAGGED)
    frame = code_frame(diagnostic(line=4, col=36, end_line=4, end_col=58), lines)
    assert frame == (
        "  |\n"
        "4 | X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "  |                                    ^^^^^^^^^^^^^^^^^^^^^^\n"
    )
    frame = code_frame(diagnostic(line=6, col=18, end_line=8, end_col=18), lines)
    assert frame.splitlines() == [
        "  |",
        "6 | Xa, Xb, ya, yb = train_test_split(",
        "  |                  ^^^^^^^^^^^^^^^^^",
        "7 |     X, y,",
        "  |     ^^^^^",
        "8 |     test_size=0.3)",
        "  |     ^^^^^^^^^^^^^",
    ]


def test_code_frame_keeps_tabs_so_carets_line_up():
    frame = code_frame(diagnostic(line=1, col=3, end_line=1, end_col=6), ["\tx(abc)"])
    assert frame.splitlines()[2] == "  | \t ^^^"


def test_text_show_source_frames_notebook_cells_with_cell_lines():
    cell_finding = diagnostic(path="nb.ipynb", cell=2, line=1, col=5, end_line=1, end_col=8)
    sources = {"train.py": FLAGGED, ("nb.ipynb", 2): "a = f(x)\n"}
    text = render("text", [cell_finding, diagnostic(path="other.py")], sources,
                  options=ReportOptions(show_source=True))
    assert text.splitlines()[1:4] == ["  |", "1 | a = f(x)", "  |     ^^^"]
    assert text.splitlines()[4].startswith("other.py:4:36: TL301")  # no source: no frame
    assert len(text.splitlines()) == 5


# -- end to end, through the installed command ----------------------------------------------


@pytest.mark.slow  # several CLI subprocess runs
def test_json_output_matches_text_output(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    text = run_trainlint("train.py", cwd=tmp_path)
    result = run_trainlint("train.py", "--output-format", "json", cwd=tmp_path)
    assert result.returncode == 1
    items = json.loads(result.stdout)
    assert [f"{i['path']}:{i['line']}:{i['column']}: {i['code']}" for i in items] == [
        line.split(" [*]")[0] for line in text.stdout.splitlines()
    ]
    assert items[0]["fix"]["applicability"] == "safe"


def test_github_output(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", "--output-format=github", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::warning file=train.py,line=4,col=36,endLine=4,endColumn=58,title=TL301::")
    assert lines[1].startswith("::warning file=train.py,line=6,col=18,endLine=8,endColumn=19,title=TL301::")


@pytest.mark.slow  # several CLI subprocess runs
def test_output_format_from_config_and_command_line_wins(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\noutput-format = "json"\n')
    assert json.loads(run_trainlint("train.py", cwd=tmp_path).stdout)[0]["code"] == "TL301"
    overridden = run_trainlint("train.py", "--output-format", "text", cwd=tmp_path)
    assert overridden.stdout.startswith("train.py:4:36: TL301")


def test_bad_output_format_is_exit_2(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    assert run_trainlint("train.py", "--output-format", "xml", cwd=tmp_path).returncode == 2
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\noutput-format = "xml"\n')
    result = run_trainlint("train.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "output-format: unknown output format 'xml'" in result.stderr


@pytest.mark.slow  # several CLI subprocess runs
def test_output_file(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", "--output-format", "json", "--output-file", "out/report.json",
                           cwd=tmp_path)
    assert result.returncode == 2  # the folder does not exist: a clear error, no traceback
    assert "out/report.json: cannot write" in result.stderr
    result = run_trainlint("train.py", "--output-format", "json", "--output-file", "report.json",
                           cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert len(json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))) == 2


def test_show_source_and_statistics(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    write(tmp_path, "other.py", FLAGGED)
    result = run_trainlint("train.py", "other.py", "--show-source", "--statistics", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert out[0].startswith("other.py:4:36: TL301")
    assert out[1:4] == [
        "  |",
        "4 | X_train, X_test, y_train, y_test = train_test_split(X, y)",
        "  |                                    ^^^^^^^^^^^^^^^^^^^^^^",
    ]
    assert out[-1] == "4  TL301  unstratified-split"


def test_show_source_in_a_notebook(tmp_path, run_trainlint):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Churn"]},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": FLAGGED.splitlines(keepends=True)}]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(tmp_path, "churn.ipynb", json.dumps(notebook))
    out = run_trainlint("churn.ipynb", "--show-source", "--select", "TL301", cwd=tmp_path).stdout.splitlines()
    assert out[0].startswith("churn.ipynb:cell 2:4:36: TL301")
    assert out[2] == "4 | X_train, X_test, y_train, y_test = train_test_split(X, y)"


def test_statistics_keep_machine_output_parseable(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", "--output-format", "json", "--statistics", cwd=tmp_path)
    assert len(json.loads(result.stdout)) == 2
    assert "2  TL301  unstratified-split" in result.stderr
