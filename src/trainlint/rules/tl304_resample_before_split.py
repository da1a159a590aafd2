"""TL304 resample-before-split."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.names import bool_value, expression_key, keyword_value, last_name, positional_args
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Rule

RESAMPLE_FUNCTIONS = {"sklearn.utils.resample"}
ROW_CONCATENATIONS = {
    "numpy.concatenate", "numpy.vstack", "numpy.append", "numpy.row_stack", "pandas.concat",
    "torch.cat", "torch.concat", "tensorflow.concat",
}


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
        """\
import numpy as np
from sklearn.model_selection import train_test_split

X = np.concatenate([X, X[y == 1], X[y == 1]])
y = np.concatenate([y, y[y == 1], y[y == 1]])
X_train, X_test, y_train, y_test = train_test_split(X, y)
""",
        """\
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import cross_val_score
from sklearn.ensemble import RandomForestClassifier

X_bal, y_bal = RandomUnderSampler().fit_resample(X, y)
scores = cross_val_score(RandomForestClassifier(), X_bal, y_bal, cv=5)
""",
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
        facts = ctx.leakage
        flow = ctx.dataflow
        resamplers: List[cst.Call] = []
        for fit in facts.fits:
            if fit.category == "sampler" and fit.method in ("fit_resample", "fit_sample"):
                resamplers.append(fit.call)
        for call in ctx.index.of_type(cst.Call):
            if ctx.imports.matches(call, RESAMPLE_FUNCTIONS):
                resamplers.append(call)
            elif last_name(call) == "sample" and isinstance(call.func, cst.Attribute) and bool_value(
                keyword_value(call, "replace")
            ):
                resamplers.append(call)
        for call in resamplers:
            data = positional_args(call)[0].value if positional_args(call) else None
            if data is None and isinstance(call.func, cst.Attribute) and last_name(call) == "sample":
                data = call.func.value
            if data is None:
                continue
            if last_name(call) == "sample":
                data = call.func.value  # type: ignore[attr-defined]
            cover = facts.covered_rows(data)
            produced = set(flow.bindings_assigned_from(call))
            split = facts.split_covering(cover, produced)
            if split is not None:
                yield self.report(call, message=self._message(ctx, split, "resampled"))
        for call in ctx.index.of_type(cst.Call):
            if not ctx.imports.matches(call, ROW_CONCATENATIONS):
                continue
            if not _duplicates_rows(ctx, call):
                continue
            cover = set()
            for part in _parts(call):
                cover |= facts.covered_rows(part)
            produced = set(flow.bindings_assigned_from(call))
            split = facts.split_covering(cover, produced)
            if split is not None:
                yield self.report(call, message=self._message(ctx, split, "rows duplicated"))

    def _message(self, ctx: FileContext, split, what: str) -> str:
        line = ctx.position(split.node).start.line
        return (
            f"{what} before the split at line {line}: copies of the same rows can land in both "
            "training and evaluation data (or the evaluation set gets an artificial class mix); "
            "split first and resample the training part only"
        )


def _parts(call: cst.Call) -> List[cst.BaseExpression]:
    args = positional_args(call)
    first = keyword_value(call, "objs") if not args else args[0].value
    if last_name(call) == "append" and len(args) >= 2:
        return [args[0].value, args[1].value]
    if isinstance(first, (cst.List, cst.Tuple)):
        return [e.value for e in first.elements]
    if isinstance(first, cst.BinaryOperation):  # [df] + [minority] * 3
        return _list_terms(first)
    return []


def _list_terms(expr: cst.BaseExpression) -> List[cst.BaseExpression]:
    if isinstance(expr, cst.BinaryOperation):
        return _list_terms(expr.left) + _list_terms(expr.right)
    if isinstance(expr, (cst.List, cst.Tuple)):
        return [e.value for e in expr.elements]
    return []


def _axis_is_rows(call: cst.Call) -> bool:
    axis = keyword_value(call, "axis") or keyword_value(call, "dim")
    if axis is None and last_name(call) in ("concatenate", "cat", "concat") and len(positional_args(call)) >= 2:
        axis = positional_args(call)[1].value
    if axis is None:
        return True
    return isinstance(axis, cst.Integer) and axis.value == "0"


def _duplicates_rows(ctx: FileContext, call: cst.Call) -> bool:
    """Two parts hold the same rows: a repeated part, a list repeated with `*`, or a whole
    array next to rows taken or derived from it."""
    if not _axis_is_rows(call):
        return False
    args = positional_args(call)
    first = keyword_value(call, "objs") if not args else args[0].value
    if _has_list_repetition(first):
        return True
    parts = _parts(call)
    keys = [expression_key(ctx.module, p) for p in parts]
    if len(set(keys)) < len(keys):
        return True
    flow = ctx.dataflow
    for index, part in enumerate(parts):
        whole = _whole(part)
        if whole is None:
            continue
        whole_bindings = set(flow.bindings(whole))
        if not whole_bindings or any(flow.is_constant(b) for b in whole_bindings):
            continue
        for other_index, other in enumerate(parts):
            if other_index != index and whole_bindings & flow.derivation(other):
                return True
    return False


def _has_list_repetition(expr: Optional[cst.BaseExpression]) -> bool:
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.operator, cst.Multiply) and isinstance(expr.left, (cst.List, cst.Tuple)):
            return True
        return _has_list_repetition(expr.left) or _has_list_repetition(expr.right)
    return False


def _whole(part: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`X`, `df`, `X.values`: a part that is a whole array rather than some of its rows."""
    if isinstance(part, cst.Name):
        return part
    if isinstance(part, cst.Attribute) and part.attr.value == "values" and isinstance(part.value, cst.Name):
        return part.value
    return None


__all__ = ["ResampleBeforeSplit"]
