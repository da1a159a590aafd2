"""Resource guards around the analysis of one file: recursion depth and wall time."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator, Optional

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
def time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Interrupt the block after `seconds` of wall time (main thread on Unix only; elsewhere
    the block runs unbounded, as signals cannot interrupt other threads)."""
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
