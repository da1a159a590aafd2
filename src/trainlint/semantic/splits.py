"""Where data is split into training and evaluation parts, and which role each part has.

A `Split` is one place where rows are divided: `train_test_split` (outputs in the order it
returns them), `random_split`, `Subset(ds, idx)`, index splits (`X[:n]` / `X[n:]`,
`X[idx_train]`, `df.iloc[val_idx]`), `for tr, va in KFold(...).split(X)`, cross-validation
calls and searches that split internally (`cross_val_score`, `GridSearchCV(...).fit`),
Keras `fit(validation_split=...)`, and `df.sample(frac=...)` with `df.drop(train.index)`.
The bindings that receive the parts get `split` and `part_role` set, so the data-flow can
answer "does this array come from a split?" and "which role does it have?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.dataflow import DATA_KINDS, Binding, DataFlow, unwrap_enumerate
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import (
    argument,
    bool_value,
    is_zero,
    keyword_value,
    last_name,
    positional_args,
    string_value,
)
from trainlint.semantic.roles import FlowRoles
from trainlint.vocab.roles import EVAL, TRAIN, RoleWords, is_eval
from trainlint.vocab.splitting import CV_FUNCTIONS, RANDOM_SPLIT, SEARCHES, SPLIT_CONSUMERS, SUBSET, TRAIN_TEST_SPLIT


@dataclass(eq=False)
class Split:
    node: cst.CSTNode
    kind: str  # train_test_split | random_split | subset | index | kfold | cv | validation_split | sample
    inputs: List[cst.BaseExpression]
    parts: List[Binding] = field(default_factory=list)
    estimator: Optional[cst.BaseExpression] = None
    splitter: Optional[cst.BaseExpression] = None  # the cv= / splitter expression


def split_data_flow(module: cst.Module, index: ModuleIndex, imports: ImportTable,
                    words: RoleWords) -> "SplitFacts":
    """The data flow of a module with its splits. Splits are recognised from names and calls
    before edges exist, so that a row part such as `X[train_idx]` is its own node in the
    graph; then the flow links its edges."""
    flow = DataFlow(module, index, imports)
    facts = SplitFacts(flow, index, imports, words)
    flow.link()
    return facts


class SplitFacts:
    def __init__(self, flow: DataFlow, index: ModuleIndex, imports: ImportTable, words: RoleWords) -> None:
        self.flow = flow
        self.index = index
        self.imports = imports
        self.words = words
        self.splits: List[Split] = []
        self.subscript_parts: Dict[cst.Subscript, Tuple[Split, Optional[str]]] = {}
        self.flow_roles = FlowRoles(flow, imports, words, self.subscript_parts)
        self._calls()
        self._slices()
        self._role_indexes()
        self.splits.sort(key=lambda split: flow.order_of(split.node))
        for split in self.splits:
            for binding in split.parts:
                if binding.split is None:
                    binding.split = split
        for split in self.splits:
            if split.kind in ("train_test_split", "random_split", "sample"):
                for binding in split.parts:
                    binding.shuffled = True

    # -- queries ----------------------------------------------------------------------

    def downstream_of_split(self, bindings) -> bool:
        return any(b.split is not None for b in bindings)

    def splits_fed_by(self, binding: Binding) -> List[Split]:
        """Splits whose input data is derived from `binding` (rows or elements)."""
        found = []
        for split in self.splits:
            for expr in split.inputs:
                if binding in self.flow.derivation(expr):
                    found.append(split)
                    break
        return found

    # -- recognition: calls -----------------------------------------------------------

    def _calls(self) -> None:
        for call in self.index.of_type(cst.Call):
            method = last_name(call)
            if self.imports.matches(call, TRAIN_TEST_SPLIT):
                arrays = [a.value for a in positional_args(call)]
                split = Split(call, "train_test_split", arrays)
                targets = self._assigned_names(call)
                if len(targets) == 2 * len(arrays):
                    for position, target in enumerate(targets):
                        self._part(split, target, TRAIN if position % 2 == 0 else EVAL)
                if bool_value(keyword_value(call, "shuffle")) is False:
                    split.kind = "ordered_split"
                self.splits.append(split)
            elif self.imports.matches(call, RANDOM_SPLIT):
                dataset = argument(call, 0, "dataset")
                split = Split(call, "random_split", [dataset] if dataset is not None else [])
                for position, target in enumerate(self._assigned_names(call)):
                    self._part(split, target, TRAIN if position == 0 else EVAL)
                self.splits.append(split)
            elif self.imports.matches(call, SUBSET):
                dataset, indices = argument(call, 0, "dataset"), argument(call, 1, "indices")
                role = self.flow_roles.role(indices)
                if dataset is not None and role is not None:
                    split = Split(call, "subset", [dataset])
                    for target in self._assigned_names(call):
                        self._part(split, target, role)
                    self.splits.append(split)
            elif method in CV_FUNCTIONS and any(
                c.startswith("sklearn.") for c in self.imports.candidates(call)
            ):
                inputs = [e for e in (argument(call, 1, "X"), argument(call, 2, "y")) if e is not None]
                self.splits.append(Split(call, "cv", inputs, estimator=argument(call, 0, "estimator"),
                                         splitter=keyword_value(call, "cv")))
            elif method == "fit" and type(call.func) is cst.Attribute:
                self._fit_split(call)
            elif method == "split" and type(call.func) is cst.Attribute:
                self._splitter_split(call)
            elif method == "sample" and type(call.func) is cst.Attribute:
                self._sample_split(call)

    def _fit_split(self, call: cst.Call) -> None:
        receiver = call.func.value  # type: ignore[attr-defined]
        inputs = [e for e in (argument(call, 0, "x" if keyword_value(call, "x") is not None else "X"),
                              argument(call, 1, "y")) if e is not None]
        for value in self.flow.defining_values(receiver):
            if type(value) is cst.Call and last_name(value) in SEARCHES and self.imports.candidates(value):
                self.splits.append(Split(call, "cv", inputs, estimator=argument(value, 0, "estimator"),
                                         splitter=keyword_value(value, "cv")))
                return
        fraction = keyword_value(call, "validation_split")
        if fraction is not None and not is_zero(fraction):
            self.splits.append(Split(call, "validation_split", inputs))

    def _splitter_split(self, call: cst.Call) -> None:
        receiver = call.func.value  # type: ignore[attr-defined]
        splitter = None
        for value in self.flow.defining_values(receiver):
            if type(value) is cst.Call and any(
                c.startswith("sklearn.model_selection.") for c in self.imports.candidates(value)
            ):
                splitter = value
        if splitter is None:
            return
        split = Split(call, "kfold", [a.value for a in call.args if a.keyword is None][:2],
                      splitter=splitter)
        loop = self.index.parent(call)
        while type(loop) in (cst.Arg, cst.Call) and type(loop) is not cst.For:
            loop = self.index.parent(loop)
        if type(loop) is cst.For and unwrap_enumerate(loop.iter) is call:
            target = loop.target
            if type(loop.iter) is cst.Call and last_name(loop.iter) == "enumerate":
                if type(target) in (cst.Tuple, cst.List) and len(target.elements) == 2:
                    target = target.elements[1].value
            if type(target) in (cst.Tuple, cst.List) and len(target.elements) == 2:
                for position, element in enumerate(target.elements):
                    binding = self.flow.binding_of_target.get(element.value)
                    if binding is not None:
                        binding.part_role = TRAIN if position == 0 else EVAL
                        split.parts.append(binding)
        self.splits.append(split)

    def _sample_split(self, call: cst.Call) -> None:
        """`train = df.sample(frac=0.8)` ... `test = df.drop(train.index)`."""
        fraction = keyword_value(call, "frac")
        if fraction is None or type(fraction) is not cst.Float or fraction.evaluated_value >= 1.0:
            return
        if bool_value(keyword_value(call, "replace")):
            return
        targets = self._assigned_names(call)
        if len(targets) != 1:
            return
        split = Split(call, "sample", [call.func.value])  # type: ignore[attr-defined]
        self._part(split, targets[0], self.words.name_role(targets[0].value) or TRAIN)
        sampled = split.parts[0] if split.parts else None
        for drop in self.index.of_type(cst.Call):
            if last_name(drop) != "drop" or not drop.args or sampled is None:
                continue
            first = drop.args[0].value
            if type(first) is cst.Attribute and first.attr.value == "index" and type(first.value) is cst.Name:
                if sampled in self.flow.resolve_name(first.value.value, first):
                    for target in self._assigned_names(drop):
                        self._part(split, target, self.words.name_role(target.value) or EVAL)
        self.splits.append(split)

    def _assigned_names(self, call: cst.Call) -> List[cst.Name]:
        parent = self.index.parent(call)
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            target = parent.targets[0].target
            if type(target) is cst.Name:
                return [target]
            if type(target) in (cst.Tuple, cst.List):
                names = [e.value for e in target.elements]
                if all(type(n) is cst.Name for n in names):
                    return names  # type: ignore[return-value]
        return []

    def _part(self, split: Split, target: cst.Name, positional_role: str) -> None:
        binding = self.flow.binding_of_target.get(target)
        if binding is None:
            return
        binding.part_role = self.words.name_role(target.value) or positional_role
        binding.split = split
        split.parts.append(binding)

    # -- recognition: subscripts ------------------------------------------------------

    def _row_subscripts(self):
        for subscript in self.index.of_type(cst.Subscript):
            parent = self.index.parent(subscript)
            if type(parent) in (cst.AssignTarget, cst.AugAssign, cst.Del):
                continue
            if not subscript.slice:
                continue
            yield subscript

    def _slices(self) -> None:
        """`X[:n]` with `X[n:]`: complementary row slices of the same data."""
        groups: Dict[Tuple, List[Tuple[cst.Subscript, cst.Slice]]] = {}
        for subscript in self._row_subscripts():
            first = subscript.slice[0].slice
            if type(first) is not cst.Slice or first.step is not None:
                continue
            if first.lower is None and first.upper is None:
                continue
            if _is_column_accessor(subscript):
                continue
            base = _row_base(subscript)
            bindings = self.flow.bindings(base, DATA_KINDS)
            if any(b.how in ("for", "comp") for b in bindings) or _is_shift(first):
                continue  # one sample's sequence, or `seq[:-1]` / `seq[1:]` (inputs, targets)
            key = tuple(sorted(id(b) for b in bindings))
            if key:
                groups.setdefault(key, []).append((subscript, first))
        for members in groups.values():
            bounds = {self._bound_key(s) for s, _ in members}
            if len(bounds) < 2:
                continue
            if not any(self._used_as_split_part(s) for s, _ in members):
                continue  # `a[n:] - a[:-n]`, `buf[-k:]`: slicing arithmetic, not a data split
            split = Split(members[0][0], "index", [_row_base(members[0][0])])
            for subscript, piece in members:
                role = self._assigned_role(subscript) or (TRAIN if piece.lower is None else EVAL)
                self._subscript_part(split, subscript, role)
            self.splits.append(split)

    def _bound_key(self, subscript: cst.Subscript) -> str:
        piece = subscript.slice[0].slice
        module = self.index.module
        lower = module.code_for_node(piece.lower) if piece.lower is not None else ""  # type: ignore[attr-defined]
        upper = module.code_for_node(piece.upper) if piece.upper is not None else ""  # type: ignore[attr-defined]
        return f"{lower}:{upper}"

    def _role_indexes(self) -> None:
        """`X[train_idx]`, `df.iloc[val_idx]`, `X[idx[n:]]`: rows picked by a role index."""
        groups: Dict[Tuple, List[Tuple[cst.Subscript, str]]] = {}
        for subscript in self._row_subscripts():
            if subscript in self.subscript_parts:
                continue
            first = subscript.slice[0].slice
            if type(first) is not cst.Index or string_value(first.value) is not None:
                continue
            if type(first.value) in (cst.Integer, cst.List, cst.Tuple):
                continue
            role = self.flow_roles.role(first.value)
            if role is None:
                continue
            base = _row_base(subscript)
            key = tuple(sorted(id(b) for b in self.flow.bindings(base, DATA_KINDS)))
            if key:
                groups.setdefault(key, []).append((subscript, self._assigned_role(subscript) or role))
        for members in groups.values():
            # Rows of one role alone (`x[test_index] = x[sorted_test_index]` reorders them) are
            # a split only when a part is kept under a role name (`X_test = X[test_idx]`).
            if len({role for _, role in members}) < 2 and not any(
                self._assigned_role(subscript) for subscript, _ in members
            ):
                continue
            split = Split(members[0][0], "index", [_row_base(members[0][0])])
            self.splits.append(split)
            for subscript, role in members:
                self._subscript_part(split, subscript, role)

    def _used_as_split_part(self, subscript: cst.Subscript) -> bool:
        """A slice kept under a role name (`X_train = X[:n]`) or handed to training or
        evaluation (`model.fit(X[:n], y[:n])`, `validation_data=(X[n:], y[n:])`)."""
        if self._assigned_role(subscript) is not None:
            return True
        node: cst.CSTNode = subscript
        parent = self.index.parent(node)
        while type(parent) in (cst.Element, cst.Tuple, cst.List):
            node, parent = parent, self.index.parent(parent)
        if type(parent) is not cst.Arg:
            return False
        if parent.keyword is not None and parent.keyword.value in ("validation_data", "eval_set"):
            return True
        call = self.index.parent(parent)
        return type(call) is cst.Call and last_name(call) in SPLIT_CONSUMERS

    def _assigned_role(self, subscript: cst.Subscript) -> Optional[str]:
        binding = self._assigned_binding(subscript)
        return self.words.name_role(binding.name) if binding is not None else None

    def _assigned_binding(self, subscript: cst.Subscript) -> Optional[Binding]:
        node: cst.CSTNode = subscript
        parent = self.index.parent(node)
        # `X_tr = X[:n]`, `X_tr = X[:n].copy()`, `X_tr, X_va = X[:n], X[n:]`
        while type(parent) in (cst.Attribute, cst.Call) and type(parent) is not cst.Assign:
            if type(parent) is cst.Call and parent.func is not node:
                break
            node, parent = parent, self.index.parent(parent)
        if type(parent) is cst.Element:
            container = self.index.parent(parent)
            assign = self.index.parent(container) if container is not None else None
            if type(assign) is cst.Assign and len(assign.targets) == 1 and assign.value is container:
                target = assign.targets[0].target
                position = list(container.elements).index(parent)  # type: ignore[union-attr]
                if type(target) in (cst.Tuple, cst.List) and len(target.elements) > position:
                    name = target.elements[position].value
                    return self.flow.binding_of_target.get(name)
            return None
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            return self.flow.binding_of_target.get(parent.targets[0].target)
        return None

    def _subscript_part(self, split: Split, subscript: cst.Subscript, role: str) -> None:
        self.subscript_parts[subscript] = (split, role)
        self.flow.make_part(subscript, split, role)
        binding = self._assigned_binding(subscript)
        if binding is not None and binding.split is None:
            binding.split = split
            binding.part_role = role
            split.parts.append(binding)


def _is_column_accessor(subscript: cst.Subscript) -> bool:
    """`df.columns[:5]`, `X.shape[1:]`, `name[:3]`: slices that are not rows of data."""
    value = subscript.value
    if type(value) is cst.Attribute and value.attr.value in ("columns", "shape", "index", "dtypes"):
        return True
    return type(value) in (cst.SimpleString, cst.FormattedString)


def _row_base(subscript: cst.Subscript) -> cst.BaseExpression:
    value = subscript.value
    if type(value) is cst.Attribute and value.attr.value in ("iloc", "loc", "values"):
        return value.value
    return value


def _is_shift(piece: cst.Slice) -> bool:
    """`[:-1]`, `[1:]`, `[:1]`: off-by-one slices that shift a sequence, not split rows."""
    for bound in (piece.lower, piece.upper):
        if bound is None:
            continue
        if type(bound) is cst.UnaryOperation and type(bound.expression) is cst.Integer:
            bound = bound.expression
        if not (type(bound) is cst.Integer and abs(bound.evaluated_value) <= 1):
            return False
    return True


# `is_eval` and the word lists stay importable here for gate/anchors until its rewrite.
__all__ = ["Split", "SplitFacts", "split_data_flow", "is_eval", "CV_FUNCTIONS", "SEARCHES", "SPLIT_CONSUMERS"]
