"""TL306 train-val-overlap."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.dataflow import Binding
from trainlint.semantic.names import argument, expression_key, keyword_value, last_name, positional_args
from trainlint.semantic.roles import TRAIN, is_eval
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Rule

DATALOADERS = {"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"}
EVALUATIONS = {"evaluate", "score"}
METRIC_PREFIX = "sklearn.metrics."
EVAL_WORDS = re.compile(r"\b(test|testing|val|valid|validation|holdout|dev|eval)\b", re.IGNORECASE)
TRAIN_WORDS = re.compile(r"train", re.IGNORECASE)


class TrainValOverlap(Rule):
    code = "TL306"
    name = "train-val-overlap"
    severity = Severity.ERROR
    summary = "Validation or test data is the training data, or overlaps it."
    message = (
        "the evaluation data is the training data (or overlaps it), so the figure measures "
        "memorisation; evaluate on a held-out split"
    )
    triggers = ("fit", "Trainer", "DataLoader", "metrics", "evaluate", "score",)
    requires = (("fit", "eval_dataset", "DataLoader", "sklearn", "evaluate", "score"),)
    # one per finding path: validation data passed to training, an evaluation loader, a
    # score labelled as evaluation, two train_test_splits (anchors/data.py)
    anchors = ("validation_argument", "evaluation_loader", "labelled_score", "resplit")

    what_it_does = (
        "Flags evaluation data that is the training data or derived from it without a split: "
        "`fit(..., validation_data=(x_train, y_train))`, a validation `DataLoader` over the "
        "training dataset, a Hugging Face `Trainer(eval_dataset=<train>)`, Lightning "
        "`trainer.fit(model, train_loader, train_loader)`, a figure printed or stored as a test or "
        "validation result but computed on training arrays, and a second random split of the "
        "same data whose evaluation part overlaps the rows the model was trained on."
    )
    why_it_matters = (
        "A model scored on rows it was trained on reports how well it memorised them. Early "
        "stopping and checkpointing on such a \"validation\" figure never stop, and the "
        "reported test figure overstates performance on new data, often by a wide margin."
    )
    example = """\
model.fit(x_train, y_train, epochs=20, validation_data=(x_train, y_train))
"""
    use_instead = """\
model.fit(x_train, y_train, epochs=20, validation_data=(x_val, y_val))
"""
    references = ("https://developers.google.com/machine-learning/crash-course/overfitting/dividing-datasets",)

    INVALID = (
        """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
val_loader = DataLoader(train_dataset, batch_size=256)
""",
        """\
from sklearn.metrics import accuracy_score

clf.fit(X_train, y_train)
print("Test accuracy:", accuracy_score(y_train, clf.predict(X_train)))
""",
        """\
from transformers import Trainer

trainer = Trainer(model=model, args=args, train_dataset=tokenized["train"],
                  eval_dataset=tokenized["train"])
""",
        """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model.fit(X_train, y_train)
X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2)  # re-split: new rows
print(model.score(X_val, y_val))
""",
    )
    VALID = (
        """\
from torch.utils.data import DataLoader, SubsetRandomSampler

train_loader = DataLoader(train_dataset, batch_size=64, sampler=SubsetRandomSampler(train_idx))
valid_loader = DataLoader(train_dataset, batch_size=64, sampler=SubsetRandomSampler(valid_idx))
""",
        """\
from torch.utils.data import DataLoader

train_eval_loader = DataLoader(train_dataset, batch_size=256)  # training accuracy in eval mode
val_loader = DataLoader(val_dataset, batch_size=256)
""",
        """\
from sklearn.metrics import accuracy_score

print("train accuracy:", accuracy_score(y_train, clf.predict(X_train)))
print("test accuracy:", accuracy_score(y_test, clf.predict(X_test)))
""",
        """\
model.fit(x_train, y_train, validation_data=(x_val, y_val))
""",
        """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, random_state=0)
