"""Evaluation data that is the training data, or overlaps it (`ctx.overlap`).

The ways it shows: validation data handed to training is the training data
(`fit(x, y, validation_data=(x, y))`, `Trainer(eval_dataset=train_ds)`; a call of a function
of this file named `fit` is that function, not the framework's); an evaluation loader reads
the training dataset and a figure is computed on it (`ctx.data_uses`: a "test_loader" rebuilt
over the training set to preview one batch is none); a figure computed on training arrays is
kept or printed as a validation / test figure; a classifier is scored on the very rows it was
fitted on and the figure is printed or displayed without being called a training figure; the
held-out slice repeats the training slice (`val_idx = perm[:cut]` after `train_idx =
perm[:cut]`); a second random split of the same rows scores a model on rows the first split
trained it on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.dataflow import ALL_BUT_PARAM, Binding, DataFlow
from trainlint.semantic.names import argument, expression_key, keyword_value, last_name, literal_texts, positional_args
from trainlint.semantic.splits import Split
from trainlint.vocab.evaluation import (
    CLASSIFICATION_FIGURES,
    DATALOADERS,
    EVAL_DATASET_TRAINERS,
    EVALUATIONS,
    METRIC_PREFIX,
)
from trainlint.semantic.targets import CATEGORICAL
from trainlint.vocab.roles import EVAL_TEXT_PATTERN, TRAIN, TRAIN_TEXT_PATTERN, is_eval

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

EVAL_WORDS = re.compile(EVAL_TEXT_PATTERN, re.IGNORECASE)
# A figure on the fitted rows on purpose: "memorisation check", "in-sample", "resubstitution".
MEMORISATION_WORDS = re.compile(r"memori[sz]|in[- ]sample|resubstitution|seen data|fit data", re.IGNORECASE)
TRAIN_WORDS = re.compile(TRAIN_TEXT_PATTERN, re.IGNORECASE)

# How the evaluation data meets the training data.
VALIDATION_IS_TRAINING = "validation-is-training"  # `data`: the validation argument
LOADER_OVER_TRAINING = "loader-over-training"      # `data`: the training dataset
LABELLED_SCORE = "labelled-score"                  # a "test" figure on training arrays
FIT_DATA_SCORE = "fit-data-score"                  # a model scored on the rows it was fitted on
REPEATED_SLICE = "repeated-slice"                  # `data`: the training slice repeated
RESPLIT = "resplit"                                # `first_split`, `second_split`


@dataclass(frozen=True)
class Overlap:
    node: cst.CSTNode
    how: str
    data: Optional[cst.CSTNode] = None
    first_split: Optional[Split] = None   # RESPLIT: the split the model was trained on
    second_split: Optional[Split] = None  # RESPLIT: the split whose evaluation part is scored


class OverlapFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def overlaps(self) -> List[Overlap]:
        labelled = list(self._labelled_scores())
        already = {id(self._ctx.index.statement_of(o.node)) for o in labelled}
        fit_data = [o for o in self._scores_on_fit_data() if id(self._ctx.index.statement_of(o.node)) not in already]
        return [*self._validation_arguments(), *self._loaders(), *labelled, *fit_data,
                *self._repeated_slices(), *self._resplits()]

    # -- validation data passed to training --------------------------------------------

    def _validation_arguments(self) -> Iterator[Overlap]:
        ctx = self._ctx
        for call in ctx.index.of_type(cst.Call):
            if self._calls_own_function(call):
                continue  # `fit(model, epochs, train_loader, valid_loader)` of this file
            validation, training = _validation_and_training(call)
            if validation is None:
                continue
            if ctx.roles.along_flow(validation) == TRAIN or self._same_data(validation, training):
                yield Overlap(call, VALIDATION_IS_TRAINING, validation)

    def _calls_own_function(self, call: cst.Call) -> bool:
        """A call by bare name of a function (or class) defined in this file is that
        function, whatever it is called: its parameters are its own, not a framework's."""
        if type(call.func) is not cst.Name:
            return False
        return any(b.how == "def" for b in self._ctx.dataflow.resolve_name(call.func.value, call))

    def _same_data(self, validation: cst.BaseExpression, training: List[cst.BaseExpression]) -> bool:
        if not training:
            return False
        flow, module = self._ctx.dataflow, self._ctx.module
        parts = validation.elements if type(validation) in (cst.Tuple, cst.List) else None
        values = [e.value for e in parts] if parts is not None else [validation]
        if len(values) != len(training) and not (parts is None and len(training) == 1):
            return False
        for val, train in zip(values, training):
            if type(val) is cst.Name and type(train) is cst.Name:
                val_bindings = set(flow.bindings(val))
                if not val_bindings or val_bindings != set(flow.bindings(train)):
                    return False
            elif expression_key(module, val) != expression_key(module, train):
                return False
        return True

    # -- loaders over the training dataset -------------------------------------------------

    def is_evaluation_loader(self, call: cst.Call) -> bool:
        """A DataLoader kept (or passed) under an evaluation name: `val_loader = DataLoader(...)`."""
        return is_eval(self._ctx.roles.assigned_role(call))

    def _loaders(self) -> Iterator[Overlap]:
        ctx = self._ctx
        for call in ctx.index.of_type(cst.Call):
            if not ctx.imports.matches(call, DATALOADERS):
                continue
            dataset = argument(call, 0, "dataset")
            if dataset is None or ctx.roles.along_flow(dataset) != TRAIN:
                continue
            if keyword_value(call, "sampler") is not None or keyword_value(call, "batch_sampler") is not None:
                continue  # `DataLoader(train_ds, sampler=SubsetRandomSampler(val_idx))` picks other rows
            if self.is_evaluation_loader(call) and self._scored(call):
                yield Overlap(call, LOADER_OVER_TRAINING, dataset)

    def _scored(self, loader: cst.Call) -> bool:
        """A figure is computed on the loader: its name alone is no evidence (a "test_loader"
        rebuilt over the training set to display a few predictions scores nothing)."""
        ctx = self._ctx
        return ctx.data_uses.reaches_evaluation(ctx.dataflow.bindings_assigned_from(loader))

    # -- "test" figures computed on training arrays ----------------------------------------

    def _labelled_scores(self) -> Iterator[Overlap]:
        ctx = self._ctx
        reported: Set[int] = set()
        for call in ctx.index.of_type(cst.Call):
            candidates = ctx.imports.candidates(call)
            is_metric = any(c.startswith(METRIC_PREFIX) for c in candidates)
            is_evaluation = last_name(call) in EVALUATIONS and type(call.func) is cst.Attribute and not candidates
            if not (is_metric or is_evaluation):
                continue
            data = [a.value for a in positional_args(call)[:2]]
            if not data or not all(ctx.roles.along_flow(d) == TRAIN for d in data):
                continue
            statement = ctx.index.statement_of(call)
            if id(statement) in reported:
                continue
            if self.labelled_evaluation(call, statement):
                reported.add(id(statement))
                yield Overlap(call, LABELLED_SCORE)

    def labelled_evaluation(self, call: cst.Call, statement: cst.CSTNode) -> bool:
        """The figure is kept under an evaluation name (`test_acc = ...`), or its statement
        mentions only evaluation in its text (`print("test accuracy", ...)`)."""
        ctx = self._ctx
        parent = ctx.index.parent(call)
        if type(parent) is cst.Assign:
            names = [ctx.code(t.target) for t in parent.targets]
            roles = {ctx.roles.name_role(n.split(".")[-1]) for n in names}
            return len(roles) == 1 and is_eval(roles.pop())
        texts = list(literal_texts(statement))
        mentions_eval = any(EVAL_WORDS.search(t.replace("_", " ")) for t in texts)
        mentions_train = any(TRAIN_WORDS.search(t) for t in texts)
        # The statement reports only training-data figures: all its other metric calls too.
        return mentions_eval and not mentions_train

    # -- a model scored on the very rows it was fitted on ---------------------------------

    def _scores_on_fit_data(self) -> Iterator[Overlap]:
        """`clf.fit(X, y)` then `accuracy_score(y, clf.predict(X))` or `clf.score(X, y)`,
        printed or displayed as the model's accuracy (a classifier; the statement does not
        call it a training figure). Data named as training data counts only in a file that
        holds no other data: there the training figure is the only figure."""
        ctx = self._ctx
        reported: Set[int] = set()
        for call in ctx.index.of_type(cst.Call):
            fit = self._fit_scored_on_its_rows(call)
            if fit is None:
                continue
            statement = ctx.index.enclosing(call, cst.BaseSmallStatement)
            if statement is None or id(statement) in reported or not self._reported_as_accuracy(statement, call):
                continue
            if not self._data_unlabelled(fit):
                continue
            reported.add(id(statement))
            yield Overlap(call, FIT_DATA_SCORE, data=fit)

    def _fit_scored_on_its_rows(self, call: cst.Call) -> Optional[cst.Call]:
        """The `fit` of the model this metric call scores, if it scores the rows fitted on."""
        ctx = self._ctx
        if type(call.func) is cst.Attribute and last_name(call) == "score" and not ctx.imports.candidates(call):
            args = [a.value for a in positional_args(call)]
            fit = self._latest_fit(call.func.value)
            if fit is None or len(args) != 2 or not self._is_classifier(fit, call.func.value):
                return None
            return fit if self._same_rows(args, self._fit_data(fit)) else None
        name = last_name(call) or ""
        if name not in CLASSIFICATION_FIGURES or not any(c.startswith(METRIC_PREFIX) for c in ctx.imports.candidates(call)):
            return None
        args = [a.value for a in positional_args(call)[:2]]
        if len(args) != 2:
            return None
        truth, predicted = args
        prediction = self._prediction(predicted)
        if prediction is None:
            return None
        fit = self._latest_fit(prediction.func.value)  # type: ignore[attr-defined]
        if fit is None or not prediction.args:
            return None
        scored = [prediction.args[0].value, truth]
        return fit if self._same_rows(scored, self._fit_data(fit)) else None

    def _prediction(self, expr: cst.BaseExpression) -> Optional[cst.Call]:
        """`model.predict(X)`, inline or through the name it was kept under."""
        for value in [expr, *self._ctx.dataflow.defining_values(expr)]:
            if type(value) is cst.Call and type(value.func) is cst.Attribute and last_name(value) == "predict":
                return value
        return None

    def _latest_fit(self, model: cst.BaseExpression) -> Optional[cst.Call]:
        """The `fit` call the model holds at this point: `clf.fit(X, y)` before, or
        `clf = make_pipeline(...).fit(X, y)`. None when that is not visible or not unique."""
        if type(model) is not cst.Name:
            return None
        fits = set()
        for binding in self._ctx.dataflow.resolve_name(model.value, model):
            value = binding.value
            if type(value) is cst.Call and last_name(value) == "fit" and type(value.func) is cst.Attribute:
                fits.add(value)
            else:
                return None
        return fits.pop() if len(fits) == 1 else None

    def _fit_data(self, fit: cst.Call) -> List[cst.BaseExpression]:
        return [a.value for a in positional_args(fit)[:2]]

    def _same_rows(self, scored: List[cst.BaseExpression], fitted: List[cst.BaseExpression]) -> bool:
        """Features and target scored are those fitted: the same bindings, or the same
        expression over the same bindings (`np.array(labels["y"])` written twice)."""
        if len(scored) != 2 or len(fitted) != 2:
            return False
        return all(self._data_keys(a) & self._data_keys(b) for a, b in zip(scored, fitted))

    def _data_keys(self, expr: cst.BaseExpression) -> Set[Tuple]:
        flow = self._ctx.dataflow
        keys: Set[Tuple] = set()
        expressions = [expr]
        if type(expr) is cst.Name:
            bindings = flow.bindings(expr)
            if bindings:
                keys.add(("bindings", frozenset(id(b) for b in bindings)))
            if len(bindings) == 1 and _plain_assignment(bindings[0]):
                expressions.append(bindings[0].value)  # type: ignore[arg-type]
        for value in expressions:
            if type(value) is cst.Name:
                continue
            read = frozenset(id(r.binding) for r in flow.refs(value))
            if read:
                keys.add(("expression", expression_key(self._ctx.module, value), read))
        return keys

    def _is_classifier(self, fit: cst.Call, model: cst.BaseExpression) -> bool:
        targets = self._ctx.targets
        return CATEGORICAL in (targets.estimator_kind(model), targets.estimator_kind(fit.func.value))  # type: ignore[attr-defined]

    def _reported_as_accuracy(self, statement: cst.CSTNode, call: cst.Call) -> bool:
        """Printed or displayed, and not called a training figure. A bare `clf.score(X, y)`
        at module level is displayed (a notebook cell, a script exported from one, an
        interactive session); inside a function it shows nothing, nor does a unit test's
        `assert_equal(pipe.score(X, y), ...)`."""
        if type(statement) is not cst.Expr:
            return False  # kept under a name: `labelled_evaluation` reads that name
        ctx = self._ctx
        displayed = statement.value is call and ctx.index.enclosing(call, cst.FunctionDef) is None
        if not displayed and ctx.reports.reported_directly(call) is None:
            return False
        texts = list(literal_texts(statement))
        return not any(TRAIN_WORDS.search(t) or MEMORISATION_WORDS.search(t) for t in texts)

    def _data_unlabelled(self, fit: cst.Call) -> bool:
        """The rows are not named as training data, or the file holds no other data."""
        roles = self._ctx.roles
        data = self._fit_data(fit)
        if any(is_eval(roles.along_flow(d)) for d in data):
            return False
        if not any(roles.along_flow(d) == TRAIN for d in data):
            return True
        return not self._ctx.splits.splits and not any(
            is_eval(roles.name_role(b.name)) for b in self._ctx.dataflow.all_bindings)

    # -- the held-out slice repeats the training slice ---------------------------------

    def _repeated_slices(self) -> Iterator[Overlap]:
        """`train_idx = perm[:cut]` then `val_idx = perm[:cut]`: the same slice of the same
        rows (same bindings read) kept under a training name and then under an evaluation
        name, and the evaluation copy is used. The held-out part is the training part."""
        ctx = self._ctx
        training: Dict[Tuple, cst.Assign] = {}
        for assign in ctx.index.of_type(cst.Assign):
            target = _single_name_target(assign)
            if target is None or not _is_slice(assign.value):
                continue
            key = self._slice_key(assign.value)  # type: ignore[arg-type]
            role = ctx.roles.name_role(target.value)
            if is_eval(role):
                if key in training and self._used(target):
                    yield Overlap(assign, REPEATED_SLICE, data=training[key])
            elif role == TRAIN or self._trained_on(target):
                training.setdefault(key, assign)

    def _slice_key(self, subscript: cst.Subscript) -> Tuple:
        flow = self._ctx.dataflow
        read: Set[int] = set()
        for ref in flow.refs(subscript):
            # a slice the split facts took for a split part reads its source through the part
            sources = ref.binding.parents if ref.binding.how == "part" else [ref]
            read |= {id(r.binding) for r in sources}
        return expression_key(self._ctx.module, subscript), frozenset(read), flow.scope_of(subscript)

    def _trained_on(self, target: cst.Name) -> bool:
        """The rows (or positions) a name holds reach a training loop's loader or a `fit`."""
        binding = self._ctx.dataflow.binding_of_target.get(target)
        return binding is not None and binding in self._training_inputs

    @cached_property
    def _training_inputs(self) -> Set[Binding]:
        ctx = self._ctx
        flow = ctx.dataflow
        inputs: Set[Binding] = set()
        for loop in ctx.loops.of_kind("train"):
            for loader in loop.loaders:
                inputs |= flow.derivation(loader, ALL_BUT_PARAM)
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) == "fit" and type(call.func) is cst.Attribute and positional_args(call):
                inputs |= flow.derivation(positional_args(call)[0].value, ALL_BUT_PARAM)
        return inputs

    def _used(self, target: cst.Name) -> bool:
        binding = self._ctx.dataflow.binding_of_target.get(target)
        return binding is not None and self._ctx.data_uses.reaches_evaluation([binding])

    # -- a second random split of the same rows -------------------------------------------

    def _resplits(self) -> Iterator[Overlap]:
        ctx = self._ctx
        flow = ctx.dataflow
        splits = [s for s in ctx.splits.splits if s.kind == "train_test_split"]
        if len(splits) < 2:
            return
        fitted = self._fitted_parts()
        for call in ctx.index.of_type(cst.Call):
            method = last_name(call)
            if method not in ("score", "evaluate", "predict", "predict_proba") or type(call.func) is not cst.Attribute:
                continue
            if not call.args:
                continue
            at = flow.order_of(call)
            earlier = [(order, parts) for order, parts in fitted.get(ctx.code(call.func.value), []) if order < at]
            trained_on = max(earlier, key=lambda item: item[0])[1] if earlier else set()
            if not trained_on:
                continue
            for binding in sorted(_nearest_parts(flow, call.args[0].value), key=lambda b: b.order):
                split_b = binding.split
                if split_b is None or not is_eval(binding.part_role) or split_b not in splits:
                    continue
                for split_a in sorted({b.split for b in trained_on}, key=lambda s: flow.order_of(s.node)):
                    if split_a is split_b or split_a not in splits:
                        continue
                    if self._overlapping(split_a, split_b):
                        yield Overlap(call, RESPLIT, first_split=split_a, second_split=split_b)
                        return

    def _fitted_parts(self) -> Dict[str, List[Tuple[int, Set[Binding]]]]:
        """Model (by its code) -> (order, training parts) of each `.fit` on split parts."""
        ctx = self._ctx
        flow = ctx.dataflow
        fitted: Dict[str, List[Tuple[int, Set[Binding]]]] = {}
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) == "fit" and type(call.func) is cst.Attribute and call.args:
                parts = {b for b in _nearest_parts(flow, call.args[0].value) if b.part_role == TRAIN}
                if parts:  # the latest fit before an evaluation is the model evaluated
                    fitted.setdefault(ctx.code(call.func.value), []).append((flow.order_of(call), parts))
        return fitted

    def _overlapping(self, split_a: Split, split_b: Split) -> bool:
        """B re-splits rows A trained on: same input with a different (or no) seed, or the
        input of B is A's training part."""
        ctx = self._ctx
        flow = ctx.dataflow
        inputs_b: Set[Binding] = set()
        for expr in split_b.inputs:
            inputs_b |= flow.derivation(expr)
        if any(b.split is split_a and is_eval(b.part_role) for b in inputs_b):
            return False  # B splits A's held-out part
        if any(b.split is split_a and b.part_role == TRAIN for b in inputs_b):
            return True
        direct_a = {b for e in split_a.inputs for b in flow.bindings(e)}
        direct_b = {b for e in split_b.inputs for b in flow.bindings(e)}
        if not direct_a or direct_a != direct_b:
            return False
        seed_a = keyword_value(split_a.node, "random_state")
        seed_b = keyword_value(split_b.node, "random_state")
        if seed_a is not None and seed_b is not None and ctx.code(seed_a) == ctx.code(seed_b):
            test_size_a, test_size_b = (keyword_value(s.node, "test_size") for s in (split_a, split_b))
            return ctx.code(test_size_a) != ctx.code(test_size_b)
        return True


