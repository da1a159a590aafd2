"""Split anchors: a training / evaluation split of data (`split`, for TL303 and TL304), a
splitter TL301 judges (`splitter_call`) and a Keras `fit(validation_split=...)` (for TL302).

TL303 and TL304 report a fit, a statistic or a resampling only when a split *later* holds out
rows it saw (`LeakageFacts.split_covering` / `split_transformed_after` both walk
`SplitFacts.splits`), so without a split in the file they find nothing. Library and model code
mentions `mean`, `max`, `sample` and `cat` everywhere, so the words of the prefilter let it
through; a split of data is rare there.

`split` over-approximates `analysis/splits.py` (SplitFacts), one condition per way it
recognises a split:

- calls: `train_test_split` / `random_split` / `Subset` (by their own last name or the last
  name of an import they resolve to, with an sklearn / torch import in the file), a
  cross-validation function with an sklearn import, `.fit(...)` with `validation_split=` or
  beside a search (`GridSearchCV`...), `.split(...)` with an sklearn import (KFold loops),
  `.sample(frac=<float literal below 1>)`;
- index splits (`SplitFacts._slices`): a row slice `X[:n]` / `X[n:]` kept under a role name
  (`X_train = X[:n]`) or handed to training or evaluation (`fit(X[:n])`, `validation_data=`),
  beside another row slice of the same data (one name in common);
- role indexes (`SplitFacts._role_indexes`): `X[idx]` where the index may have a role — a
  name that states one (`train_idx`), a role string key (`idx["val"]`), or a name assigned
  (at most two assignments away, as `SplitFacts.role` looks) from one — kept under a role
  name or beside another such subscript of the same data.

Everywhere the scan is looser than SplitFacts: it ignores bounds, binding scopes and orders,
and which names the data-flow resolves; it may let a file through with no split, never the
reverse (tests/test_anchors.py, tests/test_anchors_splits.py and bench/anchor_soundness.py
check it).
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Set, Tuple

from trainlint.semantic.dataflow import FIT_METHODS
from trainlint.semantic.roles import name_role
from trainlint.semantic.splits import SPLIT_CONSUMERS, CV_FUNCTIONS, SEARCHES
from trainlint.gate.anchors.tree import Fact, Predicate, SyntaxTree, keyword_value, last_name

# TL301: `UNSTRATIFIED_SPLITTERS`, `TRAIN_TEST_SPLIT` and `RANDOM_SPLIT` by their last names.
_TL301_SKLEARN = {"train_test_split", "KFold", "ShuffleSplit", "RepeatedKFold"}
_TL301_TORCH = {"random_split"}
_TORCH_SPLITS = {"random_split", "Subset"}  # splits.RANDOM_SPLIT, splits.SUBSET
_TRAIN_TEST_SPLIT = {"train_test_split"}
_COLUMN_ACCESSORS = {"columns", "shape", "index", "dtypes"}  # splits._is_column_accessor
_ROW_ACCESSORS = {"iloc", "loc", "values"}  # splits._row_base
_EVAL_KEYWORDS = {"validation_data", "eval_set"}  # splits._used_as_split_part
_KERAS_FITS = {"fit", "fit_generator"}


# -- imports -----------------------------------------------------------------------------------


def _import_roots(tree: SyntaxTree) -> Set[str]:
    """The top-level modules of every absolute import. ImportTable resolves a name to
    `sklearn.…` / `torch.…` only through an import (or a star import) of that package."""

    def compute(tree: SyntaxTree) -> Set[str]:
        roots = {alias.name.split(".")[0] for node in tree.of_type(ast.Import) for alias in node.names}
        roots.update(node.module.split(".")[0] for node in tree.of_type(ast.ImportFrom)
                     if not node.level and node.module is not None)  # ImportTable skips relative imports
        return roots

    return tree.memo("splits.import_roots", compute)


def _called_as(tree: SyntaxTree, call: ast.Call, own: Optional[str], wanted: Set[str]) -> bool:
    """`tree.last_names(call)` meets `wanted`: the callee's own last name, or for a bare name
    the last name of anything it is imported as."""
    if own in wanted:
        return True
    return isinstance(call.func, ast.Name) and any(
        qualified.rsplit(".", 1)[-1] in wanted for qualified in tree.imported_as.get(own, ()))  # type: ignore[arg-type]


def _is_number(node: ast.AST) -> bool:
    """A cst.Integer / cst.Float literal (not a bool, which libcst parses as a name)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


# -- TL301 and TL302 -------------------------------------------------------------------------


