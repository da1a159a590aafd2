"""`trainlint --watch`: lint, then lint again whenever a linted file or a config file changes.

Polling with the standard library, not a file-system notification library: a lint run
already walks the tree, a poll every half second of the files it lints costs little next to
that, it works the same on every platform and file system (network mounts, containers),
and it needs no new dependency. Unchanged files come from the result cache, so a re-run
after an edit analyses only the edited files.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Hashable, Iterable, Optional, Tuple

POLL_SECONDS = 0.5
EXIT_INTERRUPTED = 130

Snapshot = Dict[str, Hashable]


def stat_snapshot(paths: Iterable[str]) -> Snapshot:
    """(modification time, size) of each path; a missing path has None."""
    state: Snapshot = {}
    for path in paths:
        try:
            stat = os.stat(path)
            state[path] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            state[path] = None
    return state


def watch(lint: Callable[[], int], snapshot: Callable[[], Snapshot],
          interval: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep,
          rounds: Optional[int] = None) -> int:
    """Run `lint`, then run it again each time `snapshot()` changes, until Ctrl-C (exit 130,
    quietly). `rounds` bounds the number of polls (for tests)."""
    try:
        previous = snapshot()
        lint()
        _waiting()
        polls = 0
        while rounds is None or polls < rounds:
            polls += 1
            sleep(interval)
            current = snapshot()
            if current == previous:
                continue
            sys.stderr.write(f"\n[{time.strftime('%H:%M:%S')}] {_what_changed(previous, current)}"
                             " changed; linting again.\n")
            previous = current
            lint()
            _waiting()
        return 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _waiting() -> None:
    sys.stderr.write("Watching for file changes (Ctrl-C to stop).\n")
    sys.stdout.flush()
    sys.stderr.flush()


def _what_changed(before: Snapshot, after: Snapshot) -> str:
    changed = sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
    if not changed:
        return "the configuration"
    more = len(changed) - 1
    return changed[0] + (f" and {more} more file{'s' if more != 1 else ''}" if more else "")


def watched_paths(files: Iterable[str], config_files: Iterable[Optional[Path]]) -> Tuple[str, ...]:
    """The linted files and the config files that apply to them."""
    return tuple(sorted(set(files) | {str(path) for path in config_files if path is not None}))
