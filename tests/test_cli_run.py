"""The command line as a user meets it (issue 21): honest results for bad or empty paths,
standard input, the configuration of each file (the nearest pyproject.toml), rule names in
`# noqa`, `--show-settings` and `--show-files`. In process where possible (fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_cli import CLEAN, FLAGGED, write
from trainlint.core.config import Config
from trainlint.frontends.cli import main
from trainlint.run.engine import lint_source


def run(monkeypatch, capsys, cwd: Path, *args: str):
    monkeypatch.chdir(cwd)
    code = main(["--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- bad and empty paths ------------------------------------------------------------------

def test_nonexistent_path_is_an_error_and_never_all_checks_passed(tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, tmp_path, "nope.py")
    assert code == 2
    assert "trainlint: error: nope.py: no such file or directory" in err
    assert "All checks passed" not in err + out


def test_nonexistent_path_beside_a_clean_file_still_fails(tmp_path, monkeypatch, capsys):
    write(tmp_path, "ok.py", CLEAN)
    code, out, err = run(monkeypatch, capsys, tmp_path, "ok.py", "nope")
    assert code == 2 and "All checks passed" not in err


def test_folder_without_python_files_warns(tmp_path, monkeypatch, capsys):
    write(tmp_path, "data/readme.txt", "no code here")
    code, out, err = run(monkeypatch, capsys, tmp_path, "data")
    assert code == 0
    assert "trainlint: warning: No Python files or notebooks found under data" in err


# -- per-file configuration ---------------------------------------------------------------

def two_projects(root: Path) -> None:
    """a/ ignores TL301 in its own pyproject.toml, b/ has none (the defaults)."""
    write(root, "a/pyproject.toml", '[tool.trainlint]\nignore = ["TL301"]\n')
    write(root, "a/train.py", FLAGGED)
    write(root, "b/pyproject.toml", '[tool.trainlint]\nper-file-ignores = {"tests/*.py" = ["TL3"]}\n')
    write(root, "b/train.py", FLAGGED)
    write(root, "b/tests/test_train.py", FLAGGED)


def test_each_file_gets_its_nearest_pyproject(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    code, out, err = run(monkeypatch, capsys, tmp_path, "a", "b")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == ["b/train.py"]  # a ignores TL301; b/tests too


def test_per_file_config_from_the_root_of_a_monorepo(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    write(tmp_path, "pyproject.toml", '[tool.trainlint]\nselect = ["TL1"]\n')  # the root's: no TL3
    write(tmp_path, "top.py", FLAGGED)
    code, out, err = run(monkeypatch, capsys, tmp_path, ".")
    assert [line.split(":")[0] for line in out.splitlines()] == ["b/train.py"]


def test_config_option_overrides_every_file(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    write(tmp_path, "strict.toml", "select = [\"TL\"]\n")
    code, out, err = run(monkeypatch, capsys, tmp_path, "--config", "strict.toml", "a", "b")
    assert sorted(line.split(":")[0] for line in out.splitlines()) == [
        "a/train.py", "b/tests/test_train.py", "b/train.py"]


def test_excludes_of_a_nested_project_apply_inside_it(tmp_path, monkeypatch, capsys):
    write(tmp_path, "a/pyproject.toml", '[tool.trainlint]\nextend-exclude = ["legacy"]\n')
    write(tmp_path, "a/legacy/old.py", FLAGGED)
    write(tmp_path, "a/new.py", FLAGGED)
    code, out, err = run(monkeypatch, capsys, tmp_path, "--show-files", ".")
    assert code == 0
    assert out.splitlines() == [f"a/new.py\t{tmp_path.resolve() / 'a' / 'pyproject.toml'}"]


def test_a_bad_config_in_one_project_is_an_error_naming_it(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    write(tmp_path, "b/pyproject.toml", '[tool.trainlint]\nselect = "TL1"\n')
    code, out, err = run(monkeypatch, capsys, tmp_path, "a", "b")
    assert code == 2
    assert "b/pyproject.toml: tool.trainlint.select: expected a list of strings, got a string" in err


def test_cache_keys_differ_per_project_root():
    """Two projects with the same table: per-file-ignores globs are anchored at each root."""
    one = Config(root="/x/a", per_file_ignores=(("tests/*.py", ("TL3",)),))
    other = Config(root="/x/b", per_file_ignores=(("tests/*.py", ("TL3",)),))
    assert one.fingerprint() != other.fingerprint()


@pytest.mark.slow  # two CLI runs with the cache on
def test_cache_serves_each_project_its_own_results(tmp_path, run_trainlint, monkeypatch):
    monkeypatch.delenv("TRAINLINT_NO_CACHE", raising=False)
    two_projects(tmp_path)
    first = run_trainlint("a", "b", cwd=tmp_path)
    write(tmp_path, "a/pyproject.toml", "[tool.trainlint]\n")  # a no longer ignores TL301
    second = run_trainlint("a", "b", cwd=tmp_path)
    assert first.stdout.count("TL301") == 1 and second.stdout.count("TL301") == 2


# -- --show-settings, --show-files ----------------------------------------------------------

def test_show_settings_names_the_config_file_and_values(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    code, out, err = run(monkeypatch, capsys, tmp_path, "--show-settings", "--ignore", "TL201", "a/train.py")
    assert code == 0
    assert f"Settings path: {tmp_path.resolve() / 'a' / 'pyproject.toml'}" in out
    assert "ignore = ['TL301', 'TL201']" in out


def test_show_settings_without_config(tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, tmp_path, "--show-settings")
    assert code == 0 and "Settings path: (none: the defaults)" in out and "select = ['TL']" in out


def test_show_files_lists_what_would_be_linted(tmp_path, monkeypatch, capsys):
    two_projects(tmp_path)
    write(tmp_path, "build/generated.py", FLAGGED)
    code, out, err = run(monkeypatch, capsys, tmp_path, "--show-files")
    files = [line.split("\t")[0] for line in out.splitlines()]
    assert files == ["a/train.py", "b/train.py", "b/tests/test_train.py"]  # the order they are linted in
    assert code == 0 and not err


# -- standard input -------------------------------------------------------------------------

def test_stdin_uses_the_config_of_its_filename(tmp_path, run_trainlint):
    two_projects(tmp_path)
    ignored = run_trainlint("-", "--stdin-filename", "a/new.py", cwd=tmp_path, input=FLAGGED)
    assert (ignored.returncode, ignored.stdout) == (0, "")
    reported = run_trainlint("-", "--stdin-filename", "b/tests/test_new.py", "--select", "TL",
                             cwd=tmp_path, input=FLAGGED)
    assert (reported.returncode, reported.stdout) == (0, "")  # b's per-file-ignores
    plain = run_trainlint("-", "--stdin-filename", "b/new.py", cwd=tmp_path, input=FLAGGED)
    assert plain.returncode == 1 and plain.stdout.startswith("b/new.py:4:36: TL301")


def test_stdin_fix_writes_the_fixed_source_to_stdout(tmp_path, run_trainlint):
    result = run_trainlint("-", "--stdin-filename", "train.py", "--fix", cwd=tmp_path, input=FLAGGED)
    assert result.returncode == 0, result.stderr
    assert result.stdout == CLEAN
    assert "Fixed 1 problem. No problems left." in result.stderr
    assert not (tmp_path / "train.py").exists()


def test_stdin_fix_with_remaining_findings_reports_on_stderr(tmp_path, run_trainlint):
    text = FLAGGED + "def broken(:\n"
    result = run_trainlint("-", "--fix", cwd=tmp_path, input=text)
    assert result.returncode == 1
    assert result.stdout == text  # not parsable: passed through unchanged
    assert "-:6:12: TL001" in result.stderr


def test_dash_is_not_a_file_name(tmp_path, run_trainlint):
    result = run_trainlint("-", cwd=tmp_path, input=CLEAN)
    assert result.returncode == 0 and "no such file" not in result.stderr


# -- rule names in # noqa -------------------------------------------------------------------

@pytest.mark.parametrize("comment", ["# noqa: unstratified-split", "# noqa: TL201, unstratified-split",
                                     "# NOQA:Unstratified-Split"])
def test_noqa_takes_rule_names(comment):
    text = FLAGGED.replace("train_test_split(X, y)\n", f"train_test_split(X, y)  {comment}\n")
    assert lint_source(text, "train.py") == []


def test_noqa_with_another_rule_name_does_not_suppress():
    text = FLAGGED.replace("train_test_split(X, y)\n", "train_test_split(X, y)  # noqa: last-batch-metric\n")
    assert [d.code for d in lint_source(text, "train.py")] == ["TL301"]


def test_file_level_noqa_takes_rule_names():
    assert lint_source("# trainlint: noqa: unstratified-split\n" + FLAGGED, "train.py") == []
    assert [d.code for d in lint_source("# trainlint: noqa: mean-of-batch-means\n" + FLAGGED, "train.py")] == ["TL301"]
