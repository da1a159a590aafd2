"""Model-selection anchor: `selection`, a place where a held-out figure may choose something.

TL401 and TL402 only read `SelectionFacts.selections` (analysis/selection.py), and every
finding needs a selection with a report (TL401 `report`, TL402 `final_report`, which is only
set where `report` is). The anchor over-approximates "SelectionFacts finds a selection" path
by path, as an OR of one condition per fact builder:

- `_best_ifs`: an `if` whose test holds an ordering comparison (possibly inside `and` / `or`)
  with, in one of its branches (or an `if` nested in one), an assignment whose target is read
  on one side of the comparison and whose value reads the other side, that other side a
  figure (`val_acc`); or `best = max(best, val_acc)`.
- `_lr_plateaus`: a `.step(...)` with an argument, in a file that assigns `ReduceLROnPlateau`.
- `_keras`: `<x>.fit(...)` / `fit_generator` with `callbacks=` and `validation_data=` or
  `validation_split=`.
- `_hugging_face`: a call named `...Trainer` with `eval_dataset=`.
- `_lightning`: a call with `callbacks=` assigned to a single name, and some `.fit(...)`.
- `_searches`: a call named like a scikit-learn search.
- `_comparisons`: `max` / `min` with `key=` or over one figure name, or an `argmax` /
  `idxmax` / ... of a figure with at most one argument.

Where the fact builder needs the data behind the figure to be validation or test data
(`DataRoles.role`, from names, strings and the values assigned to names), the anchor also
asks that some name or string reachable the same way reads as validation or test data
(`name_role`), so a `max(...)` over model widths in a utility module does not count.

Everything is looser than the facts: names a libcst expression reads are a subset of the
names, keyword names and constants the `ast` expression holds; orderings, operand sides and
"exactly one" conditions are dropped.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Set, Tuple

from trainlint.semantic.dataroles import HELD_OUT
from trainlint.semantic.roles import name_role
from trainlint.semantic.selection import FIGURE_WORDS, SEARCHES, words_of
from trainlint.gate.anchors.tree import FUNCTIONS, Fact, Predicate, SyntaxTree, dotted, keyword_value, last_name

_ORDERINGS = (ast.Gt, ast.Lt, ast.GtE, ast.LtE)
_PICKS = {"argmax", "argmin", "nanargmax", "nanargmin", "idxmax", "idxmin"}
_FIGURE_SUFFIXES = tuple(FIGURE_WORDS)
_ROLE_DEPTH = 3  # DataRoles follows a name to its assigned values this many hops


def _keys(node: ast.AST) -> Set[str]:
    """A superset of `mentioned_keys` (and `target_keys`) of the libcst expression: every
    name and dotted chain in it, plus keyword and lambda parameter names and the constants
    libcst spells as names (`True`, `None`)."""
    keys: Set[str] = set()
    for current in ast.walk(node):
        kind = type(current)
        if kind is ast.Name:
            keys.add(current.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            name = dotted(current)
            if name is not None:
                keys.add(name)
        elif kind is ast.keyword and current.arg:  # type: ignore[attr-defined]
            keys.add(current.arg)  # type: ignore[attr-defined]
        elif kind is ast.arg:
            keys.add(current.arg)  # type: ignore[attr-defined]
        elif kind is ast.Constant and (current.value is None or isinstance(current.value, bool)):  # type: ignore[attr-defined]
            keys.add(repr(current.value))  # type: ignore[attr-defined]
    return keys


def _strings(node: ast.AST) -> Iterable[str]:
    for current in ast.walk(node):
        if type(current) is ast.Constant and isinstance(current.value, str):  # type: ignore[attr-defined]
            yield current.value  # type: ignore[attr-defined]


def _is_figure(node: ast.AST) -> bool:
    """selection._is_figure, loosened: the words of every key's last part and of every string
    in the expression (the libcst check reads only a subscript's own string)."""
    words: Set[str] = set()
    for key in _keys(node):
        words |= words_of(key.rsplit(".", 1)[-1])
    for text in _strings(node):
        words |= words_of(text)
    return bool(words & FIGURE_WORDS) or any(
        word.endswith(_FIGURE_SUFFIXES) for word in words if len(word) > 4)


def _held_out_name(name: Optional[str]) -> bool:
    return name_role(name) in HELD_OUT


class _HeldOutRoles:
    """Whether `DataRoles.role(expr)` could be validation or test: some name, attribute or
    string in the expression, or in the values assigned to one of its names (up to the same
    depth), reads as held-out data. DataRoles takes a name's values from `x = v`,
    `x[k] = v` and `x.append(v)` anywhere in the file; so does this, with any target."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.values: Dict[str, List[ast.AST]] = defaultdict(list)
        self._names: Dict[Tuple[str, int], bool] = {}
        for _scope, target, value in tree.assignments:
            for name in _target_bases(target):
                self.values[name].append(value)
        for call, _scope, _in_loop, _cls in tree.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "add") \
                    and isinstance(func.value, ast.Name):
                self.values[func.value.id].extend([*call.args, *(k.value for k in call.keywords)])

    def expression(self, node: Optional[ast.AST], depth: int = 0) -> bool:
        if node is None:
            return False
        for current in ast.walk(node):
            kind = type(current)
            if kind is ast.Name:
                if self.name(current.id, depth):  # type: ignore[attr-defined]
                    return True
            elif kind is ast.Attribute:
                if _held_out_name(current.attr):  # type: ignore[attr-defined]
                    return True
            elif kind is ast.Constant and isinstance(current.value, str):  # type: ignore[attr-defined]
                if _held_out_name(current.value):  # type: ignore[attr-defined]
                    return True
        return False

    def name(self, name: str, depth: int) -> bool:
        key = (name, depth)
        known = self._names.get(key)
        if known is None:
            known = _held_out_name(name) or (depth < _ROLE_DEPTH and any(
                self.expression(value, depth + 1) for value in self.values.get(name, ())))
            self._names[key] = known
        return known


def _target_bases(target: ast.AST) -> Iterable[str]:
    """Plain names written by a target: `x`, `x[k]`, `a, (b, c)`, `*rest`."""
    for current in ast.walk(target):
        if type(current) is ast.Name:
            yield current.id  # type: ignore[attr-defined]


class _SelectionScan:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self._roles: Optional[_HeldOutRoles] = None

    def held_out(self, node: Optional[ast.AST]) -> bool:
        if self._roles is None:
            self._roles = _HeldOutRoles(self.tree)
        return self._roles.expression(node)

    def guarded(self, node: ast.AST) -> bool:
        """selection._metric_role's second look: an enclosing `if` of the same function (the
        node itself included) whose test holds a string naming held-out data (`phase ==
        "val"`)."""
        for current in (node, *self.tree.ancestors(node)):
            if isinstance(current, ast.If) and any(_held_out_name(s) for s in _strings(current.test)):
                return True
            if isinstance(current, (*FUNCTIONS, ast.ClassDef)):
                break
        return False

    def held_out_metric(self, metric: ast.AST, at: ast.AST) -> bool:
        return _is_figure(metric) and (self.held_out(metric) or self.guarded(at) or self.in_held_out_function(at))

    def in_held_out_function(self, node: ast.AST) -> bool:
        """selection._metric_role's third look: the enclosing function reads held-out data
        somewhere (`def test(epoch):` looping over `testloader`)."""
        for current in self.tree.ancestors(node):
            if isinstance(current, FUNCTIONS):
                return any(self.held_out(child) for child in ast.walk(current)
                           if isinstance(child, (ast.Name, ast.Attribute)))
        return False

    # -- the fact builders, one condition each ------------------------------------------------

    def found(self) -> bool:
        return self.calls() or self.best_ifs()

    def best_ifs(self) -> bool:
        """_best_ifs / _best_comparison: `if metric > best:` with `best = ...metric...` in a
        branch."""
        for node in self.tree.of_type(ast.If):
            sides = list(_ordering_sides(node.test))
            if not sides:
                continue
            writes = [(_keys(target), _keys(assign.value))
                      for assign in _branch_assignments(node) for target in assign.targets]
            if not writes:
                continue
            for left, right in sides:
                left_keys, right_keys = _keys(left), _keys(right)
                for metric, metric_keys, best_keys in ((left, left_keys, right_keys), (right, right_keys, left_keys)):
                    if any(defined & best_keys and read & metric_keys for defined, read in writes) \
                            and self.held_out_metric(metric, node):
                        return True
        return False

    def calls(self) -> bool:
        """The fact builders that start from a call: every one but the `if` of _best_ifs."""
        plateau: Optional[bool] = None  # computed on the first `.step(...)`
        fit_called: Optional[bool] = None
        for call, _scope, _in_loop, _cls in self.tree.calls:
            func = call.func
            kind = type(func)
            name = func.attr if kind is ast.Attribute else func.id if kind is ast.Name else None  # type: ignore[attr-defined]
            if call.keywords:
                keywords = {keyword.arg for keyword in call.keywords}
                if "callbacks" in keywords:
                    if name in ("fit", "fit_generator") and kind is ast.Attribute and (
                            "validation_split" in keywords or self.held_out(keyword_value(call, "validation_data"))):
                        return True  # _keras
                    if _bound(self.tree, call):
                        if fit_called is None:
                            fit_called = _calls_method(self.tree, "fit")
                        if fit_called:
                            return True  # _lightning: `trainer = Trainer(callbacks=[...])`, `trainer.fit(...)`
                if "eval_dataset" in keywords and name is not None and name.endswith("Trainer") \
                        and self.held_out(keyword_value(call, "eval_dataset")):
                    return True  # _hugging_face
            if name is None:
                continue
            if name in SEARCHES:
                return True  # _searches (by the callee's own last name, as there)
            if name == "step" and kind is ast.Attribute and (call.args or call.keywords):
                if plateau is None:  # _lr_plateaus: `scheduler.step(val_loss)`
                    plateau = self._assigns_plateau()
                if plateau and any(self.held_out(argument) for argument in _arguments(call)):
                    return True
            elif name in ("max", "min"):
                if kind is ast.Name and self._comparison_or_running_best(call):
                    return True
            elif name in _PICKS and self._pick(call):
                return True  # _comparisons
        return False

    def _assigns_plateau(self) -> bool:
        """_lr_plateaus: the stepped object is bound to a value named ReduceLROnPlateau."""
        return any(last_name(value) == "ReduceLROnPlateau" for _scope, _target, value in self.tree.assignments)

    def _comparison_or_running_best(self, call: ast.Call) -> bool:
        """`max(scores, key=scores.get)`, `max(val_accs)` (_comparisons) and `best =
        max(best, val_acc)` (_best_ifs)."""
        keywords = [keyword for keyword in call.keywords if keyword.arg is not None]
        if any(keyword.arg == "key" for keyword in keywords):
            if any(self.held_out(argument) and _is_candidates(argument) for argument in call.args):
                return True
        elif len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Name):
            if _is_figure(call.args[0]) and self.held_out(call.args[0]):
                return True
        sides = _arguments(call)
        parent = self.tree.parent(call)
        if len(sides) == 2 and isinstance(parent, ast.Assign) and parent.value is call:
            defined = set().union(*(_keys(target) for target in parent.targets))
            for best, metric in (sides, sides[::-1]):
                if _keys(best) & defined and self.held_out_metric(metric, parent):
                    return True
        return False

    def _pick(self, call: ast.Call) -> bool:
        """`np.argmax(val_scores)`, `df["val_f1"].idxmax()`: at most one argument, none by
        keyword; the candidates are the argument or the receiver."""
        if len(call.args) + len(call.keywords) > 1 or any(k.arg is not None for k in call.keywords):
            return False
        candidates = _arguments(call)
        if isinstance(call.func, ast.Attribute):
            candidates.append(call.func.value)
        return any(_is_figure(c) and self.held_out(c) for c in candidates)


def _is_candidates(node: ast.AST) -> bool:
    """What `max(..., key=...)` may choose among: a name, an attribute, or `.items()` /
    `.keys()` / `.values()` of one (Starred: libcst would not count it, accepted anyway)."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "keys", "values")
    return isinstance(node, (ast.Name, ast.Attribute, ast.Starred))


