"""Splits of classification data that do not keep the class mix (`ctx.stratification`).

Three shapes: `train_test_split` of a categorical target without `stratify=` (the target
passed, or one categorical column of a single frame split whole); a `KFold` / `ShuffleSplit`
/ `RepeatedKFold` used for a classification target (its `cv=` or `.split(X, y)`); a torch
`random_split` in a file that shows its classes are imbalanced. Whether a target is
categorical comes from semantic/targets.py; splits marked `shuffle=False` are deliberate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.names import (
    assigned_targets,
    bool_value,
    is_none,
    keyword_value,
    last_name,
    positional_args,
    string_value,
)
from trainlint.semantic.targets import CATEGORICAL
from trainlint.vocab.splitting import (
    RANDOM_SPLIT,
    SKLEARN_SEARCHES,
    STRATIFIED,
    TRAIN_TEST_SPLIT,
    UNSTRATIFIED_SPLITTERS,
)

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

# Which shape of unstratified split.
SPLIT_OF_TARGET = "split-of-target"  # `target`: the categorical labels to stratify by
SPLITTER = "splitter"                # `splitter`, `stratified`: its name and its replacement
RANDOM_SPLIT_OF_IMBALANCED = "random-split"  # `evidence`: what shows the imbalance


@dataclass(frozen=True)
class UnstratifiedSplit:
    node: cst.Call
    kind: str
    target: Optional[cst.BaseExpression] = None  # may be built, not in the module (`df["y"]`)
    splitter: str = ""
    stratified: str = ""
    evidence: str = ""


class StratificationFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def unstratified(self) -> List[UnstratifiedSplit]:
        splits = [
            (call, [arg.value for arg in positional_args(call)])
            for call in self._ctx.index.of_type(cst.Call)
            if self._ctx.imports.matches(call, TRAIN_TEST_SPLIT)
        ]
        return [*self._target_splits(splits), *self._splitters(), *self._random_splits(), *self._single_frames(splits)]

    # -- train_test_split(X, y) of a categorical y ----------------------------------------

    def _target_splits(self, splits) -> Iterator[UnstratifiedSplit]:
        ctx = self._ctx
        # Every split of the same array shares the evidence found on any of its outputs.
        outputs_of: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        for call, arrays in splits:
            outputs = self._split_outputs(call, len(arrays))
            for position, array in enumerate(arrays):
                pair = outputs[2 * position: 2 * position + 2]
                outputs_of[ctx.targets.key(array)].extend(o for o in pair if o is not None)
        for call, arrays in splits:
            if _stratified_or_ordered(call) or len(arrays) < 2:
                continue  # a single frame: the target column is not visible here
            for array in arrays[1:]:
                keys = self._target_keys(array, outputs_of[ctx.targets.key(array)])
                if ctx.targets.kind(keys, ctx.index.enclosing_function(call)) == CATEGORICAL:
                    yield UnstratifiedSplit(call, SPLIT_OF_TARGET, target=array)
                    break

    # -- KFold / ShuffleSplit where a stratified splitter fits ------------------------------

    def _splitters(self) -> Iterator[UnstratifiedSplit]:
        ctx = self._ctx
        if "MultiLabelBinarizer" in ctx.text or "multilabel" in ctx.text.lower():
            return  # StratifiedKFold does not take multilabel targets
        constructions = [c for c in ctx.index.of_type(cst.Call) if ctx.imports.matches(c, UNSTRATIFIED_SPLITTERS)]
        if not constructions:
            return
        names: Dict[str, List[cst.Name]] = defaultdict(list)
        for node in ctx.index.of_type(cst.Name):
            names[node.value].append(node)
        for construction in constructions:
            if self._used_for_classification(construction, names):
                short = (ctx.imports.qualified_name(construction) or "KFold").rsplit(".", 1)[-1]
                yield UnstratifiedSplit(construction, SPLITTER, splitter=short, stratified=STRATIFIED[short])

    def _used_for_classification(self, construction: cst.Call, names) -> bool:
        ctx = self._ctx
        targets = ctx.targets
        for use, kind in self._uses(construction, names):
            args = positional_args(use)
            if kind == "cv":
                estimator = args[0].value if args else keyword_value(use, "estimator")
                if targets.estimator_kind(estimator) == CATEGORICAL:
                    return True
                target = args[2].value if len(args) > 2 else keyword_value(use, "y")
                if target is not None and targets.kind(
                        self._target_keys(target, []), ctx.index.enclosing_function(use)) == CATEGORICAL:
                    return True
            elif kind == "split":
                if len(args) >= 2 and targets.kind(
                        self._target_keys(args[1].value, []), ctx.index.enclosing_function(use)) == CATEGORICAL:
                    return True
                if self._fits_classifier_per_fold(use):
                    return True
        return False

    def _fits_classifier_per_fold(self, split_call: cst.Call) -> bool:
        """`for tr, va in kf.split(X):` whose body fits a classifier."""
        ctx = self._ctx
        loop = ctx.index.enclosing(split_call, cst.For)
        if loop is None or not ctx.index.is_inside(split_call, loop.iter):
            return False
        for call in ctx.index.of_type(cst.Call):
            if ctx.index.is_inside(call, loop.body) and _is_fit(call):
                receiver = call.func.value  # type: ignore[attr-defined]
                if ctx.targets.estimator_kind(receiver) == CATEGORICAL or ctx.targets.model_kind(receiver) == CATEGORICAL:
                    return True
        return False

    def _uses(self, construction: cst.Call, names) -> List[Tuple[cst.Call, str]]:
        """Where the splitter goes: `cv=` of a cross-validation call or search, `.split(...)`."""
        ctx = self._ctx
        expressions: List[cst.CSTNode] = [construction]
        parent = ctx.index.parent(construction)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            target = parent.targets[0].target
            binding = ctx.dataflow.binding_of_target.get(target)
            expressions.extend(n for n in names[target.value]
                               if n is not target and binding in ctx.dataflow.resolve_name(n.value, n))
        found: List[Tuple[cst.Call, str]] = []
        for expr in expressions:
            parent = ctx.index.parent(expr)
            if isinstance(parent, cst.Arg) and parent.keyword is not None and parent.keyword.value == "cv":
                call = ctx.index.parent(parent)
                if isinstance(call, cst.Call):
                    if last_name(call) in SKLEARN_SEARCHES:
                        for fit in ctx.index.of_type(cst.Call):
                            receiver = fit.func.value if _is_fit(fit) else None  # type: ignore[attr-defined]
                            if receiver is not None and call in ctx.dataflow.defining_values(receiver):
                                found.append((_as_cv_call(fit, call), "cv"))
                    found.append((call, "cv"))
            elif isinstance(parent, cst.Attribute) and parent.attr.value == "split":
                call = ctx.index.parent(parent)
                if isinstance(call, cst.Call):
                    found.append((call, "split"))
        return found

    # -- torch random_split on an imbalanced labelled dataset --------------------------------

    def _random_splits(self) -> Iterator[UnstratifiedSplit]:
        ctx = self._ctx
        calls = [c for c in ctx.index.of_type(cst.Call) if ctx.imports.matches(c, RANDOM_SPLIT)]
        if not calls:
            return
        evidence = ctx.imbalance.weighting_by_import()
        if evidence is None:
            return
        for call in calls:
            yield UnstratifiedSplit(call, RANDOM_SPLIT_OF_IMBALANCED, evidence=evidence)

    # -- train_test_split(df) with the target column visible elsewhere ------------------------

    def _single_frames(self, splits) -> Iterator[UnstratifiedSplit]:
        ctx = self._ctx
        for call, arrays in splits:
            if len(arrays) != 1 or not isinstance(arrays[0], cst.Name) or _stratified_or_ordered(call):
                continue
            frame = arrays[0].value
            names = {frame} | {o.value for o in self._split_outputs(call, 1) if isinstance(o, cst.Name)}
            if len(names) < 3:
                continue
            columns: Set[str] = set()
            for subscript in ctx.index.of_type(cst.Subscript):
                if isinstance(subscript.value, cst.Name) and subscript.value.value in names and len(subscript.slice) == 1:
                    index = subscript.slice[0].slice
                    label = string_value(index.value) if isinstance(index, cst.Index) else None
                    if label is not None:
                        columns.add(label)
            scope = ctx.index.enclosing_function(call)
            categorical = [c for c in sorted(columns) if self._column_kind(names, c, scope) == CATEGORICAL]
            if len(categorical) != 1:
                continue
            target = cst.parse_expression(f"{frame}[{categorical[0]!r}]".replace("'", '"'))
            yield UnstratifiedSplit(call, SPLIT_OF_TARGET, target=target)

    def _column_kind(self, names, column: str, scope) -> Optional[str]:
        ctx = self._ctx
        keys: List[str] = []
        for name in names:
            keys.extend(_column_variants(f"{name}['{column}']"))
        wanted = set(keys)
        for assign in ctx.index.of_type(cst.Assign):
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
                if ctx.targets.key(assign.value) in wanted:
                    keys.append(assign.targets[0].target.value)
        return ctx.targets.kind(keys, scope)

    # -- which expressions stand for the labels -----------------------------------------------

    def _split_outputs(self, call: cst.Call, n_arrays: int) -> List[Optional[cst.BaseExpression]]:
        """The names that receive the split arrays, in the order train_test_split returns them
        (a_train, a_test, b_train, b_test, ...); None where unknown."""
        parent = self._ctx.index.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            targets = list(assigned_targets(parent.targets[0].target))
            if len(targets) == 2 * n_arrays:
                return list(targets)
        return [None] * (2 * n_arrays)

    def _target_keys(self, target: cst.BaseExpression, outputs: List[cst.BaseExpression]) -> List[str]:
        """Expression keys that stand for the same labels as `target`: the expression itself,
        what it was assigned from, names assigned from it, and the split outputs."""
        ctx = self._ctx
        evidence = ctx.targets
        keys = _column_variants(evidence.key(target))
        if isinstance(target, cst.Name):
            for value in evidence.definitions(target.value):
                keys.extend(_column_variants(evidence.key(value)))
        keys.extend(evidence.key(output) for output in outputs)
        # Reverse: `y = df["label"]` elsewhere, when the split is given `df["label"]` itself.
        target_key = evidence.key(target)
        for assign in ctx.index.of_type(cst.Assign):
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
                if evidence.key(assign.value) == target_key:
                    keys.append(assign.targets[0].target.value)
        keys.extend(self._nested_part_names(target))
        return keys

    def _nested_part_names(self, target: cst.BaseExpression) -> List[str]:
        """Names of the parts of later splits of the same labels (data-flow): evidence on
        `y_train` counts for `y` when `y` -> `y_trval` -> `y_train` through two splits."""
        flow = self._ctx.dataflow
        frontier = set(flow.bindings(target))
        names: List[str] = []
        seen = set()
        while frontier:
            found = set()
            for split in self._ctx.splits.splits:
                if id(split) in seen or split.kind not in ("train_test_split", "ordered_split"):
                    continue
                if any(frontier & set(flow.bindings(expr)) for expr in split.inputs):
                    seen.add(id(split))
                    for part in split.parts:
                        if part.name != "<part>" and part in _label_parts(flow, split, frontier):
                            names.append(part.name)
                            found.add(part)
            frontier = found
        return names


def _stratified_or_ordered(call: cst.Call) -> bool:
    """`stratify=` given (not None), or `shuffle=False`: a time-ordered split is deliberate."""
    stratify = keyword_value(call, "stratify")
    return (stratify is not None and not is_none(stratify)) or bool_value(keyword_value(call, "shuffle")) is False


def _label_parts(flow, split, labels) -> list:
    """The parts of a train_test_split that come from the `labels` input (a_train, a_test
    for input a: positions 2i, 2i+1)."""
    parts = []
    for position, expr in enumerate(split.inputs):
        if labels & set(flow.bindings(expr)):
            parts.extend(p for p in split.parts if split.parts.index(p) // 2 == position)
    return parts


def _column_variants(key: str) -> List[str]:
    """`df.label` and `df['label']` name the same column."""
    variants = [key]
    head, dot, attr = key.rpartition(".")
    if dot and head and attr.isidentifier():
        variants.append(f"{head}['{attr}']")
    if key.endswith("']") and "['" in key:
        head, _, rest = key.rpartition("['")
        column = rest[:-2]
        if column.isidentifier():
            variants.append(f"{head}.{column}")
    return variants


def _is_fit(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "fit"


def _as_cv_call(fit: cst.Call, search: cst.Call) -> cst.Call:
    """`search.fit(X, y)` read like `cross_val_score(estimator, X, y)`."""
    estimator = positional_args(search)[0].value if positional_args(search) else keyword_value(search, "estimator")
    args = [cst.Arg(estimator)] if estimator is not None else []
    return fit.with_changes(args=[*args, *fit.args]) if estimator is not None else search
