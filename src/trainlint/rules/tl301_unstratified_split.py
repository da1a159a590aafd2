"""TL301 unstratified-split."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule
from trainlint.semantic.context import FileContext
from trainlint.semantic.edits import add_keyword_argument
from trainlint.semantic.names import keyword
from trainlint.semantic.stratification import DATASET_SPLIT, SPLIT_OF_TARGET, SPLITTER
from trainlint.vocab.splitting import RANDOM_SPLIT, TRAIN_TEST_SPLIT, UNSTRATIFIED_SPLITTERS
from trainlint.semantic.targets import CLASSIFICATION_LOADERS
from trainlint.vocab.words import CATEGORICAL_WORDS


# Evidence StratificationFacts reads beyond CATEGORICAL_WORDS: class weights, the targets of
# torch classification losses, predictions compared with labels (`argmax(...) == y`),
# classification data sets of scikit-learn, ClassLabel features and Hugging Face classifiers.
FLOW_EVIDENCE_WORDS = (
    "Weight", "CrossEntropy", "cross_entropy", "NLLLoss", "nll_loss", "BCE", "MultiMargin",
    "multi_margin", "MultiLabelSoftMargin", "multilabel_soft_margin", "argmax", "predict", "round",
    "features", "Classification",
) + tuple(sorted(CLASSIFICATION_LOADERS))


class UnstratifiedSplit(Rule):
    code = "TL301"
    name = "unstratified-split"
    severity = Severity.WARNING
    summary = "A classification target is split without stratification."
    message = (
        "classification target split without stratification: the class mix can differ "
        "between the splits, so their accuracies are not comparable; pass stratify=<target>"
    )
    triggers = ("train_test_split", "KFold", "ShuffleSplit", "random_split")
    requires = (
        CATEGORICAL_WORDS + FLOW_EVIDENCE_WORDS,  # evidence that the target is categorical, or class weights
        ("train_test_split", "KFold", "ShuffleSplit", "weight", "Weight"),
        ("random_split",) + CATEGORICAL_WORDS + FLOW_EVIDENCE_WORDS[1:],  # class weights alone: random_split
    )
    # Every finding is reported on, or starts from, a train_test_split / KFold / ShuffleSplit /
    # RepeatedKFold / random_split call that ImportTable resolves (anchors/splits.py).
    anchors = ("splitter_call",)

    what_it_does = (
        "Flags `train_test_split` calls on a classification target that pass no `stratify=`, "
        "and Hugging Face `Dataset.train_test_split` calls without `stratify_by_column=` on a "
        "classification data set. The rule needs evidence in the file that the target is "
        "categorical: a classifier fitted or scored on it, a classification metric or loss "
        "applied to it (also a torch `CrossEntropyLoss` / `F.cross_entropy` reached through "
        "tensors, datasets and loaders, or an accuracy `(pred.argmax(1) == y).mean()`), a "
        "scikit-learn classification data set (`load_iris`, `load_wine`, `make_moons`, "
        "`make_classification`), class weights computed from it, `value_counts()` or "
        "`bincount` on it, label encoding, a ClassLabel column (`ds.features[\"label\"].names`) "
        "or a `Trainer` around a sequence / image / audio classifier. Evidence is read per "
        "binding: a notebook that rebinds `X_train` / `y_train` to another data set in a later "
        "cell does not lend that data set's evidence to the earlier split. A split inside a "
        "function or method (`def fit(self, X, y)`) is judged by what the callers in the file "
        "pass for its labels. Must not flag: regression targets (`housing.target`, a "
        "regression loader, `Ridge` / `LinearRegression` / mse on the outputs), splits whose "
        "evidence conflicts, time-ordered splits (`shuffle=False`), `stratify=` / "
        "`stratify_by_column=` given, token-classification or language-model corpora."
    )
    why_it_matters = (
        "A random split of imbalanced classes gives each side its own class mix. A model that "
        "does well on the majority class then scores a higher accuracy on whichever split "
        "happens to hold more of it: this is one common reason why validation accuracy ends "
        "up above training accuracy, or why validation loss and accuracy move in opposite "
        "directions. The figures of the two splits stop being comparable, and a small "
        "minority class can be missing from the evaluation split altogether."
    )
    example = """\
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
clf = LogisticRegression().fit(X_train, y_train)
"""
    use_instead = """\
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
"""
    fix_safety = (
        "Safe when the target is known categorical at the binding the split reads: the fix "
        "passes `stratify=<target>` (or replaces an explicit `stratify=None`). It changes which "
        "rows land in each split, and so the figures, which is the intent: each split keeps "
        "the class mix of the whole. When part of the evidence was matched by name only, the "
        "fix is offered as unsafe (on a continuous target scikit-learn raises \"The least "
        "populated class in y has only 1 member\"). No fix for `Dataset.train_test_split`."
    )
    references = (
        "https://scikit-learn.org/stable/modules/cross_validation.html#stratification",
        "https://scikit-learn.org/stable/modules/generated/sklearn.model_selection.train_test_split.html",
    )

    INVALID = (
        Invalid(
            """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

