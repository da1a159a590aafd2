"""Configuration: loading, validation errors (one line, exit 2), per-file ignores."""

from __future__ import annotations

import pytest

from test_cli import FLAGGED, write


@pytest.mark.parametrize(
    "table, expected",
    [
        ('select = ["TL301"]\nfrobnicate = 1\n', "tool.trainlint.frobnicate: unknown key"),
        ('select = ["TL301, TL999"]\n', "tool.trainlint.select: unknown rule code or name 'TL301, TL999'"),
        ('select = "TL1"\n', "tool.trainlint.select: expected a list of strings, got a string (write ['TL1'])"),
        ('exclude = "build"\n', "tool.trainlint.exclude: expected a list of strings, got a string"),
        ('[tool.trainlint.per-file-ignores]\n"tests/*" = "TL3"\n',
         "tool.trainlint.per-file-ignores.'tests/*': expected a list of strings, got a string"),
        ("select = 3\n", "tool.trainlint.select: expected a list of strings, got int"),
        ('ignore = ["TL777"]\n', "tool.trainlint.ignore: unknown rule code or name 'TL777'"),
        ('per-file-ignores = ["x"]\n', "tool.trainlint.per-file-ignores: expected a table"),
        ('per-file-ignores = {"tests/*" = ["nope"]}\n', "unknown rule code or name 'nope'"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_config_errors_are_one_line_and_exit_2(tmp_path, run_trainlint, table, expected):
    write(tmp_path, "pyproject.toml", "[tool.trainlint]\n" + table)
    write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("train.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("trainlint: error:")]
    assert len(error_lines) == 1 and expected in error_lines[0]
    assert "pyproject.toml" in error_lines[0]


def test_config_found_in_parent_folder(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nignore = ["TL301"]\n')
    write(tmp_path, "pkg/sub/train.py", FLAGGED)
    assert run_trainlint("train.py", cwd=tmp_path / "pkg" / "sub").stdout == ""


def test_pyproject_without_table_is_skipped_on_the_way_up(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nignore = ["TL301"]\n')
    write(tmp_path, "pkg/pyproject.toml", '[project]\nname = "pkg"\n')
    write(tmp_path, "pkg/train.py", FLAGGED)
    assert run_trainlint("train.py", cwd=tmp_path / "pkg").stdout == ""


def test_explicit_config_file(tmp_path, run_trainlint):
    write(tmp_path, "custom.toml", '[tool.trainlint]\nignore = ["TL3"]\n')
    write(tmp_path, "train.py", FLAGGED)
    assert run_trainlint("--config", "custom.toml", "train.py", cwd=tmp_path).stdout == ""
    missing = run_trainlint("--config", "absent.toml", "train.py", cwd=tmp_path)
    assert missing.returncode == 2 and "absent.toml: config file not found" in missing.stderr


def test_command_line_overrides_file(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nselect = ["TL0"]\n')
    write(tmp_path, "train.py", FLAGGED)
    assert "TL301" in run_trainlint("--select", "TL3", "train.py", cwd=tmp_path).stdout


def test_per_file_ignores(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml",
          '[tool.trainlint.per-file-ignores]\n"experiments/*.py" = ["TL3"]\n"scratch_*.py" = ["unstratified-split"]\n')
    write(tmp_path, "experiments/a.py", FLAGGED)
    write(tmp_path, "scratch_b.py", FLAGGED)
    write(tmp_path, "src/c.py", FLAGGED)
    paths = {line.split(":")[0] for line in run_trainlint(".", cwd=tmp_path).stdout.splitlines()}
    assert paths == {"src/c.py"}


@pytest.mark.slow  # several CLI subprocess runs
def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path, run_trainlint):
    write(tmp_path, "build/gen.py", FLAGGED)
    write(tmp_path, "notebooks_old/x.py", FLAGGED)
    assert run_trainlint(".", cwd=tmp_path).stdout.count("TL301") == 1  # build/ skipped
    result = run_trainlint("--exclude", "notebooks_old", ".", cwd=tmp_path)
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"build/gen.py"}
