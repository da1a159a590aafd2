"""TL303 preprocess-before-split."""

from __future__ import annotations

from typing import Iterator, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.names import last_name
from trainlint.core.diagnostics import Severity
from trainlint.vocab.words import TRANSFORMER_WORDS
from trainlint.rules.base import Finding, Invalid, Rule

LEARNING_METHODS = {"fit", "fit_transform", "fit_on_texts", "adapt", "partial_fit"}
# Functions that scale with column statistics in one call.
SCALING_FUNCTIONS = {
    "sklearn.preprocessing.scale", "sklearn.preprocessing.minmax_scale",
    "sklearn.preprocessing.robust_scale", "sklearn.preprocessing.maxabs_scale",
    "sklearn.preprocessing.quantile_transform", "sklearn.preprocessing.power_transform",
}


class PreprocessBeforeSplit(Rule):
    code = "TL303"
    name = "preprocess-before-split"
    severity = Severity.ERROR
    summary = "A data-dependent transform is fitted on rows that are later held out."
    message = (
        "fitted on data that is split later, so the evaluation rows shape the training inputs; "
        "split first and fit on the training part only (or use a Pipeline under cross-validation)"
    )
    triggers = TRANSFORMER_WORDS + ("scale", "quantile_transform", "power_transform") + (
        "mean", "std", "var", "min", "max", "median", "quantile", "percentile", "ptp", "mode")
    # Every finding needs a split that holds out the rows (split_covering /
    # split_transformed_after walk SplitFacts.splits): anchors/splits.py.
    anchors = ("split",)

    what_it_does = (
        "Flags a scaler, imputer, encoder, feature selector, PCA, vectorizer, Keras `Tokenizer."
        "fit_on_texts` / `TextVectorization.adapt`, or a column statistic (`(X - X.mean()) / "
        "X.std()`, `df.fillna(df.median())`) computed on data whose rows a later split (train_test_"
        "split, index split, KFold, cross-validation, Keras `validation_split`) holds out for "
        "evaluation, when the fitted result reaches the split data. The data is followed through "
        "the whole file, helper functions included, however far apart the fit and the split are."
    )
    why_it_matters = (
        "The statistics of the held-out rows (their mean, their vocabulary, the features they "
        "make look informative) are baked into the inputs the model trains on. The evaluation "
        "then measures a model that has already seen something of its test data, and the figure "
        "is optimistic; feature selection on all rows can make pure noise look predictive."
    )
    example = """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
"""
    use_instead = """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
"""
    references = (
        "https://scikit-learn.org/stable/common_pitfalls.html#data-leakage",
        "https://scikit-learn.org/stable/modules/compose.html#pipeline",
    )

    INVALID = (
        Invalid(
            """\
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split

df = pd.read_csv("loans.csv")
imputer = SimpleImputer(strategy="median")
df[["income", "debt"]] = imputer.fit_transform(df[["income", "debt"]])
train_df, test_df = train_test_split(df, test_size=0.2, random_state=0)
""",
            line=7,
            message="SimpleImputer is fitted (`fit_transform`) on rows that train_test_split (line 8) later holds out",
        ),
        Invalid(
            """\
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

pca = PCA(n_components=20)
X_reduced = pca.fit_transform(X)
print(cross_val_score(SVC(), X_reduced, y, cv=5).mean())
""",
            line=6,
            message="PCA is fitted (`fit_transform`) on rows that cross-validation (line 7) later holds out",
        ),
        Invalid(
            """\
import numpy as np
from sklearn.model_selection import train_test_split

X = (X - X.mean(axis=0)) / X.std(axis=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.1)
""",
            line=4,
            message="`X.mean(axis=0)` is computed over rows that train_test_split (line 5) later holds out",
        ),
        Invalid(
            """\
from tensorflow.keras.preprocessing.text import Tokenizer
from sklearn.model_selection import train_test_split

tokenizer = Tokenizer(num_words=20000)
tokenizer.fit_on_texts(texts)
sequences = tokenizer.texts_to_sequences(texts)
x_train, x_test, y_train, y_test = train_test_split(sequences, labels)
""",
            line=5,
            message="Tokenizer is fitted (`fit_on_texts`) on rows that train_test_split (line 7) later holds out",
        ),
        Invalid(
            """\
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

scaler = MinMaxScaler().fit(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
X_train = scaler.transform(X_train)
X_test = scaler.transform(X_test)
""",
            line=4,
            message="MinMaxScaler is fitted (`fit`) on rows that train_test_split (line 5) later holds out",
        ),
    )
    VALID = (
        """\
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

pipe = make_pipeline(StandardScaler(), LogisticRegression())
print(cross_val_score(pipe, X, y, cv=5))
""",
        """\
import numpy as np
from sklearn.model_selection import train_test_split

X = np.log1p(X)
X = X / X.max(axis=1, keepdims=True)  # per-sample normalisation
X_train, X_test, y_train, y_test = train_test_split(X, y)
""",
        """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import KFold

for train_idx, val_idx in KFold(5).split(X):
    scaler = StandardScaler().fit(X[train_idx])
    X_tr, X_va = scaler.transform(X[train_idx]), scaler.transform(X[val_idx])
""",
        """\
from tensorflow.keras.preprocessing.text import Tokenizer
from sklearn.model_selection import train_test_split

tokenizer = Tokenizer(char_level=True)  # a vocabulary of characters
tokenizer.fit_on_texts(texts)
x_train, x_test, y_train, y_test = train_test_split(tokenizer.texts_to_sequences(texts), labels)
""",
        """\
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split

df = pd.read_csv("loans.csv")
df["legacy"] = SimpleImputer().fit_transform(df[["legacy"]]).ravel()
df = df.drop(columns=["legacy"])  # the fitted column is dropped before the split
train_df, test_df = train_test_split(df, test_size=0.2)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.leakage
        reported: Set[int] = set()
        for fit in facts.fits:
            if fit.category != "transformer" or fit.method not in LEARNING_METHODS:
                continue
            cover = facts.covered_rows(fit.data)
            reaches = {fit.state} if fit.state is not None else set()
            split = facts.split_covering(cover, reaches) or facts.split_transformed_after(cover, fit.state)
            if split is not None:
                reported.add(id(fit.call))
                yield self.report(fit.call, message=self._message(ctx, fit.cls or "transformer", fit.method, split))
        for call in ctx.index.of_type(cst.Call):
            if ctx.imports.matches(call, SCALING_FUNCTIONS) and call.args:
                cover = facts.covered_rows(call.args[0].value)
                produced = set(ctx.dataflow.bindings_assigned_from(call))
                split = facts.split_covering(cover, produced)
                if split is not None:
                    yield self.report(call, message=self._message(ctx, last_name(call) or "scale", "call", split))
        rank = {id(call): i for i, call in enumerate(ctx.index.of_type(cst.Call))}  # source order
        for normalisation in sorted(facts.normalisations(), key=lambda n: rank.get(id(n.statistic), 0)):
            statistic = normalisation.statistic
            statement = ctx.index.statement_of(statistic)
            if id(statistic) in reported or id(statement) in reported:
                continue  # one finding per statement: `(X - X.mean()) / X.std()` is one mistake
            cover = facts.covered_rows(facts.statistic_data(statistic))
            target_rows = ctx.dataflow.derivation(normalisation.target)
            if not (cover & target_rows):
                continue  # a statistic of other data (a reference set, a constant table)
            produced = set(ctx.dataflow.bindings_assigned_from(normalisation.result))
            split = facts.split_covering(cover, produced)
            if split is not None:
                reported.update((id(statistic), id(statement)))
                use = "fills the gaps of" if isinstance(normalisation.result, cst.Call) else "normalises"
                yield self.report(statistic, message=(
                    f"`{ctx.code(statistic)}` is computed over rows that {_split_phrase(ctx, split)} "
                    f"later holds out, and {use} the data that is split; compute it on the training "
                    "part only and apply it to both parts"
                ))

    def _message(self, ctx: FileContext, cls: str, method: str, split) -> str:
        return (
            f"{cls} is fitted (`{method}`) on rows that {_split_phrase(ctx, split)} later holds out "
            "for evaluation, so their statistics shape the training inputs; split first and fit on "
            "the training part only (or put it in a Pipeline under cross-validation)"
        )


def _split_phrase(ctx: FileContext, split) -> str:
    line = ctx.position(split.node).start.line
    names = {
        "train_test_split": "train_test_split", "ordered_split": "train_test_split",
        "random_split": "random_split", "subset": "a Subset", "index": "the index split",
        "kfold": "the cross-validation split", "cv": "cross-validation",
        "validation_split": "validation_split", "sample": "the sampled split",
    }
    return f"{names.get(split.kind, 'the split')} (line {line})"


__all__ = ["PreprocessBeforeSplit"]
