"""TL201 train-only-loss-weighting."""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.criteria import (
    LABEL_SMOOTHING,
    POS_WEIGHT,
    SAMPLE_WEIGHT,
    LOSS_CLASSES,
    WEIGHT,
    LossUse,
)
from trainlint.semantic.edits import add_keyword_argument
from trainlint.semantic.names import argument, dotted_name, is_none, keyword_value, last_name, positional_args
from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Rule

_SPELLING = {
    WEIGHT: "weight=", POS_WEIGHT: "pos_weight=", LABEL_SMOOTHING: "label_smoothing=",
    SAMPLE_WEIGHT: "per-sample weights",
}
_DATASET_CHAIN = {"batch", "prefetch", "cache", "shuffle", "repeat", "take", "skip",
                  "unbatch", "padded_batch", "with_options"}
_LIGHTNING_EVAL_STEPS = ("validation_step", "test_step")


class TrainOnlyLossWeighting(Rule):
    code = "TL201"
    name = "train-only-loss-weighting"
    severity = Severity.WARNING
    summary = "Training loss is weighted, the validation loss is not: the two are on different scales."
    message = (
        "the training loss is weighted but this validation loss is not: the two losses are on "
        "different scales; use the same weighted criterion for validation (or compare an "
        "unweighted metric)"
    )
    # A weighting: weight= / pos_weight= / class_weight= / sample_weight=, label smoothing,
    # reduction="none" or reduce=False for per-sample weights, or a weight passed by
    # position to a loss class that takes one (criteria._weighting).
    triggers = ("weight", "label_smoothing", "reduc", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                "BCEWithLogitsLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "cross_entropy",
                "nll_loss", "multilabel_soft_margin_loss", "multi_margin_loss")
    requires = (
        ("fit", "torch"),  # a Keras fit, or a torch loss (its qualified name comes from an import)
        ("_weight", "Loss", "loss", "cross_entropy", "kl_div"),  # a Keras weight or a loss family
    )
    # Every finding needs a training loss that weights (a criterion spec with weight= /
    # pos_weight= / label_smoothing= or reduction "none") or a Keras fit with class_weight= /
    # sample_weight= and validation data (anchors/losses.py).
    anchors = ("weighted_loss",)

    what_it_does = (
        "Compares the loss used for training with the loss used for validation. PyTorch and "
        "Lightning: flags the validation loss computation when the training criterion has "
        "`weight=`, `pos_weight=`, `label_smoothing=` or per-sample weights that the "
        "validation criterion (a second criterion object, or the functional form) lacks. "
        "Keras: flags `fit(class_weight=...)` / `fit(sample_weight=...)` whose validation data "
        "carries no weights (`validation_data=(x, y)`) or comes from `validation_split`, "
        "because Keras applies those weights to the training loss only."
    )
    why_it_matters = (
        "Class weights, `pos_weight` and label smoothing change the value of the loss, not only "
        "its gradient. A weighted training loss and an unweighted validation loss are on "
        "different scales: validation loss can sit far below training loss for no reason other "
        "than the weighting, and early stopping or a learning-rate schedule driven by one while "
        "reading the other misleads."
    )
    example = """\
import torch.nn as nn
import torch.nn.functional as F

class Classifier(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y, weight=self.class_weights)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))
"""
    use_instead = """\
import torch.nn as nn
import torch.nn.functional as F

class Classifier(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y, weight=self.class_weights)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y, weight=self.class_weights))
"""
    fix_safety = (
        "Unsafe (offered with `--unsafe-fixes`): for a PyTorch validation loss built without the "
        "training criterion's `weight=` / `pos_weight=` / `label_smoothing=`, the fix passes the "
        "same argument to the validation criterion, copied as written. The validation loss then "
        "changes value (that is the point: it becomes comparable with the training loss), so "
        "review it; keep an unweighted copy if you also want the plain figure. Offered only when "
        "there is one training criterion of that loss, its argument is a plain name or number "
        "and that name is visible where the validation criterion is built. No fix for Keras "
        "`class_weight`, Lightning modules or per-sample weighting."
    )
    references = (
        "https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html",
        "https://keras.io/api/models/model_training_apis/#fit-method",
    )

    INVALID = (
        """\
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["AUC"])
history = model.fit(x_train, y_train, epochs=20, class_weight={0: 1.0, 1: 9.0},
                    validation_data=(x_val, y_val))
""",
        """\
model.fit(X, y, sample_weight=w, validation_split=0.2, epochs=10)
""",
        """\
import lightning as L
import torch.nn as nn

class Tagger(L.LightningModule):
    def __init__(self, pos_weight):
        super().__init__()
        self.train_loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        self.val_loss = nn.BCEWithLogitsLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.train_loss(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", self.val_loss(self(x), y))
""",
    )
    VALID = (
        """\
model.fit(x_train, y_train, class_weight=cw, validation_data=(x_val, y_val, val_weights))
""",
        """\
import lightning as L
import torch.nn as nn

class Tagger(L.LightningModule):
    def __init__(self, pos_weight):
        super().__init__()
        self.criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.criterion(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", self.criterion(self(x), y))
""",
        """\
model.fit(x_train, y_train, class_weight=None, validation_split=0.1)
""",
    )

    FIX_EXAMPLES = (
        (
            """\
import torch
import torch.nn as nn

weights = torch.tensor([0.2, 1.0, 4.5])
criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=0.1)
val_criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(5):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(val_criterion(model(x), y).item() for x, y in val_loader)
""",
            """\
import torch
import torch.nn as nn

weights = torch.tensor([0.2, 1.0, 4.5])
criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=0.1)
val_criterion = nn.CrossEntropyLoss(label_smoothing=0.1, weight=weights)
for epoch in range(5):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(val_criterion(model(x), y).item() for x, y in val_loader)
""",
        ),
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        yield from self._keras(ctx)
        yield from self._lightning(ctx)
        reported = set()
        for finding in [*self._torch_loops(ctx), *self._shared_helpers(ctx)]:
            if finding.node not in reported:
                reported.add(finding.node)
                yield finding

    # -- PyTorch loops --------------------------------------------------------------------

    def _torch_loops(self, ctx: FileContext) -> Iterator[Finding]:
        """Losses of evaluation loops against the losses of training loops."""
        loops = ctx.loops.loops
        train_uses: List[LossUse] = []
        for loop in loops:
            if loop.kind in ("train", "mixed"):
                train_uses.extend(_uses_with_helpers(ctx, loop.node))
        if not train_uses:
            return
        for loop in loops:
            if loop.kind != "eval" or loop.role == "train":
                continue
            for use in _uses_with_helpers(ctx, loop.node):
                missing = missing_weighting(train_uses, use)
                if missing:
                    yield self.report(use.call, message=self._torch_message(missing),
                                      fix=_copy_weighting(ctx, train_uses, use, missing))

    def _shared_helpers(self, ctx: FileContext) -> Iterator[Finding]:
        """One epoch helper run for training and for validation with different criteria:
        `run_epoch(model, train_dl, weighted, opt)` / `run_epoch(model, val_dl, plain)`."""
        for function in ctx.index.of_type(cst.FunctionDef):
            sites = ctx.criteria.call_sites(function)
            if len(sites) < 2:
                continue
            by_role: Dict[str, List[tuple]] = {"train": [], "eval": []}
            for call in sites:
                role = _call_site_role(ctx, call)
                if role is None:
                    continue
                bindings = ctx.criteria.bindings_for(call, function)
                uses = ctx.criteria.loss_uses_in(function, bindings)
                by_role["train" if role == "train" else "eval"].append((call, uses))
            train_uses = [use for _, uses in by_role["train"] for use in uses]
            if not train_uses:
                continue
            for call, uses in by_role["eval"]:
                missing = frozenset().union(*(missing_weighting(train_uses, use, shared=True) for use in uses)) \
                    if uses else frozenset()
                if missing:
                    yield self.report(call, message=self._torch_message(missing).replace(
                        "this validation loss does not", "this validation call passes a criterion without it"))

    # -- Keras ----------------------------------------------------------------------------

    def _keras(self, ctx: FileContext) -> Iterator[Finding]:
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) not in ("fit", "fit_generator") or not isinstance(call.func, cst.Attribute):
                continue
            weighting = [name for name in ("class_weight", "sample_weight")
                         if keyword_value(call, name) is not None
                         and not is_none(keyword_value(call, name))]
            if not weighting:
                continue
            split = keyword_value(call, "validation_split")
            data = keyword_value(call, "validation_data")
            what = f"{weighting[0]}="
            if split is not None and not _is_zero(split) and data is None:
                yield self.report(call, message=(
                    f"Keras applies {what} to the training loss only, and validation_split "
                    "data carries no weights: loss and val_loss are on different scales; split "
                    "off validation data and pass validation_data=(x_val, y_val, val_weights)"
                ))
            elif data is not None and _element_count(ctx, data) == 2:
                yield self.report(call, message=(
                    f"Keras applies {what} to the training loss only, and validation_data has "
                    "no weights: loss and val_loss are on different scales; pass "
                    "validation_data=(x_val, y_val, val_weights) or compare an unweighted metric"
                ))

    # -- Lightning ------------------------------------------------------------------------

    def _lightning(self, ctx: FileContext) -> Iterator[Finding]:
        for cls in ctx.index.of_type(cst.ClassDef):
            methods = _methods(cls)
            train_step = methods.get("training_step")
            if train_step is None:
                continue
            train_uses = _uses_with_helpers(ctx, train_step)
            if not train_uses:
                continue
            for step_name in _LIGHTNING_EVAL_STEPS:
                step = methods.get(step_name)
                if step is None:
                    continue
                for use in _uses_with_helpers(ctx, step):
                    missing = missing_weighting(train_uses, use)
                    if missing:
                        yield self.report(use.call, message=self._torch_message(missing))

    def _torch_message(self, missing: FrozenSet[str]) -> str:
        spelled = " and ".join(_SPELLING[m] for m in sorted(missing))
        return (
            f"the training loss uses {spelled} but this validation loss does not: the two losses "
            "are on different scales; compute validation loss with the same weighted criterion "
            "(or compare an unweighted metric)"
        )