def splitter_call(tree: SyntaxTree) -> bool:
    """A call TL301 judges: `train_test_split`, `KFold`, `ShuffleSplit`, `RepeatedKFold`
    (matched under sklearn), `random_split` (under torch) or a `.train_test_split(...)`
    method (with a `datasets` import); every finding of TL301 is reported on, or starts
    from, one of them."""
    roots = _import_roots(tree)
    sklearn, torch, datasets = "sklearn" in roots, "torch" in roots, "datasets" in roots
    if not (sklearn or torch or datasets):
        return False
    for call, _scope, _in_loop, _cls in tree.calls:
        own = last_name(call)
        if (sklearn and _called_as(tree, call, own, _TL301_SKLEARN)) or (
                torch and _called_as(tree, call, own, _TL301_TORCH)):
            return True
        # Hugging Face `Dataset.train_test_split(...)` (StratificationFacts._dataset_splits)
        if datasets and isinstance(call.func, ast.Attribute) and call.func.attr == "train_test_split":
            return True
    return False


def keras_validation_split(tree: SyntaxTree) -> bool:
    """`<model>.fit(x, y, validation_split=...)` (or `fit_generator`) with a fraction that is
    not a literal 0 and data passed: the call every TL302 finding is reported on."""
    for call, _scope, _in_loop, _cls in tree.calls:
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in _KERAS_FITS):
            continue
        fraction = keyword_value(call, "validation_split")
        if fraction is None or (_is_number(fraction) and fraction.value == 0):  # type: ignore[attr-defined]
            continue
        if any(not isinstance(a, ast.Starred) for a in call.args) or keyword_value(call, "x") or keyword_value(call, "y"):
            return True
    return False


# -- the split ---------------------------------------------------------------------------------


def split(tree: SyntaxTree) -> bool:
    """SplitFacts finds at least one split (see the module docstring)."""
    return tree.memo("splits.split", lambda tree: _split_call(tree) or _SubscriptSplits(tree).any())


def _split_call(tree: SyntaxTree) -> bool:
    """SplitFacts._calls: the splits recognised at a call."""
    roots = _import_roots(tree)
    sklearn, torch = "sklearn" in roots, "torch" in roots
    fits = splits = False  # `.fit(...)` / `.split(...)` calls seen
    search = False  # a call named like a search (`GridSearchCV(...)`)
    for call, _scope, _in_loop, _cls in tree.calls:
        own = last_name(call)
        if own in SEARCHES:
            search = True
        if sklearn and own in CV_FUNCTIONS:
            return True
        if (torch and _called_as(tree, call, own, _TORCH_SPLITS)) or (
                sklearn and _called_as(tree, call, own, _TRAIN_TEST_SPLIT)):
            return True
        if not isinstance(call.func, ast.Attribute):
            continue
        if own == "fit":
            fits = True
            fraction = keyword_value(call, "validation_split")
            if fraction is not None and not (_is_number(fraction) and fraction.value == 0):  # type: ignore[attr-defined]
                return True
        elif own == "split":
            splits = True
        elif own == "sample":
            fraction = keyword_value(call, "frac")
            if isinstance(fraction, ast.Constant) and type(fraction.value) is float and fraction.value < 1.0:
                return True
    # `search.fit(X, y)` of a search built in the file; `kf.split(X)` of an sklearn splitter.
    return (fits and search) or (splits and sklearn)


def _first_index(subscript: ast.Subscript) -> Optional[ast.expr]:
    """The first element of a subscript's slice (`:n` of `X[:n, 0]`)."""
    piece = subscript.slice
    if isinstance(piece, ast.Tuple):
        return piece.elts[0] if piece.elts else None
    return piece


def _is_shift(piece: ast.Slice) -> bool:
    """splits._is_shift: every bound a literal integer within ±1 (`seq[:-1]`, `seq[1:]`)."""
    for bound in (piece.lower, piece.upper):
        if bound is None:
            continue
        if isinstance(bound, ast.UnaryOp):
            bound = bound.operand
        if not (isinstance(bound, ast.Constant) and type(bound.value) is int and abs(bound.value) <= 1):
            return False
    return True


