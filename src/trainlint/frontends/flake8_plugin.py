"""flake8 plugin: trainlint's findings as `TL` codes inside a flake8 run.

A thin adapter over `lint_source`: flake8 hands over the lines it has read, the plugin lints
their text and yields each diagnostic.

- Settings: the `[tool.trainlint]` of the nearest pyproject.toml (walking up from the file,
  as the CLI does) gives trainlint's own settings: role names, size and time limits. Which
  codes are shown is flake8's business (`--select`, `--extend-ignore`, `per-file-ignores`),
  so every rule runs here and trainlint's select/ignore lists are not applied.
- `# noqa` is left to flake8, so that `flake8 --disable-noqa` shows everything; the
  file-level `# trainlint: noqa`, which flake8 does not know, is applied here unless
  `--disable-noqa` is given.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, List, Set, Tuple

from trainlint import __version__
from trainlint.core.config import Config, ConfigError
from trainlint.core.suppression import file_exempts, file_exemption
from trainlint.frontends.config_checks import ConfigResolver
from trainlint.run.engine import lint_source

_DEFAULTS = Config()
_RESOLVER = ConfigResolver()
_REPORTED_ERRORS: Set[str] = set()


def config_for(path: str) -> Config:
    """trainlint's settings for `path`, with the rule selection left to flake8. A broken
    config file is reported once, in one line, and the defaults are used."""
    target = Path.cwd() / "<stdin>" if path == "<stdin>" else Path(path)
    try:
        config = _RESOLVER.for_path(target)
    except ConfigError as error:
        if str(error) not in _REPORTED_ERRORS:
            _REPORTED_ERRORS.add(str(error))
            sys.stderr.write(f"trainlint (flake8 plugin): {error}; using the defaults\n")
        return _DEFAULTS
    return replace(config, select=_DEFAULTS.select, extend_select=(), ignore=(), per_file_ignores=())


class TrainlintChecker:
    name = "trainlint"
    version = __version__
    disable_noqa = False

    # flake8 classifies a plugin by its parameters: `tree` makes this an AST plugin, called
    # once per file. The tree itself is not used (trainlint parses with libcst).
    def __init__(self, tree: Any, lines: List[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls.disable_noqa = bool(getattr(options, "disable_noqa", False))

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        path = "<stdin>" if self.filename in ("-", "stdin") else self.filename
        text = "".join(self.lines)
        exemption = frozenset() if self.disable_noqa else file_exemption(text)
        for diagnostic in lint_source(text, path, config_for(path), suppress=False):
            engine_code = diagnostic.code.startswith("TL0")  # TL001-TL004: never exempted
            if not engine_code and file_exempts(exemption, diagnostic.code, diagnostic.name):
                continue
            # flake8 wants 0-based columns and prints them 1-based, as trainlint does.
            yield diagnostic.line, diagnostic.col - 1, f"{diagnostic.code} {diagnostic.message}", type(self)
