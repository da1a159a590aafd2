"""Reading back the code that findings point at, for code frames and SARIF fingerprints.

The only IO of the report package, kept apart from the reporters (pure functions): the CLI
calls it when the chosen format shows or hashes code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable

from trainlint.core.diagnostics import Diagnostic
from trainlint.run.notebook import NotebookError, is_notebook, read_notebook
from trainlint.report.frame import SourceKey
from trainlint.core.source import SourceError, read_source


def read_sources(diagnostics: Iterable[Diagnostic]) -> Dict[SourceKey, str]:
    """Text by path for scripts, by (path, cell) for notebook cells. A file that cannot be
    read again is left out (its findings get no frame; it has its TL002 anyway)."""
    sources: Dict[SourceKey, str] = {}
    for path in sorted({d.path for d in diagnostics}):
        try:
            text = read_source(Path(path))
        except SourceError:
            continue
        if not is_notebook(path):
            sources[path] = text
            continue
        try:
            notebook = read_notebook(text)
        except NotebookError:
            continue
        for cell in notebook.code_cells:
            sources[(path, cell.number)] = cell.source
    return sources
