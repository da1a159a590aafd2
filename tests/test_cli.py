"""End-to-end tests of the command line, through the installed `trainlint` script."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

# Every test here starts the installed command at least once (about half a second each); the
# fast subset keeps the in-process CLI tests and single-run CLI tests of the other files.
pytestmark = pytest.mark.slow

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)
CLEAN = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y, stratify=y)")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_output_format_and_exit_code(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("train.py:4:36: TL301 [*] classification target split")
    assert "pass stratify=y" not in result.stdout  # concise by default: one line per finding
    assert result.stderr.strip() == "Found 1 problem in 1 file (1 fixable with --fix)."
    full = run_trainlint("--output-format", "full", "train.py", cwd=tmp_path)
    assert full.stdout.startswith(result.stdout.rstrip("\n"))
    assert "stratify=y" in " ".join(full.stdout.split())


def test_clean_run_exits_zero(tmp_path, run_trainlint):
    write(tmp_path, "train.py", CLEAN)
    result = run_trainlint("train.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.strip() == "All checks passed."


def test_check_subcommand_and_default_path(tmp_path, run_trainlint):
    write(tmp_path, "a.py", FLAGGED)
    assert run_trainlint("check", "a.py", cwd=tmp_path).stdout == run_trainlint("a.py", cwd=tmp_path).stdout
    assert run_trainlint(cwd=tmp_path).stdout.startswith("a.py:4:36: TL301")


def test_sorted_by_path_line_column(tmp_path, run_trainlint):
    twice = FLAGGED + "X_a, X_b, y_a, y_b = train_test_split(X, y)\n"
    write(tmp_path, "b.py", twice)
    write(tmp_path, "a.py", FLAGGED)
    lines = run_trainlint(".", cwd=tmp_path).stdout.splitlines()
    locations = [line.split(": ")[0] for line in lines]
    assert locations == ["a.py:4:36", "b.py:4:36", "b.py:6:22"]


def test_exit_zero_and_quiet(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("--exit-zero", "--quiet", "train.py", cwd=tmp_path)
    assert result.returncode == 0
    assert "TL301" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("selector", ["TL301", "TL3", "unstratified-split", "TL"])
def test_select_by_code_prefix_or_name(tmp_path, run_trainlint, selector):
    write(tmp_path, "train.py", FLAGGED)
    assert "TL301" in run_trainlint("--select", selector, "train.py", cwd=tmp_path).stdout


@pytest.mark.parametrize("selector", ["TL301", "TL3", "unstratified-split"])
def test_ignore_by_code_prefix_or_name(tmp_path, run_trainlint, selector):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("--ignore", selector, "train.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


def test_extend_select_adds_to_config_selection(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nselect = ["TL0"]\n')
    write(tmp_path, "train.py", FLAGGED)
    assert run_trainlint("train.py", cwd=tmp_path).stdout == ""
    assert "TL301" in run_trainlint("--extend-select", "TL301", "train.py", cwd=tmp_path).stdout


def test_unknown_selector_is_a_usage_error(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("--select", "TL999", "train.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "--select: unknown rule code or name 'TL999'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_is_an_error_but_others_are_linted(tmp_path, run_trainlint):
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", "nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.py: no such file or directory" in result.stderr
    assert "train.py:4:36: TL301" in result.stdout


def test_bad_option_is_exit_2(tmp_path, run_trainlint):
    result = run_trainlint("--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


# -- suppression ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "comment",
    ["# noqa", "# noqa: TL301", "# noqa: TL201, TL301", "# noqa:TL301,TL201", "# NOQA: TL3"],
)
def test_noqa_on_reported_line(tmp_path, run_trainlint, comment):
    text = FLAGGED.replace("train_test_split(X, y)\n", f"train_test_split(X, y)  {comment}\n")
    write(tmp_path, "train.py", text)
    assert run_trainlint("train.py", cwd=tmp_path).stdout == ""


def test_noqa_for_another_code_does_not_suppress(tmp_path, run_trainlint):
    text = FLAGGED.replace("train_test_split(X, y)\n", "train_test_split(X, y)  # noqa: TL201\n")
    write(tmp_path, "train.py", text)
    assert "TL301" in run_trainlint("train.py", cwd=tmp_path).stdout


def test_noqa_on_first_line_of_multiline_statement(tmp_path, run_trainlint):
    text = FLAGGED.replace(
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n",
        "X_train, X_test, y_train, y_test = (  # noqa: TL301\n    train_test_split(X, y)\n)\n",
    )
    write(tmp_path, "train.py", text)
    assert run_trainlint("train.py", cwd=tmp_path).stdout == ""


def test_noqa_inside_a_string_does_not_count(tmp_path, run_trainlint):
    text = FLAGGED.replace(
        "train_test_split(X, y)\n", 'train_test_split(X, y); note = "# noqa"\n'
    )
    write(tmp_path, "train.py", text)
    assert "TL301" in run_trainlint("train.py", cwd=tmp_path).stdout


@pytest.mark.parametrize("header, reported", [
    ("# trainlint: noqa\n", False),
    ("# trainlint: noqa: TL301\n", False),
    ("# trainlint: noqa: TL201\n", True),
])
def test_file_level_noqa(tmp_path, run_trainlint, header, reported):
    write(tmp_path, "train.py", header + FLAGGED)
    assert ("TL301" in run_trainlint("train.py", cwd=tmp_path).stdout) is reported


def test_syntax_error_is_reported_and_other_files_still_linted(tmp_path, run_trainlint):
    write(tmp_path, "broken.py", "from sklearn.model_selection import train_test_split\ndef f(:\n")
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint(".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "broken.py:2:7: TL001 syntax error: invalid syntax"
    assert lines[1].startswith("train.py:4:36: TL301")
    assert "Traceback" not in result.stderr


def test_syntax_error_is_not_suppressible(tmp_path, run_trainlint):
    write(tmp_path, "broken.py", "# trainlint: noqa\nfrom sklearn import train_test_split, LogisticRegression\nx = (  # noqa\n")
    assert "TL001" in run_trainlint("broken.py", cwd=tmp_path).stdout


def test_unreadable_files_get_one_line(tmp_path, run_trainlint):
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02\x03")
    (tmp_path / "latin.py").write_bytes(b"label = 'caf\xe9'\n")
    result = run_trainlint(".", cwd=tmp_path)
    assert result.returncode == 1
    assert "blob.py:1:1: TL002 binary file" in result.stdout
    assert "latin.py:1:1: TL002 cannot decode as utf-8" in result.stdout
    assert "Traceback" not in result.stderr


# -- discovery --------------------------------------------------------------------------

def test_directory_walk_skips_excluded_folders(tmp_path, run_trainlint):
    for folder in ("src", ".git", "__pycache__", "build", "dist", ".tox", "node_modules", "env"):
        write(tmp_path, f"{folder}/train.py", FLAGGED)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write(tmp_path, "src/notes.txt", FLAGGED)
    result = run_trainlint(".", cwd=tmp_path)
    paths = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert paths == {"src/train.py"}


def test_gitignore_is_honoured(tmp_path, run_trainlint):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "generated/\n*_scratch.py\n!keep_scratch.py\n")
    write(tmp_path, "generated/train.py", FLAGGED)
    write(tmp_path, "exp_scratch.py", FLAGGED)
    write(tmp_path, "keep_scratch.py", FLAGGED)
    write(tmp_path, "train.py", FLAGGED)
    write(tmp_path, "sub/.gitignore", "local.py\n")
    write(tmp_path, "sub/local.py", FLAGGED)
    result = run_trainlint(".", cwd=tmp_path)
    paths = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert paths == {"keep_scratch.py", "train.py"}


def test_explicit_file_is_linted_unless_force_exclude(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nextend-exclude = ["legacy"]\n')
    write(tmp_path, "legacy/old_train.py", FLAGGED)
    assert run_trainlint(".", cwd=tmp_path).stdout == ""
    assert "TL301" in run_trainlint("legacy/old_train.py", cwd=tmp_path).stdout
    assert run_trainlint("--force-exclude", "legacy/old_train.py", cwd=tmp_path).stdout == ""


# -- rules and rule ---------------------------------------------------------------------

def test_rules_lists_every_rule(run_trainlint):
    from trainlint.rules import all_rules

    result = run_trainlint("rules")
    assert result.returncode == 0
    for rule in all_rules():
        assert any(line.split()[:3] == [rule.code, rule.name, rule.severity.value]
                   for line in result.stdout.splitlines())


@pytest.mark.parametrize("key", ["TL301", "tl301", "unstratified-split"])
def test_rule_prints_documentation(run_trainlint, key):
    result = run_trainlint("rule", key)
    assert result.returncode == 0
    for heading in ("# TL301 unstratified-split", "## What it does", "## Why it matters",
                    "## Example", "## Use instead", "## Fix safety"):
        assert heading in result.stdout


def test_unknown_rule_is_exit_2(run_trainlint):
    result = run_trainlint("rule", "TL999")
    assert result.returncode == 2
    assert "unknown rule 'TL999'" in result.stderr


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    write(tmp_path, "train.py", FLAGGED)
    result = subprocess.run([sys.executable, "-m", "trainlint", "train.py"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "TL301" in result.stdout


def test_explicit_folder_is_linted_even_if_gitignored(tmp_path, run_trainlint):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "vendor/\n")
    write(tmp_path, "vendor/train.py", FLAGGED)
    write(tmp_path, "vendor/.gitignore", "skip_me.py\n")
    write(tmp_path, "vendor/skip_me.py", FLAGGED)
    assert run_trainlint(".", cwd=tmp_path).stdout == ""
    lines = run_trainlint("vendor", cwd=tmp_path).stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["vendor/train.py"]
