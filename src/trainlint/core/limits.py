"""Resource guards around the analysis of one file (recursion depth, wall time), and the
garbage collector's settings for a batch run."""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading
from typing import Iterator, Optional, Tuple

# libcst's visitors recurse once per nesting level (several frames each); generated code
# with a thousand nested brackets or a 5,000-term sum needs far more than Python's default.
# Python 3.11+ runs Python-to-Python calls without growing the C stack, so this is safe there;
# on older versions a smaller bump keeps clear of the C stack limit.
_RECURSION_LIMIT = 30_000 if sys.version_info >= (3, 11) else 8_000


class AnalysisTimeout(BaseException):
    """Raised inside the analysis when a file takes longer than its time budget.

    A BaseException so that no `except Exception` inside the analysis swallows it."""


@contextlib.contextmanager
def deeper_recursion() -> Iterator[None]:
    previous = sys.getrecursionlimit()
    if previous < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection within the block. Parsing and indexing a file allocate
    hundreds of thousands of objects that stay alive until the file is done, and CPython's
    collector, triggered by the count of allocations, walks them again and again: 8% of a
    1,000-line script's analysis, 40% of a 450 KB file's. Garbage made in the block is
    collected as usual after it. Nested blocks leave the collector as they found it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Interrupt the block after `seconds` of wall time (main thread on Unix only; elsewhere
    the block runs unbounded, as signals cannot interrupt other threads). The handler runs
    only between Python bytecodes: a long native call (libcst's parse) ends first, so in a
    pool the parent enforces the budget from outside too (`run.worker_budget`)."""
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise AnalysisTimeout()

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)


# A libcst tree of a large file is hundreds of thousands of objects, none of them in
# reference cycles; with the default threshold (700) the collector runs thousands of times
# per file and its full collections rescan everything alive, imports included.
_BATCH_GC_THRESHOLD = 50_000


def use_batch_gc() -> Tuple[int, ...]:
    """For a run over many files in a process of our own (the CLI and its workers): what is
    alive now (imported modules, rules, configuration) is frozen out of collections, and
    young objects are collected every 50,000 allocations instead of 700. Returns the
    previous thresholds."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_BATCH_GC_THRESHOLD, *previous[1:])
    return previous


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """`use_batch_gc()` for the block, restored on exit."""
    previous = use_batch_gc()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
