"""One input never aborts the run: an undecodable file, a device, a FIFO, a folder that
cannot be listed, a match statement, each becomes one line about that input (TL002, or a
config error naming the key) and every other file is still linted."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, trainlint_command
from trainlint.core.config import Config, ConfigError, load_config
from trainlint.frontends.cli import main
from trainlint.run.discovery import discover
from trainlint.run.engine import lint_bytes, lint_source

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)


def run_cli(monkeypatch, capsys, folder: Path, *args: str):
    monkeypatch.chdir(folder)
    code = main(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def run_apart(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in its own process, with a deadline and a memory limit: what is tested here
    used to hang or read until memory ran out."""

    def limit_memory():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([*trainlint_command(), "--no-cache", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, preexec_fn=limit_memory)


def test_a_coding_cookie_that_decodes_to_a_lone_surrogate_is_a_read_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "escaped.py").write_bytes(b'# coding: unicode_escape\nimport torch\nx = "\\udc80"\n' + FLAGGED.encode())
    (tmp_path / "train.py").write_text(FLAGGED)
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, ".")
    assert code == 1, err
    assert [line.split(" ")[:2] for line in out] == [["escaped.py:1:1:", "TL002"], ["train.py:4:36:", "TL301"]]
    assert "lone surrogate" in out[0] and "line 3" in out[0]
    assert [d.code for d in lint_bytes((tmp_path / "escaped.py").read_bytes(), "escaped.py", Config())] == ["TL002"]


def _notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def test_a_notebook_cell_fix_beside_a_lone_surrogate(tmp_path, monkeypatch, capsys):
    """A JSON escape of a lone surrogate in a cell: the finding is reported, the cell holding
    it is not edited (no parser takes it), a fix in another cell still is, and the run goes on."""
    surrogate = 'note = "\udc80"\n'
    same_cell = _notebook(surrogate + FLAGGED)
    other_cell = _notebook(surrogate, FLAGGED)
    (tmp_path / "a_same_cell.ipynb").write_text(same_cell)
    (tmp_path / "b_other_cell.ipynb").write_text(other_cell)
    (tmp_path / "train.py").write_text(FLAGGED)
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, "--fix", ".")
    assert code == 1 and "internal error" not in err, err
    assert [line.split(" TL301 ")[0] for line in out] == ["a_same_cell.ipynb:cell 1:5:36:"]
    assert (tmp_path / "a_same_cell.ipynb").read_text() == same_cell
    fixed = json.loads((tmp_path / "b_other_cell.ipynb").read_text())["cells"]
    assert fixed[0]["source"] == [surrogate] and "stratify=y" in "".join(fixed[1]["source"])
    assert "stratify=y" in (tmp_path / "train.py").read_text()


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero and /dev/urandom")
def test_devices_named_on_the_command_line_are_not_read(tmp_path):
    (tmp_path / "train.py").write_text(FLAGGED)
    result = run_apart(tmp_path, "/dev/zero", "/dev/urandom", "train.py")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"{device}:1:1: TL002 not a regular file (a device, FIFO or socket): only regular"
                         " files are linted" for device in ("/dev/urandom", "/dev/zero")]
    assert lines[2].startswith("train.py:4:36: TL301")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_walked_or_named_does_not_block_the_run(tmp_path):
    (tmp_path / "train.py").write_text(FLAGGED)
    os.mkfifo(tmp_path / "x.py")
    os.symlink("/dev/zero", tmp_path / "zero.py")
    walked = run_apart(tmp_path, ".")
    assert walked.returncode == 1, walked.stderr
    assert [line.split(" ")[:2] for line in walked.stdout.splitlines()] == [["train.py:4:36:", "TL301"]]
    named = run_apart(tmp_path, "x.py", "train.py")
    assert named.returncode == 1, named.stderr
    assert named.stdout.splitlines()[1] == (
        "x.py:1:1: TL002 not a regular file (a device, FIFO or socket): only regular files are linted")
    assert discover([str(tmp_path)], Config())[0] == [str(tmp_path / "train.py")]


# -- a folder that cannot be listed -----------------------------------------------------------


