"""Jupyter notebooks: read the JSON, join the code cells into one module, map back to cells.

The code cells of a notebook share one namespace, so they are analysed as one module: a
split in cell 3 and a scaler fitted in cell 7 are seen together. Each cell keeps its own
lines in the joined text (IPython syntax blanked in place, see `ipython_syntax`), so a
position in the module maps back to (cell, line, column) by a table lookup. Cells are
numbered from 1 among all cells, markdown included, as Jupyter and ruff show them.

Outputs and attachments are never looked at; a notebook of 100 MB of plots costs one
`json.loads`. This is the pipeline's source adapter for notebooks (`adapt`): JSON text in,
the Python text to analyse, its line labels and the way back to cells out. Pure.
"""

from __future__ import annotations

import ast
import bisect
import json
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from trainlint.core.config import Config
from trainlint.core.diagnostics import READ_ERROR, Diagnostic, Fix
from trainlint.core.limits import deeper_recursion
from trainlint.run.engine_diagnostics import (PARSER_DEPTH_LIMIT, code_cells_too_large, engine_diagnostic, parse,
                                              too_deep_for_libcst)
from trainlint.run.ipython_syntax import blank_ipython

NOTEBOOK_SUFFIX = ".ipynb"
# A notebook file may be this many times larger than max-file-size: outputs are not
# analysed, and the limit applies to the code cells.
NOTEBOOK_SIZE_FACTOR = 50


def is_notebook(path: str) -> bool:
    return str(path).lower().endswith(NOTEBOOK_SUFFIX)


class NotebookError(Exception):
    """The file is not a notebook we can read; the message is one line."""


@dataclass(frozen=True)
class CodeCell:
    number: int  # 1-based among all cells of the notebook
    source: str


@dataclass
class Notebook:
    code_cells: List[CodeCell]
    # (cell number, problem) for cells that cannot be read; the others are still analysed
    broken_cells: List[Tuple[int, str]] = field(default_factory=list)
    is_python: bool = True


def read_notebook(text: str) -> Notebook:
    """The code cells of a notebook (nbformat 4, or 3 with worksheets)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"not a readable notebook: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise NotebookError(f"not a readable notebook: {error}") from None
    if not isinstance(data, dict):
        raise NotebookError("not a readable notebook: the JSON is not an object with a `cells` list")
    cells = cells_of(data)
    notebook = Notebook(code_cells=[], is_python=_is_python(data.get("metadata")))
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue  # markdown, raw, heading cells and junk entries: not code
        source = cell.get("source", cell.get("input", ""))  # v3 code cells hold `input`
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            notebook.broken_cells.append(
                (number, "cell source is neither a string nor a list of strings; cell skipped")
            )
            continue
        notebook.code_cells.append(CodeCell(number, _clean(source)))
    return notebook


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(source: str) -> str:
    """One line-break style; JSON escapes of lone surrogates (not encodable, so no parser
    takes them) become U+FFFD, one character each so that columns stay right."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        source = _LONE_SURROGATE.sub("\ufffd", source)
    return source


def cells_of(data: dict) -> list:
    """The cells of a notebook's JSON object, whatever its nbformat."""
    cells = data.get("cells")
    if isinstance(cells, list):
        return cells
    worksheets = data.get("worksheets")  # nbformat 3
    if isinstance(worksheets, list) and all(
        isinstance(sheet, dict) and isinstance(sheet.get("cells", []), list) for sheet in worksheets
    ):
        return [cell for sheet in worksheets for cell in sheet.get("cells", [])]
    raise NotebookError("not a readable notebook: no `cells` list (nbformat 4) or `worksheets` (nbformat 3)")


def _is_python(metadata: object) -> bool:
    """False only when the notebook says it is in another language (an R or Julia kernel)."""
    if not isinstance(metadata, dict):
        return True
    for key in ("language_info", "kernelspec"):
        info = metadata.get(key)
        language = info.get("name" if key == "language_info" else "language") if isinstance(info, dict) else None
        if isinstance(language, str) and language:
            return language.lower() in ("python", "python3", "ipython", "ipython3")
    return True


