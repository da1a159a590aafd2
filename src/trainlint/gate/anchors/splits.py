"""Split anchors: a split of data into training and evaluation parts (`split`, for TL303 and
TL304), a splitter call (`splitter_call`, for TL301) and a fit with a validation fraction
(`keras_validation_split`, for TL302).

TL303 and TL304 report preprocessing or resampling that sees rows a split later holds out,
so without a split in the file they find nothing. Library code mentions `mean`, `max`,
`sample` and `cat` everywhere, so the words of the prefilter let it through; a split of data
is rare there. A split here is any of:

- a call that splits, cross-validates or searches, by name (vocab/splitting.py):
  `train_test_split`, `random_split`, `Subset`, a `.split(...)` beside an sklearn import
  (the splitter classes are scikit-learn's), a fit with `validation_split=`, `sample(frac=)`;
- rows taken twice by subscript from the same data (by name), one kept or used as a part:
  assigned to a name with a role (`X_tr = X[:n]`), indexed by something with a role
  (`X[train_idx]`, `X[folds["val"]]`), or handed to a fit, a loader or `validation_data=`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import Dict, List, Optional, Set, Tuple

from trainlint.gate.anchors.tree import FUNCTIONS, Predicate, SyntaxTree, calls_where, dotted, named
from trainlint.vocab.splitting import CV_FUNCTIONS, SEARCHES, SPLIT_CONSUMERS

_SPLIT_FUNCTIONS = {"train_test_split", "random_split", "Subset"}
_EVAL_KEYWORDS = {"validation_data", "eval_set"}


def _is_splitter_class(name: str) -> bool:
    return name[:1].isupper() and ("Split" in name or "Fold" in name)


def splitter_call(tree: SyntaxTree) -> bool:
    """A call of `train_test_split`, `random_split` or a splitter class (`KFold`,
    `ShuffleSplit`, …)."""
    return bool(named(tree, ("train_test_split", "random_split")) or calls_where(tree, _is_splitter_class))


def keras_validation_split(tree: SyntaxTree) -> bool:
    """A call with `validation_split=`."""
    return any(keyword.arg == "validation_split" for keyword in tree.of_type(ast.keyword))


def split(tree: SyntaxTree) -> bool:
    return tree.memo("splits.split", lambda tree: _split_call(tree) or _subscript_split(tree))


def _split_call(tree: SyntaxTree) -> bool:
    if named(tree, _SPLIT_FUNCTIONS | CV_FUNCTIONS | SEARCHES):
        return True
    if any(keyword.arg in ("validation_split", "frac") for keyword in tree.of_type(ast.keyword)):
        return True
    # `kf.split(X)`: a splitter's `.split` splits only beside an sklearn import (the
    # splitters are scikit-learn's; `input.split(n)` of a `SplitBatchNorm` splits a tensor)
    return bool(named(tree, ("split",))) and _imports_sklearn(tree)


def _imports_sklearn(tree: SyntaxTree) -> bool:
    """An `import sklearn...` or `from sklearn... import` (a star import too)."""
    return any(alias.name.startswith("sklearn") for node in tree.of_type(ast.Import) for alias in node.names) \
        or any(not node.level and (node.module or "").startswith("sklearn") for node in tree.of_type(ast.ImportFrom))


def _row_subscript(node: ast.AST) -> bool:
    """A subscript that may take rows: a slice with a bound, or an index that is not a
    literal number or string."""
    if type(node) is not ast.Subscript:
        return False
    piece = node.slice  # type: ignore[attr-defined]
    if isinstance(piece, ast.Tuple):
        piece = piece.elts[0] if piece.elts else None
    if isinstance(piece, ast.Slice):
        return piece.lower is not None or piece.upper is not None
    return piece is not None and not (isinstance(piece, ast.Constant) and isinstance(piece.value, (int, str)))


def _annotations(tree: SyntaxTree) -> Set[int]:
    """Nodes of type annotations (`Optional[EVAL_DATALOADERS]` takes no rows)."""
    roots = [node.annotation for node in tree.of_type(ast.arg) if node.annotation is not None]
    roots += [node.annotation for node in tree.of_type(ast.AnnAssign)]
    roots += [node.returns for kind in FUNCTIONS for node in tree.of_type(kind) if node.returns is not None]
    return {id(node) for root in roots for node in ast.walk(root)}


def _row_base_names(subscript: ast.Subscript) -> Set[str]:
    """The names the rows come from (`X` of `X[:n]`, `df.iloc[idx]`, `np.asarray(X)[idx]`)."""
    return {node.id for node in ast.walk(subscript.value) if type(node) is ast.Name}


def _subscript_split(tree: SyntaxTree) -> bool:
    """Two row subscripts of the same data, one kept under a role name, indexed by something
    with a role or handed to a fit, a loader or `validation_data=` (a split needs two parts);
    or one kept under a role name and indexed by a role (`X_test = X[test_idx]`)."""
    annotations = _annotations(tree)
    by_base: Dict[str, List[ast.Subscript]] = defaultdict(list)
    for subscript in tree.of_type(ast.Subscript):
        if type(subscript.ctx) is ast.Load and id(subscript) not in annotations and _row_subscript(subscript):
            for name in _row_base_names(subscript):
                by_base[name].append(subscript)
    checked: Set[int] = set()
    for group in by_base.values():
        if len(group) < 2:  # one part alone: kept under a role name and indexed by a role
            if _kept_under_a_role(tree, group[0]) and _index_role(tree, group[0].slice):
                return True
            continue
        for subscript in group:
            if id(subscript) in checked:
                continue
            checked.add(id(subscript))
            if _kept_under_a_role(tree, subscript) or _index_role(tree, subscript.slice) \
                    or _handed_to_a_part(tree, subscript):
                return True
    return False


def _index_role(tree: SyntaxTree, index: ast.AST, hops: int = 2) -> bool:
    """The index may have a role: a name, attribute or string in it reads so, or the values
    its names were assigned (`idx = perm[cut:]` after `train_idx, test_idx = ...`), `hops` deep."""
    has_role = tree.roles.has_role
    for node in ast.walk(index):
        kind = type(node)
        if kind is ast.Name:
            if _name_role(tree, node.id, hops):  # type: ignore[attr-defined]
                return True
        elif (kind is ast.Attribute and has_role(node.attr)) or (  # type: ignore[attr-defined]
                kind is ast.Constant and isinstance(node.value, str) and has_role(node.value)):  # type: ignore[attr-defined]
            return True
    return False


def _name_role(tree: SyntaxTree, name: str, hops: int) -> bool:
    known: Dict[Tuple[str, int], bool] = tree.memo("splits.name_roles", lambda tree: {})
    found = known.get((name, hops))
    if found is None:
        known[(name, hops)] = False  # a name assigned from itself
        values = tree.assigned_values.get(name, ())
        found = known[(name, hops)] = tree.roles.has_role(name) or (
            hops > 0 and any(_index_role(tree, value, hops - 1) for value in values))
    return found


def _kept_under_a_role(tree: SyntaxTree, subscript: ast.Subscript) -> bool:
    """`X_tr = X[:n]`, `X_tr = X[:n].copy()`, `X_tr, X_va = X[:n], X[n:]`, `parts["val"] = ...`."""
    has_role = tree.roles.has_role
    for ancestor in tree.ancestors(subscript):
        if isinstance(ancestor, (ast.Assign, ast.AnnAssign)):
            targets = ancestor.targets if isinstance(ancestor, ast.Assign) else [ancestor.target]
            return any(
                (isinstance(node, (ast.Name, ast.Attribute)) and has_role(dotted(node)))
                or (isinstance(node, ast.Constant) and isinstance(node.value, str) and has_role(node.value))
                for target in targets for node in ast.walk(target))
        if isinstance(ancestor, ast.stmt):
            return False
    return False


def _handed_to_a_part(tree: SyntaxTree, subscript: ast.Subscript) -> bool:
    """`model.fit(X[:n], y[:n])`, `DataLoader(ds[n:])`, `validation_data=(X[n:], y[n:])`."""
    node: ast.AST = subscript
    parent: Optional[ast.AST] = tree.parent(node)
    while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
        node, parent = parent, tree.parent(parent)
    if isinstance(parent, ast.keyword):
        if parent.arg in _EVAL_KEYWORDS:
            return True
        parent = tree.parent(parent)
    elif not isinstance(parent, ast.Call) or parent.func is node:
        return False
    return isinstance(parent, ast.Call) and bool(tree.last_names(parent) & SPLIT_CONSUMERS)


PREDICATES: Dict[str, Predicate] = {
    "split": split,
    "splitter_call": splitter_call,
    "keras_validation_split": keras_validation_split,
}
