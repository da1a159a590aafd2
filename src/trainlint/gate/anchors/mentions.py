"""What an expression may be about: the roles (train / validation / test) of the names,
attributes and strings in it, and of the values assigned to its names, a few assignments deep.

The semantic model gives data a role from its name (`val_loader`), a string key
(`splits["test"]`), a path (`"data/val"`) and what the name was assigned from (`loader =
DataLoader(val_ds)`). The anchors that need "data with a role near here" ask this instead:
it follows every assignment and `append` of a name anywhere in the file, whatever the scope,
and reads every name, attribute and string of an assigned value, not only the data argument.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Set, Tuple

from trainlint.gate.anchors.tree import FUNCTIONS, SyntaxTree
from trainlint.vocab.roles import SPLITTER_OUTPUT_ROLES

HOPS = 3  # assignments followed from a name to its values
_ADDING = ("append", "extend", "add", "insert", "update")


class Mentions:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.values: Dict[str, List[ast.AST]] = defaultdict(list)
        self._known: Dict[Tuple[str, str, int], bool] = {}
        for _scope, target, value in tree.assignments:
            self._assign(target, value)
        for loop in (*tree.of_type(ast.For), *tree.of_type(ast.AsyncFor), *tree.of_type(ast.comprehension)):
            self._assign(loop.target, loop.iter)  # `for x, y in val_loader`
        for call, _scope, _in_loop, _cls in tree.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in _ADDING and isinstance(func.value, ast.Name):
                self.values[func.value.id].extend([*call.args, *(k.value for k in call.keywords)])

    def _assign(self, target: ast.AST, value: ast.AST) -> None:
        """`x = v`, `x[k] = v` and `a, *x = v` give `x` the value; `x.attr = v` does not
        (`self.anything = v` would make `self` mention everything)."""
        for node in ast.walk(target):
            if type(node) is ast.Name and type(self.tree.parent(node)) is not ast.Attribute:
                self.values[node.id].append(value)  # type: ignore[attr-defined]

    def held_out(self, node: Optional[ast.AST]) -> bool:
        """Something in `node` may be validation or test data."""
        return self._reaches(node, "held_out", self.tree.roles.held_out, 0)

    def has_role(self, node: Optional[ast.AST]) -> bool:
        """Something in `node` may be train, validation or test data."""
        return self._reaches(node, "role", self.tree.roles.has_role, 0)

    def _reaches(self, node: Optional[ast.AST], kind: str, reads: Callable[[str], bool], depth: int) -> bool:
        if node is None:
            return False
        bare = _bare_strings(self.tree)
        for current in ast.walk(node):
            current_type = type(current)
            if current_type is ast.Name:
                if self._name(current.id, kind, reads, depth):  # type: ignore[attr-defined]
                    return True
            elif kind == "held_out":
                if _held_out_evidence(self.tree, current, bare):
                    return True
            elif current_type is ast.Attribute:
                if reads(current.attr):  # type: ignore[attr-defined]
                    return True
            elif current_type is ast.Constant and isinstance(current.value, str):  # type: ignore[attr-defined]
                if reads(current.value):  # type: ignore[attr-defined]
                    return True
        return False

    def _name(self, name: str, kind: str, reads: Callable[[str], bool], depth: int) -> bool:
        key = (name, kind, depth)
        known = self._known.get(key)
        if known is None:
            self._known[key] = False  # a name assigned from itself
            known = reads(name) or (depth < HOPS and any(
                self._reaches(value, kind, reads, depth + 1) for value in self.values.get(name, ())))
            self._known[key] = known
        return known


def mentions(tree: SyntaxTree) -> Mentions:
    return tree.memo("mentions", Mentions)


def _bare_strings(tree: SyntaxTree) -> Set[int]:
    """The string statements (docstrings): prose, never where the semantic model reads a role."""
    return tree.memo("bare_strings", lambda tree: {
        id(node.value) for node in tree.of_type(ast.Expr)
        if type(node.value) is ast.Constant and isinstance(node.value.value, str)})  # type: ignore[attr-defined]


def _held_out_evidence(tree: SyntaxTree, node: ast.AST, bare: Set[int]) -> bool:
    """One node that may give data a validation / test role: a name, attribute, parameter,
    keyword or string that reads so (`val_ds`, `validation_data=`, `"data/test"`),
    torchvision's `train=False`, or a split whose outputs have roles by position."""
    held_out = tree.roles.held_out
    kind = type(node)
    if kind is ast.Name:
        return held_out(node.id)  # type: ignore[attr-defined]
    if kind is ast.Attribute:
        if not held_out(node.attr):  # type: ignore[attr-defined]
            return False
        call = tree.parent(node)  # `model.eval()` on its own is a mode switch, not data
        return not (type(call) is ast.Call and not call.args and not call.keywords  # type: ignore[union-attr]
                    and type(tree.parent(call)) is ast.Expr)
    if kind is ast.arg:
        return held_out(node.arg)  # type: ignore[attr-defined]
    if kind is ast.keyword:
        arg = node.arg  # type: ignore[attr-defined]
        return held_out(arg) or (arg == "train" and isinstance(node.value, ast.Constant)  # type: ignore[attr-defined]
                                 and node.value.value is False)  # type: ignore[attr-defined]
    if kind is ast.Constant:
        return isinstance(node.value, str) and id(node) not in bare and held_out(node.value)  # type: ignore[attr-defined]
    if kind in FUNCTIONS:
        return held_out(node.name)  # type: ignore[attr-defined]
    if kind is ast.Call:
        func = node.func  # type: ignore[attr-defined]
        name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else None
        return name in SPLITTER_OUTPUT_ROLES and type(tree.parent(node)) is ast.Assign \
            and type(tree.parent(node).targets[0]) in (ast.Tuple, ast.List)  # type: ignore[union-attr]
    return False