def _ordering_sides(test: ast.AST) -> Iterable[Tuple[ast.AST, ast.AST]]:
    """The two sides of each single ordering comparison in a test, through `and` / `or`."""
    if isinstance(test, ast.Compare):
        if len(test.ops) == 1 and isinstance(test.ops[0], _ORDERINGS):
            yield test.left, test.comparators[0]
    elif isinstance(test, ast.BoolOp):
        for value in test.values:
            yield from _ordering_sides(value)


def _branch_assignments(node: ast.If) -> Iterable[ast.Assign]:
    """The assignments of an `if`'s branches and of `if`s nested in them (selection's
    _direct_statements, which skips an `elif`: accepted here anyway)."""
    pending = [*node.body, *node.orelse]
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.Assign):
            yield statement
        elif isinstance(statement, ast.If):
            pending.extend(statement.body)
            pending.extend(statement.orelse)


def _arguments(call: ast.Call) -> List[ast.AST]:
    """Every argument value, as libcst's `call.args` holds them (keywords and stars too)."""
    return [*call.args, *(keyword.value for keyword in call.keywords)]


def _bound(tree: SyntaxTree, call: ast.Call) -> bool:
    """selection._bound_name: the call is the value of a single-target assignment."""
    parent = tree.parent(call)
    return isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1


def _calls_method(tree: SyntaxTree, method: str) -> bool:
    return any(isinstance(call.func, ast.Attribute) and call.func.attr == method
               for call, _scope, _in_loop, _cls in tree.calls)


def selection(tree: SyntaxTree) -> bool:
    """May SelectionFacts find a selection on held-out data in this file?"""
    return _SelectionScan(tree).found()


PREDICATES: Dict[str, Predicate] = {"selection": selection}
FACTS: Dict[str, Fact] = {"selection": lambda ctx: bool(ctx.selection.selections)}
