"""The one walk over a stdlib `ast` tree that every anchor reads.

The walk notes, for every node, its parent and its type, and for every call, assignment and
loop the context the model anchors need (innermost function, whether a loop of that
function encloses it, innermost class). Anchors then look at the lists they care about
(`tree.of_type(ast.Call)`, …) instead of walking again. The tree also carries the role words
of the run's configuration (`tree.roles`), for the anchors that look for data with a role.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple, Type, TypeVar

from trainlint.gate.roles import RoleNames

N = TypeVar("N", bound=ast.AST)
Predicate = Callable[["SyntaxTree"], bool]  # an anchor: may a rule that needs it report here?
Scope = Optional[ast.AST]  # the innermost function, None at module level

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
LOOPS = (ast.For, ast.AsyncFor, ast.While)


class SyntaxTree:
    def __init__(self, module: ast.Module, text: str, roles: Optional[RoleNames] = None) -> None:
        self.module = module
        self.text = text
        self.roles = roles or RoleNames()
        self.parents: Dict[ast.AST, ast.AST] = {}
        self._by_type: Dict[type, List[ast.AST]] = defaultdict(list)
        # (call, its function scope, inside a loop of that scope, its class)
        self.calls: List[Tuple[ast.Call, Scope, bool, Optional[ast.ClassDef]]] = []
        self.assignments: List[Tuple[Scope, ast.AST, ast.AST]] = []  # (scope, target, value)
        self.parameters: List[Tuple[Scope, str]] = []  # (function, parameter name)
        self.class_names: Set[str] = set()
        self.redefined_classes: Set[str] = set()
        self._memo: Dict[str, Any] = {}
        self._aliases: Optional[Dict[str, str]] = None
        self._imported_as: Optional[Dict[str, Set[str]]] = None
        self.depth = 0  # levels of the deepest node (the module is level 1): the parse check reads it
        self._walk()

    def release(self) -> None:
        """Drop the memos once the gate has decided: several hold the tree (a `Mentions`
        does), and the tree would be a reference cycle that only the cyclic collector frees,
        tracing every node of the file once more."""
        self._memo.clear()

    def memo(self, key: str, compute: Callable[["SyntaxTree"], Any]) -> Any:
        """`compute(self)` once per tree: for work several anchors share."""
        if key not in self._memo:
            self._memo[key] = compute(self)
        return self._memo[key]

    @property
    def assigned_values(self) -> Dict[str, List[ast.AST]]:
        """Plain name -> every value assigned to it anywhere in the file (unpacking included)."""
        return self.memo("assigned_values", _assigned_values)

    @property
    def aliases(self) -> Dict[str, str]:
        """Local name -> qualified name of the imports, exactly as ImportTable reads them
        (`import torch.nn as nn` -> nn: torch.nn; `from a.b import c as d` -> d: a.b.c): the
        `import` statements in source order, then the `from` imports, the last one winning."""
        if self._aliases is None:
            self._read_imports()
        return self._aliases  # type: ignore[return-value]

    @property
    def imported_as(self) -> Dict[str, Set[str]]:
        """Local name -> every qualified name any import in the file binds to it (for anchors
        that must not depend on which of two imports of one name wins)."""
        if self._imported_as is None:
            self._read_imports()
        return self._imported_as  # type: ignore[return-value]

    def _read_imports(self) -> None:
        aliases: Dict[str, str] = {}
        imported_as: Dict[str, Set[str]] = defaultdict(set)
        in_order = lambda nodes: sorted(nodes, key=lambda n: (n.lineno, n.col_offset))  # noqa: E731
        for node in in_order(self.of_type(ast.Import)):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                    imported_as[alias.asname].add(alias.name)
                else:
                    head = alias.name.split(".")[0]
                    aliases.setdefault(head, head)
                    imported_as[head].add(head)
        for node in in_order(self.of_type(ast.ImportFrom)):
            if node.level or node.module is None:
                continue
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    imported_as[alias.asname or alias.name].add(f"{node.module}.{alias.name}")
        self._aliases, self._imported_as = aliases, dict(imported_as)

    def last_names(self, node: ast.AST) -> Set[str]:
        """The names a callee or reference may go by at its end: its own last name and, when
        it is an imported name, the last name of everything it is imported as (`tts` for
        `from sklearn.model_selection import train_test_split as tts` gives both)."""
        if isinstance(node, ast.Call):
            node = node.func
        names: Set[str] = set()
        own = last_name(node)
        if own is not None:
            names.add(own)
        if isinstance(node, ast.Name):
            names.update(q.rsplit(".", 1)[-1] for q in self.imported_as.get(node.id, ()))
        return names

    def of_type(self, node_type: Type[N]) -> List[N]:
        """Every node of exactly this type, in no particular order."""
        return self._by_type.get(node_type, [])  # type: ignore[return-value]

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterable[ast.AST]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def _walk(self) -> None:
        parents, by_type = self.parents, self._by_type
        stack: List[Tuple[ast.AST, Scope, bool, Optional[ast.ClassDef], int]] = [(self.module, None, False, None, 1)]
        pop, push, AST = stack.pop, stack.append, ast.AST
        deepest = 0
        while stack:
            node, scope, in_loop, cls, depth = pop()
            if depth > deepest:
                deepest = depth
            node_type = type(node)
            by_type[node_type].append(node)
            if node_type is ast.Call:
                self.calls.append((node, scope, in_loop, cls))  # type: ignore[arg-type]
            elif node_type is ast.Assign:
                self.assignments.extend((scope, target, node.value) for target in node.targets)  # type: ignore[attr-defined]
            elif node_type is ast.AnnAssign and node.value is not None:  # type: ignore[attr-defined]
                self.assignments.append((scope, node.target, node.value))  # type: ignore[attr-defined]
            elif node_type in FUNCTIONS:
                scope, in_loop = node, False
                arguments = node.args  # type: ignore[attr-defined]
                for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                    self.parameters.append((scope, arg.arg))
            elif node_type is ast.Lambda:
                in_loop = False
            elif node_type is ast.ClassDef:
                cls, in_loop = node, False  # type: ignore[assignment]
                if node.name in self.class_names:  # type: ignore[attr-defined]
                    self.redefined_classes.add(node.name)  # type: ignore[attr-defined]
                self.class_names.add(node.name)  # type: ignore[attr-defined]
            elif node_type in LOOPS:
                in_loop = True
            # ast.iter_child_nodes, inlined: a generator per node costs a third of the walk
            for name in node._fields:
                field = getattr(node, name, None)
                if isinstance(field, AST):
                    parents[field] = node
                    push((field, scope, in_loop, cls, depth + 1))
                elif type(field) is list:
                    for item in field:
                        if isinstance(item, AST):
                            parents[item] = node
                            push((item, scope, in_loop, cls, depth + 1))
        self.depth = deepest


# -- small helpers shared by the anchors ------------------------------------------------------


def dotted(node: ast.AST) -> Optional[str]:
    """`a.b.c` for a chain of attributes on a name; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def last_name(node: ast.AST) -> Optional[str]:
    """The last name of a callee or reference: `fit` for `model.fit`, `f` for `f`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def targets(target: ast.AST) -> Iterable[ast.AST]:
    """The single targets of an assignment target, tuples and starred unpacking opened."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from targets(element.value if isinstance(element, ast.Starred) else element)
    else:
        yield target


