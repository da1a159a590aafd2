"""Engine values to LSP values: positions in the client's encoding, diagnostics, edits.

The engine counts lines from 1 and columns in code points from 1; LSP counts both from 0
and columns in code units of the negotiated encoding (UTF-16 unless the client offers
another), so a line with `é` or an emoji needs converting, not just shifting by one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from lsprotocol import types

from trainlint.core.diagnostics import Diagnostic, Edit, Severity
from trainlint.core.project import rule_url

SOURCE = "trainlint"

# The rule pages (docs/rules/<CODE>.md) of the repository. An editable install finds them
# next to the package and links the local file, which matches the installed version.
LOCAL_RULE_DOCS = Path(__file__).resolve().parents[3] / "docs" / "rules"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}

_UNITS: Dict[str, Callable[[str], int]] = {
    "utf-8": lambda text: len(text.encode("utf-8", "surrogatepass")),
    "utf-16": lambda text: len(text.encode("utf-16-le", "surrogatepass")) // 2,
    "utf-32": len,
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> List[str]:
    """Lines as LSP (and Python's tokenizer) count them: only \\n, \\r\\n and \\r end a line."""
    return _LINE_BREAK.split(text)


def units(text: str, encoding: str) -> int:
    return _UNITS.get(str(encoding), _UNITS["utf-16"])(text)


def to_position(lines: Sequence[str], line: int, col: int, encoding: str) -> types.Position:
    """1-based line and code-point column to an LSP position, clamped to the document."""
    index = min(max(line - 1, 0), max(len(lines) - 1, 0))
    text = lines[index] if lines else ""
    return types.Position(line=index, character=units(text[: max(col - 1, 0)], encoding))


def to_range(lines: Sequence[str], start: tuple, end: tuple, encoding: str) -> types.Range:
    return types.Range(start=to_position(lines, *start, encoding), end=to_position(lines, *end, encoding))


def rule_docs_href(code: str) -> str:
    local = LOCAL_RULE_DOCS / f"{code}.md"
    return local.as_uri() if local.is_file() else rule_url(code)


def to_lsp_diagnostic(diagnostic: Diagnostic, lines: Sequence[str], encoding: str) -> types.Diagnostic:
    start = (diagnostic.line, diagnostic.col)
    end = (diagnostic.end_line, diagnostic.end_col)
    if end <= start:
        # Engine diagnostics (syntax errors, skipped files) mark a point; underline the rest
        # of the line so that every editor shows something to hover.
        line_text = lines[diagnostic.line - 1] if 0 < diagnostic.line <= len(lines) else ""
        end = (diagnostic.line, max(len(line_text) + 1, diagnostic.col))
    return types.Diagnostic(
        range=to_range(lines, start, end, encoding),
        # the editor shows the message on hover: the short line, then why and what to do
        message=diagnostic.message + (f"\n{diagnostic.explanation}" if diagnostic.explanation else ""),
        severity=_SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
        code=diagnostic.code,
        code_description=types.CodeDescription(href=rule_docs_href(diagnostic.code)),
        source=SOURCE,
    )


def to_text_edit(edit: Edit, lines: Sequence[str], encoding: str) -> types.TextEdit:
    return types.TextEdit(
        range=to_range(lines, (edit.start_line, edit.start_col), (edit.end_line, edit.end_col), encoding),
        new_text=edit.new_text,
    )


def overlaps(a: types.Range, b: types.Range) -> bool:
    """Whether two ranges touch (an empty range at a diagnostic's edge counts)."""
    a_start, a_end = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b_start, b_end = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a_start <= b_end and b_start <= a_end
