"""The per-file time budget holds in the pool even where the alarm cannot interrupt: the
parent kills a worker stuck on one file, that file gets a TL004, the others their findings,
and no worker is left behind.

The stall is a patched engine inherited by the forked workers: it blocks SIGALRM (as
libcst's native parse in effect does: no Python code runs to take the signal) and sleeps
far past the budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from trainlint.core.config import Config
from trainlint.run import worker_budget
from trainlint.run.parallel import _context

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(signal, "pthread_sigmask"),
    reason="relies on fork to inject the stall, and on /proc to find processes",
)

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)
BUDGET = 0.5
STALL_SECONDS = 40  # far past any deadline below: a run that waits for the stall fails
# Budget and grace, plus a fresh pool after each kill on a busy two-core machine.
DEADLINE = BUDGET + worker_budget.GRACE_SECONDS + 10

DRIVER = textwrap.dedent(
    f"""
    import os, signal, sys, time
    from pathlib import Path
    from trainlint.run import engine, parallel
    from trainlint.core.config import Config

    real = engine.lint_bytes

    def lint_bytes(data, path, config, *hooks):
        name = Path(path).name
        if name.startswith("stall"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGALRM}})
            time.sleep({STALL_SECONDS})
        if name.startswith("crash"):
            os._exit(9)  # as if killed: no exception, no result
        return real(data, path, config, *hooks)

    def living_children():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{{pid}}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[1]) == os.getpid():
                found.append(pid)
        return found

    engine.lint_bytes = lint_bytes
    files = sorted(Path(sys.argv[1]).glob("*.py"))
    started = time.monotonic()
    found = parallel.lint_paths(files, Config(per_file_timeout={BUDGET}), jobs=2)
    print("seconds", time.monotonic() - started)
    print("children", len(living_children()))
    for d in found:
        print(Path(d.path).name, d.code, d.message)
    """
)


def _in_group(group: int) -> list:
    """Living processes of process group `group`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(pid))
    return found


def run_pool(tmp_path, extra_names):
    """Lint 20 ordinary files and `extra_names` in a pool of 2 under a tiny budget:
    (seconds taken, living children right after, {file name: [(code, message)]})."""
    for number in range(20):
        (tmp_path / f"m{number:02d}.py").write_text(FLAGGED)
    for name in extra_names:
        (tmp_path / name).write_text(FLAGGED)
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=STALL_SECONDS * 3)
    finally:
        for pid in _in_group(process.pid):  # whatever happened, leave nothing running
            os.kill(pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert not _in_group(process.pid), "a worker outlived the run"
    lines = out.splitlines()
    seconds, children = float(lines[0].split()[1]), int(lines[1].split()[1])
    by_file = {}
    for line in lines[2:]:
        name, code, message = line.split(" ", 2)
        by_file.setdefault(name, []).append((code, message))
    return seconds, children, by_file


def test_a_worker_stuck_past_the_budget_is_killed_and_its_file_skipped(tmp_path):
    seconds, children, by_file = run_pool(tmp_path, ["stall.py"])
    assert seconds < DEADLINE
    assert children == 0
    [(code, message)] = by_file["stall.py"]
    assert code == "TL004"
    assert message == (f"file skipped: analysis exceeded the per-file budget of {BUDGET:g} s;"
                       " raise per-file-timeout in [tool.trainlint] to lint it")
    others = {name: found for name, found in by_file.items() if name != "stall.py"}
    assert len(others) == 20
    assert all([code for code, _ in found] == ["TL301"] for found in others.values()), others


@pytest.mark.slow  # three pools in turn, each waiting out the budget
def test_several_stuck_files_and_a_crash_in_one_run(tmp_path):
    """Each kill breaks a pool and the files lost with it go to the next one; a crash still
    ends in isolation (TL003), where the budget holds too."""
    seconds, children, by_file = run_pool(tmp_path, ["stall_a.py", "stall_b.py", "stall_c.py", "crash.py"])
    assert seconds < 3 * DEADLINE
    assert children == 0
    for name in ("stall_a.py", "stall_b.py", "stall_c.py"):
        assert [code for code, _ in by_file[name]] == ["TL004"], by_file[name]
    assert [code for code, _ in by_file["crash.py"]] == ["TL003"]
    ordinary = [found for name, found in by_file.items() if name.startswith("m")]
    assert len(ordinary) == 20 and all([code for code, _ in found] == ["TL301"] for found in ordinary)


def test_the_watch_kills_only_workers_past_budget_and_grace():
    """Slots written as a worker writes them: one past the budget and the grace, one within
    the budget, one idle. Only the first process is killed, once."""
    watch = worker_budget.BudgetWatch(0.5, 3, _context())
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)]
    try:
        now = time.monotonic()
        for slot, (process, position, started) in enumerate(
            [(sleepers[0], 7, now - 0.5 - worker_budget.GRACE_SECONDS - 0.1), (sleepers[1], 8, now), (sleepers[2], 9, 0.0)]
        ):
            watch._slots[3 * slot: 3 * slot + 3] = [process.pid, position, started]
        assert watch.kill_overdue() == [7]
        assert sleepers[0].wait(timeout=10) == -signal.SIGKILL
        assert watch.kill_overdue() == []  # not twice
        assert sleepers[1].poll() is None and sleepers[2].poll() is None
    finally:
        for process in sleepers:
            process.kill()
            process.wait()


def test_no_budget_no_watch():
    assert worker_budget.watch_for(Config(per_file_timeout=0), 2, _context()) is None
    assert worker_budget.watch_for(Config(per_file_timeout=2.5), 2, _context()).budget == 2.5
