"""TL401 test-set-model-selection."""

from __future__ import annotations

from typing import Iterator

from trainlint.semantic.context import FileContext
from trainlint.semantic.selection import (
    BEST_IF,
    COMPARISON,
    HF_SEARCH,
    HF_TRAINER,
    KERAS_CALLBACK,
    LIGHTNING,
    LR_PLATEAU,
    SEARCH,
    TEST,
)
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule
from trainlint.vocab.words import SELECTION_WORDS

# Selections that keep a model (checkpoint, restored weights, best Trainer checkpoint).
KEEPS_MODEL = (BEST_IF, KERAS_CALLBACK, HF_TRAINER, LIGHTNING)
_ADVICE = "select on a validation split and evaluate the test set once, at the end"
_MESSAGES = {
    BEST_IF: "the best model (epoch, checkpoint or setting) is kept by a test figure, so the "
             "reported test result is optimistic; " + _ADVICE,
    LR_PLATEAU: "the learning-rate schedule is stepped on a test figure, so test data shapes "
                "training; step it on a validation figure",
    KERAS_CALLBACK: "fit() gets the test set as validation_data while a callback checkpoints or "
                    "stops on it, so the test figure is optimistic; " + _ADVICE,
    HF_TRAINER: "Trainer chooses the best checkpoint (or stops early) on the test split passed as "
                "eval_dataset, so its test figure is optimistic; " + _ADVICE,
    HF_SEARCH: "hyperparameter_search ranks the trials on the test split passed as eval_dataset, "
               "so the best run's test figure is optimistic; " + _ADVICE,
    LIGHTNING: "checkpointing / early stopping monitors the test loader passed as validation "
               "data, so the test figure is optimistic; " + _ADVICE,
    SEARCH: "the hyperparameter search is fitted on the test split, so its score is optimistic; "
            "search on the training split and evaluate the test set once",
    COMPARISON: "the best candidate is picked by its test score and that score is reported, so "
                "it is optimistic; compare on a validation split (or with cross-validation)",
}


class TestSetModelSelection(Rule):
    code = "TL401"
    name = "test-set-model-selection"
    severity = Severity.ERROR
    summary = "Test data drives a choice: checkpointing, early stopping, LR schedule, search or model comparison."
    message = _MESSAGES[BEST_IF]
    # a best-so-far kept under any name (`if val_acc > top: top = val_acc`) needs no "best"
    triggers = SELECTION_WORDS
    # every finding is one of SelectionFacts.selections: the anchor stands for "there is one"
    anchors = ("selection",)

    what_it_does = (
        "Flags places where a test-set figure decides something about the model: a manual "
        "`if test_acc > best_acc:` checkpoint or early-stopping counter, `ReduceLROnPlateau."
        "step(test_loss)`, Keras `fit(validation_data=(x_test, y_test))` with `ModelCheckpoint`, "
        "`EarlyStopping` or `ReduceLROnPlateau` watching `val_*`, a Hugging Face `Trainer` whose "
        "`eval_dataset` is the test split with `load_best_model_at_end=True` or early stopping, a "
        "Lightning `trainer.fit(..., val_dataloaders=test_loader)` with a monitoring callback, a "
        "search fitted on the test split, and `max`/`argmax`/`idxmax` picking the best of several "
        "candidates by their test scores. A kept checkpoint (best epoch, restored weights, "
        "`load_best_model_at_end`) chosen on test data is flagged whether or not the file prints "
        "the figure, since the delivered model's test figure is optimistic wherever it is read; "
        "the other choices are flagged when a test figure that depends on them is reported. It "
        "stays silent when another test set is evaluated afterwards."
    )
    why_it_matters = (
        "A test set that was used to choose the epoch, the learning rate, the hyperparameters or "
        "the model is no longer unseen: the chosen model is the one that happened to do best on "
        "those particular rows, and its test figure overstates how it will do on new data. The "
        "gap grows with the number of candidates compared and shrinks nowhere in the report."
    )
    example = """\
best_acc = 0.0
for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    test_acc = evaluate(model, test_loader)
    if test_acc > best_acc:
        best_acc = test_acc
        torch.save(model.state_dict(), "best.pt")
print(f"test accuracy: {best_acc:.3f}")
"""
    use_instead = """\
best_acc = 0.0
for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    val_acc = evaluate(model, val_loader)
    if val_acc > best_acc:
        best_acc = val_acc
        torch.save(model.state_dict(), "best.pt")
model.load_state_dict(torch.load("best.pt"))
print(f"test accuracy: {evaluate(model, test_loader):.3f}")
"""
    references = (
        "https://scikit-learn.org/stable/modules/cross_validation.html",
        "https://discuss.pytorch.org/t/higher-accuracy-in-the-validation-dataset/",
    )

    INVALID = (
        Invalid(
            """\
from tensorflow import keras

stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
model.fit(x_train, y_train, epochs=100, validation_data=(x_test, y_test), callbacks=[stop])
loss, acc = model.evaluate(x_test, y_test)
print("test accuracy", acc)
""",
            line=4,
            message="fit() gets the test set as validation_data while a callback checkpoints or stops on it,",
        ),
        Invalid(
            """\
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=3)
for epoch in range(30):
    train(model, train_loader)
    test_loss = evaluate(model, test_loader)
    scheduler.step(test_loss)
    print(f"epoch {epoch} test loss {test_loss:.4f}")
""",
            line=7,
            message="the learning-rate schedule is stepped on a test figure, so test data shapes training",
        ),
        Invalid(
            """\
from sklearn.svm import SVC

scores = {}
for C in [0.1, 1, 10, 100]:
    clf = SVC(C=C).fit(X_train, y_train)
    scores[C] = clf.score(X_test, y_test)
best_C = max(scores, key=scores.get)
print(f"best C={best_C}: test accuracy {scores[best_C]:.3f}")
""",
            line=7,
            message="the best candidate is picked by its test score and that score is reported, so it is",
        ),
    )
    VALID = (
        """\
from tensorflow import keras

# the test set is only displayed: no callback depends on it
model.fit(x_train, y_train, epochs=10, validation_data=(x_test, y_test))
print(model.evaluate(x_test, y_test))
""",
        """\
best_acc = 0.0
for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    val_acc = evaluate(model, val_loader)
    test_acc = evaluate(model, test_loader)  # shown, never used to choose
    print(epoch, val_acc, test_acc)
    if val_acc > best_acc:
        best_acc = val_acc
        torch.save(model.state_dict(), "best.pt")
""",
        """\
from tensorflow import keras

# "test" is the tuning split here; the real held-out set is evaluated once at the end
stop = keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)
model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[stop])
print(model.evaluate(x_holdout, y_holdout))
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.selection
        for selection in facts.selections:
            if selection.role != TEST:
                continue
            # A kept checkpoint chosen on test data is optimistic wherever its test figure is
            # read later, printed here or not; other uses of a test figure need its report.
            if selection.report is None and not (selection.picks_best and selection.kind in KEEPS_MODEL):
                continue
            if facts.other_test_evaluation_after(selection):
                continue
            yield self.report(selection.node, message=_MESSAGES[selection.kind])


__all__ = ["TestSetModelSelection"]
