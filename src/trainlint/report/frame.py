"""Source lines for code frames and fingerprints, split the way the parser counts lines."""

from __future__ import annotations

from typing import List, Mapping, Optional, Tuple, Union

from trainlint.core.diagnostics import Diagnostic
from trainlint.core.lines import LINE_BREAK

# What reporters that show code are given: the text of each file by path, and of each
# notebook cell by (path, cell number), since the positions of a cell finding are cell lines.
SourceKey = Union[str, Tuple[str, int]]

MAX_FRAME_LINES = 4


def source_lines(text: str) -> List[str]:
    return LINE_BREAK.split(text)


def source_key(diagnostic: Diagnostic) -> SourceKey:
    return diagnostic.path if diagnostic.cell is None else (diagnostic.path, diagnostic.cell)


def lines_of(diagnostic: Diagnostic, sources: Optional[Mapping[SourceKey, str]]) -> Optional[List[str]]:
    """The lines the diagnostic's positions refer to (a notebook finding's: its cell's);
    None when the source is not at hand."""
    key = source_key(diagnostic)
    if not sources or key not in sources:
        return None
    lines = source_lines(sources[key])
    return lines if 1 <= diagnostic.line <= len(lines) else None


def code_frame(diagnostic: Diagnostic, lines: List[str]) -> str:
    """The reported lines with a gutter and carets under the reported span:

          |
        3 | X_tr, X_te, y_tr, y_te = train_test_split(X, y)
          |                          ^^^^^^^^^^^^^^^^^^^^^^
    """
    last = min(max(diagnostic.end_line, diagnostic.line), len(lines), diagnostic.line + MAX_FRAME_LINES - 1)
    width = len(str(last))
    gutter = " " * width + " |"
    out = [gutter]
    for number in range(diagnostic.line, last + 1):
        line = lines[number - 1]
        out.append(f"{number:>{width}} | {line}".rstrip())
        start = diagnostic.col if number == diagnostic.line else len(line) - len(line.lstrip()) + 1
        end = diagnostic.end_col if number == diagnostic.end_line else len(line.rstrip()) + 1
        end = max(end, start + 1)
        # Keep tabs in the padding so the carets line up however the terminal expands them.
        padding = "".join(ch if ch == "\t" else " " for ch in line[: start - 1])
        out.append(f"{gutter} {padding}{'^' * (end - start)}")
    if last < diagnostic.end_line:
        out.append(f"{gutter} ...")
    return "\n".join(out) + "\n"
