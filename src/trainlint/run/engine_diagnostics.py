"""The engine's own diagnostics, TL001-TL004, made in one place for every part of the run
that reports them (the pipeline, the notebook adapter, the file reader, the pool), so their
wording and positions cannot drift apart.

libcst and the rules are imported only when a diagnostic is made or a text parsed: the
pool's parent reports unreadable and oversized files on a warm run, which loads neither.
"""

from __future__ import annotations

import ast
import re
import traceback
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Union

from trainlint.core.config import Config
from trainlint.core.diagnostics import FILE_SKIPPED, INTERNAL_ERROR, SYNTAX_ERROR, Diagnostic, Severity

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from trainlint.rules import Rule


def engine_diagnostic(code: str, path: str, message: str, line: int = 1, col: int = 1) -> Diagnostic:
    from trainlint.rules import get_rule  # name and severity come from the tl00x rule module

    rule = get_rule(code)
    return Diagnostic(
        code=code,
        name=rule.name if rule else code,
        message=message,
        severity=rule.severity if rule else Severity.ERROR,
        line=line,
        col=col,
        end_line=line,
        end_col=col,
        path=path,
    )


def file_too_large(path: str, config: Config) -> Diagnostic:
    message = (
        f"file skipped: larger than max-file-size ({config.max_file_size_mb:g} MB);"
        " raise the limit in [tool.trainlint] to lint it"
    )
    return engine_diagnostic(FILE_SKIPPED, path, message)


def code_cells_too_large(path: str, config: Config) -> Diagnostic:
    message = f"file skipped: its code cells are larger than max-file-size ({config.max_file_size_mb:g} MB)"
    return engine_diagnostic(FILE_SKIPPED, path, message)


def timed_out(path: str, config: Config) -> Diagnostic:
    message = f"file skipped: analysis took longer than per-file-timeout ({config.per_file_timeout:g} s)"
    return engine_diagnostic(FILE_SKIPPED, path, message)


def rule_crashed(rule: "Rule", path: str, error: Exception) -> Diagnostic:
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    message = (
        f"internal error in {rule.code} ({rule.name}): {type(error).__name__}: {error}"
        "; the other rules still ran (use --verbose for the traceback and please report it)"
    )
    return replace(engine_diagnostic(INTERNAL_ERROR, path, message.replace("\n", " ")), detail=detail)


def worker_died(path: str) -> Diagnostic:
    message = (
        "internal error: the worker process died while linting this file"
        " (killed, out of memory, or a crash in native code); please report it"
    )
    return engine_diagnostic(INTERNAL_ERROR, path, message)


def parse(text: str, path: str) -> Union["cst.Module", Diagnostic]:
    """The libcst module of `text`, or its TL001. Call it under `limits.deeper_recursion`."""
    import libcst as cst

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return _syntax_error(path, text, error)
    except RecursionError:
        return engine_diagnostic(SYNTAX_ERROR, path, "too deeply nested for the parser")


def _syntax_error(path: str, text: str, error: "cst.ParserSyntaxError") -> Diagnostic:
    # CPython's own parser places errors precisely and words them well; libcst's native
    # parser often points at the start of the line. Ask CPython first.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code: not ours to print
            ast.parse(text)
    except SyntaxError as python_error:
        line = python_error.lineno or 1
        col = python_error.offset or 1
        message = python_error.msg or "invalid syntax"
        # Python 3.9's tokenizer can place an error past the end of its line (or the text):
        # keep the position on the text.
        lines = re.split(r"\r\n|\r|\n", text)
        line = min(max(line, 1), len(lines))
        col = min(max(col, 1), len(lines[line - 1]) + 1)
        return engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, col)
    except (ValueError, RecursionError, MemoryError):
        pass
    message = str(error.message).splitlines()[0] if error.message else "invalid syntax"
    message = re.sub(r"^parser error: error at \d+:\d+: ", "", message)
    line = max(error.raw_line, 1)
    return engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, error.raw_column + 1)
