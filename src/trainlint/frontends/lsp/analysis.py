"""The language server's analysis process: `python -m trainlint.frontends.lsp.analysis PID`.

It reads jobs from stdin and writes results to stdout, one at a time, each a pickled tuple
behind an 8-byte length. Linting runs on this process's main thread, so the engine's
`per-file-timeout` (a signal timer) works as on the command line. The process ends with
the server: at the end of its input, or by the kernel's parent-death signal.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import BinaryIO, Callable, Dict, Optional

from trainlint.core.config import Config
from trainlint.core.limits import use_batch_gc
from trainlint.fix.apply import fix_text
from trainlint.run.editing import EditorSession
from trainlint.run.engine import lint_text
from trainlint.run.worker_life import start_as_worker

LENGTH = struct.Struct(">Q")


EDITOR = EditorSession()


def lint(text: str, path: str, config: Config):
    """A document's diagnostics; what the last lint of it parsed is reused (run.editing)."""
    return lint_text(text, path, config, EDITOR.hooks_for(path))


def fix_all(text: str, path: str, config: Config):
    """The safe fixes, as `trainlint --fix` applies them: (fixed text, count), or None."""
    result, _ = fix_text(text, lambda source: lint_text(source, path, config), unsafe=False)
    return (result.text, len(result.applied)) if result.changed else None


JOBS: Dict[str, Callable] = {"lint": lint, "fix_all": fix_all}


def read_message(stream: BinaryIO) -> Optional[tuple]:
    header = stream.read(LENGTH.size)
    if len(header) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(header)
    body = stream.read(size)
    return pickle.loads(body) if len(body) == size else None


def write_message(stream: BinaryIO, message: tuple) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(LENGTH.pack(len(body)) + body)
    stream.flush()


def serve(jobs_in: BinaryIO, results_out: BinaryIO) -> None:
    while True:
        job = read_message(jobs_in)
        if job is None:
            return
        job_id, kind, args = job
        try:
            outcome = ("ok", JOBS[kind](*args))
        except Exception as error:  # noqa: BLE001 - the engine isolates rules; this is the last guard
            outcome = ("error", f"{type(error).__name__}: {error}")
        write_message(results_out, (job_id,) + outcome)


def warm_up() -> None:
    """Import what linting needs (the rules, libcst, the facts) before the first job, so
    that the first document opened does not wait for the imports."""
    from trainlint.rules import all_rules
    from trainlint.semantic.context import FileContext  # noqa: F401 - imports libcst and the facts

    all_rules()


def main() -> None:
    start_as_worker(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    use_batch_gc()  # this process is ours: collect less often (core.limits)
    warm_up()
    # The results get a descriptor of their own; anything printed goes to stderr instead
    # of corrupting them.
    results_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, results_out)


if __name__ == "__main__":
    main()
