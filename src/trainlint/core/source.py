"""Reading sources from disk into text: encodings, BOMs, binary files.

Errors come back as `SourceError` with a one-line message; the engine turns them into a
diagnostic for that file, and the run goes on.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path


class SourceError(Exception):
    """A file that cannot be read as Python source; the message is one line."""


def decode_source(data: bytes) -> str:
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        message = getattr(error, "msg", None) or str(error)
        if "unknown encoding" in message:
            raise SourceError(f"cannot decode: {message}") from None
        encoding = "utf-8"  # no usable cookie and not UTF-8: let the decode below explain
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        raise SourceError(
            f"cannot decode as {encoding}: {reason}; add a coding cookie or save as UTF-8"
        ) from None
    return text.lstrip("\ufeff")


def read_source(path: Path) -> str:
    return decode_source(read_bytes(path))


def read_bytes(path: Path) -> bytes:
    """The bytes of a file, or a SourceError saying in one line why not."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise SourceError("is a directory, not a file") from None
    except FileNotFoundError:
        raise SourceError("file not found (it may have been removed during the run)") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
