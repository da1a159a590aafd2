"""The per-file time budget in the pool: a worker stuck on one file is killed from outside.

Inside the analysis an alarm (`core.limits.time_limit`) ends a file that runs past
`per-file-timeout`, but Python runs a signal handler only between bytecodes: libcst's native
parse of a long attribute chain (about 23 s for 4,000 links) cannot be interrupted. So in a
pool the parent enforces the budget too; in one process (`-j 1`, small runs, `--profile`)
the alarm is all there is.

Design, chosen for cheap IPC: one shared array of slots, one per worker (taken once, in the
pool initializer), each holding (pid, position of the file being linted, the monotonic time
it started, 0 when idle). A worker writes its own slot around each file: a few stores to
shared memory, no message and no lock, so a normal run pays nothing measurable. The parent,
while it waits for results, wakes every `poll_seconds` and reads the slots; a file that
started more than budget + GRACE_SECONDS ago gets its worker killed. That breaks the pool:
`parallel` reports the file as TL004 and lints the other files lost with the pool in a
fresh one.

The slots are read without a lock (each has a single writer, which may die at any time and
must not leave a lock held). A worker clears the start time before it changes the position
and sets it after, so a parent that reads the same non-zero start time before and after the
position has read a consistent slot. The monotonic clock is system-wide (CLOCK_MONOTONIC,
mach_absolute_time, QueryPerformanceCounter), so times of two processes compare.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Iterator, List, Optional, Set, Tuple

from trainlint.core.config import Config

# The alarm inside the worker usually ends an interruptible file at the budget itself; the
# parent steps in only for a worker that could not even do that.
GRACE_SECONDS = 1.0
_FIELDS = 3  # pid, position, start time
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows: os.kill(SIGTERM) terminates


def watch_for(config: Config, workers: int, context) -> Optional["BudgetWatch"]:
    """The watch for a pool of `workers` under `config`'s budget; None when there is no
    budget (`per-file-timeout = 0`)."""
    seconds = config.per_file_timeout
    if not seconds or seconds <= 0 or not math.isfinite(seconds):
        return None
    return BudgetWatch(float(seconds), workers, context)


class BudgetWatch:
    """Shared progress of a pool's workers, and the parent's check on it."""

    def __init__(self, budget: float, workers: int, context) -> None:
        self.budget = budget
        self.workers = workers
        self._slots = context.RawArray("d", _FIELDS * workers)
        self._taken = context.Value("i", 0)

    @property
    def poll_seconds(self) -> float:
        return min(1.0, max(0.05, self.budget / 4))

    # -- the parent --------------------------------------------------------------------------

    def wait(self, pending: Set[Future]) -> Tuple[Set[Future], Set[Future], List[int]]:
        """`concurrent.futures.wait` for the first result, waking to enforce the budget:
        (done, pending, positions of the files whose workers were killed)."""
        done, pending = wait(pending, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
        return done, pending, self.kill_overdue()

    def kill_overdue(self) -> List[int]:
        """Kill every worker whose current file started more than budget + grace ago;
        returns those files' positions."""
        now = time.monotonic()
        overdue = []
        for slot in range(self.workers):
            base = _FIELDS * slot
            started = self._slots[base + 2]
            pid, position = int(self._slots[base]), int(self._slots[base + 1])
            if not started or self._slots[base + 2] != started or now - started <= self.budget + GRACE_SECONDS:
                continue
            self._slots[base + 2] = 0.0  # never killed twice
            try:
                os.kill(pid, _KILL)
            except OSError:  # already gone
                pass
            overdue.append(position)
        return overdue

    # -- a worker ----------------------------------------------------------------------------

    def take_slot(self) -> Optional[int]:
        with self._taken.get_lock():
            slot = self._taken.value
            self._taken.value += 1
        if slot >= self.workers:  # never in a pool of `workers`; unwatched, the alarm remains
            return None
        self._slots[_FIELDS * slot] = os.getpid()
        return slot


_watch: Optional[BudgetWatch] = None
_slot: Optional[int] = None


def join(watch: Optional[BudgetWatch]) -> None:
    """Called in each worker's initializer."""
    global _watch, _slot
    _watch, _slot = watch, (watch.take_slot() if watch is not None else None)


@contextlib.contextmanager
def linting(position: int) -> Iterator[None]:
    """Marks this worker's slot as linting the file at `position` for the block."""
    if _watch is None or _slot is None:
        yield
        return
    slots, base = _watch._slots, _FIELDS * _slot
    slots[base + 1] = position  # the start time is 0 here: a reader skips the slot
    slots[base + 2] = time.monotonic()
    try:
        yield
    finally:
        slots[base + 2] = 0.0
