"""TL304 resample-before-split."""

from __future__ import annotations

from typing import Iterator

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, line_of
from trainlint.semantic.context import FileContext


class ResampleBeforeSplit(Rule):
    code = "TL304"
    name = "resample-before-split"
    severity = Severity.ERROR
    summary = "Over- or under-sampling runs before the split, so copies land on both sides."
    message = (
        "resampled before the split: copies of the same rows end up in training and evaluation, "
        "or the evaluation set gets an artificial class mix; split first and resample the training part only"
    )
    triggers = ("sample", "concat", "vstack", "append", "row_stack", "cat",)
    requires = (
        ("sample", "concat", "vstack", "append", "row_stack", "torch"),
        ("imblearn", "sklearn", "replace", "numpy", "pandas", "torch", "tensorflow"),
    )
    # Every finding needs a split that holds out the rows (split_covering walks
    # SplitFacts.splits): anchors/splits.py.
    anchors = ("split",)

    what_it_does = (
        "Flags SMOTE, ADASYN, `RandomOverSampler`, `RandomUnderSampler` and the other "
        "imbalanced-learn samplers, `sklearn.utils.resample`, `df.sample(replace=True)` and "
        "concatenations that duplicate rows (`np.concatenate([X, X[y == 1]])`, "
        "`pd.concat([df] + [minority] * 3)`, `np.concatenate([X, np.flip(X, 2)])`) whose "
        "result is later split into training and evaluation data."
    )
    why_it_matters = (
        "Oversampling copies minority rows (or interpolates between them); after a split the "
        "copy sits in the training set and its twin in the test set, so the model is scored on "
        "rows it has memorised. Undersampling before the split gives the test set a balanced "
        "class mix that new data will not have. Either way the figures are optimistic."
    )
    example = """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

X_res, y_res = SMOTE().fit_resample(X, y)
X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, stratify=y_res)
"""
    use_instead = """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
X_train, y_train = SMOTE().fit_resample(X_train, y_train)
"""
    references = (
        "https://imbalanced-learn.org/stable/common_pitfalls.html#data-leakage",
    )

    INVALID = (
        Invalid(
            """\
import pandas as pd
from sklearn.utils import resample
from sklearn.model_selection import train_test_split

df = pd.read_csv("fraud.csv")
majority, minority = df[df.Class == 0], df[df.Class == 1]
minority_up = resample(minority, replace=True, n_samples=len(majority), random_state=1)
balanced = pd.concat([majority, minority_up])
train, test = train_test_split(balanced, test_size=0.25)
""",
            line=7,
            message="resampled before the split at line 9",
        ),
        Invalid(
            """\
import numpy as np
from sklearn.model_selection import train_test_split

X = np.concatenate([X, X[y == 1], X[y == 1]])
y = np.concatenate([y, y[y == 1], y[y == 1]])
X_train, X_test, y_train, y_test = train_test_split(X, y)
""",
            line=4,
            message="rows duplicated before the split at line 6",
        ),
        Invalid(
            """\
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import cross_val_score
from sklearn.ensemble import RandomForestClassifier

X_bal, y_bal = RandomUnderSampler().fit_resample(X, y)
scores = cross_val_score(RandomForestClassifier(), X_bal, y_bal, cv=5)
""",
            line=5,
            message="resampled before the split at line 6",
        ),
    )
    VALID = (
        """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
X_train, y_train = SMOTE(random_state=0).fit_resample(X_train, y_train)
""",
        """\
from imblearn.pipeline import make_pipeline
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

pipe = make_pipeline(SMOTE(), LogisticRegression())
print(cross_val_score(pipe, X, y, cv=5))
""",
        """\
import pandas as pd
from sklearn.model_selection import train_test_split

features = pd.concat([numeric, pd.get_dummies(categorical)], axis=1)  # columns, not rows
X_train, X_test, y_train, y_test = train_test_split(features, y)
""",
        """\
import numpy as np
from sklearn.utils import resample

X_train, X_test, y_train, y_test = load_splits()
boot = [model.score(*resample(X_test, y_test)) for _ in range(1000)]  # bootstrap of the test score
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for copied in ctx.resampling.copied_before_split:
            yield self.report(copied.node, message=(
                f"{copied.how} before the split at {line_of(ctx, copied.split.node)}: copies of the same rows can land in both "
                "training and evaluation data (or the evaluation set gets an artificial class mix); "
                "split first and resample the training part only"
            ))


__all__ = ["ResampleBeforeSplit"]