def _single_name_target(assign: cst.Assign) -> Optional[cst.Name]:
    if len(assign.targets) == 1 and type(assign.targets[0].target) is cst.Name:
        return assign.targets[0].target
    return None


def _is_slice(value: cst.BaseExpression) -> bool:
    """`rows[:cut]`, `perm[a:b]`: a range of positions, not one element."""
    return (type(value) is cst.Subscript and len(value.slice) == 1
            and type(value.slice[0].slice) is cst.Slice)


def _plain_assignment(binding: Binding) -> bool:
    """`name = value`: the value is what the name holds (not one part of an unpacked call)."""
    node = binding.node
    return (binding.how == "assign" and binding.value is not None and type(node) is cst.Assign
            and all(type(t.target) is cst.Name for t in node.targets))


def _validation_and_training(call: cst.Call) -> Tuple[Optional[cst.BaseExpression], List[cst.BaseExpression]]:
    """The validation data a training call receives, and its training data."""
    method = last_name(call)
    if method == "fit" and keyword_value(call, "validation_data") is not None:
        training = [argument(call, 0, "x"), argument(call, 1, "y")]
        return keyword_value(call, "validation_data"), [e for e in training if e is not None]
    if method == "fit" and (keyword_value(call, "val_dataloaders") is not None or len(positional_args(call)) >= 3):
        training = [argument(call, 1, "train_dataloaders")]
        return argument(call, 2, "val_dataloaders"), [e for e in training if e is not None]
    if method in EVAL_DATASET_TRAINERS and keyword_value(call, "eval_dataset") is not None:
        training = [keyword_value(call, "train_dataset")]
        return keyword_value(call, "eval_dataset"), [e for e in training if e is not None]
    return None, []


def _nearest_parts(flow: DataFlow, expr: cst.BaseExpression) -> Set[Binding]:
    """The split parts an expression's rows come from, not looking past the first part on
    each path (a part of a part is what the rows are)."""
    found: Set[Binding] = set()
    seen: Set[Binding] = set()
    stack = flow.bindings(expr)
    while stack:
        binding = stack.pop()
        if binding in seen:
            continue
        seen.add(binding)
        if binding.split is not None:
            found.add(binding)
            continue
        stack.extend(r.binding for r in binding.parents if r.kind in ("rows", "element"))
    return found

