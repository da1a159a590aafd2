"""No worker outlives its run.

A worker asks the kernel to kill it when its parent dies (Linux: `prctl(PR_SET_PDEATHSIG)`),
and, where that is not available or the parent was killed first, a thread watches the
parent's pid and ends the worker. ^C reaches the whole process group from a terminal: the
workers ignore it, and the parent, which handles it (and SIGTERM, in the CLI), kills the
pool before it exits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
# How often the fallback watch looks at the parent: a worker outlives it by at most this.
_WATCH_SECONDS = 0.5


def start_as_worker(parent_pid: int) -> None:
    """Called first in each worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and ends the pool
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler, inherited by fork
    _ask_for_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="trainlint-parent-watch", daemon=True).start()


def _ask_for_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError, ValueError):
        pass  # the watch thread still ends the worker


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os._exit(1)


def stop_workers(executor) -> None:
    """Kill a ProcessPoolExecutor's workers now: on ^C or SIGTERM their work is not wanted,
    and `shutdown` alone would wait for the files they are linting."""
    terminate = getattr(executor, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, AttributeError, ValueError):
            pass