def fit_forest(features, labels):
    return RandomForestClassifier(n_estimators=200).fit(features, labels)

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
forest = fit_forest(X_train, y_train)
""",
            line=7,
            message="classification target split without stratification",
        ),
        Invalid(
            """\
from sklearn.model_selection import KFold, cross_val_score
from sklearn.ensemble import GradientBoostingClassifier

cv = KFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(GradientBoostingClassifier(), X, y, cv=cv, scoring="accuracy")
""",
            line=4,
            message="KFold on a classification target does not stratify",
        ),
        Invalid(
            """\
from sklearn.model_selection import ShuffleSplit
from sklearn.linear_model import LogisticRegression

for train_idx, val_idx in ShuffleSplit(n_splits=10, test_size=0.2).split(X):
    clf = LogisticRegression(max_iter=1000).fit(X[train_idx], y[train_idx])
    print(clf.score(X[val_idx], y[val_idx]))
""",
            line=4,
            message="ShuffleSplit on a classification target does not stratify",
        ),
        Invalid(
            """\
import torch
from torch import nn
from torch.utils.data import random_split
from torchvision import datasets

full = datasets.ImageFolder("xray/", transform=tfm)
train_ds, val_ds = random_split(full, [0.8, 0.2])
criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 6.0]))  # pneumonia cases are rare
""",
            line=7,
            message="random_split of a labelled dataset whose classes are imbalanced",
        ),
        Invalid(
            """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

train_df, test_df = train_test_split(df, test_size=0.2, random_state=7)
clf = RandomForestClassifier().fit(train_df[features], train_df["churned"])
""",
            line=4,
            message="classification target split without stratification",
        ),
        Invalid(
            """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = RandomForestClassifier(n_estimators=200)
model.fit(X_train, y_train)
""",
            line=4,
            message="classification target split without stratification",
        ),
        Invalid(
            """\
import sklearn.model_selection as ms
from sklearn.metrics import accuracy_score

X_tr, X_te, y_tr, y_te = ms.train_test_split(features, labels, test_size=0.3)
print(accuracy_score(y_te, predict(X_te)))
""",
            line=4,
            message="classification target split without stratification",
        ),
        Invalid(
            """\
from datasets import load_dataset

ds = load_dataset("my-org/news-topics", split="train")
topics = ds.features["topic"].names
parts = ds.train_test_split(test_size=0.1)
""",
            line=5,
            message='classification data set split without stratification',
        ),
        Invalid(
            """\
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3)
""",
            line=5,
            message="classification target split without stratification",
        ),
        Invalid(
            """\
from sklearn.model_selection import train_test_split as tts

print(df["churn"].value_counts())
X_train, X_val, y_train, y_val = tts(df.drop(columns="churn"), df["churn"])
""",
            line=4,
            message="classification target split without stratification",
        ),
    )
    FIX_EXAMPLES = (
        (
            """\
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
SVC().fit(X_train, y_train)
""",
            """\
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
SVC().fit(X_train, y_train)
""",
        ),
        (
            """\
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
X_train, X_test, y_train, y_test = train_test_split(
    X,
    y,
    test_size=0.2,  # hold out a fifth
)
SVC().fit(X_train, y_train)
""",
            """\
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
X_train, X_test, y_train, y_test = train_test_split(
    X,
    y,
    test_size=0.2,  # hold out a fifth
    stratify=y,
)
SVC().fit(X_train, y_train)
""",
        ),
        (
            """\
from sklearn.model_selection import train_test_split
from sklearn.metrics import f1_score
a, b, c, d = train_test_split(X, df["label"], stratify=None)
print(f1_score(d, model.predict(b)))
""",
            """\
from sklearn.model_selection import train_test_split
from sklearn.metrics import f1_score
a, b, c, d = train_test_split(X, df["label"], stratify=df["label"])
print(f1_score(d, model.predict(b)))
""",
        ),
    )
    VALID = (
        """\
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