model.fit(X_tr, y_tr)
print(model.score(X_val, y_val), model.score(X_test, y_test))
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        yield from self._validation_arguments(ctx)
        yield from self._loaders(ctx)
        yield from self._labelled_scores(ctx)
        yield from self._resplits(ctx)

    # -- validation data passed to training --------------------------------------------

    def _validation_arguments(self, ctx: FileContext) -> Iterator[Finding]:
        for call in ctx.index.of_type(cst.Call):
            method = last_name(call)
            validation = None
            training: List[cst.BaseExpression] = []
            if method == "fit" and keyword_value(call, "validation_data") is not None:
                validation = keyword_value(call, "validation_data")
                training = [e for e in (argument(call, 0, "x"), argument(call, 1, "y")) if e is not None]
            elif method == "fit" and (keyword_value(call, "val_dataloaders") is not None
                                      or len(positional_args(call)) >= 3):
                validation = argument(call, 2, "val_dataloaders")
                training = [e for e in [argument(call, 1, "train_dataloaders")] if e is not None]
            elif last_name(call) in ("Trainer", "SFTTrainer", "Seq2SeqTrainer") and keyword_value(call, "eval_dataset") is not None:
                validation = keyword_value(call, "eval_dataset")
                training = [e for e in [keyword_value(call, "train_dataset")] if e is not None]
            if validation is None:
                continue
            if ctx.roles.along_flow(validation) == TRAIN or self._same_data(ctx, validation, training):
                yield self.report(call, message=(
                    f"the validation data `{ctx.code(validation)}` is the training data, so the "
                    "validation figure (and any early stopping or checkpointing on it) measures "
                    "memorisation; pass a held-out split"
                ))

    def _same_data(self, ctx: FileContext, validation: cst.BaseExpression, training: List[cst.BaseExpression]) -> bool:
        if not training:
            return False
        flow = ctx.dataflow
        parts = validation.elements if isinstance(validation, (cst.Tuple, cst.List)) else None
        values = [e.value for e in parts] if parts is not None else [validation]
        if len(values) != len(training) and not (parts is None and len(training) == 1):
            return False
        for val, train in zip(values, training):
            if isinstance(val, cst.Name) and isinstance(train, cst.Name):
                val_bindings = set(flow.bindings(val))
                if not val_bindings or val_bindings != set(flow.bindings(train)):
                    return False
            elif expression_key(ctx.module, val) != expression_key(ctx.module, train):
                return False
        return True

    # -- loaders over the training dataset -------------------------------------------------

    def _loaders(self, ctx: FileContext) -> Iterator[Finding]:
        for call in ctx.index.of_type(cst.Call):
            if not ctx.imports.matches(call, DATALOADERS):
                continue
            dataset = argument(call, 0, "dataset")
            if dataset is None or ctx.roles.along_flow(dataset) != TRAIN:
                continue
            if keyword_value(call, "sampler") is not None or keyword_value(call, "batch_sampler") is not None:
                continue  # `DataLoader(train_ds, sampler=SubsetRandomSampler(val_idx))` picks other rows
            loader_role = ctx.roles.assigned_role(call)
            if is_eval(loader_role):
                yield self.report(call, message=(
                    f"the evaluation loader reads the training dataset `{ctx.code(dataset)}`, so its "
                    "figures measure memorisation; build it over the validation or test dataset"
                ))

    def _assigned_role(self, ctx: FileContext, call: cst.Call) -> Optional[str]:
        """Kept for gate/anchors/data.py until the gate rewrite; the answer is ctx.roles'."""
        return ctx.roles.assigned_role(call)

    # -- "test" figures computed on training arrays ----------------------------------------

    def _labelled_scores(self, ctx: FileContext) -> Iterator[Finding]:
        reported: Set[int] = set()
        for call in ctx.index.of_type(cst.Call):
            method = last_name(call)
            is_metric = any(c.startswith(METRIC_PREFIX) for c in ctx.imports.candidates(call))
            is_evaluation = method in EVALUATIONS and isinstance(call.func, cst.Attribute) and not ctx.imports.candidates(call)
            if not (is_metric or is_evaluation):
                continue
            data = [a.value for a in positional_args(call)[:2]]
            if not data:
                continue
            roles = [ctx.roles.along_flow(d) for d in data]
            if not all(role == TRAIN for role in roles):
                continue
            statement = ctx.index.statement_of(call)
            if id(statement) in reported:
                continue
            if self._labelled_evaluation(ctx, call, statement):
                reported.add(id(statement))
                yield self.report(call, message=(
                    f"`{ctx.code(call)}` is computed on training data but reported as a "
                    "validation/test figure; score the held-out split"
                ))

    def _labelled_evaluation(self, ctx: FileContext, call: cst.Call, statement: cst.CSTNode) -> bool:
        parent = ctx.index.parent(call)
        if isinstance(parent, cst.Assign):
            names = [ctx.code(t.target) for t in parent.targets]
            roles = {ctx.roles.name_role(n.split(".")[-1]) for n in names}
            if len(roles) == 1 and is_eval(roles.pop()):
                return True
            return False
        texts = [s.value for s in _strings(statement)]
        mentions_eval = any(EVAL_WORDS.search(t.replace("_", " ")) for t in texts)
        mentions_train = any(TRAIN_WORDS.search(t) for t in texts)
        if mentions_eval and not mentions_train:
            # The statement reports only training-data figures: all its other metric calls too.
            return True
        return False

    # -- a second random split of the same rows -------------------------------------------

    def _resplits(self, ctx: FileContext) -> Iterator[Finding]:
        flow = ctx.dataflow
        splits = [s for s in ctx.splits.splits if s.kind == "train_test_split"]
        if len(splits) < 2:
            return
        fitted = self._fitted_parts(ctx)
        for call in ctx.index.of_type(cst.Call):
            method = last_name(call)
            if method not in ("score", "evaluate", "predict", "predict_proba") or not isinstance(call.func, cst.Attribute):
                continue
            if not call.args:
                continue
            receiver = ctx.code(call.func.value)
            at = flow.order_of(call)
            earlier = [(order, parts) for order, parts in fitted.get(receiver, []) if order < at]
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
                    if self._overlapping(ctx, split_a, split_b):
                        yield self.report(call, message=(
                            f"`{ctx.code(call)}` scores the evaluation part of a second split "
                            f"(line {ctx.position(split_b.node).start.line}) of the rows the model "
                            f"was trained on (split at line {ctx.position(split_a.node).start.line}); "
                            "evaluate on the held-out part of the same split"
                        ))
                        return

    def _fitted_parts(self, ctx: FileContext):
        flow = ctx.dataflow
        fitted = {}
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) == "fit" and isinstance(call.func, cst.Attribute) and call.args:
                parts = {b for b in _nearest_parts(flow, call.args[0].value) if b.part_role == TRAIN}
                if parts:  # the latest fit before an evaluation is the model evaluated
                    fitted.setdefault(ctx.code(call.func.value), []).append((flow.order_of(call), parts))
        return fitted

    def _overlapping(self, ctx: FileContext, split_a, split_b) -> bool:
        """B re-splits rows A trained on: same input with a different (or no) seed, or the
        input of B is A's training part."""
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
            same_size = ctx.code(keyword_value(split_a.node, "test_size")) == ctx.code(keyword_value(split_b.node, "test_size"))
            return not same_size
        return True


def _nearest_parts(flow, expr) -> Set[Binding]:
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


def _strings(node: cst.CSTNode):
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString):
            value = current.evaluated_value
            if isinstance(value, str):
                yield _Text(value)
        elif isinstance(current, cst.FormattedStringText):
            yield _Text(current.value)
        stack.extend(current.children)


class _Text:
    def __init__(self, value: str) -> None:
        self.value = value


__all__ = ["TrainValOverlap"]
