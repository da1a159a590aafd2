"""Linting many files: result cache first, then a process pool for what is left.

Workers are set up once (configuration and rule registry, in the pool initializer) and
send back plain `Diagnostic` dataclasses, never CST nodes. Small runs stay in process: a
pool costs more to start than a handful of files cost to lint. A worker that dies (killed,
out of memory, a crash in native code) must not hang or sink the run: the files it left
unfinished are retried one at a time, and a file that kills its worker again is reported
as an internal error (TL003).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from trainlint.run.cache import ResultCache
from trainlint.core.config import Config
from trainlint.core.diagnostics import INTERNAL_ERROR, Diagnostic
from trainlint.core.limits import batch_gc, use_batch_gc

# Below this many files to lint, a pool's start-up (~20 ms per worker) is not worth it.
SMALL_RUN = 16
# Files per task: small enough to balance uneven files, large enough to keep IPC cheap.
MAX_CHUNK = 16


def default_jobs() -> int:
    return os.cpu_count() or 1


def lint_many(
    paths: Sequence[Path], config: Config, jobs: Optional[int] = None, cache: Optional[ResultCache] = None
) -> List[Diagnostic]:
    results: Dict[int, List[Diagnostic]] = {}
    keys: Dict[int, str] = {}
    todo: List[int] = []
    for number, path in enumerate(paths):
        if cache is not None:
            key = _cache_key(cache, path)
            if key is not None:
                cached = cache.get(key)
                if cached is not None:
                    results[number] = cached
                    continue
                keys[number] = key
        todo.append(number)

    jobs = default_jobs() if jobs is None else max(1, jobs)
    fresh: Dict[int, List[Diagnostic]] = {}
    if todo:
        # Imported only now: a run whose files all come from the cache never loads libcst and
        # the rules. Loaded before the pool forks, so workers inherit them.
        from trainlint.run.engine import lint_file
        from trainlint.rules import all_rules

        all_rules()
        with batch_gc():  # forked workers inherit it
            if jobs == 1 or len(todo) < SMALL_RUN:
                fresh = {number: lint_file(paths[number], config) for number in todo}
            else:
                found = _lint_in_pool([paths[number] for number in todo], config, jobs)
                fresh = {todo[position]: diagnostics for position, diagnostics in found.items()}

    for number, found in fresh.items():
        results[number] = found
        if cache is not None and number in keys:
            cache.put(keys[number], found)
    diagnostics = [d for number in sorted(results) for d in results[number]]
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _cache_key(cache: ResultCache, path: Path) -> Optional[str]:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # lint_file reports it; such results are not cached
    return cache.key(data, str(path))


# -- the pool -------------------------------------------------------------------------------

_worker_config: Optional[Config] = None


def _init_worker(config: Config) -> None:
    global _worker_config
    from trainlint.rules import all_rules

    _worker_config = config
    all_rules()  # import every rule module once per worker, not once per file
    config.enabled_codes()
    use_batch_gc()  # the worker is ours for its whole life (a forked one inherits it already)


def _lint_chunk(paths: List[str]) -> List[List[Diagnostic]]:
    from trainlint.run.engine import lint_file

    assert _worker_config is not None, "worker used without its initializer"
    return [lint_file(Path(path), _worker_config) for path in paths]


def _context():
    # fork: workers inherit the imported rules and start in milliseconds. Only on Linux;
    # macOS and Windows keep their default (spawn), where the initializer does the imports.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _chunks(count: int, jobs: int) -> List[Tuple[int, int]]:
    size = max(1, min(MAX_CHUNK, count // (jobs * 8)))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _lint_in_pool(paths: Sequence[Path], config: Config, jobs: int) -> Dict[int, List[Diagnostic]]:
    """Diagnostics per position in `paths`."""
    results: Dict[int, List[Diagnostic]] = {}
    unfinished: List[int] = []
    names = [str(path) for path in paths]
    executor = ProcessPoolExecutor(
        max_workers=min(jobs, len(paths)), mp_context=_context(), initializer=_init_worker, initargs=(config,)
    )
    try:
        futures = {
            executor.submit(_lint_chunk, names[start:end]): (start, end) for start, end in _chunks(len(paths), jobs)
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                start, end = futures[future]
                try:
                    for offset, found in enumerate(future.result()):
                        results[start + offset] = found
                except BrokenProcessPool:
                    unfinished.extend(range(start, end))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    for position in sorted(unfinished):
        results[position] = _lint_isolated(paths[position], config)
    return results


def _lint_isolated(path: Path, config: Config) -> List[Diagnostic]:
    """Lint one file in a fresh single-use worker: if that worker dies too, the file is the
    cause, and it gets a TL003 instead of taking the run down with it."""
    executor = ProcessPoolExecutor(
        max_workers=1, mp_context=_context(), initializer=_init_worker, initargs=(config,)
    )
    try:
        return executor.submit(_lint_chunk, [str(path)]).result()[0]
    except BrokenProcessPool:
        from trainlint.run.engine import _engine_diagnostic

        message = (
            "internal error: the worker process died while linting this file"
            " (killed, out of memory, or a crash in native code); please report it"
        )
        return [_engine_diagnostic(INTERNAL_ERROR, str(path), message, 1, 1)]
    finally:
        executor.shutdown(wait=True)
