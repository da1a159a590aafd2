"""Adjustments to libcst, each scoped and checked against the libcst it finds.

- `unvalidated_parse`: libcst validates every node it constructs (`CSTNode.__post_init__`
  calls `_validate`). Nodes the parser builds from text it accepted are valid by
  construction, and validating them is about a sixth of the parse (libcst's own PERF note
  on `__post_init__` says as much). The parse runs without it; every other construction
  (the fixer's nodes) still validates.
- `codegen_within_python_frames`: see its docstring (CPython 3.12's C recursion limit).
- `plain_parenthesize`: every expression libcst writes out enters `_parenthesize`, a
  `@contextmanager` generator; the shared walk (semantic/index.py) writes out the whole
  module, and those generators were a twentieth of a file's analysis. The same steps in a
  plain class cost a fraction. The code written is the same (tests/test_positions.py checks
  every node's position against libcst's PositionProvider).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from libcst import CSTNode

try:  # a private class: another libcst may not have it, and then keeps its own code
    from libcst._nodes.expression import _BaseParenthesizedNode
except ImportError:  # pragma: no cover
    _BaseParenthesizedNode = None  # type: ignore[assignment, misc]

_VALIDATING_POST_INIT = CSTNode.__dict__.get("__post_init__")
_parsers_running = 0
_lock = threading.Lock()


def _skip_validation(self: CSTNode) -> None:
    pass


@contextmanager
def unvalidated_parse() -> Iterator[None]:
    """Within: nodes are constructed without validation. Counted, so that parses in
    several threads restore libcst's own method only when the last one ends."""
    global _parsers_running
    if _VALIDATING_POST_INIT is None:  # another libcst: leave it alone
        yield
        return
    with _lock:
        _parsers_running += 1
        CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _lock:
            _parsers_running -= 1
            if _parsers_running == 0:
                CSTNode.__post_init__ = _VALIDATING_POST_INIT  # type: ignore[method-assign]


_CODEGEN_PATCHED = False


def codegen_within_python_frames() -> None:
    """Let libcst write out deeply nested code on CPython 3.12.

    `deeper_recursion` raises the Python recursion limit, which is what libcst's visitors and
    code generation need. CPython 3.12 also counts calls that go through C against a fixed
    limit of 1,500 that no setting raises (3.13 raised it to 10,000; 3.14 measures the
    stack instead). libcst's `CSTNode._codegen` calls the bound method
    `self._codegen_impl(state, **kwargs)`, which on 3.12 goes through C: two such calls per
    nesting level, so a thousand nested brackets or a 5,000-term sum hit that limit while the
    shared index is built, and the first rule to ask for it got a TL003. The same method body
    calling the class's function instead (`type(self)._codegen_impl(self, ...)`) stays a
    Python-to-Python call. Done only on 3.12 and only when libcst's method still is those
    three calls, so another libcst keeps its own code."""
    global _CODEGEN_PATCHED
    if _CODEGEN_PATCHED:
        return
    _CODEGEN_PATCHED = True
    if sys.version_info[:2] != (3, 12):
        return
    original = CSTNode._codegen
    if getattr(original, "__code__", None) is None or \
            original.__code__.co_names != ("before_codegen", "_codegen_impl", "after_codegen"):
        return

    def _codegen(self, state, **kwargs):  # type: ignore[no-untyped-def]
        state.before_codegen(self)
        type(self)._codegen_impl(self, state, **kwargs)
        state.after_codegen(self)

    _codegen.__doc__ = original.__doc__
    CSTNode._codegen = _codegen  # type: ignore[method-assign]


class _Parenthesized:
    """What `_BaseParenthesizedNode._parenthesize` does, as a plain context manager: the
    left parentheses, the node's syntactic position around its body, the right ones (not
    after an exception, as the generator would not resume)."""

    __slots__ = ("node", "state", "span")

    def __init__(self, node: _BaseParenthesizedNode, state) -> None:  # type: ignore[no-untyped-def]
        self.node, self.state = node, state

    def __enter__(self) -> None:
        for lpar in self.node.lpar:
            lpar._codegen(self.state)
        self.span = self.state.record_syntactic_position(self.node)
        self.span.__enter__()

    def __exit__(self, exc_type, exc, traceback) -> bool:  # type: ignore[no-untyped-def]
        self.span.__exit__(exc_type, exc, traceback)
        if exc_type is None:
            for rpar in self.node.rpar:
                rpar._codegen(self.state)
        return False


_PARENTHESIZE_PATCHED = False


def plain_parenthesize() -> None:
    """Replace libcst's `_parenthesize` generator by `_Parenthesized`, once, and only when
    libcst's generator still is those steps (`lpar`, `record_syntactic_position`, `rpar`)."""
    global _PARENTHESIZE_PATCHED
    if _PARENTHESIZE_PATCHED:
        return
    _PARENTHESIZE_PATCHED = True
    if _BaseParenthesizedNode is None:  # pragma: no cover
        return
    original = getattr(_BaseParenthesizedNode.__dict__.get("_parenthesize"), "__wrapped__", None)
    code = getattr(original, "__code__", None)
    if code is None or code.co_names != ("lpar", "_codegen", "record_syntactic_position", "rpar"):
        return

    def _parenthesize(self, state):  # type: ignore[no-untyped-def]
        return _Parenthesized(self, state)

    _parenthesize.__doc__ = original.__doc__
    _BaseParenthesizedNode._parenthesize = _parenthesize  # type: ignore[method-assign]
