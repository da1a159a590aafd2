"""Reading a file for the pipeline: its kind and size first (a special file or one over
the limit is never read), then its bytes, once: the bytes that make its cache key are the bytes that are linted.

Light on purpose (no libcst, no rules): the pool's parent reads every file on a warm run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from trainlint.core.config import Config
from trainlint.core.diagnostics import READ_ERROR, Diagnostic
from trainlint.core.source import FileTooLarge, SourceError, read_bytes
from trainlint.run.engine_diagnostics import engine_diagnostic, file_too_large
from trainlint.run.notebook import NOTEBOOK_SIZE_FACTOR, is_notebook


def size_limit(config: Config, path: str) -> float:
    """max-file-size in bytes; a notebook's outputs are not analysed, so it may be larger."""
    limit = config.max_file_size_mb * 1024 * 1024
    return limit * NOTEBOOK_SIZE_FACTOR if is_notebook(path) else limit


def read_file(path: Path, config: Config, shown: str) -> Union[bytes, Diagnostic]:
    """The file's bytes, or the diagnostic (TL004, TL002, shown under `shown`) that replaces them."""
    try:
        return read_bytes(path, max_bytes=size_limit(config, str(path)))
    except FileTooLarge:
        return file_too_large(shown, config)
    except SourceError as error:
        return engine_diagnostic(READ_ERROR, shown, str(error))