def _copy_weighting(ctx: FileContext, train_uses: List[LossUse], use: LossUse,
                    missing: FrozenSet[str]) -> Optional[Fix]:
    """Give the validation criterion the training criterion's weighting keywords, copied as
    written (`weight=class_weights`). Offered only when one training criterion of the family
    exists, the weights are a plain name or attribute visible at the validation criterion,
    and the weighting is an argument (not a per-sample multiplication)."""
    if SAMPLE_WEIGHT in missing:
        return None
    sources = {id(t.spec.source): t.spec.source for t in train_uses if t.spec.family == use.spec.family}
    train_source, target = next(iter(sources.values())), use.spec.source
    if len(sources) != 1 or not isinstance(train_source, cst.Call) or not isinstance(target, cst.Call):
        return None
    train_scope = ctx.index.enclosing_function(train_source)
    if train_scope is not None and train_scope is not ctx.index.enclosing_function(target):
        return None  # the weights' name may not be bound where the validation criterion is built
    position = LOSS_CLASSES.get(last_name(train_source) or "", (None, None))[1]
    edits = []
    for keyword in sorted(missing):
        value = argument(train_source, position, keyword) if keyword == WEIGHT and position is not None \
            else keyword_value(train_source, keyword)
        if not isinstance(value, (cst.Name, cst.Attribute, cst.Float, cst.Integer)):
            return None
        edits.append(add_keyword_argument(ctx, target, keyword, ctx.code(value)))
    return Fix(edits=tuple(edits), safe=False,
               description=f"pass {', '.join(sorted(missing))} to the validation criterion too")