@pytest.fixture
def locked_folder(tmp_path, monkeypatch):
    """`tree/locked` behaves as a mode-000 folder does for a user other than root: it cannot
    be listed, and nothing inside it can be looked at (root ignores the mode, so the test
    makes the system calls fail as they would)."""
    tree = tmp_path / "tree"
    (tree / "locked").mkdir(parents=True)
    (tree / "train.py").write_text(FLAGGED)
    (tree / "locked" / "inner.py").write_text(FLAGGED)
    locked = str(tree / "locked")
    real_scandir, real_stat = os.scandir, os.stat

    def denied(path):
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def scandir(path="."):
        if os.path.abspath(os.fspath(path)) == locked:
            raise denied(path)
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if not isinstance(path, int) and os.path.abspath(os.fspath(path)).startswith(locked + os.sep):
            raise denied(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    return tree


def test_a_folder_that_cannot_be_listed_is_reported_and_the_walk_goes_on(locked_folder):
    unreadable = []
    files, missing = discover([str(locked_folder)], Config(), unreadable=unreadable)
    assert (files, missing) == ([str(locked_folder / "train.py")], [])
    assert unreadable == [(str(locked_folder / "locked"),
                           "folder not readable (Permission denied): its files were not linted")]


def test_a_file_named_inside_a_locked_folder_gets_its_read_error(locked_folder):
    named = str(locked_folder / "locked" / "inner.py")
    assert discover([named], Config()) == ([named], [])


def test_the_cli_reports_a_locked_folder_and_lints_the_rest(locked_folder, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, locked_folder, ".")
    assert code == 1, err
    assert out[0] == "locked:1:1: TL002 folder not readable (Permission denied): its files were not linted"
    assert out[1].startswith("train.py:4:36: TL301") and len(out) == 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can list a mode-000 folder; the locked_folder tests simulate it")
def test_a_real_mode_000_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "locked").mkdir()
    (tmp_path / "train.py").write_text(FLAGGED)
    (tmp_path / "locked").chmod(0)
    try:
        code, out, _ = run_cli(monkeypatch, capsys, tmp_path, ".")
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert code == 1 and "TL002" in out[0] and "TL301" in out[1]


# -- settings that would overflow or disable a limit ---------------------------------------


@pytest.mark.parametrize("setting", [
    "per-file-timeout = inf", "per-file-timeout = 1e300", "per-file-timeout = nan", "per-file-timeout = -1",
    "max-file-size = inf", "max-file-size = nan", "max-file-size = 1e300",
])
def test_a_limit_that_is_no_number_of_seconds_or_megabytes_is_a_config_error(tmp_path, setting, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text(f"[tool.trainlint]\n{setting}\n")
    (tmp_path / "train.py").write_text(FLAGGED)
    key = setting.split(" ")[0]
    with pytest.raises(ConfigError, match=f"tool.trainlint.{key}: expected a number from 0 to"):
        load_config(tmp_path / "pyproject.toml")
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, ".")
    assert (code, out) == (2, [])
    assert err.count("\n") == 1 and f"tool.trainlint.{key}" in err and "internal error" not in err


def test_usual_limits_still_load(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.trainlint]\nper-file-timeout = 0\nmax-file-size = 0.5\n")
    config = load_config(tmp_path / "pyproject.toml")
    assert (config.per_file_timeout, config.max_file_size_mb) == (0.0, 0.5)


# -- a match statement around a reported node -------------------------------------------------

REPORTED_PRINT = '    print(f"epoch {epoch} train loss {running / len(train_loader):.4f}")  # expect: TL202'


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match statements need Python 3.10")
@pytest.mark.parametrize("noqa", ["", "  # noqa: TL202"])
def test_a_finding_in_a_match_subject(noqa):
    fixture = (FIXTURES / "tl2" / "torch_weighted_sampler_fraud.py").read_text()
    assert REPORTED_PRINT in fixture
    subject = REPORTED_PRINT.split("  # expect")[0].strip()
    text = fixture.replace(REPORTED_PRINT, f"    match {subject}:{noqa}\n        case _:\n            pass")
    found = [(d.code, d.line) for d in lint_source(text, "match.py")]
    assert "TL003" not in [code for code, _ in found], found
    assert (("TL202", 32) in found) == (not noqa)
