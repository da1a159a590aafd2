"""The per-user secret that signs result-cache entries.

A repository can ship a `.trainlint_cache/` (a forced `git add`), and CI that lints a pull
request must not serve results the pull request planted. So every entry carries an HMAC
under a secret that only this user's runs know, kept outside any linted tree (in the user's
cache folder, created 0600 on first use); an entry without a valid MAC is a miss. A secret
that cannot be created or is not safely ours (not a regular file of ours, readable by
others) turns the cache off for the run: that costs speed, never correctness.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional, Tuple

_SECRET_BYTES = 32
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_loaded: Dict[str, Optional[bytes]] = {}
_paths: Dict[Tuple[Optional[str], ...], str] = {}


def user_cache_dir() -> Path:
    """The platform's per-user cache folder."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path.home() / ".cache"


def secret_path() -> Path:
    return user_cache_dir() / "trainlint" / "secret"


def cache_secret() -> Optional[bytes]:
    """This user's secret, created on first use; None when there is no usable one."""
    environment = (os.environ.get("XDG_CACHE_HOME"), os.environ.get("LOCALAPPDATA"), os.environ.get("HOME"))
    path = _paths.get(environment)
    if path is None:  # the folders it depends on, looked up once (every cache entry asks)
        path = _paths[environment] = str(secret_path())
    if path not in _loaded:
        _loaded[path] = _load(path)
    return _loaded[path]


def _load(path: str) -> Optional[bytes]:
    try:
        try:
            return _read(path)
        except FileNotFoundError:
            _create(path)
            return _read(path)
    except (OSError, ValueError):
        return None


def _read(path: str) -> Optional[bytes]:
    fd = os.open(path, _READ_FLAGS)  # a symlink planted in its place is refused (ELOOP)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != _SECRET_BYTES:
            return None
        if os.name == "posix" and (info.st_uid != os.geteuid() or info.st_mode & 0o077):
            return None  # someone else's, or others could read it: it proves nothing
        data = os.read(fd, _SECRET_BYTES)
        return data if len(data) == _SECRET_BYTES else None
    finally:
        os.close(fd)


def _create(path: str) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # never replaces a secret another run just created
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            os.replace(temporary, path)
    finally:
        try:
            os.unlink(temporary)
        except OSError:
            pass
