"""Conventions of trainlint's own source that keep the analysis fast.

libcst's node classes are ABCs: `isinstance(node, cst.Call)` runs `ABCMeta.__instancecheck__`
in Python, eight times the cost of `type(node) is cst.Call`, and the fact builders make
hundreds of thousands of such tests per file. No concrete libcst node class is subclassed,
so for those the type test gives the same answer; `semantic.kinds` covers base classes.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

import libcst as cst

SOURCE = Path(__file__).resolve().parent.parent / "src" / "trainlint"


def _concrete(node: ast.expr) -> bool:
    """`cst.X` where X is a libcst node class nothing subclasses."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "cst"):
        return False
    cls = getattr(cst, node.attr, None)
    return isinstance(cls, type) and issubclass(cls, cst.CSTNode) and not cls.__subclasses__()


def slow_type_tests(text: str) -> List[int]:
    """Lines with `isinstance(x, cst.X)` or `isinstance(x, (cst.X, ...))` of concrete classes."""
    lines = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance" \
                and len(node.args) == 2:
            classes = node.args[1]
            elements = classes.elts if isinstance(classes, ast.Tuple) else [classes]
            if elements and all(_concrete(element) for element in elements):
                lines.append(node.lineno)
    return lines


def test_concrete_libcst_classes_are_tested_by_type():
    found = [f"{path.relative_to(SOURCE)}:{line}" for path in sorted(SOURCE.rglob("*.py"))
             for line in slow_type_tests(path.read_text(encoding="utf-8"))]
    assert not found, "use `type(node) is cst.X` / `type(node) in (cst.X, cst.Y)`: " + ", ".join(found)


def test_the_check_tells_concrete_classes_from_base_classes():
    sample = ("isinstance(n, cst.Call)\nisinstance(n, (cst.Name, cst.Attribute))\n"
              "isinstance(n, cst.BaseExpression)\nisinstance(n, (cst.Name, cst.BaseSuite))\ntype(n) is cst.Call\n")
    assert slow_type_tests(sample) == [1, 2]
