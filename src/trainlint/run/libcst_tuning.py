"""Two adjustments to libcst, each scoped and checked against the libcst it finds.

- `unvalidated_parse`: libcst validates every node it constructs (`CSTNode.__post_init__`
  calls `_validate`). Nodes the parser builds from text it accepted are valid by
  construction, and validating them is about a sixth of the parse (libcst's own PERF note
  on `__post_init__` says as much). The parse runs without it; every other construction
  (the fixer's nodes) still validates.
- `codegen_within_python_frames`: see its docstring (CPython 3.12's C recursion limit).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from libcst._nodes.base import CSTNode

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
