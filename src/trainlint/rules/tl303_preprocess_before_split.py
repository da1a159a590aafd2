"""TL303 preprocess-before-split."""

from __future__ import annotations

from typing import Iterator, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.leakage import LEARNING_CATEGORIES
from trainlint.semantic.names import last_name
from trainlint.core.diagnostics import Severity
from trainlint.vocab.words import TRANSFORMER_WORDS
from trainlint.rules.base import Finding, Invalid, Rule, line_of

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
    # "transform": a transformer class of the file (`def transform(self, X)`).
    triggers = TRANSFORMER_WORDS + ("scale", "transform", "quantile_transform", "power_transform") + (
        "mean", "std", "var", "min", "max", "median", "quantile", "percentile", "ptp", "mode")
    # Every finding needs a split that holds out the rows (split_covering /
    # split_transformed_after walk SplitFacts.splits): anchors/splits.py.
    anchors = ("split",)

    what_it_does = (
        "Flags a scaler, imputer, encoder, feature selector, PCA, vectorizer (a scikit-learn one, "
        "or a transformer class of the file whose `fit` learns from the data, such as a word-count "
        "vocabulary), Keras `Tokenizer.fit_on_texts` / `TextVectorization.adapt`, or a column "
        "statistic (`(X - X.mean()) / X.std()`, `df.fillna(df.median())`, per-group medians or "
        "modes used to fill each row by its own class, the mean/std given to a `Normalize` "
        "transform) computed on data whose rows a later split (train_test_split, index split, "
        "KFold, cross-validation, Keras `validation_split`, `random_split`) holds out for "
        "evaluation, when the fitted result reaches the split data. A training part fitted in "
        "full and then cross-validated (`cross_val_score`, `cross_validate`, `cross_val_predict`, "
        "`GridSearchCV(...).fit`) counts: the folds are the later split. A dataset loaded again "
        "from the same source (`MNIST(root, train=True)` for the statistics, then with "
        "`transform=`) holds the same rows. The data is followed through the whole file, helper "
        "functions included, however far apart the fit and the split are, and through both arms "
        "of an `if`/`else` (a fit under `if scaling:` is still a fit when the `else` arm assigns "
        "the same name).\n\n"
        "Not flagged: a Pipeline passed to cross-validation; cross-validation of raw data; a "
        "statistic of a row subset (`series[:cut].max()`, `X[train_idx].mean(axis=0)`); a shift "
        "of the target alone (`y - y.min()` re-encoding labels); rolling or expanding window "
        "statistics; per-row statistics in `df.apply(f, axis=1)`; a transformer class whose `fit` "
        "only returns `self`; a one-hot or ordinal encoder (no frequency threshold) fitted on a "
        "training part before cross-validation (its state lists categories, no statistic); a Keras "
        "`validation_split` or a validation slice of a training part fitted in full (a small leak "
        "left alone); stateless transforms, per-sample normalisation, fits on columns that are "
        "later dropped, a vocabulary of characters."
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
        Invalid(
            """\
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
X_train_std = StandardScaler().fit_transform(X_train)
print(cross_val_score(SVC(), X_train_std, y_train, cv=5).mean())
""",
            line=6,
            message="StandardScaler is fitted (`fit_transform`) on rows that cross-validation (line 7) later holds out",
        ),
        Invalid(
            """\
import torchvision.transforms as T
from torch.utils.data import random_split
from torchvision.datasets import CIFAR10

raw = CIFAR10("data", train=True, download=True)
mean = raw.data.mean(axis=(0, 1, 2)) / 255
std = raw.data.std(axis=(0, 1, 2)) / 255
train_set = CIFAR10("data", train=True, transform=T.Compose([T.ToTensor(), T.Normalize(mean, std)]))
train_part, valid_part = random_split(train_set, [45000, 5000])
""",
            line=6,
            message="`raw.data.mean(axis=(0, 1, 2))` is computed over rows that random_split (line 9) later holds out",
        ),
        Invalid(
            """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("patients.csv")
medians = df.groupby("label")[["bp", "chol"]].agg(lambda s: s.median())
df[["bp", "chol"]] = df[["bp", "chol"]].fillna(medians.loc[df["label"]].set_index(df.index))
X_train, X_test, y_train, y_test = train_test_split(df[["bp", "chol"]], df["label"])
""",
            line=5,
            message="over the groups of `df.groupby(\"label\")[[\"bp\", \"chol\"]]`, it fills the gaps",
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
        """\
import pandas as pd
from sklearn.model_selection import train_test_split

wines = pd.read_csv("wine.csv")
ranks = wines["quality"] - wines["quality"].min()  # re-encodes the target only
X_train, X_test, r_train, r_test = train_test_split(wines.drop(columns="quality"), ranks)
""",
        """\
load = series.to_numpy()
n = len(load)
peak = load[: int(n * 0.7)].max()  # a statistic of the training slice only
scaled = load / peak
part_train, part_test = scaled[: int(n * 0.7)], scaled[int(n * 0.7):]
""",
        """\
import pandas as pd
from sklearn.model_selection import train_test_split

spectra = pd.read_csv("spectra.csv")
spectra = spectra.apply(lambda row: (row - row.mean()) / row.std(), axis=1)  # per sample
train_part, test_part = train_test_split(spectra, test_size=0.2)
""",
        """\
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import cross_val_score


class Lengths(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self  # learns nothing

    def transform(self, X):
        return [[len(text)] for text in X]


print(cross_val_score(clf, Lengths().fit_transform(texts_train), y_train, cv=5))
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.leakage
        reported: Set[int] = set()
        for fit in facts.fits:
            if fit.category not in LEARNING_CATEGORIES or fit.method not in LEARNING_METHODS:
                continue
            split = facts.fit_leak(fit)
            if split is not None:
                reported.add(id(fit.call))
                yield self.report(fit.call, message=self._message(ctx, fit.cls or "transformer", fit.method, split))
        for call in ctx.index.of_type(cst.Call):
            if ctx.imports.matches(call, SCALING_FUNCTIONS) and call.args:
                cover = facts.fitted_rows(call.args[0].value)
                produced = set(ctx.dataflow.bindings_assigned_from(call))
                split = facts.split_shaped_by(cover, produced)
                if split is not None:
                    yield self.report(call, message=self._message(ctx, last_name(call) or "scale", "call", split))
        yield from self._statistics(ctx, reported)

    def _statistics(self, ctx: FileContext, reported: Set[int]) -> Iterator[Finding]:
        facts = ctx.leakage
        rank = {id(call): i for i, call in enumerate(ctx.index.of_type(cst.Call))}  # source order
        for normalisation in sorted(facts.normalisations(), key=lambda n: rank.get(id(n.statistic), 0)):
            statistic = normalisation.statistic
            statement = ctx.index.statement_of(statistic)
            if id(statistic) in reported or id(statement) in reported:
                continue  # one finding per statement: `(X - X.mean()) / X.std()` is one mistake
            split = facts.statistic_leak(normalisation)
            if split is not None:
                reported.update((id(statistic), id(statement)))
                use = "fills the gaps of" if normalisation.fills else "normalises"
                groups = facts.statistic_groups(statistic)
                over = f", over the groups of `{ctx.code(groups)}`," if groups is not None else ""
                yield self.report(statistic, message=(
                    f"`{ctx.code(statistic)}` is computed over rows that {_split_phrase(ctx, split)} "
                    f"later holds out: computed{over} it {use} the data that is split; compute it on the training "
                    "part only and apply it to both parts"
                ))

    def _message(self, ctx: FileContext, cls: str, method: str, split) -> str:
        return (
            f"{cls} is fitted (`{method}`) on rows that {_split_phrase(ctx, split)} later holds out: "
            "their statistics shape the training inputs; split first and fit on "
            "the training part only (or put it in a Pipeline under cross-validation)"
        )


def _split_phrase(ctx: FileContext, split) -> str:
    names = {
        "train_test_split": "train_test_split", "ordered_split": "train_test_split",
        "random_split": "random_split", "subset": "a Subset", "index": "the index split",
        "kfold": "the cross-validation split", "cv": "cross-validation",
        "validation_split": "validation_split", "sample": "the sampled split",
    }
    return f"{names.get(split.kind, 'the split')} ({line_of(ctx, split.node)})"


__all__ = ["PreprocessBeforeSplit"]
