"""flake8-style text: `path:line:col: TL301 message` (notebooks: `path:cell N:line:col:`)."""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional

from trainlint.core.diagnostics import Diagnostic, applicable
from trainlint.report.frame import SourceKey, code_frame, lines_of


def format_location(diagnostic: Diagnostic) -> str:
    if diagnostic.cell is not None:
        return f"{diagnostic.path}:cell {diagnostic.cell}:{diagnostic.line}:{diagnostic.col}"
    return f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}"


def format_text(
    diagnostics: Iterable[Diagnostic], unsafe: bool = False,
    sources: Optional[Mapping[SourceKey, str]] = None,
) -> str:
    """One line per finding; `[*]` marks those `--fix` (or `--unsafe-fixes`) can repair.
    With `sources` (see report.frame), a code frame follows each finding (`--show-source`)."""
    out: List[str] = []
    for d in diagnostics:
        out.append(f"{format_location(d)}: {d.code} {'[*] ' if applicable(d.fix, unsafe) else ''}{d.message}\n")
        lines = lines_of(d, sources)
        if lines is not None:
            out.append(code_frame(d, lines))
    return "".join(out)


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
