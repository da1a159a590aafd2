"""Structural anchors: the prefilter's second, structural look, with the standard library's
`ast` (written in C, about six times faster than libcst's parse, and its tree cheaper to walk).

A rule declares `anchors`: names of structural facts of which one must hold for its check to
report anything (a forward pass, a batch loop, a data split, a model selection …). Each
anchor is a predicate over one `SyntaxTree` (one `ast.parse`, one walk), computed only when a
rule still in play asks for it, and it over-approximates the libcst facts it stands for: it
may hold on a file where the facts find nothing, never the reverse (tests/test_anchors*.py
check each against the facts on every fixture, rule example and generated programs).
Where `ast` cannot parse a file (newer syntax, IPython left in a cell), there is no scan and
nothing is skipped.
"""

from __future__ import annotations

import ast
import warnings
from typing import Dict, Iterable, Optional

from trainlint.gate.anchors import data, losses, models, selection, splits
from trainlint.gate.anchors.tree import Fact, Predicate, SyntaxTree

# Each module of this package declares PREDICATES (anchor name -> predicate over the ast
# tree) and FACTS (the same name -> the libcst fact it over-approximates, for the tests and
# bench/anchor_soundness.py). A rule may name any anchor in `anchors`.
_MODULES = (models, splits, selection, losses, data)
PREDICATES: Dict[str, Predicate] = {name: p for module in _MODULES for name, p in module.PREDICATES.items()}
FACTS: Dict[str, Fact] = {name: f for module in _MODULES for name, f in module.FACTS.items()}
ANCHORS = tuple(PREDICATES)


class Anchors:
    """The anchors of one tree, each computed on first use."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self._known: Dict[str, bool] = {}

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_") or name not in PREDICATES:
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            try:
                known = bool(PREDICATES[name](self.tree))
            except RecursionError:  # a pathologically deep tree: do not skip
                known = True
            self._known[name] = known
        return known

    def holds(self, names: Iterable[str]) -> bool:
        return any(self.get(name) for name in names)


def parse(text: str) -> Optional[SyntaxTree]:
    """The walked `ast` tree of a Python source, or None when `ast` cannot parse it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            return SyntaxTree(ast.parse(text), text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def scan(text: str) -> Optional[Anchors]:
    """The anchors of a Python source (computed lazily), or None when `ast` cannot parse it."""
    tree = parse(text)
    return Anchors(tree) if tree is not None else None
