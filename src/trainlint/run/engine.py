"""The core: source text in, diagnostics out.

`lint_source` is pure (no printing, no file IO); `lint_file` and `lint_paths` add reading
from disk. Every front end — CLI, flake8 plugin, language server, tests — goes through here.
"""

from __future__ import annotations

import ast
import re
import traceback
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Sequence, Type

import libcst as cst

from trainlint.gate import prefilter
from trainlint.semantic.context import FileContext
from trainlint.core.config import Config
from trainlint.core.diagnostics import FILE_SKIPPED, INTERNAL_ERROR, READ_ERROR, SYNTAX_ERROR, Diagnostic, Severity  # noqa: F401
from trainlint.core.limits import AnalysisTimeout, deeper_recursion, time_limit
from trainlint.run.notebook import NOTEBOOK_SIZE_FACTOR, is_notebook, lint_notebook_source
from trainlint.rules import Finding, Rule, all_rules, get_rule
from trainlint.core.source import SourceError, read_source
from trainlint.core.suppression import LineSuppressions, file_exempts, file_exemption

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.run.cache import ResultCache



def rules_for(config: Config, path: str) -> List[Type[Rule]]:
    enabled = config.enabled_codes(path)
    return [rule for rule in all_rules() if rule.code in enabled]


def lint_source(text: str, path: str = "<string>", config: Optional[Config] = None) -> List[Diagnostic]:
    """Lint one source: Python, or a notebook's JSON when `path` ends in .ipynb. Pure:
    returns diagnostics, sorted by position."""
    config = config or Config()
    if is_notebook(path):
        return lint_notebook_source(text, path, config)
    return lint_python_source(text, path, config)


def lint_python_source(
    text: str, path: str, config: Config, line_label: Optional[Callable[[int], str]] = None
) -> List[Diagnostic]:
    """Lint Python text, whatever the path says (notebooks pass their joined code cells and
    a `line_label` naming cells in messages)."""
    exemption = file_exemption(text)
    triggered = prefilter.triggered_rules(rules_for(config, path), text)
    if not triggered:
        return []  # prefilter: nothing here can match, so the file is not even parsed
    # A file-level exemption silences rules, but the file is still parsed: TL001 cannot be
    # suppressed.
    rules = [rule for rule in triggered if not file_exempts(exemption, rule.code)]
    with deeper_recursion():
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as error:
            return [_syntax_error(path, text, error)]
        except RecursionError:
            return [_engine_diagnostic(SYNTAX_ERROR, path, "too deeply nested for the parser", 1, 1)]
        ctx = FileContext(text, path, module, config)
        if line_label is not None:
            ctx.line_label = line_label  # type: ignore[method-assign]
        suppressions = LineSuppressions(text)
        diagnostics: List[Diagnostic] = []
        for rule_class in rules:
            diagnostics.extend(_run_rule(rule_class, ctx, suppressions))
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


def _run_rule(rule_class: Type[Rule], ctx: FileContext, suppressions: LineSuppressions) -> List[Diagnostic]:
    """One rule's diagnostics; a crash inside the rule becomes a TL003 for this file only."""
    rule = rule_class()
    try:
        findings = list(rule.check(ctx))
        found = [_diagnostic(rule, finding, ctx, suppressions) for finding in findings]
    except Exception as error:  # noqa: BLE001 - isolation is the point
        return [_internal_error(rule, ctx, error)]
    return [diagnostic for diagnostic in found if diagnostic is not None]


def _diagnostic(
    rule: Rule, finding: Finding, ctx: FileContext, suppressions: LineSuppressions
) -> Optional[Diagnostic]:
    """The diagnostic for one finding (positions are computed here, only for reported
    nodes), or None when a `# noqa` suppresses it."""
    code_range = ctx.position(finding.node)
    line, col = code_range.start.line, code_range.start.column + 1
    if rule.suppressible:
        statement_first, _ = ctx.statement_lines(finding.node)
        if suppressions.suppresses(rule.code, line, statement_first):
            return None
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        message=finding.message or rule.message,
        severity=rule.severity,
        line=line,
        col=col,
        end_line=code_range.end.line,
        end_col=code_range.end.column + 1,
        fix=finding.fix,
        path=ctx.path,
    )