@dataclass
class JoinedCells:
    """The code cells as one module, and the way back from its lines to the cells."""

    cells: List[CodeCell]
    cell_texts: List[str]  # each cell's Python, IPython syntax blanked, ending in "\n"
    first_lines: List[int]  # the module line where each cell starts (sorted)
    column_shifts: Dict[int, int]  # module line -> columns to add back

    @property
    def text(self) -> str:
        return "".join(self.cell_texts)

    def locate(self, line: int) -> Tuple[int, int]:
        """(index into `cells`, 1-based line in that cell) of a 1-based module line."""
        index = max(bisect.bisect_right(self.first_lines, line) - 1, 0)
        return index, line - self.first_lines[index] + 1

    def line_label(self, line: int) -> str:
        index, cell_line = self.locate(line)
        return f"cell {self.cells[index].number}, line {cell_line}"

    def without(self, indexes: Sequence[int]) -> "JoinedCells":
        """The same module with some cells' lines emptied (line numbers unchanged)."""
        texts = list(self.cell_texts)
        for index in indexes:
            texts[index] = "\n" * texts[index].count("\n")
        return replace(self, cell_texts=texts)


def join_cells(cells: Sequence[CodeCell]) -> JoinedCells:
    texts: List[str] = []
    first_lines: List[int] = []
    shifts: Dict[int, int] = {}
    next_line = 1
    for cell in cells:
        blanked = blank_ipython(cell.source[:-1] if cell.source.endswith("\n") else cell.source)
        first_lines.append(next_line)
        for line, shift in blanked.column_shifts.items():
            shifts[next_line + line - 1] = shift
        texts.append(blanked.text + "\n")
        next_line += texts[-1].count("\n")
    return JoinedCells(list(cells), texts, first_lines, shifts)


# -- the source adapter ----------------------------------------------------------------

@dataclass
class NotebookSource:
    """A notebook as the pipeline analyses it: the Python text of its code cells, what was
    found while reading them, and the way from the text's positions back to the cells."""

    joined: Optional[JoinedCells]  # None: nothing to analyse
    diagnostics: List[Diagnostic]  # found while reading, already in cell coordinates
    # Cells CPython cannot parse on their own, or too deep for libcst (the pipeline then
    # calls `drop_unparsable`).
    suspect: List[int] = field(default_factory=list)

    @property
    def text(self) -> Optional[str]:
        return self.joined.text if self.joined is not None else None

    def line_label(self, line: int) -> str:
        assert self.joined is not None
        return self.joined.line_label(line)

    @property
    def cell_starts(self) -> Tuple[int, ...]:
        """The line where each code cell starts: a cell's last expression is displayed."""
        return tuple(self.joined.first_lines) if self.joined is not None else ()

    def drop_unparsable(self, path: str) -> List[Diagnostic]:
        """Jupyter compiles each cell on its own: a cell that does not parse alone gets a
        TL001 in its coordinates and is emptied from `text`, even when the joined text would
        parse (an `else:` continuing the cell above, a bracket left open across cells). A
        cell nested too deep for libcst's native parser gets the TL004 a script would, and
        is emptied too, so that the other cells are still analysed.

        CPython's parser screened the cells (fast); the few it rejects are parsed with libcst,
        the parser that decides for scripts too (it may accept syntax newer than this Python)."""
        assert self.joined is not None
        broken: List[int] = []
        found: List[Diagnostic] = []
        with deeper_recursion():
            for index in self.suspect:
                parsed = parse(self.joined.cell_texts[index], path)
                if isinstance(parsed, Diagnostic):
                    broken.append(index)
                    found.append(self._in_cell(parsed, index))
        self.joined = self.joined.without(broken)
        return found

    def _in_cell(self, diagnostic: Diagnostic, index: int) -> Diagnostic:
        assert self.joined is not None
        first = self.joined.first_lines[index]
        shift = self.joined.column_shifts.get(first + diagnostic.line - 1, 0)
        return replace(
            diagnostic, cell=self.joined.cells[index].number, col=diagnostic.col + shift,
            end_line=diagnostic.line, end_col=diagnostic.col + shift,
        )

    def to_source(self, diagnostic: Diagnostic) -> Diagnostic:
        """A diagnostic of `text`, in the coordinates of its cell."""
        assert self.joined is not None
        return _to_cell(diagnostic, self.joined)


