"""flake8 plugin: trainlint's findings as `TL` codes inside a flake8 run.

A thin adapter over `lint_source`: flake8 hands over the lines it has read, the plugin lints
their text and yields each diagnostic. Every rule is enabled here; flake8's own `--select`,
`--extend-ignore`, `per-file-ignores` and `# noqa` decide what is shown. (trainlint's own
`# noqa` comments and file-level `# trainlint: noqa` keep working too.)
"""

from __future__ import annotations

from typing import Any, Iterator, List, Tuple

from trainlint import __version__
from trainlint.core.config import Config
from trainlint.run.engine import lint_source

_CONFIG = Config()


class TrainlintChecker:
    name = "trainlint"
    version = __version__

    # flake8 classifies a plugin by its parameters: `tree` makes this an AST plugin, called
    # once per file. The tree itself is not used (trainlint parses with libcst).
    def __init__(self, tree: Any, lines: List[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        path = "<stdin>" if self.filename in ("-", "stdin") else self.filename
        for diagnostic in lint_source("".join(self.lines), path, _CONFIG):
            # flake8 wants 0-based columns and prints them 1-based, as trainlint does.
            yield diagnostic.line, diagnostic.col - 1, f"{diagnostic.code} {diagnostic.message}", type(self)