def churn_model(X, y):
    y = (y > 0).astype(int)  # a local label: says nothing about the module-level y
    return LogisticRegression().fit(X, y)

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
""",
        """\
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

print(cross_val_score(SVC(), X, y, cv=5))  # an integer cv on a classifier is stratified
""",
        """\
from sklearn.model_selection import GroupKFold, TimeSeriesSplit, cross_val_score
from sklearn.linear_model import LogisticRegression

print(cross_val_score(LogisticRegression(), X, y, cv=GroupKFold(5), groups=patients))
print(cross_val_score(LogisticRegression(), X, y, cv=TimeSeriesSplit(5)))
""",
        """\
from sklearn.model_selection import KFold, cross_val_score
from sklearn.ensemble import RandomForestRegressor

print(cross_val_score(RandomForestRegressor(), X, y, cv=KFold(5, shuffle=True)))
""",
        """\
import torch
from torch.utils.data import random_split

train_ds, val_ds = random_split(corpus, [0.9, 0.1])  # nothing shows imbalanced labels
criterion = torch.nn.CrossEntropyLoss()
""",
        """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y)
RandomForestClassifier().fit(X_train, y_train)
""",
        """\
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Ridge

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
Ridge(alpha=1.0).fit(X_train, y_train)
""",
        """\
from sklearn.model_selection import train_test_split

# nothing shows what y is: stay silent
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
""",
        """\
from sklearn.datasets import fetch_california_housing
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

housing = fetch_california_housing()  # a continuous target
X_train, X_test, y_train, y_test = train_test_split(housing.data, housing.target)
X_train, X_test, y_train, y_test = load_labelled_images()  # later: the names hold other data
LogisticRegression().fit(X_train, y_train)
""",
        """\
from datasets import load_dataset

corpus = load_dataset("my-org/stories", split="train")
parts = corpus.train_test_split(test_size=0.1)  # no labels: nothing to stratify
""",
        """\
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

# a time-ordered split cannot be stratified and is deliberate
X_train, X_test, y_train, y_test = train_test_split(X, y, shuffle=False)
LogisticRegression().fit(X_train, y_train)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for split in ctx.stratification.unstratified:
            if split.kind == SPLIT_OF_TARGET:
                target = split.target
                yield self.report(split.node, message=_target_message(ctx.code(target)),
                                  fix=_stratify_fix(ctx, split.node, target, safe=split.at_binding))
            elif split.kind == SPLITTER:
                yield self.report(split.node, message=(
                    f"{split.splitter} on a classification target does not stratify: the class mix "
                    f"differs between folds, so fold scores are not comparable; use {split.stratified}"
                ))
            elif split.kind == DATASET_SPLIT:
                column = f'"{split.column}"' if split.column else "<the label column>"
                yield self.report(split.node, message=(
                    "classification data set split without stratification: the class mix can differ "
                    "between the splits, so their accuracies are not comparable; "
                    f"pass stratify_by_column={column}"
                ))
            else:
                yield self.report(split.node, message=(
                    f"random_split of a labelled dataset whose classes are imbalanced ({split.evidence}): "
                    "the class mix can differ between the parts, so their accuracies are not comparable; "
                    "split indices with train_test_split(..., stratify=labels) and wrap them in Subset"
                ))


def _target_message(target: str) -> str:
    return (
        "classification target split without stratification: the class mix can differ "
        "between the splits, so their accuracies are not comparable; "
        f"pass stratify={target}"
    )


def _stratify_fix(ctx: FileContext, call: cst.Call, target: cst.BaseExpression, safe: bool) -> Fix:
    """Pass `stratify=<target>` (replacing an explicit `stratify=None`). Safe only when the
    target is known categorical at the binding the split reads: on a continuous target
    scikit-learn raises "The least populated class in y has only 1 member"."""
    existing = keyword(call, "stratify")
    if existing is not None:
        edit = ctx.replace_edit(existing.value, target)
    else:
        edit = add_keyword_argument(ctx, call, "stratify", ctx.code(target))
    return Fix(edits=(edit,), safe=safe, description=f"Pass stratify={ctx.code(target)}")


# The splitter names stay importable here for gate/anchors/splits.py until its rewrite.
__all__ = ["UnstratifiedSplit", "RANDOM_SPLIT", "TRAIN_TEST_SPLIT", "UNSTRATIFIED_SPLITTERS"]
