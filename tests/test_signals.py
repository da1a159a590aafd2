"""Ending a run from outside: ^C exits 130, SIGTERM 143, promptly and in one line at most,
and no worker process outlives the run, not even after SIGKILL of the parent.

Real processes: the CLI runs in a session of its own over files whose linting sleeps for
minutes (a patched engine, inherited by the forked workers); processes are found through
/proc, by parent and by process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"), reason="needs Linux /proc and fork"
)

# Far longer than any deadline below: a run that waits for its workers cannot pass.
SLEEP_PER_FILE = 600
DEADLINE = 30

DRIVER = textwrap.dedent(
    f"""
    import sys, time
    from trainlint.run import engine

    real = engine.lint_bytes

    def slow(data, path, config, *hooks):
        time.sleep({SLEEP_PER_FILE})
        return real(data, path, config, *hooks)

    engine.lint_bytes = slow
    from trainlint.frontends.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _stat(pid: str):
    """(state, parent pid, process group) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[2])


def living(match) -> list:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            info = _stat(pid)
            if info is not None and info[0] != "Z" and match(*info[1:]):
                found.append(int(pid))
    return found


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def slow_run(tmp_path):
    """Start the CLI over 40 slow files; yields (process, started) once workers are running."""
    for number in range(40):
        (tmp_path / f"m{number:02d}.py").write_text(f"import torch\nvalue = {number}\n")
    started = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, "--no-cache", *args, "."], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:  # whatever happened, leave nothing running
        for pid in living(lambda ppid, group: group == process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if process.poll() is None:
            process.kill()
        process.communicate()


def workers_of(process) -> list:
    return living(lambda ppid, group: ppid == process.pid)


def group_of(process) -> list:
    return living(lambda ppid, group: group == process.pid and ppid != os.getpid())


CASES = {
    "SIGINT to the group (^C in a terminal)": (signal.SIGINT, True, 130),
    "SIGINT to the parent": (signal.SIGINT, False, 130),
    "SIGTERM to the parent": (signal.SIGTERM, False, 143),
    "SIGTERM to the group": (signal.SIGTERM, True, 143),
}


@pytest.mark.parametrize("signum, to_group, exit_code", CASES.values(), ids=CASES.keys())
def test_a_signal_ends_the_pool_promptly_with_its_exit_code(slow_run, signum, to_group, exit_code):
    process = slow_run("-j", "2")
    assert wait_until(lambda: len(workers_of(process)) >= 2, 60), "the pool did not start"
    time.sleep(0.5)  # the workers are inside their first file
    if to_group:
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)
    _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == exit_code, err
    assert err.count("\n") <= 1 and "Traceback" not in err, err
    assert wait_until(lambda: not group_of(process), DEADLINE), "workers outlived the run"


def test_sigterm_ends_a_run_in_one_process(slow_run):
    process = slow_run("-j", "1")
    time.sleep(2)  # inside the first file (or still importing: the handler is set first)
    os.kill(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 143, err
    assert err.count("\n") <= 1 and "Traceback" not in err, err


def test_workers_die_with_a_killed_parent(slow_run):
    process = slow_run("-j", "2")
    assert wait_until(lambda: len(workers_of(process)) >= 2, 60), "the pool did not start"
    workers = workers_of(process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=DEADLINE)
    assert process.returncode == -signal.SIGKILL
    assert wait_until(lambda: not living(lambda ppid, group: group == process.pid), DEADLINE), (
        f"orphaned workers: {living(lambda ppid, group: group == process.pid)} of {workers}")


def test_the_watch_ends_a_worker_whose_parent_is_gone_without_a_death_signal(tmp_path):
    """Where the kernel sends no parent-death signal (not Linux, or the request failed),
    the worker's own watch thread ends it."""
    script = textwrap.dedent(
        """
        import os, sys, time
        from trainlint.run import worker_life

        worker_life._ask_for_death_signal = lambda: None
        parent = os.getpid()  # read before the fork: the parent may be gone when the child runs
        if os.fork() == 0:  # the worker
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # the test waits for the parent's output only
            os.dup2(devnull, 2)
            worker_life.start_as_worker(parent)
            time.sleep(600)
            os._exit(0)
        print(os.getpid(), flush=True)
        os._exit(0)  # the parent dies at once
        """
    )
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            start_new_session=True)
    group = int(parent.stdout.split()[0])
    try:
        assert wait_until(lambda: not living(lambda ppid, pgrp: pgrp == group), DEADLINE)
    finally:
        for pid in living(lambda ppid, pgrp: pgrp == group):
            os.kill(pid, signal.SIGKILL)
