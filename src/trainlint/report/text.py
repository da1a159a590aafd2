"""flake8-style text: `path:line:col: TL301 message` (notebooks: `path:cell N:line:col:`)."""

from __future__ import annotations

from typing import Iterable, List

from trainlint.diagnostics import Diagnostic


def format_location(diagnostic: Diagnostic) -> str:
    if diagnostic.cell is not None:
        return f"{diagnostic.path}:cell {diagnostic.cell}:{diagnostic.line}:{diagnostic.col}"
    return f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}"


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    lines: List[str] = [
        f"{format_location(d)}: {d.code} {d.message}" for d in diagnostics
    ]
    return "".join(line + "\n" for line in lines)


def summary(diagnostics: List[Diagnostic]) -> str:
    if not diagnostics:
        return "All checks passed."
    files = len({d.path for d in diagnostics})
    problems = len(diagnostics)
    return (
        f"Found {problems} problem{'s' if problems != 1 else ''} "
        f"in {files} file{'s' if files != 1 else ''}."
    )
