"""Structural anchors: the prefilter's second look, with the standard library's `ast`
(written in C, about six times faster than libcst's parse, and its tree cheaper to walk).

A rule declares `anchors`: names of coarse structural conditions of which one must hold for
its check to report anything (a forward call on something model-like, a loop around a
training step, a split, a choice near held-out data …). Each is built from the shared
vocabulary (trainlint/vocab/) and plain syntax, never from a rule's own predicate, so a rule
may grow smarter without a change here; tests/test_anchors*.py check that every file a rule
reports on passes its anchors. Each anchor is computed only when a rule still in play asks.
Where `ast` cannot parse a file (newer syntax, IPython left in a cell), there is no scan and
nothing is skipped.
"""

from __future__ import annotations

import ast
import warnings
from typing import Dict, Iterable, Optional, Tuple

from trainlint.gate.anchors import data, losses, models, selection, splits
from trainlint.gate.anchors.tree import Predicate, SyntaxTree
from trainlint.gate.roles import RoleNames

PREDICATES: Dict[str, Predicate] = {
    name: predicate
    for module in (models, splits, selection, losses, data)
    for name, predicate in module.PREDICATES.items()
}
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

    def release(self) -> None:
        self.tree.release()


# The last source the gate parsed, its `ast` module and that tree's depth (None when the walk
# failed): the engine's parse check asks for them (`parsed_module`) instead of having CPython
# parse the same text a second time and walking it again for its depth.
_last_parsed: Tuple[Optional[str], Optional[ast.Module], Optional[int]] = (None, None, None)


def parse(text: str, roles: Optional[RoleNames] = None) -> Optional[SyntaxTree]:
    """The walked `ast` tree of a Python source, or None when `ast` cannot parse it."""
    global _last_parsed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    _last_parsed = (text, module, None)
    try:
        tree = SyntaxTree(module, text, roles)
    except (RecursionError, MemoryError):
        return None
    _last_parsed = (text, module, tree.depth)
    return tree


def parsed_module(text: str) -> Tuple[Optional[ast.Module], Optional[int]]:
    """The `ast` module of `text` and its depth if it is the source the gate parsed last
    (the very same string object), else (None, None); the depth is None when unknown.
    Handed over once: the gate keeps no tree alive after that (a large file's `ast` is
    hundreds of thousands of objects for the collector to trace)."""
    global _last_parsed
    last_text, module, depth = _last_parsed
    _last_parsed = (None, None, None)
    return (module, depth) if last_text is text else (None, None)


def scan(text: str, roles: Optional[RoleNames] = None) -> Optional[Anchors]:
    """The anchors of a Python source (computed lazily), or None when `ast` cannot parse it."""
    tree = parse(text, roles)
    return Anchors(tree) if tree is not None else None
