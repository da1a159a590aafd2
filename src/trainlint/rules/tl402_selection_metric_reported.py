"""TL402 selection-metric-reported."""

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
    SEARCH,
    VALIDATION,
)
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, line_of
from trainlint.vocab.words import SELECTION_WORDS

_WHAT = {
    BEST_IF: "the best checkpoint is chosen by this validation figure",
    KERAS_CALLBACK: "a callback keeps the best epoch by its validation figure",
    HF_TRAINER: "load_best_model_at_end keeps the checkpoint with the best validation figure",
    HF_SEARCH: "hyperparameter_search ranks the trials by their figure on the Trainer's eval_dataset, and best_run.objective is the winner's",
    LIGHTNING: "ModelCheckpoint keeps the checkpoint with the best validation figure",
    SEARCH: "best_score_ is the cross-validated score of the configuration the search picked",
    COMPARISON: "the best candidate is picked by its validation score",
}


class SelectionMetricReported(Rule):
    code = "TL402"
    name = "selection-metric-reported"
    severity = Severity.WARNING
    summary = "The validation figure that chose the model is reported as its result, with no test evaluation."
    message = (
        "the figure that chose the model is reported as the result: the model is chosen by a "
        "validation figure and that same figure is reported with no separate test evaluation, so "
        "it is biased upwards; report a held-out test figure"
    )
    # a best-so-far kept under any name (`if val_acc > top: top = val_acc`) needs no "best"
    triggers = SELECTION_WORDS
    # every finding is one of SelectionFacts.selections: the anchor stands for "there is one"
    anchors = ("selection",)

    what_it_does = (
        "Flags a model selection on validation data — a manual `if val_acc > best_acc:` "
        "checkpoint, Keras `ModelCheckpoint(save_best_only=True)` or `EarlyStopping("
        "restore_best_weights=True)`, Hugging Face `TrainingArguments(load_best_model_at_end="
        "True)`, a Lightning `ModelCheckpoint(monitor=...)`, a `GridSearchCV`/"
        "`RandomizedSearchCV`, a `max`/`argmax` over validation scores — when the figure that "
        "made the choice (or the chosen model re-evaluated on the same validation data) is "
        "reported as the result: printed, logged, written to a results file, shown in a plot "
        "title or returned from `main`, and the chosen model is not evaluated on a separate test "
        "set. Judged per selection: the test evaluation must be of the chosen model (followed "
        "through `best_estimator_` aliases, and through the callers of a helper that selects "
        "on the model it is given) before its name is bound to another model."
    )
    why_it_matters = (
        "Choosing the best of many epochs, configurations or models by their validation scores "
        "picks the one that was luckiest on those rows. Its validation score is the maximum of "
        "noisy estimates and is biased upwards; only data that took no part in the choice gives "
        "an unbiased figure. This is one reason a reported validation accuracy is higher than "
        "what the model later achieves."
    )
    example = """\
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
search.fit(X, y)
print(f"model accuracy: {search.best_score_:.3f}")
"""
    use_instead = """\
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
search.fit(X_train, y_train)
print(f"selection CV accuracy: {search.best_score_:.3f}")
print(f"test accuracy: {search.score(X_test, y_test):.3f}")
"""
    references = (
        "https://scikit-learn.org/stable/auto_examples/model_selection/plot_nested_cross_validation_iris.html",
        "https://discuss.pytorch.org/t/higher-accuracy-in-the-validation-dataset/",
    )

    INVALID = (
        Invalid(
            """\
best_acc = 0.0
for epoch in range(num_epochs):
    train_one_epoch(model, train_loader, optimizer)
    val_acc = evaluate(model, val_loader)
    if val_acc > best_acc:
        best_acc = val_acc
        best_weights = copy.deepcopy(model.state_dict())
print(f"Best val acc: {best_acc:.4f}")
""",
            line=5,
            message="the best checkpoint is chosen by this validation figure and that same figure is reported",
        ),
        Invalid(
            """\
from transformers import Trainer, TrainingArguments

args = TrainingArguments("out", eval_strategy="epoch", save_strategy="epoch",
                         load_best_model_at_end=True, metric_for_best_model="accuracy")
trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds)
trainer.train()
metrics = trainer.evaluate()
print(metrics)
""",
            line=3,
            message="load_best_model_at_end keeps the checkpoint with the best validation figure and that same",
        ),
        Invalid(
            """\
from tensorflow import keras

checkpoint = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True)
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[checkpoint])
print("final accuracy:", max(history.history["val_accuracy"]))
""",
            line=4,
            message="a callback keeps the best epoch by its validation figure and that same figure is reported",
        ),
    )
    VALID = (
        """\
from sklearn.model_selection import GridSearchCV

search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
search.fit(X_train, y_train)
print("selection score", search.best_score_)
print("test score", search.score(X_test, y_test))
""",
        """\
best_acc = 0.0
for epoch in range(num_epochs):
    val_acc = evaluate(model, val_loader)
    if val_acc > best_acc:
        best_acc = val_acc
        torch.save(model.state_dict(), "best.pt")
model.load_state_dict(torch.load("best.pt"))
print("test accuracy", evaluate(model, test_loader))
""",
        """\
from sklearn.model_selection import GridSearchCV, cross_val_score

inner = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3)
print("nested CV accuracy", cross_val_score(inner, X, y, cv=5).mean())
inner.fit(X, y)
print(inner.best_score_)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.selection
        for selection in facts.selections:
            if selection.role != VALIDATION or not selection.picks_best or selection.final_report is None:
                continue
            if facts.chosen_model_tested(selection) or facts.in_unit_test(selection, ctx.path):
                continue
            message = (
                f"the figure that chose the model is reported as the result "
                f"({line_of(ctx, selection.final_report)}): {_WHAT[selection.kind]} and that same figure "
                "is reported with no separate test evaluation, so it is biased upwards; "
                "evaluate the chosen model once on a held-out test set"
            )
            yield self.report(selection.selection_node, message=message)


__all__ = ["SelectionMetricReported"]