def file_mentions_held_out(tree: SyntaxTree) -> bool:
    """Something in the file may be validation or test data (docstrings aside)."""

    def compute(tree: SyntaxTree) -> bool:
        bare = _bare_strings(tree)
        return any(_held_out_evidence(tree, node, bare) for node in ast.walk(tree.module))

    return tree.memo("file_mentions_held_out", compute)


def scope_mentions_held_out(tree: SyntaxTree, node: ast.AST) -> bool:
    """Something in the function around `node` may be validation or test data
    (the module's own code at module level): the function's own code, its name, or the arguments it is
    called with elsewhere in the file (a figure handed to `maybe_save(val_acc)`)."""
    function = function_of(tree, node)
    if function is None:
        return tree.memo("module_mentions_held_out", lambda tree: any(
            mentions(tree).held_out(node) for node in module_level(tree)))
    known: Dict[int, bool] = tree.memo("scope_mentions_held_out", lambda tree: {})
    found = known.get(id(function))
    if found is None:
        found_names = mentions(tree)
        found = found_names.held_out(function)
        if not found:
            calls = tree.memo("calls_by_own_name", _calls_by_own_name).get(function.name, ())
            found = any(found_names.held_out(argument) for call in calls
                        for argument in [*call.args, *(k.value for k in call.keywords)])
        known[id(function)] = found
    return found


def _calls_by_own_name(tree: SyntaxTree) -> Dict[str, List[ast.Call]]:
    calls: Dict[str, List[ast.Call]] = defaultdict(list)
    for call, _scope, _in_loop, _cls in tree.calls:
        func = call.func
        name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else None
        if name is not None:
            calls[name].append(call)
    return calls


def module_level(tree: SyntaxTree) -> List[ast.AST]:
    """The module's own code: its statements, with function and class bodies left out (their
    names and decorators kept)."""

    def compute(tree: SyntaxTree) -> List[ast.AST]:
        found: List[ast.AST] = []
        for statement in tree.module.body:
            if isinstance(statement, (*FUNCTIONS, ast.ClassDef)):
                found.extend(statement.decorator_list)
            else:
                found.append(statement)
        return found

    return tree.memo("module_level", compute)


def function_of(tree: SyntaxTree, node: ast.AST) -> Optional[ast.AST]:
    """The innermost function around `node`, None at module level."""
    return next((ancestor for ancestor in tree.ancestors(node) if isinstance(ancestor, FUNCTIONS)), None)
