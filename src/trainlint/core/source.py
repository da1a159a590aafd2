"""Reading sources from disk into text: encodings, BOMs, binary files, special files.

Errors come back as `SourceError` with a one-line message; the engine turns them into a
diagnostic for that file, and the run goes on.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import sys
import tokenize
from pathlib import Path
from typing import Optional

# Non-blocking: opening a FIFO waits for a writer otherwise (it is refused once open).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_READ_CHUNK = 1 << 20


class SourceError(Exception):
    """A file that cannot be read as Python source; the message is one line."""


class FileTooLarge(SourceError):
    """A file larger than the size limit it was read under (it is not read)."""


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
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        _check_encodable(text, encoding)
    return text.lstrip("\ufeff")


def _check_encodable(text: str, encoding: str) -> None:
    """Only codecs other than UTF-8 (unicode_escape, say) can decode to a lone surrogate,
    which is not text: the parser and every writer would fail on it later."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        raise SourceError(
            f"cannot decode as {encoding}: line {line} decodes to a lone surrogate"
            f" ({text[error.start]!r}), which is not text; save the file as UTF-8"
        ) from None


def read_source(path: Path) -> str:
    return decode_source(read_bytes(path))


def read_bytes(path: Path, max_bytes: Optional[float] = None) -> bytes:
    """The bytes of a regular file, or a SourceError saying in one line why not
    (`FileTooLarge` past `max_bytes`). A device (/dev/zero), FIFO or socket is refused
    without reading from it or waiting on it."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise _read_error(error) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SourceError("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("not a regular file (a device, FIFO or socket): only regular files are linted")
        limit = sys.maxsize if max_bytes is None else int(min(max_bytes, sys.maxsize - 1))
        if info.st_size > limit:
            raise FileTooLarge("larger than the size limit")
        chunks = []
        remaining = limit + 1  # a file that grew past the limit since fstat is still caught
        while remaining > 0:
            chunk = os.read(fd, min(remaining, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        if remaining <= 0:
            raise FileTooLarge("larger than the size limit")
        return b"".join(chunks)
    except OSError as error:
        raise _read_error(error) from None
    finally:
        os.close(fd)


def _read_error(error: OSError) -> SourceError:
    if isinstance(error, IsADirectoryError):
        return SourceError("is a directory, not a file")
    if isinstance(error, FileNotFoundError):
        return SourceError("file not found (it may have been removed during the run)")
    if isinstance(error, PermissionError):
        return SourceError("permission denied")
    return SourceError(f"cannot read: {error.strerror or error}")
