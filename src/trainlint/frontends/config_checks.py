"""Loading the configuration for a front end: core checks the shape of every value, and the
checks only the layers above can make (does this rule selector, this output format exist?)
are made here, while the file is read, so that a mistake is the same one-line error naming
the key as any other."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from trainlint.core.config import Config, load_config
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
