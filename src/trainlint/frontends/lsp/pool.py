"""Analysis off the event loop: two lanes, each one analysis process (see analysis.py).

A process, not a thread: libcst's parser holds the GIL for long stretches, so a thread
would still stall the loop, and the engine's time budget needs a main thread. Documents
of `LARGE_DOCUMENT_CHARS` or more go to the large lane and everything else to the small
one, so a small document never waits behind a large one. Each lane runs its jobs in turn.

A job whose future is cancelled (the document changed again, or closed) is dropped if it
has not started; if it is running for more than `KILL_AFTER_SECONDS`, its process is
killed and replaced, since finishing it only delays the next version; a shorter one
finishes and its result is dropped. A process that dies gives an error outcome for that
job, one that outlives the job's time budget a timeout outcome; either is replaced.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

from trainlint.frontends.lsp.analysis import LENGTH

LARGE_DOCUMENT_CHARS = 100_000
KILL_AFTER_SECONDS = 0.3
# The engine stops a file at `per-file-timeout`; the process gets this much more before it
# is killed (the parser cannot always be interrupted by the engine's timer).
GRACE_SECONDS = 5.0
# How the server starts an analysis process (the server's pid is appended); tests replace it.
WORKER_COMMAND: List[str] = [sys.executable, "-m", "trainlint.frontends.lsp.analysis"]

Outcome = Tuple[str, object]  # ("ok", value), ("timeout" or "error", one-line message)


class WorkerGone(Exception):
    pass


class Worker:
    """One analysis process and the pipes to it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.next_id = 0

    @classmethod
    async def start(cls) -> "Worker":
        process = await asyncio.create_subprocess_exec(
            *WORKER_COMMAND, str(os.getpid()), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        return cls(process)

    async def run(self, kind: str, args: tuple) -> Outcome:
        self.next_id += 1
        body = pickle.dumps((self.next_id, kind, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.process.stdin.write(LENGTH.pack(len(body)) + body)
            await self.process.stdin.drain()
            (size,) = LENGTH.unpack(await self.process.stdout.readexactly(LENGTH.size))
            job_id, status, value = pickle.loads(await self.process.stdout.readexactly(size))
        except (OSError, asyncio.IncompleteReadError) as error:
            raise WorkerGone(await self.describe_end()) from error
        assert job_id == self.next_id, "the analysis process answers its jobs in order"
        return status, value

    async def describe_end(self) -> str:
        try:  # its pipe closed as it died: give the exit status a moment to arrive
            await asyncio.wait_for(self.process.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
        code = self.process.returncode
        if code is not None and code < 0:
            return f"the analysis process ended by signal {-code}"
        return "the analysis process ended unexpectedly"

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


@dataclass
class Job:
    kind: str
    args: tuple
    budget: Optional[float]  # seconds before the process is killed, or None for no limit
    future: asyncio.Future
    started: Optional[float] = None


class Lane:
    """Jobs run one after another in one analysis process, started (again) as soon as the
    lane has none."""

    def __init__(self) -> None:
        self.queue: "Optional[asyncio.Queue[Job]]" = None  # made in the running loop (Python 3.9)
        self.worker: Optional[Worker] = None
        self.current: Optional[Job] = None
        self.runner: Optional[asyncio.Task] = None

    def start(self) -> None:
        if self.runner is None:
            self.queue = asyncio.Queue()
            self.runner = asyncio.ensure_future(self._run())

    def submit(self, job: Job) -> None:
        self.start()
        job.future.add_done_callback(lambda _: self._abandoned(job))
        self.queue.put_nowait(job)

    def _abandoned(self, job: Job) -> None:
        if not job.future.cancelled() or self.current is not job or self.worker is None:
            return
        if asyncio.get_running_loop().time() - job.started > KILL_AFTER_SECONDS:
            self.worker.kill()  # the runner sees the process end and starts another

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start_error = None
            if self.worker is None:
                try:
                    self.worker = await Worker.start()
                except OSError as error:
                    start_error = f"cannot start the analysis process: {error}"
            job = await self.queue.get()
            if job.future.done():
                continue  # cancelled before it started
            if self.worker is None:
                job.future.set_result(("error", start_error or "no analysis process"))
                continue
            self.current, job.started = job, loop.time()
            try:
                outcome = await asyncio.wait_for(self.worker.run(job.kind, job.args), job.budget)
            except asyncio.TimeoutError:
                self.stop()
                outcome = ("timeout", f"analysis process killed after {job.budget:g} s (per-file-timeout and grace)")
            except WorkerGone as gone:
                self.stop()
                outcome = ("error", str(gone))
            finally:
                self.current = None
            if not job.future.done():
                job.future.set_result(outcome)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None


class AnalysisPool:
    def __init__(self) -> None:
        self.small = Lane()
        self.large = Lane()

    async def run(self, kind: str, text: str, path: str, config) -> Outcome:
        """Run a job (see analysis.JOBS) on `text`; cancel the awaiting task to abandon it."""
        timeout = getattr(config, "per_file_timeout", 0) or 0
        budget = timeout + GRACE_SECONDS if 0 < timeout < float("inf") else None
        lane = self.large if len(text) >= LARGE_DOCUMENT_CHARS else self.small
        job = Job(kind, (text, path, config), budget, asyncio.get_running_loop().create_future())
        lane.submit(job)
        return await job.future

    def warm_up(self) -> None:
        """Start the small lane's process now, so that the first document does not wait for it."""
        self.small.start()

    def close(self) -> None:
        """Kill the analysis processes (on shutdown, exit, or when the client is gone)."""
        for lane in (self.small, self.large):
            if lane.runner is not None:
                lane.runner.cancel()
                lane.runner = None
            lane.stop()
