"""Linting many files: each read once, the result cache first, then the engine for what is
left, in this process or in a pool of workers.

The parent reads every file and looks its bytes up in the cache; the bytes of a miss are
both what the engine lints and what the result is stored under, so a file edited during the
run cannot leave a stale entry. Workers are set up once (configuration and rule registry, in
the pool initializer), receive (path, bytes) and send back plain `Diagnostic` dataclasses,
never CST nodes. Small runs stay in process: a pool costs more to start than a handful of
files cost to lint. A worker that dies (killed, out of memory, a crash in native code) must
not hang or sink the run: the files it left unfinished are retried one at a time, and a file
that kills its worker again is reported as an internal error (TL003). Workers die with
their parent, and an interrupted run kills its pool at once (`worker_life`). A worker that
overruns the per-file time budget in native code, where the alarm cannot reach it, is killed
by the parent: its file gets a TL004 and the files lost with the pool go to a fresh one
(`worker_budget`).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic
from trainlint.core.limits import batch_gc, use_batch_gc
from trainlint.run.cache import ResultCache
from trainlint.run.engine_diagnostics import timed_out, worker_died
from trainlint.run.files import read_file
from trainlint.run.hooks import NO_HOOKS, Hooks
from trainlint.run.notebook import is_notebook
from trainlint.run.summaries import Use, recording_uses, use_summary_cache
from trainlint.run.worker_budget import BudgetWatch, join, linting, watch_for
from trainlint.run.worker_life import start_as_worker, stop_workers

# Below this many files to lint, a pool's start-up (~20 ms per worker) is not worth it.
SMALL_RUN = 16
# Files per task: small enough to balance uneven files, large enough to keep IPC cheap.
MAX_CHUNK = 16

Item = Tuple[str, bytes]  # (path shown, the bytes read): what a worker lints
Linted = Tuple[List[Diagnostic], List[Use]]  # what a worker sends back


class _Miss(NamedTuple):
    number: int  # position in the paths given
    shown: str
    data: bytes
    key: Optional[str]  # its cache key, when there is a cache


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity: a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(jobs: Optional[int]) -> int:
    """Workers for `jobs` asked: None is one per CPU, and more workers than CPUs only
    compete for them, so they are clamped (without a message: -j 1000 is not an error)."""
    return default_jobs() if jobs is None else max(1, min(jobs, default_jobs()))


def lint_paths(
    paths: Sequence[Path], config: Config, jobs: Optional[int] = 1, cache: Optional[ResultCache] = None,
    hooks: Hooks = NO_HOOKS,
) -> List[Diagnostic]:
    """The diagnostics of every file, sorted. `jobs`: worker processes (None: one per CPU);
    with `hooks` (the profiler) everything runs in this process."""
    results: Dict[int, List[Diagnostic]] = {}
    misses: List[_Miss] = []
    for number, path in enumerate(paths):
        shown = str(path)
        hooks.count("files")
        if is_notebook(shown):
            hooks.count("notebooks")
        hooks.lap("other")
        data = read_file(path, config, shown)
        hooks.lap("read")
        if isinstance(data, Diagnostic):  # TL002 or TL004: never cached
            results[number] = [data]
            continue
        key = None
        if cache is not None:
            key = cache.key(data, shown)
            cached = cache.get(key, data, shown)
            hooks.lap("cache")
            if cached is not None:
                hooks.count("cached")
                results[number] = cached
                continue
        # Held until linted: the size of the sources, small beside the trees built from them.
        misses.append(_Miss(number, shown, data, key))

    if misses:
        if cache is not None:
            use_summary_cache(cache.folder)
        for miss, (found, uses) in zip(misses, _lint_misses(misses, config, jobs, hooks)):
            results[miss.number] = found
            if cache is not None and miss.key is not None:
                hooks.lap("other")
                cache.put(miss.key, found, uses)
                hooks.lap("cache")
    diagnostics = [d for number in sorted(results) for d in results[number]]
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _lint_misses(
    misses: Sequence[_Miss], config: Config, jobs: Optional[int], hooks: Hooks
) -> List[Linted]:
    # Imported only now: a run whose files all come from the cache never loads libcst and
    # the rules. Loaded before the pool forks, so workers inherit them.
    from trainlint.rules import all_rules
    from trainlint.run import engine

    all_rules()
    hooks.lap("other")
    jobs = worker_count(jobs)
    with batch_gc():  # forked workers inherit it
        if hooks is not NO_HOOKS or jobs == 1 or len(misses) < SMALL_RUN:
            return [_recorded(engine.lint_bytes, miss.data, miss.shown, config, hooks) for miss in misses]
        found = _lint_in_pool([(miss.shown, miss.data) for miss in misses], config, jobs)
        return [found[position] for position in range(len(misses))]


# -- the pool -------------------------------------------------------------------------------

_worker_config: Optional[Config] = None


def _init_worker(config: Config, parent_pid: int, watch: Optional[BudgetWatch] = None) -> None:
    global _worker_config
    start_as_worker(parent_pid)
    join(watch)
    from trainlint.rules import all_rules

    _worker_config = config
    all_rules()  # import every rule module once per worker, not once per file
    use_batch_gc()  # the worker is ours for its whole life (a forked one inherits it already)


def _lint_chunk(items: List[Item], first: int = 0) -> List[Linted]:
    """Lint `items`, the files at positions `first`, `first + 1`, ... of the pool's list."""
    from trainlint.run import engine

    assert _worker_config is not None, "worker used without its initializer"
    found = []
    for position, (shown, data) in enumerate(items, first):
        with linting(position):
            found.append(_recorded(engine.lint_bytes, data, shown, _worker_config))
    return found


