"""`trainlint --watch` (issue 21): lint, then lint again when a file changes; Ctrl-C exits 130
quietly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import trainlint_command
from trainlint.frontends.watch import stat_snapshot, watch

CLEAN = "from sklearn.model_selection import train_test_split\n"
FLAGGED = CLEAN + (
    "from sklearn.linear_model import LogisticRegression\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
    "LogisticRegression().fit(X_train, y_train)\n"
)


def test_lints_again_only_when_the_snapshot_changes(tmp_path):
    runs, states = [], iter([{"a": 1}, {"a": 1}, {"a": 2}, {"a": 2}, {"a": 2, "b": 1}])
    code = watch(lambda: runs.append(1) or 0, lambda: next(states), sleep=lambda _: None, rounds=4)
    assert code == 0 and len(runs) == 3  # the first run, then after each of the two changes


def test_ctrl_c_exits_130(capsys):
    def interrupted(_seconds):
        raise KeyboardInterrupt

    assert watch(lambda: 0, lambda: {}, sleep=interrupted) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_snapshot_sees_size_and_disappearance(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    before = stat_snapshot([str(path)])
    path.write_text("x = 12\n")
    assert stat_snapshot([str(path)]) != before
    path.unlink()
    assert stat_snapshot([str(path)]) == {str(path): None}


def test_watch_refuses_standard_input(run_trainlint, tmp_path):
    result = run_trainlint("--watch", "-", cwd=tmp_path, input=CLEAN)
    assert result.returncode == 2 and "--watch" in result.stderr and "Traceback" not in result.stderr


def _reader(stream, lines: "queue.Queue") -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)


def _wait_for(lines: "queue.Queue", seen: list, predicate, seconds: float, process=None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            if process is not None and process.poll() is not None:
                return False  # it ended: no more output is coming
            continue
        if predicate("".join(seen)):
            return True
    return False


@pytest.mark.slow  # a subprocess that polls
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_watch_shows_a_new_finding_after_an_edit(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.trainlint]\n")
    train = project / "train.py"
    train.write_text(CLEAN)
    env = {k: v for k, v in os.environ.items() if k != "TRAINLINT_NO_CACHE"}  # the watch uses the cache
    env["TRAINLINT_CACHE_DIR"] = str(tmp_path / "cache")
    process = subprocess.Popen([*trainlint_command(), "--watch", "project"], cwd=str(tmp_path), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    lines: "queue.Queue" = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    seen: list = []
    try:
        # generous deadlines: the machine may be loaded; each step takes well under a second
        assert _wait_for(lines, seen, lambda out: "Watching for file changes" in out, 120, process), "".join(seen)
        assert "All checks passed." in "".join(seen)
        train.write_text(FLAGGED)
        assert _wait_for(lines, seen, lambda out: "TL301" in out and out.count("Watching") >= 2, 120, process), \
            "".join(seen)
        assert "train.py changed; linting again." in "".join(seen)
        assert "project/train.py:3:36: TL301" in "".join(seen)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    _wait_for(lines, seen, lambda out: False, 0.5)  # drain
    assert code == 130
    assert "Traceback" not in "".join(seen) and "interrupted" not in "".join(seen)
    assert (tmp_path / "cache").is_dir()  # re-runs go through the result cache
