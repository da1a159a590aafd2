"""Node-type sets for hot type tests.

libcst's node classes are ABCs, so `isinstance(node, cst.Call)` runs ABCMeta's
`__instancecheck__` in Python; fact builders make hundreds of thousands of such tests per
file. No concrete libcst node class is subclassed, so `type(node) is cst.Call` and
`type(node) in kinds(...)` answer the same question at a fraction of the cost.
"""

from __future__ import annotations

from functools import lru_cache
from typing import FrozenSet


@lru_cache(maxsize=None)
def kinds(*classes: type) -> FrozenSet[type]:
    """The classes and every subclass of them: `type(node) in kinds(cst.BaseSuite)`."""
    found = set()
    pending = list(classes)
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(current.__subclasses__())
    return frozenset(found)
