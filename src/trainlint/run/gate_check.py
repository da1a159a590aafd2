"""Is the gate sound on a source? Lint it with the prefilter and without; every rule that
reports without it must report the same with it.

Used by tests/test_anchors*.py and bench/anchor_soundness.py. A miss names the rule and what
of the gate skipped it (its words, or which anchors did not hold), so a failure blames the
gate, not the rule.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Set, Tuple

from trainlint.core.config import Config
from trainlint.gate import anchors, prefilter
from trainlint.rules import Rule, get_rule
from trainlint.run import engine
from trainlint.run.notebook import adapt, is_notebook

# A configuration whose role words are none of the defaults, and the renaming of a source's
# own names that keeps their roles under it (`X_test` -> `X_holdin`).
RENAMED_ROLES = Config(train_names=("fitset",), validation_names=("checkset",), test_names=("holdin",))
_RENAMES = ((re.compile(r"training|train"), "fitset"), (re.compile(r"testing|test|holdout"), "holdin"),
            (re.compile(r"validation|valid|val(?![a-z])"), "checkset"))


@contextmanager
def gate_off() -> Iterator[None]:
    """Every enabled rule runs on every file (single-threaded use only)."""
    triggered, is_triggered_by = prefilter.triggered_rules, Rule.__dict__["is_triggered_by"]
    prefilter.triggered_rules = lambda rules, text, config=None: list(rules)  # type: ignore[assignment]
    Rule.is_triggered_by = classmethod(lambda cls, text, words=None: True)  # type: ignore[assignment]
    try:
        yield
    finally:
        prefilter.triggered_rules = triggered  # type: ignore[assignment]
        Rule.is_triggered_by = is_triggered_by  # type: ignore[assignment]


def findings(text: str, path: str, config: Config) -> Set[Tuple[str, str, str]]:
    """(code, position, message) of each rule finding; the engine's own (TL0xx) left out,
    since a file the gate skips is not parsed, so reports no syntax error."""
    return {(d.code, f"{d.cell or ''}:{d.line}:{d.col}", d.message)
            for d in engine.lint_source(text, path, config) if not d.code.startswith("TL0")}


def gate_misses(text: str, path: str = "t.py", config: Optional[Config] = None) -> List[str]:
    """One message per rule whose findings on `text` differ with the gate off."""
    config = config or Config()
    with gate_off():
        without = findings(text, path, config)
    lost = sorted({code for code, _at, _message in without ^ findings(text, path, config)})
    return [_why(code, text, path, config) for code in lost]


def _why(code: str, text: str, path: str, config: Config) -> str:
    rule = get_rule(code)
    python = adapt(text, path, config).text if is_notebook(path) else text
    if python is None or not rule.is_triggered_by(python):
        return f"{path}: {code} reports, but the gate's words skip it (triggers {rule.triggers}, requires {rule.requires})"
    found = anchors.scan(python, prefilter.role_names(config))
    held: Dict[str, bool] = {name: found.get(name) for name in rule.anchors} if found else {}
    return f"{path}: {code} reports, but none of its anchors holds: {held}"


def rename_roles(text: str) -> str:
    """`text` with the role words in the names it binds changed to RENAMED_ROLES' words."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return text
    bound: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            bound.add(node.attr)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
    renamed = {}
    for name in bound:
        new = name
        for pattern, word in _RENAMES:
            new = pattern.sub(word, new)
        if new != name:
            renamed[name] = new
    if not renamed:
        return text
    words = re.compile(r"\b(" + "|".join(map(re.escape, sorted(renamed, key=len, reverse=True))) + r")\b")
    return words.sub(lambda match: renamed[match.group(1)], text)
