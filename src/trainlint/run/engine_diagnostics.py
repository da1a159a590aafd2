"""The engine's own diagnostics, TL001-TL004, made in one place for every part of the run
that reports them (the pipeline, the notebook adapter, the file reader, the pool), so their
wording and positions cannot drift apart.

libcst and the rules are imported only when a diagnostic is made or a text parsed: the
pool's parent reports unreadable and oversized files on a warm run, which loads neither.
"""

from __future__ import annotations

import ast
import re
import sys
import traceback
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Optional, Union

from trainlint.core.config import Config
from trainlint.core.diagnostics import FILE_SKIPPED, INTERNAL_ERROR, SYNTAX_ERROR, Diagnostic, Severity

# libcst's native parser recurses on the C stack and crashes the process (no exception) on
# expressions nested a few thousand deep: 3,000 nested brackets, 6,000 chained attributes,
# 7,000 `+` terms. CPython refuses more than 200 nested brackets itself; for the long chains
# it accepts, a file whose syntax tree is deeper than this is skipped with a TL004.
PARSER_DEPTH_LIMIT = 3_000
# Every engine message is one line of bounded length (an exception may carry a CST repr).
MESSAGE_LIMIT = 300

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from trainlint.rules import Rule


def engine_diagnostic(code: str, path: str, message: str, line: int = 1, col: int = 1) -> Diagnostic:
    from trainlint.rules import get_rule  # name and severity come from the tl00x rule module

    rule = get_rule(code)
    return Diagnostic(
        code=code,
        name=rule.name if rule else code,
        message=one_line(message),
        severity=rule.severity if rule else Severity.ERROR,
        line=line,
        col=col,
        end_line=line,
        end_col=col,
        path=path,
    )


def one_line(message: str) -> str:
    """`message` with its whitespace collapsed, cut to MESSAGE_LIMIT characters."""
    message = " ".join(message.split())
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


def file_too_large(path: str, config: Config) -> Diagnostic:
    message = (
        f"file skipped: larger than max-file-size ({config.max_file_size_mb:g} MB);"
        " raise the limit in [tool.trainlint] to lint it"
    )
    return engine_diagnostic(FILE_SKIPPED, path, message)


def code_cells_too_large(path: str, config: Config) -> Diagnostic:
    message = f"file skipped: its code cells are larger than max-file-size ({config.max_file_size_mb:g} MB)"
    return engine_diagnostic(FILE_SKIPPED, path, message)


def too_large_to_analyse(path: str, size: int, config: Config) -> Diagnostic:
    message = (
        f"file not analysed: {size / 1024:.0f} KB of code is over max-analysis-size"
        f" ({config.max_analysis_size_kb:g} KB); raise it in [tool.trainlint] to lint this file"
    )
    return engine_diagnostic(FILE_SKIPPED, path, message)


def timed_out(path: str, config: Config) -> Diagnostic:
    message = (
        f"file skipped: analysis exceeded the per-file budget of {config.per_file_timeout:g} s;"
        " raise per-file-timeout in [tool.trainlint] to lint it"
    )
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


def parse(text: str, path: str, python_module: Optional[ast.Module] = None,
          python_depth: Optional[int] = None) -> Union["cst.Module", Diagnostic]:
    """The libcst module of `text`, or its TL001. Call it under `limits.deeper_recursion`.
    `python_module`: CPython's `ast` of `text` when the gate already has it, and
    `python_depth` that tree's depth when the gate measured it."""
    import libcst as cst

    refused = refused_by_python(text, path, python_module, python_depth)
    if refused is not None:
        return refused
    from trainlint.semantic.libcst_tuning import unvalidated_parse

    try:
        with unvalidated_parse():
            return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return _syntax_error(path, text, error)
    except RecursionError:
        return engine_diagnostic(SYNTAX_ERROR, path, "too deeply nested for the parser")


def refused_by_python(text: str, path: str, tree: Optional[ast.Module] = None,
                       depth: Optional[int] = None) -> Union[Diagnostic, None]:
    """TL001 when CPython's own parser rejects `text`, TL004 when its tree is too deep for
    libcst's native parser; None when libcst may parse it.

    The interpreter's grammar is its version's: on Python 3.12+ (whose grammar covers all
    syntax libcst parses) its SyntaxError is final. On older Pythons a SyntaxError may be
    newer syntax (`match` on 3.9), so libcst decides, except for too many nested brackets."""
    if tree is not None:
        deep = depth > PARSER_DEPTH_LIMIT if depth is not None else too_deep_for_libcst(tree)
        return too_deep(path) if deep else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            tree = compile(text, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        if sys.version_info >= (3, 12) or "too many nested" in str(error.msg):
            return _python_syntax_error(path, text, error)
        return None
    except (RecursionError, MemoryError):
        return too_deep(path)
    except ValueError:  # null bytes: libcst words it
        return None
    return too_deep(path) if too_deep_for_libcst(tree) else None


def too_deep(path: str) -> Diagnostic:
    message = f"file skipped: expression too deep or long for the parser (limit {PARSER_DEPTH_LIMIT:,} levels)"
    return engine_diagnostic(FILE_SKIPPED, path, message)


def too_deep_for_libcst(tree: ast.AST) -> bool:
    """Whether the source of `tree` is nested deeper than libcst's native parser survives."""
    return _deeper_than(tree, PARSER_DEPTH_LIMIT)


def _deeper_than(tree: ast.AST, limit: int) -> bool:
    """Whether some node of `tree` lies more than `limit` levels down (iterative: no
    recursion on the depth it measures)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def _python_syntax_error(path: str, text: str, python_error: SyntaxError) -> Diagnostic:
    line = python_error.lineno or 1
    col = python_error.offset or 1
    message = python_error.msg or "invalid syntax"
    # Python 3.9's tokenizer can place an error past the end of its line (or the text):
    # keep the position on the text.
    lines = re.split(r"\r\n|\r|\n", text)
    line = min(max(line, 1), len(lines))
    col = min(max(col, 1), len(lines[line - 1]) + 1)
    return engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, col)


def _syntax_error(path: str, text: str, error: "cst.ParserSyntaxError") -> Diagnostic:
    # CPython's own parser places errors precisely and words them well; libcst's native
    # parser often points at the start of the line. Ask CPython first.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code: not ours to print
            ast.parse(text)
    except SyntaxError as python_error:
        return _python_syntax_error(path, text, python_error)
    except (ValueError, RecursionError, MemoryError):
        pass
    message = str(error.message).splitlines()[0] if error.message else "invalid syntax"
    message = re.sub(r"^parser error: error at \d+:\d+: ", "", message)
    line = max(error.raw_line, 1)
    return engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, error.raw_column + 1)
