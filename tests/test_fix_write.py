"""How `--fix` writes files (issue 23.7): atomically, keeping the file what it was (owner,
group, mode, links, byte order mark), or not at all with one line saying why; only fixes
whose file was written are counted."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from trainlint.core.config import Config
from trainlint.fix.autofix import fix_files
from trainlint.fix.write import SUFFIX, WriteRefused, remove_stale_temporaries, write_atomically
from trainlint.frontends.cli import main
from trainlint.run.engine import lint_file

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)
FIXED = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y, stratify=y)")


def fix(path: Path):
    config = Config()
    return fix_files(lint_file(path, config), config, unsafe=False, write=True)


def written(tmp_path: Path, name: str = "train.py", text: str = FLAGGED) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_read_only_file_is_refused_by_its_mode_bits_even_for_root(tmp_path):
    path = written(tmp_path)
    path.chmod(0o444)
    outcome = fix(path)
    assert path.read_text() == FLAGGED
    assert outcome.fixed == []  # nothing counted: the fix was not written
    assert [code for code in (d.code for d in outcome.diagnostics)] == ["TL301"]
    assert outcome.messages == [f"{path}: not written: the file is read-only (mode 0444)"]


def test_mode_owner_and_group_are_kept(tmp_path):
    path = written(tmp_path)
    path.chmod(0o640)
    before = path.stat()
    outcome = fix(path)
    after = path.stat()
    assert path.read_text() == FIXED and len(outcome.fixed) == 1
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o640, before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino  # replaced by a rename, not truncated in place


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file away")
def test_root_fixing_a_users_file_leaves_it_the_users(tmp_path):
    """The issue's case: `--fix` run as root over a file of another user must not make it root's."""
    path = written(tmp_path)
    os.chown(path, 4321, 8765)
    path.chmod(0o664)
    outcome = fix(path)
    after = path.stat()
    assert path.read_text() == FIXED and len(outcome.fixed) == 1
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (4321, 8765, 0o664)


def test_a_hard_linked_file_is_refused_so_the_links_stay_one_file(tmp_path):
    path = written(tmp_path)
    other = tmp_path / "same_file.py"
    os.link(path, other)
    outcome = fix(path)
    assert path.read_text() == other.read_text() == FLAGGED
    assert path.stat().st_ino == other.stat().st_ino
    assert outcome.fixed == [] and outcome.messages == [
        f"{path}: not written: it has 2 hard links, which replacing it would break"]


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path):
    path = written(tmp_path)
    with pytest.raises(WriteRefused, match="changed since it was read"):
        write_atomically(path, FIXED.encode(), expected=b"something else\n")
    assert path.read_text() == FLAGGED
    assert not [entry for entry in tmp_path.iterdir() if entry.name.endswith(SUFFIX)]


def test_stale_temporaries_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    path = written(tmp_path)
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f".train.py.{dead}.abc{SUFFIX}"
    live = tmp_path / f".train.py.{os.getppid()}.abc{SUFFIX}"  # a running process's
    other = tmp_path / f".other.py.{dead}.abc{SUFFIX}"  # another file's: not ours to judge here
    for temporary in (stale, live, other):
        temporary.write_text("partial")
    remove_stale_temporaries(path)
    assert (stale.exists(), live.exists(), other.exists()) == (False, True, True)
    stale.write_text("partial")  # and a --fix that writes the file clears them first
    assert len(fix(path).fixed) == 1
    assert sorted(entry.name for entry in tmp_path.iterdir()) == sorted([path.name, live.name, other.name])


def test_a_notebook_fix_keeps_its_byte_order_mark(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": FLAGGED.splitlines(keepends=True)}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "train.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(notebook, indent=1).encode())
    outcome = fix(path)
    data = path.read_bytes()
    assert len(outcome.fixed) == 1 and data.startswith(b"\xef\xbb\xbf")
    assert "stratify=y" in "".join(json.loads(data[3:].decode())["cells"][0]["source"])


def test_the_cli_counts_only_written_fixes_and_says_why_in_one_line(tmp_path, capsys, monkeypatch):
    locked = written(tmp_path, "locked.py")
    locked.chmod(0o444)
    written(tmp_path, "open.py")
    monkeypatch.chdir(tmp_path)
    code = main(["--no-cache", "--fix", "--show-fixes", "locked.py", "open.py"])
    err = capsys.readouterr().err
    assert code == 1  # locked.py's finding remains
    assert "locked.py: not written: the file is read-only (mode 0444)" in err
    assert "Fixed 1 problem" in err and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("Fixed ") and ": TL" in line] == [
        "Fixed open.py:4:36: TL301 Pass stratify=y"]
