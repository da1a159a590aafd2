"""The selection anchor (TL401, TL402): something that chooses near validation or test data.

A choice is an ordering comparison of two values (not a bound such as `n > 0` or `len(xs) > k`) that keeps
something (`is_best = acc < best`, `if val_acc > best: best = val_acc`, a checkpoint save),
a pick (`max`, `argmin`, `idxmax` …, not a clamp such as `max(1, n)`) or a schedule
stepped on a figure (`scheduler.step(val_loss)`);
*near* means its values (or what their names were assigned) name a figure
(vocab/evaluation.py FIGURE_WORDS), and they or the function around it (the module's own
code at module level) hold something that may be validation or test data (anchors/mentions.py).
A schedule counts when the file calls a `...Plateau...` scheduler. A search, a Keras /
Lightning fit with callbacks, or a Trainer given `eval_dataset=` chooses by itself, so
those need held-out data anywhere in the file. The role words are the configured ones (and
the defaults).
"""

from __future__ import annotations

import ast
import re
from typing import Dict, Iterable, Optional

from trainlint.gate.anchors.mentions import file_mentions_held_out, mentions, scope_mentions_held_out
from trainlint.gate.anchors.tree import Predicate, SyntaxTree, calls_where, dotted, named
from trainlint.vocab.evaluation import FIGURE_WORDS, STATE_SAVES
from trainlint.vocab.roles import name_tokens
from trainlint.vocab.splitting import SEARCHES

_ORDERINGS = (ast.Gt, ast.Lt, ast.GtE, ast.LtE)
_FIGURE_ENDINGS = tuple(FIGURE_WORDS)
_PICKS = ("max", "min", "argmax", "argmin", "nanargmax", "nanargmin", "idxmax", "idxmin")


def selection(tree: SyntaxTree) -> bool:
    if named(tree, SEARCHES) or calls_where(tree, lambda name: name.endswith("SearchCV")):
        return True
    keywords = {keyword.arg for keyword in tree.of_type(ast.keyword)}
    if ("eval_dataset" in keywords or ("callbacks" in keywords and named(tree, ("fit", "fit_generator")))) \
            and file_mentions_held_out(tree):
        return True
    found = mentions(tree)

    def near(node: ast.AST) -> bool:
        return _names_a_figure(tree, node) and (found.held_out(node) or scope_mentions_held_out(tree, node))

    for comparison in tree.of_type(ast.Compare):
        if any(isinstance(op, _ORDERINGS) for op in comparison.ops) and not _against_a_number(
                [comparison.left, *comparison.comparators]) and _keeps(tree, comparison) and near(comparison):
            return True
    if any(not _against_a_number(call.args) and near(call) for call in named(tree, _PICKS)):
        return True
    if not calls_where(tree, lambda name: "Plateau" in name):
        return False
    return any((call.args or call.keywords) and (found.held_out(call) or scope_mentions_held_out(tree, call))
               for call in named(tree, ("step",)))


def _against_a_number(values: Iterable[ast.AST]) -> bool:
    """`n > 0`, `len(xs) > k`, `max(1, n)`: a bound or a clamp, not a best-so-far (which
    compares two figures)."""
    for value in values:
        if isinstance(value, ast.UnaryOp):
            value = value.operand
        if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            return True
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "len":
            return True  # a size, not a figure
    return False


def _keeps(tree: SyntaxTree, comparison: ast.Compare) -> bool:
    """The comparison keeps something: its outcome is assigned (`is_best = acc > best`), or
    it tests an `if` / `while` whose branches assign a name it compares (`best = acc`) or
    save a state (vocab/evaluation.py STATE_SAVES)."""
    node: ast.AST = comparison
    for parent in tree.ancestors(comparison):
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.IfExp, ast.Return)):
            return True
        if isinstance(parent, (ast.If, ast.While)):
            if parent.test is not node:
                return False
            compared = {dotted(n) for n in ast.walk(comparison) if isinstance(n, (ast.Name, ast.Attribute))}
            for statement in (*parent.body, *parent.orelse):
                for inner in ast.walk(statement):
                    if isinstance(inner, (ast.Name, ast.Attribute)) and isinstance(inner.ctx, ast.Store) \
                            and dotted(inner) in compared:
                        return True
                    if isinstance(inner, ast.Call) and tree.last_names(inner) & STATE_SAVES:
                        return True
            return False
        if isinstance(parent, (ast.stmt, ast.comprehension)):
            return False
        node = parent
    return False


def _names_a_figure(tree: SyntaxTree, node: ast.AST, hops: int = 2, memo: Optional[Dict] = None) -> bool:
    """The compared or picked values, or what their names were assigned, `hops` deep, name a
    figure (`val_acc > best`, `max(scores)`, `acc = correct / total` then `acc > best`).
    `memo`: (name, hops) -> answer, so that a name met again (`X < X < ...`, whose values
    hold it too) is looked into once, not once per occurrence per hop."""
    values = tree.assigned_values
    memo = {} if memo is None else memo
    for current in ast.walk(node):
        kind = type(current)
        if kind is ast.Name:
            name = current.id  # type: ignore[attr-defined]
            if _is_figure(name):
                return True
            if hops:
                key = (name, hops)
                if key not in memo:
                    memo[key] = any(_names_a_figure(tree, value, hops - 1, memo) for value in values.get(name, ()))
                if memo[key]:
                    return True
        elif (kind is ast.Attribute and _is_figure(current.attr)) or (  # type: ignore[attr-defined]
                kind is ast.Constant and isinstance(current.value, str) and _is_figure(current.value)) or (  # type: ignore[attr-defined]
                kind is ast.keyword and current.arg and _is_figure(current.arg)):  # type: ignore[attr-defined]
            return True
    return False


def _is_figure(text: str) -> bool:
    """A name or string with a figure word in it (`val_acc`, `"top1"`, `bestLoss`)."""
    words = {word.lower() for word in name_tokens(text)} | {part for part in re.split(r"[^a-z0-9]+", text.lower()) if part}
    return bool(words & FIGURE_WORDS) or any(word.endswith(_FIGURE_ENDINGS) for word in words if len(word) > 4)


PREDICATES: Dict[str, Predicate] = {"selection": selection}
