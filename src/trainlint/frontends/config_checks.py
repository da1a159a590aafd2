"""Loading the configuration for a front end: core checks the shape of every value, and the
checks only the layers above can make (does this rule selector, this output format exist?)
are made here, while the file is read, so that a mistake is the same one-line error naming
the key as any other."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional

from trainlint.core.config import Config, load_config, pyproject_in
from trainlint.report import check_output_format


def check_value(key: str, value: object, where: str) -> None:
    """A `core.config.ValueCheck`: output-format against the reporters, every other key it is
    called for (rule selector lists) against the rule registry."""
    if key == "output-format":
        check_output_format(value, where)
    else:
        check_selectors(value, where)  # type: ignore[arg-type]


def check_selectors(selectors: Iterable[str], where: str) -> None:
    # The registry is imported only when there are selectors to check: a run answered from
    # the cache with the default selection never loads the rules.
    from trainlint.rules import check_selectors as check

    check(selectors, where)


def load_checked_config(config_file: Optional[Path] = None, start: Optional[Path] = None) -> Config:
    return load_config(config_file, start, check=check_value)


class ConfigResolver:
    """The configuration of each linted file, as ruff finds it: `--config` for every file,
    else the nearest pyproject.toml with a [tool.trainlint] table walking up from the file's
    folder (the defaults where there is none), with the command line's overrides applied on
    top of each. Each folder is looked at once and each config file read once per run."""

    def __init__(self, config_file: Optional[Path] = None,
                 overrides: Callable[[Config], Config] = lambda config: config) -> None:
        self._explicit = config_file
        self._overrides = overrides
        self._folders: Dict[str, Optional[Path]] = {}
        self._loaded: Dict[Optional[str], Config] = {}

    def _nearest(self, folder: Path) -> Optional[Path]:
        key = str(folder)
        if key not in self._folders:
            found = pyproject_in(folder)
            if found is None and folder.parent != folder:
                found = self._nearest(folder.parent)
            self._folders[key] = found
        return self._folders[key]

    def config_file_for(self, path: Path) -> Optional[Path]:
        """The config file that applies to `path` (a file or a folder), or None."""
        if self._explicit is not None:
            return self._explicit
        absolute = os.path.abspath(path)  # os.path: asked for every linted file
        folder = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        known = self._folders.get(folder)
        return known if known is not None or folder in self._folders else self._nearest(Path(folder))

    def for_path(self, path: Path) -> Config:
        """The effective configuration of `path`; raises ConfigError for a bad config file."""
        config_file = self.config_file_for(path)
        key = None if config_file is None else str(config_file)
        if key not in self._loaded:
            base = load_checked_config(config_file) if config_file is not None else Config()
            self._loaded[key] = self._overrides(base)
        return self._loaded[key]
