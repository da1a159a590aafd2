"""How long to wait before linting a document that just changed.

Typing is bursts of keystrokes a fraction of a second apart: linting after each would spend
the analysis processes on texts that are gone a moment later, so within a burst a change
waits `burst_delay` for the next one (a newer change restarts the wait). The first change
after a pause is linted at once: an isolated edit (a paste, an undo, a fix applied) shows
its diagnostics without the debounce added to the analysis time.
"""

from __future__ import annotations

import time
from typing import Callable, Dict

PAUSE_SECONDS = 0.25  # changes further apart than this are not one burst


class Debouncer:
    def __init__(self, burst_delay: float, pause: float = PAUSE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst_delay = burst_delay
        self.pause = pause
        self._clock = clock
        self._last_change: Dict[str, float] = {}

    def delay(self, uri: str) -> float:
        """The wait before linting `uri`, which has just changed."""
        now = self._clock()
        last = self._last_change.get(uri)
        self._last_change[uri] = now
        if last is None or now - last >= self.pause:
            return 0.0
        return self.burst_delay

    def forget(self, uri: str) -> None:
        self._last_change.pop(uri, None)
