"""Splits of classification data that do not keep the class mix (`ctx.stratification`).

Four shapes: `train_test_split` of a categorical target without `stratify=` (the target
passed, or one categorical column of a single frame split whole); a `KFold` / `ShuffleSplit`
/ `RepeatedKFold` used for a classification target (its `cv=` or `.split(X, y)`); a torch
`random_split` in a file that shows its classes are imbalanced; a Hugging Face
`Dataset.train_test_split` without `stratify_by_column=` of a data set with a ClassLabel
column or whose parts feed a `Trainer` around a classifier. Splits marked `shuffle=False`
are deliberate.

Whether a target is categorical comes from semantic/targets.py's evidence sites, kept only
when they are about the same binding of the labels (semantic/dataflow.py): the bindings the
split reads, where they came from, its outputs and what is computed from them. A notebook
that rebinds `y_train` to another data set lends nothing to the earlier split. Without any
such site, the labels are followed forward (into a classification loss or an accuracy,
through tensors and loaders) and, for a parameter, back to what the callers in the file pass.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, repeat
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.names import (
    argument, assigned_targets, bool_value, is_none, keyword_value, last_name, nodes_in, positional_args,
    string_value,
)
from trainlint.semantic.dataflow import DATA_KINDS, Binding
from trainlint.semantic.targets import CATEGORICAL, CONTINUOUS, EvidenceSite, SiteFilter, _root_name
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
DATASET_SPLIT = "dataset-split"  # HF `Dataset.train_test_split`; `column`: its ClassLabel column if known


@dataclass(frozen=True)
class UnstratifiedSplit:
    node: cst.Call
    kind: str
    target: Optional[cst.BaseExpression] = None  # may be built, not in the module (`df["y"]`)
    splitter: str = ""
    stratified: str = ""
    evidence: str = ""
    # The categorical evidence is about the very binding the split reads (a `stratify=` fix
    # is then safe); False when some of it was matched by name only.
    at_binding: bool = True
    column: str = ""


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
        return [*self._target_splits(splits), *self._splitters(), *self._random_splits(),
                *self._single_frames(splits), *self._dataset_splits()]

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
                about = self._about_labels(array, self._split_outputs(call, len(arrays)))
                sites = [site for site in ctx.targets.sites(keys, ctx.index.enclosing_function(call)) if about(site)]
                kinds = {site.kind for site in sites}
                kind = kinds.pop() if len(kinds) == 1 else None
                if not sites:
                    kind = self._kind_from_use(array, call, len(arrays)) or self._kind_from_callers(array, depth=0)
                if kind == CATEGORICAL:
                    at_binding = all(self._bindings_of_site(site) for site in sites)
                    yield UnstratifiedSplit(call, SPLIT_OF_TARGET, target=array, at_binding=at_binding)
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
        if type(parent) is cst.Assign and len(parent.targets) == 1 and type(parent.targets[0].target) is cst.Name:
            target = parent.targets[0].target
            binding = ctx.dataflow.binding_of_target.get(target)
            expressions.extend(n for n in names[target.value]
                               if n is not target and binding in ctx.dataflow.resolve_name(n.value, n))
        found: List[Tuple[cst.Call, str]] = []
        for expr in expressions:
            parent = ctx.index.parent(expr)
            if type(parent) is cst.Arg and parent.keyword is not None and parent.keyword.value == "cv":
                call = ctx.index.parent(parent)
                if type(call) is cst.Call:
                    if last_name(call) in SKLEARN_SEARCHES:
                        for fit in ctx.index.of_type(cst.Call):
                            receiver = fit.func.value if _is_fit(fit) else None  # type: ignore[attr-defined]
                            if receiver is not None and call in ctx.dataflow.defining_values(receiver):
                                found.append((_as_cv_call(fit, call), "cv"))
                    found.append((call, "cv"))
            elif type(parent) is cst.Attribute and parent.attr.value == "split":
                call = ctx.index.parent(parent)
                if type(call) is cst.Call:
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
            if len(arrays) != 1 or type(arrays[0]) is not cst.Name or _stratified_or_ordered(call):
                continue
            frame = arrays[0].value
            names = {frame} | {o.value for o in self._split_outputs(call, 1) if type(o) is cst.Name}
            if len(names) < 3:
                continue
            columns: Set[str] = set()
            for subscript in ctx.index.of_type(cst.Subscript):
                if type(subscript.value) is cst.Name and subscript.value.value in names and len(subscript.slice) == 1:
                    index = subscript.slice[0].slice
                    label = string_value(index.value) if type(index) is cst.Index else None
                    if label is not None:
                        columns.add(label)
            scope = ctx.index.enclosing_function(call)
            about = self._about_labels(arrays[0], self._split_outputs(call, 1))
            categorical = [c for c in sorted(columns) if self._column_kind(names, c, scope, about) == CATEGORICAL]
            if len(categorical) != 1:
                continue
            target = cst.parse_expression(f"{frame}[{categorical[0]!r}]".replace("'", '"'))
            yield UnstratifiedSplit(call, SPLIT_OF_TARGET, target=target)

    def _column_kind(self, names, column: str, scope, about: SiteFilter) -> Optional[str]:
        ctx = self._ctx
        keys: List[str] = []
        for name in names:
            keys.extend(_column_variants(f"{name}['{column}']"))
        wanted = set(keys)
        for assign in ctx.index.of_type(cst.Assign):
            if len(assign.targets) == 1 and type(assign.targets[0].target) is cst.Name:
                if ctx.targets.key(assign.value) in wanted:
                    keys.append(assign.targets[0].target.value)
        return ctx.targets.kind(keys, scope, about)

    # -- labels that reach a classification loss or an accuracy (data flow) -------------------

    def _kind_from_use(self, labels: cst.BaseExpression, call: cst.Call, n_arrays: int) -> Optional[str]:
        """CATEGORICAL when a part of these labels flows, through tensors, datasets and
        loaders, into the target of a classification loss or into `(pred == y).mean()`."""
        flow = self._ctx.dataflow
        outputs = self._split_outputs(call, n_arrays)
        position = next((i for i, array in enumerate(positional_args(call)) if array.value is labels), None)
        if position is None:
            return None
        parts = {flow.binding_of_target[o] for o in outputs[2 * position: 2 * position + 2]
                 if o is not None and o in flow.binding_of_target}
        if parts & (self._classification_targets | self._classifier_data):
            return CATEGORICAL
        return None

    @cached_property
    def _classification_targets(self) -> Set[Binding]:
        """Every binding the targets of classification losses and the labels compared with
        predictions in accuracies are computed from."""
        ctx = self._ctx
        flow = ctx.dataflow
        found: Set[Binding] = set()
        for call in ctx.index.of_type(cst.Call):
            use = ctx.criteria.loss_use(call)
            if use is not None and use.spec.family in CLASSIFICATION_LOSS_FAMILIES:
                target = argument(call, 1, "target")
                if target is not None:
                    found |= flow.derivation(target)
        for comparison in ctx.index.of_type(cst.Comparison):
            labels = _labels_compared_with_predictions(ctx, comparison)
            if labels is not None:
                found |= flow.derivation(labels)
        return found

    # -- Hugging Face Dataset.train_test_split of a classification data set -------------------

    def _dataset_splits(self) -> Iterator[UnstratifiedSplit]:
        """`ds.train_test_split(test_size=...)` without `stratify_by_column=` on a data set
        whose labels are a ClassLabel (`ds.features["label"].names`) or whose parts train
        or evaluate a sequence / image / audio classifier."""
        ctx = self._ctx
        if not _DATASETS_IMPORT.search(ctx.text):
            return
        for call in ctx.index.of_type(cst.Call):
            if not (type(call.func) is cst.Attribute and call.func.attr.value == "train_test_split"):
                continue
            if ctx.imports.matches(call, TRAIN_TEST_SPLIT) or bool_value(keyword_value(call, "shuffle")) is False:
                continue
            stratify = keyword_value(call, "stratify_by_column")
            if stratify is not None and not is_none(stratify):
                continue
            received = ctx.dataflow.ancestry(ctx.dataflow.bindings(call.func.value))
            column = self._class_label_column(received)
            if column is not None:
                yield UnstratifiedSplit(call, DATASET_SPLIT, column=column)
            elif self._descendants(set(ctx.dataflow.bindings_assigned_from(call))) & self._classifier_data:
                yield UnstratifiedSplit(call, DATASET_SPLIT)

    def _class_label_column(self, received: Set[Binding]) -> Optional[str]:
        """The column read as a ClassLabel (`ds.features["label"].names`, `.num_classes`,
        `.int2str`) of a data set among `received`; None if there is none."""
        flow = self._ctx.dataflow
        for attribute in self._ctx.index.of_type(cst.Attribute):
            if attribute.attr.value not in _CLASS_LABEL_ATTRIBUTES or type(attribute.value) is not cst.Subscript:
                continue
            features = attribute.value.value
            if not (type(features) is cst.Attribute and features.attr.value == "features"):
                continue
            if set(flow.bindings(features.value)) & received:
                index = attribute.value.slice[0].slice if len(attribute.value.slice) == 1 else None
                return (string_value(index.value) if type(index) is cst.Index else None) or ""
        return None

    @cached_property
    def _classifier_data(self) -> Set[Binding]:
        """The bindings the train / eval data sets of a `Trainer` around a classification
        model (`AutoModelForSequenceClassification`, `...ForImageClassification`) come from."""
        ctx = self._ctx
        flow = ctx.dataflow
        found: Set[Binding] = set()
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) != "Trainer" or not self._is_hf_classifier(argument(call, 0, "model"), 0):
                continue
            for keyword_name in ("train_dataset", "eval_dataset"):
                data = keyword_value(call, keyword_name)
                if data is not None:
                    found |= flow.derivation(data)
        return found

    def _is_hf_classifier(self, model: Optional[cst.BaseExpression], depth: int) -> bool:
        """Built by `<...>For{Sequence,Image,Audio,Video}Classification(.from_pretrained)(...)`,
        maybe moved (`.to(device)`) or held by a name."""
        if model is None or depth > 4:
            return False
        if type(model) is cst.Name:
            return any(self._is_hf_classifier(v, depth + 1) for v in self._ctx.dataflow.defining_values(model))
        if type(model) is not cst.Call:
            return False
        func = model.func
        if type(func) is cst.Attribute and func.attr.value in ("to", "cuda", "from_pretrained"):
            if func.attr.value != "from_pretrained":
                return self._is_hf_classifier(func.value, depth + 1)
            func = func.value
        name = last_name(func) if type(func) in (cst.Name, cst.Attribute) else None
        return bool(name and _HF_CLASSIFIER.search(name))

    # -- labels that are a parameter: what the callers pass (same-file function summaries) -----

    def _labels_kind(self, labels: cst.BaseExpression, depth: int) -> Optional[str]:
        ctx = self._ctx
        keys = self._target_keys(labels, [])
        kind = ctx.targets.kind(keys, ctx.index.enclosing_function(labels), self._about_labels(labels, []))
        return kind if kind is not None else self._kind_from_callers(labels, depth)

    def _kind_from_callers(self, labels: cst.BaseExpression, depth: int) -> Optional[str]:
        """`def fit(self, X, y): train_test_split(X, y)`: the labels are whatever the callers in
        this file pass for `y`. Categorical when some caller passes classification labels and
        none passes a continuous target."""
        if type(labels) is not cst.Name or depth > 2:
            return None
        params = [b for b in self._ctx.dataflow.resolve_name(labels.value, labels) if b.how == "param"]
        if len(params) != 1 or type(params[0].scope) is not cst.FunctionDef:
            return None
        kinds = {self._labels_kind(arg, depth + 1)
                 for arg in self._call_site_arguments(params[0].scope, labels.value)}
        return CATEGORICAL if CATEGORICAL in kinds and CONTINUOUS not in kinds else None

    def _call_site_arguments(self, function: cst.FunctionDef, param: str) -> List[cst.BaseExpression]:
        """What each call of `function` in this file passes for `param`: calls by name for a
        function, `obj.method(...)` on an instance of its class (or `self.method(...)`)."""
        ctx = self._ctx
        positional = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        if param not in positional:
            return []
        owner = ctx.index.enclosing_scope(function)
        method = type(owner) is cst.ClassDef
        position = positional.index(param) - (1 if method else 0)
        if position < 0:
            return []
        found: List[cst.BaseExpression] = []
        for call in ctx.index.of_type(cst.Call):
            if method:
                if not (type(call.func) is cst.Attribute and call.func.attr.value == function.name.value
                        and self._is_instance_of(call.func.value, owner)):
                    continue
            elif not (type(call.func) is cst.Name and call.func.value == function.name.value):
                continue
            value = argument(call, position, param)
            if value is not None:
                found.append(value)
        return found

    def _is_instance_of(self, receiver: cst.BaseExpression, cls: cst.ClassDef) -> bool:
        """`Cls(...)`, a name assigned from it, or `self` inside the class."""
        ctx = self._ctx
        if type(receiver) is cst.Name and receiver.value == "self":
            return ctx.index.enclosing(receiver, cst.ClassDef) is cls
        for value in ctx.dataflow.defining_values(receiver):
            if type(value) is cst.Call and type(value.func) is cst.Name and value.func.value == cls.name.value:
                return True
        return False

    # -- which bindings the evidence must be about ---------------------------------------------

    def _about_labels(self, labels: cst.BaseExpression, outputs) -> SiteFilter:
        """Keeps the evidence sites that read the same labels as the split: the bindings the
        split reads, where they came from, and what was computed from them or from the
        split's outputs. A notebook that later rebinds `y_train` to another data set shows
        nothing about this split through that name."""
        flow = self._ctx.dataflow
        start = set(flow.bindings(labels))
        start.update(flow.binding_of_target[o] for o in outputs if o is not None and o in flow.binding_of_target)
        start.update(_split_siblings(start))
        related = flow.ancestry(start) | self._descendants(start)

        def about(site: EvidenceSite) -> bool:
            held = self._bindings_of_site(site)
            return not held or bool(held & related)

        return about

    def _bindings_of_site(self, site: EvidenceSite) -> Set[Binding]:
        """The bindings the evidence is about; empty when the flow cannot tell (a name from
        outside the file, an expression without a root name). Memoized: every split asks
        about every site."""
        memo = self._site_bindings
        if id(site) not in memo:
            memo[id(site)] = (site, self._resolve_site(site))
        return memo[id(site)][1]

    @cached_property
    def _site_bindings(self) -> Dict[int, Tuple[EvidenceSite, Set[Binding]]]:
        return {}

    def _resolve_site(self, site: EvidenceSite) -> Set[Binding]:
        flow = self._ctx.dataflow
        if site.defines is not None:
            binding = flow.binding_of_target.get(site.defines)
            return {binding} if binding is not None else set()
        root = _root_name(site.key)
        if site.node is None or not root.isidentifier():
            return set()
        return set(flow.resolve_name(root, site.node))

    def _descendants(self, start: Set[Binding]) -> Set[Binding]:
        """Breadth-first, a level at a time, with the per-binding work in C: every split of
        a notebook reaches forward through every later rebinding of `df`."""
        children = self._children
        found = set(start)
        frontier = found
        while frontier:
            frontier = set(chain.from_iterable(map(children.get, frontier, repeat(())))) - found
            found |= frontier
        return found

    @cached_property
    def _children(self) -> Dict[Binding, List[Binding]]:
        """Forward data-flow edges: binding -> the bindings computed from its data."""
        children: Dict[Binding, List[Binding]] = defaultdict(list)
        for binding in self._ctx.dataflow.all_bindings:
            for ref in binding.parents:
                if ref.kind in DATA_KINDS:
                    children[ref.binding].append(binding)
        return children

    # -- which expressions stand for the labels -----------------------------------------------

    def _split_outputs(self, call: cst.Call, n_arrays: int) -> List[Optional[cst.BaseExpression]]:
        """The names that receive the split arrays, in the order train_test_split returns them
        (a_train, a_test, b_train, b_test, ...); None where unknown."""
        parent = self._ctx.index.parent(call)
        if type(parent) is cst.Assign and len(parent.targets) == 1:
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
        if type(target) is cst.Name:
            for value in evidence.definitions(target.value):
                keys.extend(_column_variants(evidence.key(value)))
        keys.extend(evidence.key(output) for output in outputs)
        # Reverse: `y = df["label"]` elsewhere, when the split is given `df["label"]` itself.
        keys.extend(self._names_assigned_from.get(evidence.key(target), ()))
        keys.extend(self._nested_part_names(target))
        keys.extend(self._sibling_keys(target))
        return keys

    @cached_property
    def _names_assigned_from(self) -> Dict[str, List[str]]:
        """Expression key -> the names assigned from it (`y = df["label"]`), in source order:
        one pass over the assignments, not one per split."""
        evidence = self._ctx.targets
        names: Dict[str, List[str]] = defaultdict(list)
        for assign in self._ctx.index.of_type(cst.Assign):
            if len(assign.targets) == 1 and type(assign.targets[0].target) is cst.Name:
                names[evidence.key(assign.value)].append(assign.targets[0].target.value)
        return names

    def _sibling_keys(self, target: cst.BaseExpression) -> List[str]:
        """`y_dev` from `train_test_split(X, y)`: `y` and `y_test` are the same labels."""
        flow = self._ctx.dataflow
        keys: List[str] = []
        for binding in flow.bindings(target):
            split = binding.split
            if split is None or getattr(split, "kind", None) != "train_test_split" or binding not in split.parts:
                continue
            position = split.parts.index(binding) // 2
            if position < len(split.inputs):
                keys.append(self._ctx.targets.key(split.inputs[position]))
            keys.extend(p.name for p in split.parts[2 * position: 2 * position + 2] if p.name != "<part>")
        return keys

    @cached_property
    def _split_number(self) -> Dict[int, int]:
        return {id(split): number for number, split in enumerate(self._ctx.splits.splits)}

    @cached_property
    def _splits_reading(self) -> Dict[Binding, List]:
        """Binding -> the splits (train_test_split, ordered) whose inputs read it."""
        flow = self._ctx.dataflow
        reading: Dict[Binding, List] = defaultdict(list)
        for split in self._ctx.splits.splits:
            if split.kind in ("train_test_split", "ordered_split"):
                for binding in {b for expr in split.inputs for b in flow.bindings(expr)}:
                    reading[binding].append(split)
        return reading

    def _nested_part_names(self, target: cst.BaseExpression) -> List[str]:
        """Names of the parts of later splits of the same labels (data-flow): evidence on
        `y_train` counts for `y` when `y` -> `y_trval` -> `y_train` through two splits."""
        flow = self._ctx.dataflow
        frontier = set(flow.bindings(target))
        names: List[str] = []
        seen = set()
        while frontier:
            found = set()
            later = {id(split): split for binding in frontier for split in self._splits_reading.get(binding, ())}
            for split in sorted(later.values(), key=lambda split: self._split_number[id(split)]):
                if id(split) not in seen:
                    seen.add(id(split))
                    for part in split.parts:
                        if part.name != "<part>" and part in _label_parts(flow, split, frontier):
                            names.append(part.name)
                            found.add(part)
            frontier = found
        return names


_DATASETS_IMPORT = re.compile(r"^\s*(from|import)\s+datasets\b", re.MULTILINE)
_CLASS_LABEL_ATTRIBUTES = {"names", "num_classes", "int2str", "str2int"}
_HF_CLASSIFIER = re.compile(r"For(Sequence|Image|Audio|Video)Classification$")
CLASSIFICATION_LOSS_FAMILIES = {
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "multi_margin_loss", "multilabel_soft_margin_loss",
}
_PREDICTION_CALLS = {"argmax", "predict", "round"}
_COUNTING_CALLS = {"mean", "sum", "count_nonzero"}


def _labels_compared_with_predictions(ctx: "FileContext", comparison: cst.Comparison) -> Optional[cst.BaseExpression]:
    """`(logits.argmax(1) == y).float().mean()`, `torch.sum(preds == y)`: the labels side of
    an equality between predictions and labels whose matches are counted (an accuracy)."""
    if len(comparison.comparisons) != 1 or type(comparison.comparisons[0].operator) is not cst.Equal:
        return None
    left, right = comparison.left, comparison.comparisons[0].comparator
    if not _is_counted(ctx, comparison):
        return None
    if _is_prediction(ctx, left) and not _is_prediction(ctx, right):
        return right
    if _is_prediction(ctx, right) and not _is_prediction(ctx, left):
        return left
    return None


def _is_prediction(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    """Made by argmax / predict / round here, or a name assigned from one."""
    for value in [expr, *ctx.dataflow.defining_values(expr)]:
        if any(type(n) is cst.Call and last_name(n) in _PREDICTION_CALLS for n in nodes_in(value)):
            return True
    return False


def _is_counted(ctx: "FileContext", comparison: cst.Comparison) -> bool:
    """The matches are summed or averaged in the same statement."""
    node: Optional[cst.CSTNode] = comparison
    while node is not None and not isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
        parent = ctx.index.parent(node)
        if type(parent) is cst.Call and last_name(parent) in _COUNTING_CALLS:
            return True
        if type(parent) is cst.Attribute and parent.attr.value in _COUNTING_CALLS:
            return True
        node = parent
    return False


def _split_siblings(bindings: Set[Binding]) -> Set[Binding]:
    """The other part of the same array of a train_test_split (`y_test` beside `y_train`)."""
    siblings: Set[Binding] = set()
    for binding in bindings:
        split = binding.split
        if split is not None and getattr(split, "kind", None) == "train_test_split" and binding in split.parts:
            position = split.parts.index(binding) // 2
            siblings.update(split.parts[2 * position: 2 * position + 2])
    return siblings


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
    return type(call.func) is cst.Attribute and call.func.attr.value == "fit"


def _as_cv_call(fit: cst.Call, search: cst.Call) -> cst.Call:
    """`search.fit(X, y)` read like `cross_val_score(estimator, X, y)`."""
    estimator = positional_args(search)[0].value if positional_args(search) else keyword_value(search, "estimator")
    args = [cst.Arg(estimator)] if estimator is not None else []
    return fit.with_changes(args=[*args, *fit.args]) if estimator is not None else search
