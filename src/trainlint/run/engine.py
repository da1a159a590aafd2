"""The pipeline: one source in, its diagnostics out. Every front end goes through here.

    bytes -> decode -> adapt -> prefilter -> parse -> facts and rules -> map back

A notebook enters through its source adapter (`run.notebook.adapt`: the Python text of its
cells, their line labels, the way back to cells); a script is its own source. `lint_source`
is pure; `lint_bytes` adds decoding and the per-file time limit, `lint_file` reading. Many
files, the cache and the pool: `run.parallel`, which calls into here. Each stage ends with
a call on `hooks` (`run.hooks`): `--profile` times this very pipeline.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Type, Union

from trainlint.core.config import Config
from trainlint.core.diagnostics import READ_ERROR, Diagnostic
from trainlint.core.limits import AnalysisTimeout, deeper_recursion, paused_gc, time_limit
from trainlint.core.source import SourceError, decode_source
from trainlint.core.suppression import LineSuppressions, file_exempts, file_exemption
from trainlint.gate import prefilter
from trainlint.gate.anchors import parsed_module
from trainlint.rules import Finding, Rule, enabled_rules
from trainlint.rules.base import split_message
from trainlint.run.engine_diagnostics import (
    engine_diagnostic, file_too_large, parse, refused_by_python, rule_crashed, timed_out, too_large_to_analyse,
)
from trainlint.run.files import read_file, size_limit
from trainlint.run.hooks import NO_HOOKS, Hooks
from trainlint.run.notebook import NotebookSource, adapt, is_notebook
from trainlint.run.summaries import ProjectHelpers
from trainlint.semantic.context import FileContext


def lint_source(
    text: str, path: str = "<string>", config: Optional[Config] = None, suppress: bool = True
) -> List[Diagnostic]:
    """Lint one source: Python, or a notebook's JSON when `path` ends in .ipynb. Pure:
    returns diagnostics, sorted by position. `suppress=False` ignores `# noqa` and
    `# trainlint: noqa` (for a host that applies its own, such as flake8)."""
    return analyse(text, path, config or Config(), NO_HOOKS, suppress)


def lint_text(text: str, path: str, config: Config, hooks: Hooks = NO_HOOKS) -> List[Diagnostic]:
    """Lint an in-memory source (an editor buffer) under the same limits as `lint_file`.
    `hooks`: an editor's (`run.editing.EditorHooks`) re-parse only what an edit changed."""
    if len(text) > size_limit(config, path):  # characters: close enough to bytes
        return [file_too_large(path, config)]
    return _within_time_limit(text, path, config, hooks)


def lint_file(path: Path, config: Config, display_path: Optional[str] = None) -> List[Diagnostic]:
    """Read and lint one file; whatever goes wrong becomes a diagnostic for this file."""
    shown = display_path if display_path is not None else str(path)
    data = read_file(path, config, shown)
    if isinstance(data, Diagnostic):
        return [data]
    return lint_bytes(data, shown, config)


def lint_bytes(data: bytes, path: str, config: Config, hooks: Hooks = NO_HOOKS) -> List[Diagnostic]:
    """Lint the bytes of a file (`files.read_file`) shown under `path`."""
    try:
        text = decode_source(data)
    except SourceError as error:
        return [engine_diagnostic(READ_ERROR, path, str(error))]
    finally:
        hooks.lap("read")
    return _within_time_limit(text, path, config, hooks)


def _within_time_limit(text: str, path: str, config: Config, hooks: Hooks) -> List[Diagnostic]:
    try:
        with time_limit(config.per_file_timeout):
            return analyse(text, path, config, hooks)
    except AnalysisTimeout:
        return [timed_out(path, config)]


class ScriptSource:
    """A Python file is its own source: nothing found while adapting it, nothing to map back."""

    diagnostics: Tuple[Diagnostic, ...] = ()
    suspect: Tuple[int, ...] = ()
    line_label: Optional[Callable[[int], str]] = None
    cell_starts: Tuple[int, ...] = ()

    def __init__(self, text: str) -> None:
        self.text: Optional[str] = text

    def drop_unparsable(self, path: str) -> List[Diagnostic]:
        return []  # never called: a script has no parts to check on their own (`suspect`)

    @staticmethod
    def to_source(diagnostic: Diagnostic) -> Diagnostic:
        return diagnostic


def analyse(text: str, path: str, config: Config, hooks: Hooks, suppress: bool = True) -> List[Diagnostic]:
    """The pipeline after decoding: adapt, then analyse the Python text, then map back."""
    with paused_gc():
        return _analyse(text, path, config, hooks, suppress)


