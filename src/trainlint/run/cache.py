"""Per-file result cache: a warm run re-lints nothing that did not change.

An entry holds the diagnostics of one file. Its key is a hash of the file's bytes, the
path it is shown under (diagnostics carry it) and its absolute path (per-file-ignores match
it against the config root), the effective configuration (root included) and the code of
trainlint itself (its version and a fingerprint of its sources, so an edited rule in a
development checkout does not serve stale results).

An entry is believed only when it is whole, ours and well formed (`cache_entry`: an HMAC
under this user's secret, `cache_secret`, and a schema check); it is read only when it is
a regular file of bounded size, never through a symlink. Anything else is a miss, and the
entry is rewritten. Entries are written to a temporary file and moved into place with
`os.replace`, so a concurrent run sees either no entry or a whole one. The folder carries
its own `.gitignore` (`*`). The entry of a file that used summaries of other project
modules also lists those modules and their hashes; it is believed only while they match.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import trainlint
from trainlint import __version__
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic
from trainlint.run import cache_entry
from trainlint.run.cache_secret import cache_secret
from trainlint.run.notebook import is_notebook

DEFAULT_DIR = ".trainlint_cache"
# Bump when the entry layout changes.
_FORMAT = "2"
# Results that depend on the moment rather than the content are never stored.
_NOT_CACHEABLE = frozenset({"TL002", "TL004"})
# mkstemp creates 0600 files; cache entries get the usual mode (0644 under umask 022).
_umask = os.umask(0)
os.umask(_umask)
_FILE_MODE = 0o666 & ~_umask
# An entry is a few hundred bytes per diagnostic; anything larger is not ours.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The trainlint version plus a hash of its own sources (size and mtime are enough to
    notice an edit; reading every module each run would cost more than it saves)."""
    package = Path(trainlint.__file__).resolve().parent  # all of it: rules and semantic too
    digest = hashlib.blake2b(f"{_FORMAT}:{__version__}".encode(), digest_size=16)
    for module in sorted(package.rglob("*.py")):
        try:
            info = module.stat()
        except OSError:
            continue
        digest.update(f"{module.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def default_cache_dir(config: Config) -> Path:
    """`TRAINLINT_CACHE_DIR` if set, else `.trainlint_cache` beside the config file (or in
    the working directory when there is none)."""
    from_env = os.environ.get("TRAINLINT_CACHE_DIR")
    if from_env:
        return Path(from_env)
    return Path(config.root if config.config_path else ".") / DEFAULT_DIR


class ResultCache:
    def __init__(self, folder: Path, config: Config) -> None:
        self.folder = Path(folder)
        self._salt = f"{code_fingerprint()}\0{config.fingerprint()}\0".encode()
        self._ready = False

    def key(self, data: bytes, display_path: str) -> str:
        digest = hashlib.blake2b(self._salt, digest_size=20)
        for part in (display_path, os.path.abspath(display_path)):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key[2:]}.json"

    def get(self, key: str, data: bytes, display_path: str) -> Optional[List[Diagnostic]]:
        """The stored diagnostics of the file `data` shown as `display_path` (whose `key`
        it is), or None: no entry, or one that is not believed."""
        secret = cache_secret()
        if secret is None:
            return None
        raw = _read_entry(self._entry(key))
        if raw is None:
            return None
        decoded = cache_entry.decode(secret, raw, key, display_path,
                                     lambda: cache_entry.line_bound(data, is_notebook(display_path)),
                                     max_col=len(data) + 1)
        if decoded is None:
            return None
        diagnostics, uses = decoded
        if uses:
            from trainlint.run.summaries import uses_unchanged

            if not uses_unchanged(uses):
                return None  # a project module it read summaries from has changed
        return diagnostics

    def put(self, key: str, diagnostics: List[Diagnostic], uses: Sequence[Tuple[str, str]] = ()) -> None:
        if any(d.code in _NOT_CACHEABLE for d in diagnostics):
            return
        secret = cache_secret()
        if secret is None:
            return
        content = cache_entry.encode(secret, key, diagnostics, uses)
        if len(content) > MAX_ENTRY_BYTES:
            return
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                os.chmod(temporary, _FILE_MODE)
                os.replace(temporary, entry)
            except BaseException:
                _remove_quietly(temporary)
                raise
        except OSError:
            pass  # a read-only or full disk only costs speed, never the run

    def _prepare(self) -> None:
        if self._ready:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            _write_atomically(ignore, "# Created by trainlint: its result cache.\n*\n")
        self._ready = True


def _write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_entry(path: Path) -> Optional[bytes]:
    """The bytes of an entry: a regular file (not a symlink, device or FIFO) of bounded size."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            return None
        chunks = []
        remaining = info.st_size + 1  # one more byte tells a file that grew since fstat
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        raw = b"".join(chunks)
        return raw if len(raw) <= MAX_ENTRY_BYTES else None
    except OSError:
        return None
    finally:
        os.close(fd)
