"""TL205 accuracy-on-imbalanced."""

from __future__ import annotations


from typing import Iterator

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, caseless


class AccuracyOnImbalanced(Rule):
    code = "TL205"
    name = "accuracy-on-imbalanced"
    severity = Severity.WARNING
    summary = "The code shows the classes are imbalanced, yet plain accuracy is the only metric."
    message = (
        "plain accuracy is the only metric, and the classes are imbalanced: it hides "
        "a model that ignores the minority class; report per-class recall, F1, balanced "
        "accuracy or AUC as well"
    )
    # Evidence of imbalance (imbalance._read_call / _read_assignment): a weight of some kind, a
    # sampler, or a class weight passed by position to a loss that takes one. Caseless, and
    # both the trigger and a requirement: `weight = w`, `CrossEntropyLoss(torch.tensor(...))`
    # and `NearMiss()` hold none of the narrower words this once listed.
    triggers = caseless(
        "weight", "is_unbalance", "smote", "adasyn", "randomoversampler", "randomundersampler",
        "nearmiss", "tomeklinks", "clustercentroids", "editednearestneighbours",
        "onesidedselection", "fit_sample", "resample", "crossentropyloss", "nllloss",
        "multimarginloss", "cross_entropy", "nll_loss", "multi_margin_loss", "value_counts",
        "bincount", "sampler",
    )
    requires = (
        # an accuracy: named so, or a hits counter (`+=` of a `sum()` of an equality)
        caseless("acc", "correct", "+="),
        caseless("acc", "correct", "sum"),
    )
    # check() returns at once without ImbalanceFacts.evidence (anchors/losses.py).
    anchors = ("imbalance",)

    what_it_does = (
        "Flags the accuracy computation or declaration (`accuracy_score(...)`, "
        "`compile(metrics=['accuracy'])`, torchmetrics `Accuracy`, `correct / total`) when the "
        "file itself shows that the classes are imbalanced — class weights passed or computed, "
        "`pos_weight`, a `WeightedRandomSampler`, over/under-sampling, weights derived from "
        "`value_counts()` or `bincount` — and no other classification metric appears anywhere "
        "in the file."
    )
    why_it_matters = (
        "With 95% of samples in one class, a model that always predicts that class scores 95% "
        "accuracy. Accuracy alone cannot tell a useful model from one that ignores the minority "
        "class, and its value moves with the class mix of each split, so training and "
        "validation accuracies of imbalanced data are hard to compare."
    )
    example = """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss(weight=class_weights)
...
val_acc = correct / total
print(f"val acc {val_acc:.3f}")
"""
    use_instead = """\
import torch.nn as nn
from sklearn.metrics import balanced_accuracy_score, f1_score

criterion = nn.CrossEntropyLoss(weight=class_weights)
...
val_acc = correct / total
print(f"val acc {val_acc:.3f}  balanced acc {balanced_accuracy_score(y_true, y_pred):.3f}")
print(f"macro F1 {f1_score(y_true, y_pred, average='macro'):.3f}")
"""
    references = (
        "https://scikit-learn.org/stable/modules/model_evaluation.html#balanced-accuracy-score",
        "https://www.tensorflow.org/tutorials/structured_data/imbalanced_data",
    )

    INVALID = (
        Invalid(
            """\
from sklearn.utils.class_weight import compute_class_weight
weights = compute_class_weight("balanced", classes=np.unique(y_train), y=y_train)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, class_weight=dict(enumerate(weights)), validation_data=(x_val, y_val, w_val))
""",
            line=3,
            message="the classes are imbalanced (compute_class_weight)",
        ),
        Invalid(
            """\
from imblearn.over_sampling import SMOTE
from sklearn.metrics import accuracy_score
X_res, y_res = SMOTE(random_state=0).fit_resample(X_train, y_train)
clf.fit(X_res, y_res)
print("test accuracy", accuracy_score(y_test, clf.predict(X_test)))
""",
            line=5,
            message="the classes are imbalanced (resampling)",
        ),
        Invalid(
            """\
from torch.utils.data import DataLoader, WeightedRandomSampler
sampler = WeightedRandomSampler(sample_weights, num_samples=len(sample_weights))
loader = DataLoader(train_ds, batch_size=64, sampler=sampler)
for x, y in val_loader:
    correct += (model(x).argmax(1) == y).sum().item()
    total += y.size(0)
print("val acc", 100.0 * correct / total)
""",
            line=7,
            message="the classes are imbalanced (WeightedRandomSampler)",
        ),
    )
    VALID = (
        """\
from sklearn.metrics import accuracy_score, f1_score
from sklearn.linear_model import LogisticRegression
clf = LogisticRegression(class_weight="balanced").fit(X_train, y_train)
pred = clf.predict(X_test)
print(accuracy_score(y_test, pred), f1_score(y_test, pred))
""",
        """\
import tensorflow as tf
model.compile(optimizer="adam", loss="binary_crossentropy",
              metrics=["accuracy", tf.keras.metrics.AUC(name="auc")])
model.fit(x_train, y_train, class_weight={0: 1.0, 1: 12.0}, validation_split=0.2)
""",
        """\
from sklearn.metrics import accuracy_score
# balanced data: nothing shows imbalance
print(accuracy_score(y_test, clf.predict(X_test)))
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.imbalance
        if not facts.evidence or facts.other_metric:
            return
        evidence = facts.evidence[0].what
        for site in facts.accuracy:
            if site.what == "correct / total" and _training_figure(ctx, site.node):
                continue
            if _stored_on_self(ctx, site.node):
                continue
            yield self.report(site.node, message=(
                f"plain accuracy is the only metric, and the classes are imbalanced ({evidence}): "
                "it hides a model that ignores the minority class; report "
                "per-class recall, F1, balanced accuracy or AUC as well"
            ))


def _training_figure(ctx: FileContext, statement) -> bool:
    """A `correct / total` whose counts come from training loops only: a training-progress
    figure, not the evaluation metric."""
    loops = [division.numerator.loop for division in ctx.epoch_figures.divisions
             if ctx.index.statement_of(division.node) is statement]
    return bool(loops) and all(loop.kind == "train" for loop in loops)


def _stored_on_self(ctx: FileContext, node) -> bool:
    """`self.oob_score_ = accuracy_score(...)`: an estimator's own attribute, computed the way
    scikit-learn defines it (imbalanced-learn's forests), not an evaluation someone reports."""
    statement = ctx.index.statement_of(node)
    small = statement.body[0] if type(statement) is cst.SimpleStatementLine and statement.body else statement
    if type(small) is not cst.Assign:
        return False
    return all(
        type(target.target) is cst.Attribute and type(target.target.value) is cst.Name
        and target.target.value.value == "self"
        for target in small.targets
    )


__all__ = ["AccuracyOnImbalanced"]
