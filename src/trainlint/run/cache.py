"""Per-file result cache: a warm run re-lints nothing that did not change.

An entry holds the diagnostics of one file. Its key is a hash of the file's bytes, the
path it is shown under (diagnostics carry it, and per-file-ignores depend on it), the
effective configuration and the code of trainlint itself (its version and a fingerprint
of its sources, so an edited rule in a development checkout does not serve stale results).

Entries are written to a temporary file and moved into place with `os.replace`, so a
concurrent run sees either no entry or a whole one. An entry that cannot be read back is
ignored (a miss) and rewritten. The folder carries its own `.gitignore` (`*`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

import trainlint
from trainlint import __version__
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity

DEFAULT_DIR = ".trainlint_cache"
# Bump when the entry layout changes.
_FORMAT = "1"
# Results that depend on the moment rather than the content are never stored.
_NOT_CACHEABLE = frozenset({"TL002", "TL004"})
# mkstemp creates 0600 files; cache entries get the usual mode (0644 under umask 022).
_umask = os.umask(0)
os.umask(_umask)
_FILE_MODE = 0o666 & ~_umask


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The trainlint version plus a hash of its own sources (size and mtime are enough to
    notice an edit; reading every module each run would cost more than it saves)."""
    package = Path(trainlint.__file__).resolve().parent  # all of it: rules and semantic too
    digest = hashlib.blake2b(f"{_FORMAT}:{__version__}".encode(), digest_size=16)
    for module in sorted(package.rglob("*.py")):
        try:
            stat = module.stat()
        except OSError:
            continue
        digest.update(f"{module.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
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
        digest.update(display_path.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key[2:]}.json"

    def get(self, key: str) -> Optional[List[Diagnostic]]:
        try:
            with open(self._entry(key), "rb") as handle:
                payload = json.loads(handle.read())
            if payload.get("key") != key:
                return None
            return [_diagnostic_from_dict(item) for item in payload["diagnostics"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # corrupt or foreign entry: a miss; the next put rewrites it

    def put(self, key: str, diagnostics: List[Diagnostic]) -> None:
        if any(d.code in _NOT_CACHEABLE for d in diagnostics):
            return
        payload = {"key": key, "diagnostics": [_diagnostic_to_dict(d) for d in diagnostics]}
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(payload, handle, separators=(",", ":"))
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


def _diagnostic_to_dict(diagnostic: Diagnostic) -> dict:
    data = asdict(diagnostic)
    data["severity"] = diagnostic.severity.value
    return data


def _diagnostic_from_dict(data: dict) -> Diagnostic:
    data = dict(data)
    data["severity"] = Severity(data["severity"])
    fix = data.get("fix")
    if fix is not None:
        data["fix"] = Fix(
            edits=tuple(Edit(**edit) for edit in fix["edits"]),
            safe=fix["safe"],
            description=fix["description"],
        )
    return Diagnostic(**data)