def _sharing(atoms: List[Set[object]]) -> Set[int]:
    """Positions of the members whose atoms meet another member's."""
    first_seen: Dict[object, int] = {}
    sharing: Set[int] = set()
    for position, member_atoms in enumerate(atoms):
        for atom in member_atoms:
            other = first_seen.setdefault(atom, position)
            if other != position:
                sharing.update((other, position))
    return sharing


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _SubscriptSplits:
    """SplitFacts._slices and SplitFacts._role_indexes, loosened.

    SplitFacts groups row subscripts by the bindings their data resolves to; a group is a
    split when one member is used as a part (slices) or the members have two roles or one is
    kept under a role name (role indexes). Two subscripts resolve to the same bindings only if
    their data shares a name (or, nested, a fit call): here members of a group are any two
    candidates whose data shares one."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self._known_roles: Dict[Tuple[str, int], bool] = {}
        self._assigned: Optional[Dict[str, List[ast.expr]]] = None

    def any(self) -> bool:
        slices: List[ast.Subscript] = []
        indexes: List[ast.Subscript] = []
        for subscript in self.tree.of_type(ast.Subscript):
            first = _first_index(subscript)
            if isinstance(first, ast.Slice):
                if first.step is None and (first.lower is not None or first.upper is not None) and not (
                        _is_shift(first) or self._column_accessor(subscript)):
                    slices.append(subscript)
            elif first is not None and not isinstance(first, (ast.List, ast.Tuple)) and not (
                    isinstance(first, ast.Constant) and type(first.value) in (int, str)):
                indexes.append(subscript)
        if slices:
            atoms = [self._data_atoms(s) for s in slices]
            if any(self._assigned_role(slices[i]) or self._handed_to_split_consumer(slices[i])
                   for i in _sharing(atoms)):
                return True  # a part used as such, beside another slice of the same data
        indexes = [s for s in indexes if self._may_have_role(_first_index(s))]  # type: ignore[arg-type]
        if not indexes:
            return False
        atoms = [self._data_atoms(s) for s in indexes]
        # Two role subscripts of the same data, or one kept under a role name.
        return bool(_sharing(atoms)) or any(atoms[i] and self._assigned_role(s) for i, s in enumerate(indexes))

    @staticmethod
    def _column_accessor(subscript: ast.Subscript) -> bool:
        value = subscript.value
        return isinstance(value, ast.Attribute) and value.attr in _COLUMN_ACCESSORS

    @staticmethod
    def _data_atoms(subscript: ast.Subscript) -> Set[object]:
        """What the data of a subscript may resolve through (splits._row_base): its names, and
        fit calls (whose fitted state is a binding of its own)."""
        base = subscript.value
        if isinstance(base, ast.Attribute) and base.attr in _ROW_ACCESSORS:
            base = base.value
        if isinstance(base, ast.Name):
            return {base.id}
        atoms: Set[object] = set()
        for node in ast.walk(base):
            if isinstance(node, ast.Name):
                atoms.add(node.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FIT_METHODS:
                atoms.add(node)
        return atoms

    # -- how a part is used (SplitFacts._assigned_role / _used_as_split_part) ---------------

    def _assigned_role(self, subscript: ast.Subscript) -> bool:
        """`X_tr = X[:n]`, `X_tr = X[:n].copy()`, `X_tr, X_va = X[:n], X[n:]`: kept under a
        name (or in a frame whose name) states a role."""
        parent_of = self.tree.parent
        node: ast.AST = subscript
        parent = parent_of(node)
        while isinstance(parent, ast.Attribute) or (isinstance(parent, ast.Call) and parent.func is node):
            node, parent = parent, parent_of(parent)
        if isinstance(parent, (ast.Tuple, ast.List)):
            container, assign = parent, parent_of(parent)
            if not (isinstance(assign, ast.Assign) and assign.value is container):
                return False
            position = container.elts.index(node)  # type: ignore[arg-type]
            for target in assign.targets:
                if isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) > position:
                    element = target.elts[position]
                    if isinstance(element, ast.Starred):
                        element = element.value
                    if _target_role(element):
                        return True
            return False
        if isinstance(parent, ast.Assign) and parent.value is node:
            return any(_target_role(target) for target in parent.targets)
        return False

    def _handed_to_split_consumer(self, subscript: ast.Subscript) -> bool:
        """`model.fit(X[:n], y[:n])`, `DataLoader(ds[n:])`, `validation_data=(X[n:], y[n:])`."""
        parent_of = self.tree.parent
        node: ast.AST = subscript
        parent = parent_of(node)
        while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
            node, parent = parent, parent_of(parent)
        if isinstance(parent, ast.keyword):
            if parent.arg in _EVAL_KEYWORDS:
                return True
            parent = parent_of(parent)
        elif not isinstance(parent, ast.Call) or parent.func is node:
            return False
        return isinstance(parent, ast.Call) and last_name(parent) in SPLIT_CONSUMERS

    # -- roles of index expressions (SplitFacts.role) ----------------------------------------

    def _may_have_role(self, expr: Optional[ast.AST], hops: int = 2) -> bool:
        """SplitFacts.role may give the expression a role. It follows the same structure: a
        name that states one, or assigned from a value with one (two assignments deep at most,
        as far as `role` follows at depth 4); a role string key (`idx["train"]`) or the
        subscripted value; an attribute's value; every element of a tuple or list; a call's
        receiver or first argument. (Part roles of other splits need a split already.)"""
        if isinstance(expr, ast.Name):
            return self._name_may_have_role(expr.id, hops)
        if isinstance(expr, ast.Subscript):
            return _role_key(expr) or self._may_have_role(expr.value, hops)
        if isinstance(expr, (ast.Attribute, ast.Starred)):
            return self._may_have_role(expr.value, hops)
        if isinstance(expr, (ast.Tuple, ast.List)):
            return bool(expr.elts) and all(self._may_have_role(e, hops) for e in expr.elts)
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and self._may_have_role(func.value, hops):
                return True
            first = next((a for a in expr.args if not isinstance(a, ast.Starred)), None)
            return first is not None and self._may_have_role(first, hops)
        return False

    def _name_may_have_role(self, name: str, hops: int) -> bool:
        if name_role(name) is not None:
            return True
        if not hops:
            return False
        key = (name, hops)
        known = self._known_roles.get(key)
        if known is None:  # (hops fall at each step: no cycle)
            known = any(self._may_have_role(value, hops - 1) for value in self._values().get(name, ()))
            self._known_roles[key] = known
        return known

    def _values(self) -> Dict[str, List[ast.expr]]:
        """Name -> the values DataFlow binds it to with how="assign": assignments, annotated
        assignments, `with ... as`, walrus."""
        if self._assigned is None:
            assigned: Dict[str, List[ast.expr]] = {}
            pairs: List[tuple] = [(target, value) for _scope, target, value in self.tree.assignments]
            pairs += [(item.optional_vars, item.context_expr) for item in self.tree.of_type(ast.withitem)
                      if item.optional_vars is not None]
            pairs += [(walrus.target, walrus.value) for walrus in self.tree.of_type(ast.NamedExpr)]
            for target, value in pairs:
                for name in _bound_names(target):
                    assigned.setdefault(name, []).append(value)
            self._assigned = assigned
        return self._assigned


def _role_key(subscript: ast.Subscript) -> bool:
    """splits._string_index states a role: `idx["train"]`."""
    key = subscript.slice
    if isinstance(key, ast.Tuple) and len(key.elts) == 1:
        key = key.elts[0]
    return isinstance(key, ast.Constant) and isinstance(key.value, str) and name_role(key.value) is not None


def _bound_names(target: ast.AST) -> Iterable[str]:
    """Names an assignment target binds (DataFlow._bind_target: names, and names in tuples)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
        for element in ([target.value] if isinstance(target, ast.Starred) else target.elts):
            yield from _bound_names(element)


