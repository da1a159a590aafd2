"""The configuration of each open document: the nearest pyproject.toml, as the CLI reads it.

Configurations are cached per folder and stamped with the size and modification time of
every pyproject.toml above it, so an edited file is picked up on the next lint even when
the client sends no `workspace/didChangeWatchedFiles`; the events only make it immediate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from trainlint.core.config import Config, ConfigError
from trainlint.frontends.config_checks import load_checked_config

Stamp = Tuple[Tuple[str, int, int], ...]


def _stamp(folder: Path) -> Stamp:
    found = []
    for parent in (folder, *folder.parents):
        candidate = parent / "pyproject.toml"
        try:
            status = candidate.stat()
        except OSError:
            continue
        found.append((str(candidate), status.st_mtime_ns, status.st_size))
    return tuple(found)


class ConfigResolver:
    def __init__(self, on_error: Callable[[str], None]) -> None:
        self._on_error = on_error
        self._cache: Dict[Path, Tuple[Stamp, Config]] = {}
        self._reported: Optional[str] = None

    def clear(self) -> None:
        self._cache.clear()
        self._reported = None

    def stale(self) -> bool:
        """Whether a pyproject.toml that a cached configuration came from has changed."""
        return any(_stamp(folder) != stamp for folder, (stamp, _) in list(self._cache.items()))

    def for_folder(self, folder: Path) -> Config:
        stamp = _stamp(folder)
        cached = self._cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            config = load_checked_config(start=folder)
        except ConfigError as error:
            # One message per distinct problem, not one per keystroke; lint with the
            # defaults meanwhile so that the editor still shows findings.
            if str(error) != self._reported:
                self._reported = str(error)
                self._on_error(f"trainlint: {error}; using the default configuration until it is fixed")
            config = Config()
        else:
            self._reported = None
        self._cache[folder] = (stamp, config)
        return config