def keyword_value(call: ast.Call, name: str) -> Optional[ast.AST]:
    """The value of keyword argument `name` of a call (names.keyword_value on ast)."""
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def calls_named(tree: SyntaxTree) -> Dict[str, List[ast.Call]]:
    """Every call under each name it may go by at its end (`tree.last_names`): `fit` for
    `model.fit(...)`, both `tts` and `train_test_split` after `... import train_test_split
    as tts`. Calls of anything else (`f()()`, `x[0]()`) have no name and are left out."""

    def compute(tree: SyntaxTree) -> Dict[str, List[ast.Call]]:
        named: Dict[str, List[ast.Call]] = defaultdict(list)
        for call, _scope, _in_loop, _cls in tree.calls:
            for name in tree.last_names(call):
                named[name].append(call)
        return named

    return tree.memo("calls_named", compute)


def named(tree: SyntaxTree, names: Iterable[str]) -> List[ast.Call]:
    """The calls that go by one of `names`."""
    by_name = calls_named(tree)
    return list(dict.fromkeys(call for name in names for call in by_name.get(name, ())))


def calls_where(tree: SyntaxTree, test: Callable[[str], bool]) -> List[ast.Call]:
    """The calls going by a name that passes `test` (`lambda n: n.startswith("Random")`)."""
    return list(dict.fromkeys(call for name, calls in calls_named(tree).items() if test(name) for call in calls))


def positional(call: ast.Call) -> List[ast.AST]:
    """The arguments without a keyword, starred ones left out."""
    return [argument for argument in call.args if not isinstance(argument, ast.Starred)]


def arguments(call: ast.Call) -> List[ast.AST]:
    """Every argument value: positional, starred and keyword ones."""
    return [*call.args, *(keyword.value for keyword in call.keywords)]


def _assigned_values(tree: SyntaxTree) -> Dict[str, List[ast.AST]]:
    values: Dict[str, List[ast.AST]] = defaultdict(list)
    for _scope, target, value in tree.assignments:
        for node in targets(target):
            if type(node) is ast.Name:
                values[node.id].append(value)  # type: ignore[attr-defined]
    return dict(values)
