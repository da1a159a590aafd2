"""flake8-style text: `path:line:col: TL301 message` (notebooks: `path:cell N:line:col:`).

Concise (the default) is that one line; full adds, indented below it, why it matters and what
to do (`Diagnostic.explanation`) and the rule's page."""

from __future__ import annotations

import textwrap
from typing import Iterable, List, Mapping, Optional

from trainlint.core.diagnostics import Diagnostic, applicable
from trainlint.core.project import rule_url
from trainlint.report.frame import SourceKey, code_frame, lines_of


def format_location(diagnostic: Diagnostic) -> str:
    if diagnostic.cell is not None:
        return f"{diagnostic.path}:cell {diagnostic.cell}:{diagnostic.line}:{diagnostic.col}"
    return f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}"


def format_text(
    diagnostics: Iterable[Diagnostic], unsafe: bool = False,
    sources: Optional[Mapping[SourceKey, str]] = None, full: bool = False,
) -> str:
    """One line per finding; `[*]` marks those `--fix` (or `--unsafe-fixes`) can repair.
    With `sources` (see report.frame), a code frame follows each finding (`--show-source`)."""
    out: List[str] = []
    for d in diagnostics:
        out.append(f"{format_location(d)}: {d.code} {'[*] ' if applicable(d.fix, unsafe) else ''}{one_line(d.message)}\n")
        if full:
            out.append(explanation_lines(d))
        lines = lines_of(d, sources)
        if lines is not None:
            out.append(code_frame(d, lines))
    return "".join(out)


# A message quoting code can hold its line breaks; a text report keeps one finding per line.
_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
MAX_MESSAGE = 400


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` on one line (whitespace runs around a line break become one space) and at
    most `limit` characters, ending in an ellipsis when cut."""
    if not _BREAKS.isdisjoint(message):
        message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "\u2026"


def explanation_lines(diagnostic: Diagnostic, indent: str = "    ", width: int = 96) -> str:
    """`--output-format full`: the explanation, wrapped and indented, then the rule's page."""
    lines = textwrap.wrap(diagnostic.explanation, width, initial_indent=indent, subsequent_indent=indent,
                          break_long_words=False, break_on_hyphens=False) if diagnostic.explanation else []
    lines.append(f"{indent}{rule_url(diagnostic.code)}")
    return "".join(line + "\n" for line in lines)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def summary(diagnostics: List[Diagnostic], fixed: int = 0, unsafe: bool = False) -> str:
    fixed_note = f"Fixed {_plural(fixed, 'problem')}. " if fixed else ""
    if not diagnostics:
        return f"{fixed_note}All checks passed." if not fixed else f"{fixed_note}No problems left."
    files = len({d.path for d in diagnostics})
    fixable = sum(applicable(d.fix, unsafe) for d in diagnostics)
    hidden_unsafe = 0 if unsafe else sum(d.fix is not None and not d.fix.safe for d in diagnostics)
    notes = []
    if fixable:
        notes.append(f"{fixable} fixable with --fix")
    if hidden_unsafe:
        notes.append(f"{hidden_unsafe} more with --unsafe-fixes")
    return (
        f"{fixed_note}Found {_plural(len(diagnostics), 'problem')} in {_plural(files, 'file')}"
        + (f" ({', '.join(notes)})." if notes else ".")
    )
