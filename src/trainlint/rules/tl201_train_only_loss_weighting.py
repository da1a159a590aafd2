"""TL201 train-only-loss-weighting."""

from __future__ import annotations

from typing import FrozenSet, Iterator, List, Optional

import libcst as cst

from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule
from trainlint.semantic.context import FileContext
from trainlint.semantic.criteria import (
    LABEL_SMOOTHING,
    LOSS_CLASSES,
    POS_WEIGHT,
    SAMPLE_WEIGHT,
    WEIGHT,
    LossUse,
)
from trainlint.semantic.edits import add_keyword_argument
from trainlint.semantic.loss_weighting import EVAL_LOOP, KERAS_DATA, KERAS_SPLIT, SHARED_HELPER
from trainlint.semantic.names import argument, keyword_value, last_name

_SPELLING = {
    WEIGHT: "weight=", POS_WEIGHT: "pos_weight=", LABEL_SMOOTHING: "label_smoothing=",
    SAMPLE_WEIGHT: "per-sample weights",
}


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
        Invalid(
            """\
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["AUC"])
history = model.fit(x_train, y_train, epochs=20, class_weight={0: 1.0, 1: 9.0},
                    validation_data=(x_val, y_val))
""",
            line=2,
            message="Keras applies class_weight= to the training loss only, and validation_data has no weights",
        ),
        Invalid(
            """\
model.fit(X, y, sample_weight=w, validation_split=0.2, epochs=10)
""",
            line=1,
            message="Keras applies sample_weight= to the training loss only, and validation_split data carries",
        ),
        Invalid(
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
            line=16,
            message="the training loss uses pos_weight= but this validation loss does not",
        ),
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
        for found in ctx.loss_weighting.unweighted_validation:
            if found.kind == KERAS_SPLIT:
                yield self.report(found.node, message=(
                    f"Keras applies {found.keyword}= to the training loss only, and validation_split "
                    "data carries no weights: loss and val_loss are on different scales; split "
                    "off validation data and pass validation_data=(x_val, y_val, val_weights)"
                ))
            elif found.kind == KERAS_DATA:
                yield self.report(found.node, message=(
                    f"Keras applies {found.keyword}= to the training loss only, and validation_data has "
                    "no weights: loss and val_loss are on different scales; pass "
                    "validation_data=(x_val, y_val, val_weights) or compare an unweighted metric"
                ))
            elif found.kind == SHARED_HELPER:
                yield self.report(found.node, message=_torch_message(found.missing).replace(
                    "this validation loss does not", "this validation call passes a criterion without it"))
            elif found.kind == EVAL_LOOP:
                yield self.report(found.node, message=_torch_message(found.missing),
                                  fix=_copy_weighting(ctx, list(found.train_uses), found.use, found.missing))
            else:
                yield self.report(found.node, message=_torch_message(found.missing))


def _torch_message(missing: FrozenSet[str]) -> str:
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
    if len(sources) != 1 or type(train_source) is not cst.Call or type(target) is not cst.Call:
        return None
    train_scope = ctx.index.enclosing_function(train_source)
    if train_scope is not None and train_scope is not ctx.index.enclosing_function(target):
        return None  # the weights' name may not be bound where the validation criterion is built
    position = LOSS_CLASSES.get(last_name(train_source) or "", (None, None))[1]
    edits = []
    for keyword in sorted(missing):
        value = argument(train_source, position, keyword) if keyword == WEIGHT and position is not None \
            else keyword_value(train_source, keyword)
        if type(value) not in (cst.Name, cst.Attribute, cst.Float, cst.Integer):
            return None
        edits.append(add_keyword_argument(ctx, target, keyword, ctx.code(value)))
    return Fix(edits=tuple(edits), safe=False,
               description=f"pass {', '.join(sorted(missing))} to the validation criterion too")


__all__ = ["TrainOnlyLossWeighting"]
