"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

`::warning file=train.py,line=3,col=1,endLine=3,endColumn=40,title=TL301::message`
"""

from __future__ import annotations

from typing import Iterable

from trainlint.core.diagnostics import Diagnostic, Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """The message part: `%`, CR and LF would end or corrupt the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Property values: additionally `:` and `,`, which separate the properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_annotation(diagnostic: Diagnostic) -> str:
    properties = [("file", diagnostic.path)]
    message = diagnostic.message
    if diagnostic.cell is None:
        properties += [
            ("line", diagnostic.line),
            ("col", diagnostic.col),
            ("endLine", diagnostic.end_line),
            ("endColumn", diagnostic.end_col),
        ]
    else:  # lines of a notebook cell are not lines of the .ipynb file: say where in the text
        message = f"cell {diagnostic.cell}, line {diagnostic.line}, col {diagnostic.col}: {message}"
    properties.append(("title", diagnostic.code))
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{_COMMAND[diagnostic.severity]} {props}::{escape_data(message)}"


def format_github(diagnostics: Iterable[Diagnostic]) -> str:
    return "".join(format_annotation(d) + "\n" for d in diagnostics)