def missing_weighting(train_uses: Iterable[LossUse], use: LossUse, shared: bool = False) -> FrozenSet[str]:
    """Weighting that every training loss of the same family has and `use` lacks. A loss
    computed by the very same call on both sides is the same loss (unless `shared`: a helper
    whose criterion comes from its call sites)."""
    same_family = [t for t in train_uses if t.spec.family == use.spec.family]
    if not same_family or (not shared and any(t.call is use.call for t in same_family)):
        return frozenset()
    required = frozenset.intersection(*(t.weighting for t in same_family))
    return required - use.weighting


def _call_site_role(ctx: FileContext, call: cst.Call) -> Optional[str]:
    """"train" when a call passes training data (or an optimizer), "validation"/"test" when
    it passes evaluation data; None when mixed or unknown."""
    roles = set()
    scope = ctx.index.enclosing_function(call)
    for arg in call.args:
        name = dotted_name(arg.value)
        if name is None:
            continue
        last = name.lower().rsplit(".", 1)[-1]
        if last.startswith("optim") or last in ("opt", "sgd", "adam") or last.endswith(("optimizer", "_opt")):
            roles.add("train")
            continue
        role = ctx.roles.role_of(arg.value, scope)
        if role is not None:
            roles.add(role)
    return roles.pop() if len(roles) == 1 else None


def _uses_with_helpers(ctx: FileContext, function: cst.CSTNode) -> List[LossUse]:
    """Loss computations in `function` (or a loop) and in same-file helpers it calls (one level)."""
    uses = ctx.criteria.loss_uses_in(function)
    for call in ctx.criteria.calls_in(function):
        helper = ctx.criteria.local_function(call)
        if helper is not None and helper is not function:
            uses.extend(ctx.criteria.loss_uses_in(helper, ctx.criteria.bindings_for(call, helper)))
    return uses


def _methods(cls: cst.ClassDef) -> Dict[str, cst.FunctionDef]:
    methods = {}
    for statement in cls.body.body:
        if isinstance(statement, cst.FunctionDef):
            methods[statement.name.value] = statement
    return methods


def _element_count(ctx: FileContext, data: cst.BaseExpression, depth: int = 0) -> Optional[int]:
    """How many elements validation data holds: `(x, y)` → 2; a name assigned one tuple,
    `tf.data.Dataset.from_tensor_slices((x, y)).batch(32)` → 2; None when not visible."""
    if depth > 4:
        return None
    if isinstance(data, (cst.Tuple, cst.List)):
        if any(isinstance(e, cst.StarredElement) for e in data.elements):
            return None
        return len(data.elements)
    if isinstance(data, cst.Name):
        counts = {_element_count(ctx, value, depth + 1) for value in ctx.targets.definitions(data.value)}
        return counts.pop() if len(counts) == 1 else None
    if isinstance(data, cst.Call) and isinstance(data.func, cst.Attribute):
        method = data.func.attr.value
        if method in _DATASET_CHAIN:
            return _element_count(ctx, data.func.value, depth + 1)
        if method in ("from_tensor_slices", "from_tensors", "zip"):
            args = positional_args(data)
            return _element_count(ctx, args[0].value, depth + 1) if args else None
    return None


def _is_zero(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value) == 0.0
        except ValueError:
            return False
    return is_none(node)


__all__ = ["TrainOnlyLossWeighting", "missing_weighting"]