def _analyse(text: str, path: str, config: Config, hooks: Hooks, suppress: bool) -> List[Diagnostic]:
    source: Union[ScriptSource, NotebookSource]
    notebook = is_notebook(path)
    if notebook:
        source = adapt(text, path, config)
        hooks.lap("notebooks")
    else:
        source = ScriptSource(text)
    found = list(source.diagnostics)
    if source.text is None:
        return sorted(found, key=Diagnostic.sort_key)
    rules = enabled_rules(config, path)
    if source.suspect:
        # A cell CPython cannot parse on its own (rare). Its TL001, like a script's, is
        # reported only when the words of some enabled rule occur in the notebook; the
        # prefilter proper then looks at the text without the cells that do not parse.
        if not any(rule.is_triggered_by(source.text) for rule in rules):
            return sorted(found, key=Diagnostic.sort_key)
        found.extend(source.drop_unparsable(path))
        hooks.lap("notebooks")
    code = source.text
    assert code is not None
    python_found = _lint_python(code, path, config, rules, hooks, source.line_label, source.cell_starts,
                                 suppress)
    found.extend(source.to_source(diagnostic) for diagnostic in python_found)
    if notebook:
        hooks.lap("notebooks")
    return sorted(set(found), key=Diagnostic.sort_key)


def _lint_python(
    text: str, path: str, config: Config, rules: Sequence[Type[Rule]], hooks: Hooks,
    line_label: Optional[Callable[[int], str]], cell_starts: Tuple[int, ...] = (),
    suppress: bool = True,
) -> List[Diagnostic]:
    exemption = file_exemption(text) if suppress else frozenset()
    triggered = prefilter.triggered_rules(rules, text, config)
    hooks.lap("prefilter")
    if not triggered:
        hooks.count("prefiltered")
        return []  # nothing here can match, so the text is not even parsed
    hooks.count("parsed")
    # A file-level exemption silences rules, but the file is still parsed: TL001 cannot be
    # suppressed.
    to_run = [rule for rule in triggered if not file_exempts(exemption, rule.code, rule.name)]
    oversized = _over_analysis_budget(text, config)
    if oversized:
        refused = refused_by_python(text, path, *parsed_module(text))
        return [refused if refused is not None else too_large_to_analyse(path, oversized, config)]
    from trainlint.semantic.libcst_tuning import codegen_within_python_frames  # libcst: only past the gate

    codegen_within_python_frames()
    with deeper_recursion():
        python_module, depth = parsed_module(text)  # the gate's ast, when it parsed this text
        # CPython parsed it, and it is not too deep for libcst's native parser (no compile here)
        accepted = python_module is not None and refused_by_python(text, path, python_module, depth) is None
        module = hooks.parse(text, accepted, lambda: parse(text, path, python_module, depth))
        hooks.lap("parse")
        if isinstance(module, Diagnostic):
            return [module]
        ctx = hooks.new_context(FileContext, text, path, module, config)
        try:
            found = _run_rules(ctx, to_run, line_label, cell_starts, suppress, hooks)
            hooks.linted(ctx)
            return found
        finally:
            ctx.release()
            del ctx, module  # the tree is freed here, and its cost is not the next file's read
            hooks.lap("other")


def _over_analysis_budget(text: str, config: Config) -> int:
    """The size in bytes of code over max-analysis-size, else 0."""
    budget = config.max_analysis_size_kb * 1024
    if not budget or len(text) <= budget / 4:  # a character is at most four bytes
        return 0
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > budget else 0


def _run_rules(
    ctx: FileContext, to_run: Sequence[Type[Rule]], line_label: Optional[Callable[[int], str]],
    cell_starts: Tuple[int, ...], suppress: bool, hooks: Hooks,
) -> List[Diagnostic]:
    if line_label is not None:
        ctx.line_label = line_label  # a notebook names its lines by cell
    ctx.cell_starts = cell_starts
    ctx.project = ProjectHelpers.for_file(ctx.path, ctx)
    suppressions = LineSuppressions(ctx.text if suppress else "")
    diagnostics: List[Diagnostic] = []
    for rule_class in to_run:
        diagnostics.extend(_run_rule(rule_class, ctx, suppressions, hooks))
        hooks.lap("report")
    # Positions are those of the text even where libcst's code drops characters of it
    # (semantic.positions); should it ever change more, an edit could land off target,
    # so such a file is offered no fixes.
    if any(d.fix is not None for d in diagnostics) and not ctx.index.positions.on_text:
        diagnostics = [replace(d, fix=None) for d in diagnostics]
    return diagnostics


def _run_rule(
    rule_class: Type[Rule], ctx: FileContext, suppressions: LineSuppressions, hooks: Hooks
) -> List[Diagnostic]:
    """One rule's diagnostics; a crash inside the rule becomes a TL003 for this file only."""
    rule = rule_class()
    hooks.rule_started(rule)
    try:
        try:
            findings = list(rule.check(ctx))
        finally:
            hooks.rule_finished()
        found = [_diagnostic(rule, finding, ctx, suppressions) for finding in findings]
    except Exception as error:  # noqa: BLE001 - isolation is the point
        return [rule_crashed(rule, ctx.path, error)]
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
        if suppressions.suppresses(rule.code, line, statement_first, rule.name):
            return None
    if finding.explanation is None:  # one sentence: its first clause is the short message
        message, explanation = split_message(finding.message or rule.message)
    else:
        message, explanation = finding.message or rule.message, finding.explanation
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        message=message,
        explanation=explanation,
        severity=rule.severity,
        line=line,
        col=col,
        end_line=code_range.end.line,
        end_col=code_range.end.column + 1,
        fix=finding.fix,
        path=ctx.path,
    )