def adapt(text: str, path: str, config: Config) -> NotebookSource:
    """Read a notebook's JSON text for the pipeline. Pure."""
    try:
        notebook = read_notebook(text)
    except NotebookError as error:
        return NotebookSource(None, [engine_diagnostic(READ_ERROR, path, str(error))])
    if not notebook.is_python:
        return NotebookSource(None, [])
    diagnostics = [
        replace(engine_diagnostic(READ_ERROR, path, problem), cell=number)
        for number, problem in notebook.broken_cells
    ]
    joined = join_cells(notebook.code_cells)
    if not joined.cells:
        return NotebookSource(None, diagnostics)
    if len(joined.text.encode("utf-8", "surrogatepass")) > config.max_file_size_mb * 1024 * 1024:
        return NotebookSource(None, diagnostics + [code_cells_too_large(path, config)])
    suspect = [index for index, cell in enumerate(joined.cell_texts) if not _safe_for_libcst(cell)]
    return NotebookSource(joined, diagnostics, suspect)


def _safe_for_libcst(text: str) -> bool:
    """Whether CPython parses the cell and its tree is shallow enough for libcst's native
    parser (which crashes the process on a few thousand levels)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    # Every level of nesting takes at least one character of source (a few implicit nodes
    # aside): a short cell cannot be too deep, and is not walked.
    return len(text) <= PARSER_DEPTH_LIMIT // 2 or not too_deep_for_libcst(tree)


def _to_cell(diagnostic: Diagnostic, joined: JoinedCells) -> Diagnostic:
    index, line = joined.locate(diagnostic.line)
    end_index, end_line = joined.locate(diagnostic.end_line)
    col = diagnostic.col + joined.column_shifts.get(diagnostic.line, 0)
    if end_index == index:
        end_col = diagnostic.end_col + joined.column_shifts.get(diagnostic.end_line, 0)
    else:  # a range running into the next cell (only the module itself): stop at the start
        end_line, end_col = line, col
    return replace(
        diagnostic, cell=joined.cells[index].number, line=line, col=col,
        end_line=end_line, end_col=end_col, fix=_fix_in_cell(diagnostic.fix, joined, index),
    )


def _fix_in_cell(fix: Optional[Fix], joined: JoinedCells, index: int) -> Optional[Fix]:
    """The fix in the coordinates of the cell's own source, when every edit stays inside that
    cell and away from blanked IPython lines (whose columns moved); else no fix."""
    if fix is None:
        return None
    first = joined.first_lines[index]
    line_count = joined.cell_texts[index].count("\n")
    blanked_lines = joined.cell_texts[index].split("\n")
    source_lines = joined.cells[index].source.split("\n")
    edits = []
    for edit in fix.edits:
        start, end = edit.start_line - first + 1, edit.end_line - first + 1
        # an edit may end at column 1 of the line after the cell: the end of the cell's text
        if not (1 <= start <= line_count and 1 <= end <= line_count + 1):
            return None
        if end == line_count + 1 and edit.end_col != 1:
            return None
        for line in range(start, min(end, line_count) + 1):
            if line > len(source_lines) or source_lines[line - 1] != blanked_lines[line - 1]:
                return None  # IPython syntax blanked on this line: the cell's text differs
        edits.append(replace(edit, start_line=start, end_line=end))
    return replace(fix, edits=tuple(edits))
