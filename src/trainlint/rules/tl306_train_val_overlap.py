"""TL306 train-val-overlap."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, line_of
from trainlint.semantic.context import FileContext
from trainlint.semantic.overlap import (
    EVAL_WORDS,
    FIT_DATA_SCORE,
    LABELLED_SCORE,
    REPEATED_SLICE,
    LOADER_OVER_TRAINING,
    VALIDATION_IS_TRAINING,
    Overlap,
)
from trainlint.vocab.evaluation import DATALOADERS, EVALUATIONS, METRIC_PREFIX


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
    # score labelled as evaluation, two train_test_splits, a model scored on its fit rows, a
    # slice assigned twice (anchors/data.py)
    anchors = ("validation_argument", "evaluation_loader", "labelled_score", "resplit", "fit_data_score",
               "repeated_slice")

    what_it_does = (
        "Flags evaluation data that is the training data or derived from it without a split: "
        "`fit(..., validation_data=(x_train, y_train))`, a validation `DataLoader` over the "
        "training dataset, a Hugging Face `Trainer(eval_dataset=<train>)`, Lightning "
        "`trainer.fit(model, train_loader, train_loader)`, a figure printed or stored as a test or "
        "validation result but computed on training arrays, a classifier scored on the very rows "
        "it was fitted on (`clf.fit(X, y)` then `accuracy_score(y, clf.predict(X))`, "
        "`classification_report`, `clf.score(X, y)`) and printed or displayed as its accuracy, a "
        "held-out slice that repeats the training slice (`val_idx = perm[:cut]` after "
        "`train_idx = perm[:cut]`), and a second random split of the same data whose evaluation "
        "part overlaps the rows the model was trained on. An evaluation loader over the "
        "training set is reported only when a figure is computed on it (it is iterated, or "
        "handed to an evaluation or training call). Must not flag: a \"test_loader\" rebuilt "
        "over the training set to display one batch of predictions; a training figure called "
        "one (\"train\", \"memorisation check\", \"in-sample\") or kept under a training "
        "name next to a hold-out figure; a regressor's in-sample R^2; a call of a function of "
        "the file named `fit`, whose positional parameters are its own; a fit-data score inside a "
        "function that shows nothing (a unit test's bare `pipe.score(X, y)` or "
        "`assert_allclose(a.score(X, y), b.score(X, y))`)."
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
        Invalid(
            """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
val_loader = DataLoader(train_dataset, batch_size=256)
print("val accuracy:", evaluate(model, val_loader))
""",
            line=4,
            message="the evaluation loader reads the training dataset `train_dataset`, so its figures measure",
        ),
        Invalid(
            """\
from sklearn.metrics import accuracy_score

clf.fit(X_train, y_train)
print("Test accuracy:", accuracy_score(y_train, clf.predict(X_train)))
""",
            line=4,
            message="`accuracy_score(y_train, clf.predict(X_train))` is computed on training data but reported",
        ),
        Invalid(
            """\
from transformers import Trainer

trainer = Trainer(model=model, args=args, train_dataset=tokenized["train"],
                  eval_dataset=tokenized["train"])
""",
            line=3,
            message="the validation data `tokenized[\"train\"]` is the training data, so the validation figure",
        ),
        Invalid(
            """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model.fit(X_train, y_train)
X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2)  # re-split: new rows
print(model.score(X_val, y_val))
""",
            line=6,
            message="`model.score(X_val, y_val)` scores a second split (line 5) of the training rows",
        ),
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
        for overlap in ctx.overlap.overlaps:
            yield self.report(overlap.node, message=_message(ctx, overlap))

    # Kept for gate/anchors/data.py until the gate rewrite; the answers are ctx's.
    def _assigned_role(self, ctx: FileContext, call: cst.Call) -> Optional[str]:
        return ctx.roles.assigned_role(call)

    def _labelled_evaluation(self, ctx: FileContext, call: cst.Call, statement: cst.CSTNode) -> bool:
        return ctx.overlap.labelled_evaluation(call, statement)


def _message(ctx: FileContext, overlap: Overlap) -> str:
    if overlap.how == VALIDATION_IS_TRAINING:
        return (f"the validation data `{ctx.code(overlap.data)}` is the training data, so the "
                "validation figure (and any early stopping or checkpointing on it) measures "
                "memorisation; pass a held-out split")
    if overlap.how == LOADER_OVER_TRAINING:
        return (f"the evaluation loader reads the training dataset `{ctx.code(overlap.data)}`, so its "
                "figures measure memorisation; build it over the validation or test dataset")
    if overlap.how == LABELLED_SCORE:
        return (f"`{ctx.code(overlap.node)}` is computed on training data but reported as a "
                "validation/test figure; score the held-out split")
    if overlap.how == REPEATED_SLICE:
        training_line = line_of(ctx, overlap.data)  # type: ignore[arg-type]
        return (f"`{ctx.code(overlap.node.targets[0].target)}` takes the same slice of the same rows "  # type: ignore[attr-defined]
                f"as the training part ({training_line}), so the held-out data is the training data "
                "and its figures measure memorisation; take the complementary slice")
    if overlap.how == FIT_DATA_SCORE:
        fit_line = line_of(ctx, overlap.data)  # type: ignore[arg-type]
        fitted = ", ".join(ctx.code(a.value) for a in overlap.data.args[:2])  # type: ignore[union-attr]
        return (f"`{ctx.code(overlap.node)}` scores the model on the rows it was fitted on "
                f"(`fit({fitted})`, {fit_line}), so the figure measures memorisation, "
                "not accuracy on new data; score a held-out split (or call it a training figure)")
    first, second = overlap.first_split, overlap.second_split
    return (f"`{ctx.code(overlap.node)}` scores a second split ({line_of(ctx, second.node)}) "  # type: ignore[union-attr,arg-type]
            f"of the training rows (split at {line_of(ctx, first.node)}): its evaluation part holds "  # type: ignore[union-attr,arg-type]
            "rows the model was trained on; evaluate on the held-out part of the same split")


# The word lists stay importable here for gate/anchors/data.py until its rewrite.
__all__ = ["TrainValOverlap", "DATALOADERS", "EVALUATIONS", "EVAL_WORDS", "METRIC_PREFIX"]