def _internal_error(rule: Rule, ctx: FileContext, error: Exception) -> Diagnostic:
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    message = (
        f"internal error in {rule.code} ({rule.name}): {type(error).__name__}: {error}"
        "; the other rules still ran (use --verbose for the traceback and please report it)"
    )
    internal = _engine_diagnostic(INTERNAL_ERROR, ctx.path, message.replace("\n", " "), 1, 1)
    return replace(internal, detail=detail)


def _syntax_error(path: str, text: str, error: cst.ParserSyntaxError) -> Diagnostic:
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
        return _engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, max(col, 1))
    except (ValueError, RecursionError, MemoryError):
        pass
    message = str(error.message).splitlines()[0] if error.message else "invalid syntax"
    message = re.sub(r"^parser error: error at \d+:\d+: ", "", message)
    line = max(error.raw_line, 1)
    return _engine_diagnostic(SYNTAX_ERROR, path, f"syntax error: {message}", line, error.raw_column + 1)


def _engine_diagnostic(code: str, path: str, message: str, line: int, col: int) -> Diagnostic:
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


def lint_file(path: Path, config: Config, display_path: Optional[str] = None) -> List[Diagnostic]:
    """Read and lint one file; whatever goes wrong becomes a diagnostic for this file."""
    shown = display_path if display_path is not None else str(path)
    limit = config.max_file_size_mb * 1024 * 1024
    if is_notebook(str(path)):  # outputs are not analysed; the limit applies to the code cells
        limit *= NOTEBOOK_SIZE_FACTOR
    try:
        if path.stat().st_size > limit:
            message = (
                f"file skipped: larger than max-file-size ({config.max_file_size_mb:g} MB);"
                " raise the limit in [tool.trainlint] to lint it"
            )
            return [_engine_diagnostic(FILE_SKIPPED, shown, message, 1, 1)]
    except OSError:
        pass  # read_source below reports the problem precisely
    try:
        text = read_source(path)
    except SourceError as error:
        return [_engine_diagnostic(READ_ERROR, shown, str(error), 1, 1)]
    return _lint_timed(text, shown, config)


def lint_text(text: str, path: str, config: Config) -> List[Diagnostic]:
    """Lint an in-memory source (an editor buffer) under the same limits as `lint_file`."""
    limit = config.max_file_size_mb * 1024 * 1024 * (NOTEBOOK_SIZE_FACTOR if is_notebook(path) else 1)
    if len(text) > limit:  # characters: close enough to bytes
        message = (
            f"file skipped: larger than max-file-size ({config.max_file_size_mb:g} MB);"
            " raise the limit in [tool.trainlint] to lint it"
        )
        return [_engine_diagnostic(FILE_SKIPPED, path, message, 1, 1)]
    return _lint_timed(text, path, config)


def _lint_timed(text: str, path: str, config: Config) -> List[Diagnostic]:
    try:
        with time_limit(config.per_file_timeout):
            return lint_source(text, path, config)
    except AnalysisTimeout:
        message = (
            f"file skipped: analysis took longer than per-file-timeout ({config.per_file_timeout:g} s)"
        )
        return [_engine_diagnostic(FILE_SKIPPED, path, message, 1, 1)]


def lint_paths(
    paths: Sequence[Path], config: Config, jobs: Optional[int] = 1, cache: Optional["ResultCache"] = None
) -> List[Diagnostic]:
    """Lint files: cache lookups, then `lint_file` in process or in a pool of `jobs` workers
    (None: one per CPU). See trainlint.run.parallel and trainlint.run.cache."""
    from trainlint.run.parallel import lint_many

    return lint_many(paths, config, jobs=jobs, cache=cache)


def iter_engine_codes() -> Iterable[str]:
    return (SYNTAX_ERROR, READ_ERROR, INTERNAL_ERROR, FILE_SKIPPED)