def _target_role(target: ast.AST) -> bool:
    """The binding `SplitFacts._assigned_binding` finds for an assignment target states a role:
    a name, or the frame a subscript writes into (`parts["train"] = ...` binds `parts`)."""
    if isinstance(target, ast.Name):
        return name_role(target.id) is not None
    if isinstance(target, ast.Subscript):
        return name_role(_root_name(target)) is not None
    return False


PREDICATES: Dict[str, Predicate] = {
    "split": split,
    "splitter_call": splitter_call,
    "keras_validation_split": keras_validation_split,
}
def _tl301_splitter_fact(ctx) -> bool:
    """A call TL301 looks at (its TRAIN_TEST_SPLIT, UNSTRATIFIED_SPLITTERS, RANDOM_SPLIT)."""
    import libcst as cst

    from trainlint.rules import tl301_unstratified_split as tl301

    wanted = tl301.TRAIN_TEST_SPLIT | tl301.UNSTRATIFIED_SPLITTERS | tl301.RANDOM_SPLIT
    return any(ctx.imports.matches(call, wanted) for call in ctx.index.of_type(cst.Call))


def _tl302_fit_fact(ctx) -> bool:
    """A call TL302 looks at: `.fit` / `.fit_generator` with a `validation_split=` that is not
    a literal 0, and data passed."""
    import libcst as cst

    from trainlint.semantic.names import argument, keyword_value, last_name

    for call in ctx.index.of_type(cst.Call):
        if last_name(call) not in _KERAS_FITS or not isinstance(call.func, cst.Attribute):
            continue
        fraction = keyword_value(call, "validation_split")
        if fraction is None or (isinstance(fraction, (cst.Integer, cst.Float)) and fraction.evaluated_value == 0):
            continue
        if argument(call, 0, "x") is not None or argument(call, 1, "y") is not None:
            return True
    return False


FACTS: Dict[str, Fact] = {
    "split": lambda ctx: bool(ctx.splits.splits),
    "splitter_call": _tl301_splitter_fact,
    "keras_validation_split": _tl302_fit_fact,
}
