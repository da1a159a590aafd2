"""Writing fixed files: atomically, and only where the result is the same file with new text.

A file is replaced by a verified temporary copy in its folder (then a rename), with its
owner, group and mode; the original stays intact if anything fails before the rename. When
a rename cannot give the same file, it is not written and `WriteRefused` says why in one
line: read-only (no write bit, whoever runs trainlint, as ruff does), hard-linked (a rename
would cut the links), owned by someone the copy cannot be given to, or changed since it was
read. Temporaries that killed runs left behind are removed before writing.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import tempfile
import time
import tokenize
from pathlib import Path
from typing import Optional, Tuple

SUFFIX = ".trainlint-tmp"


class WriteRefused(Exception):
    """The file is left as it is; the message (one line) says why."""


def source_encoding(data: bytes) -> Tuple[str, bool]:
    """The encoding a Python file declares (or UTF-8) and whether it starts with a BOM."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    return encoding, has_bom


def encode_like(original: bytes, text: str, notebook: bool = False) -> bytes:
    """`text` in the encoding of `original` (a notebook: UTF-8), with its byte order mark."""
    encoding, has_bom = ("utf-8", original.startswith(codecs.BOM_UTF8)) if notebook else source_encoding(original)
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if has_bom else data


def write_atomically(path: Path, data: bytes, expected: Optional[bytes] = None) -> None:
    """Replace `path` (through a symlink: its target) with `data`. `expected`: the bytes the
    fix was computed from; a file that no longer holds them is not overwritten."""
    real = Path(os.path.realpath(path))
    remove_stale_temporaries(real)
    before = _writable(real)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{real.name}.{os.getpid()}.", suffix=SUFFIX, dir=real.parent)
    except OSError as error:
        raise WriteRefused(f"cannot create a temporary file beside it: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "w+b") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            stream.seek(0)
            if stream.read() != data:  # the copy is verified before it replaces anything
                raise OSError("the temporary copy does not read back as written")
        _same_owner_and_mode(temporary, before)
        if expected is not None and real.read_bytes() != expected:
            raise WriteRefused("it changed since it was read (run --fix again)")
        os.replace(temporary, real)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _writable(real: Path) -> os.stat_result:
    status = real.stat()
    if not stat.S_ISREG(status.st_mode):
        raise WriteRefused("not a regular file")
    if not status.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # the mode bits, not os.access: root may write anything, but the user said read-only
        raise WriteRefused(f"the file is read-only (mode {stat.S_IMODE(status.st_mode):04o})")
    if not os.access(real, os.W_OK):
        raise WriteRefused("permission denied")
    if status.st_nlink > 1:
        raise WriteRefused(f"it has {status.st_nlink} hard links, which replacing it would break")
    return status


def _same_owner_and_mode(temporary: str, before: os.stat_result) -> None:
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) != (before.st_uid, before.st_gid):
        try:
            os.chown(temporary, before.st_uid, before.st_gid)
        except PermissionError:
            raise WriteRefused("its owner or group could not be kept (the rewritten "
                               "file would belong to you)") from None
    os.chmod(temporary, stat.S_IMODE(before.st_mode))  # after chown, which clears set-id bits


def remove_stale_temporaries(real: Path) -> None:
    """Remove `.NAME.<pid>.*.trainlint-tmp` files of `real` whose process is gone (a run
    killed while writing), and those without a process id (older trainlint) an hour old."""
    prefix = f".{real.name}."
    try:
        candidates = [entry for entry in os.scandir(real.parent)
                      if entry.name.startswith(prefix) and entry.name.endswith(SUFFIX)]
    except OSError:
        return
    for entry in candidates:
        try:
            if entry.is_file(follow_symlinks=False) and _is_stale(entry.name[len(prefix):], entry):
                os.unlink(entry.path)
        except OSError:
            pass  # another run removed it, or it is not ours to remove


def _is_stale(rest: str, entry: os.DirEntry) -> bool:
    pid = rest.split(".", 1)[0]
    if not pid.isdigit():
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > 3600
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False