def _recorded(lint, *arguments) -> Linted:
    """A file's diagnostics and the project modules whose summaries they used (its cache
    entry depends on them)."""
    with recording_uses() as uses:
        found = lint(*arguments)
    return found, sorted(uses)


def _context():
    # fork: workers inherit the imported rules and start in milliseconds. Only on Linux;
    # macOS and Windows keep their default (spawn), where the initializer does the imports.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _chunks(count: int, jobs: int) -> List[Tuple[int, int]]:
    size = max(1, min(MAX_CHUNK, count // (jobs * 8)))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _lint_in_pool(items: Sequence[Item], config: Config, jobs: int) -> Dict[int, Linted]:
    """Diagnostics (and modules used) per position in `items`. Each pool that breaks because
    a worker overran the time budget leaves that file its TL004; the files lost with it go to
    the next pool."""
    results: Dict[int, Linted] = {}
    todo = list(range(len(items)))
    while todo:
        found, lost = _lint_in_one_pool([items[position] for position in todo], config, jobs)
        results.update((todo[number], linted) for number, linted in found.items())
        todo = [todo[number] for number in lost]
    return results


def _lint_in_one_pool(items: Sequence[Item], config: Config, jobs: int) -> Tuple[Dict[int, Linted], List[int]]:
    """Diagnostics per position in `items`, and the positions lost when the parent killed an
    overdue worker (to be linted again: the pool is gone, their files are not to blame)."""
    results: Dict[int, Linted] = {}
    unfinished: List[int] = []
    overdue: List[int] = []
    workers = min(jobs, len(items))
    watch = watch_for(config, workers, _context())
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=_init_worker,
        initargs=(config, os.getpid(), watch),
    )
    try:
        futures = {
            executor.submit(_lint_chunk, list(items[start:end]), start): (start, end)
            for start, end in _chunks(len(items), jobs)
        }
        pending = set(futures)
        while pending:
            if watch is None:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
            else:
                done, pending, killed = watch.wait(pending)
                overdue.extend(killed)
            for future in done:
                start, end = futures[future]
                try:
                    for offset, found in enumerate(future.result()):
                        results[start + offset] = found
                except BrokenProcessPool:
                    unfinished.extend(range(start, end))
    except BaseException:  # ^C, SIGTERM (the CLI raises on it), anything: no worker outlives it
        stop_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    for position in overdue:
        results[position] = ([timed_out(items[position][0], config)], [])
    unfinished = [position for position in unfinished if position not in results]
    if overdue:
        return results, unfinished
    for position in sorted(unfinished):
        results[position] = _lint_isolated(items[position], config)
    return results, []


def _lint_isolated(item: Item, config: Config) -> Linted:
    """Lint one file in a fresh single-use worker: if that worker dies too, the file is the
    cause, and it gets a TL003 instead of taking the run down with it."""
    watch = watch_for(config, 1, _context())
    executor = ProcessPoolExecutor(
        max_workers=1, mp_context=_context(), initializer=_init_worker, initargs=(config, os.getpid(), watch)
    )
    try:
        future = executor.submit(_lint_chunk, [item])
        while watch is not None and not future.done():
            if watch.wait({future})[2]:
                return [timed_out(item[0], config)], []
        return future.result()[0]
    except BrokenProcessPool:
        return [worker_died(item[0])], []
    except BaseException:
        stop_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True)
