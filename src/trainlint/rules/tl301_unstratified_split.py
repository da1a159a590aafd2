"""TL301 unstratified-split."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterator, List, Optional

import libcst as cst

from trainlint.analysis.context import FileContext
from trainlint.analysis.edits import add_keyword_argument
from trainlint.analysis.names import (
    assigned_targets,
    bool_value,
    is_none,
    keyword,
    keyword_value,
    positional_args,
)
from trainlint.analysis.targets import CATEGORICAL
from trainlint.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Rule

TRAIN_TEST_SPLIT = {"sklearn.model_selection.train_test_split"}


class UnstratifiedSplit(Rule):
    code = "TL301"
    name = "unstratified-split"
    severity = Severity.WARNING
    summary = "A classification target is split without stratification."
    message = (
        "classification target split without stratification: the class mix can differ "
        "between the splits, so their accuracies are not comparable; pass stratify=<target>"
    )
    triggers = ("train_test_split",)

    what_it_does = (
        "Flags `train_test_split` calls on a classification target that pass no `stratify=`. "
        "The rule needs evidence in the file that the target is categorical: a classifier "
        "fitted or scored on it, a classification metric or loss applied to it, class "
        "weights computed from it, `value_counts()` or `bincount` on it, or label encoding."
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
        "Safe: the fix passes `stratify=<target>` (or replaces an explicit `stratify=None`). "
        "It changes which rows land in each split, and so the figures, which is the intent: "
        "each split keeps the class mix of the whole."
    )
    references = (
        "https://scikit-learn.org/stable/modules/cross_validation.html#stratification",
        "https://scikit-learn.org/stable/modules/generated/sklearn.model_selection.train_test_split.html",
    )

    INVALID = (
        """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = RandomForestClassifier(n_estimators=200)
model.fit(X_train, y_train)
""",
        """\
import sklearn.model_selection as ms
from sklearn.metrics import accuracy_score

X_tr, X_te, y_tr, y_te = ms.train_test_split(features, labels, test_size=0.3)
print(accuracy_score(y_te, predict(X_te)))
""",
        """\
from sklearn.model_selection import train_test_split as tts

print(df["churn"].value_counts())
X_train, X_val, y_train, y_val = tts(df.drop(columns="churn"), df["churn"])
""",
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
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

# a time-ordered split cannot be stratified and is deliberate
X_train, X_test, y_train, y_test = train_test_split(X, y, shuffle=False)
LogisticRegression().fit(X_train, y_train)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        splits = [
            (call, [arg.value for arg in positional_args(call)])
            for call in ctx.index.of_type(cst.Call)
            if ctx.imports.matches(call, TRAIN_TEST_SPLIT)
        ]
        # Every split of the same array shares the evidence found on any of its outputs.
        outputs_of: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        for call, arrays in splits:
            outputs = _split_outputs(ctx, call, len(arrays))
            for position, array in enumerate(arrays):
                pair = outputs[2 * position : 2 * position + 2]
                outputs_of[ctx.targets.key(array)].extend(o for o in pair if o is not None)
        for call, arrays in splits:
            stratify = keyword_value(call, "stratify")
            if stratify is not None and not is_none(stratify):
                continue
            if bool_value(keyword_value(call, "shuffle")) is False:
                continue
            if len(arrays) < 2:
                continue  # a single frame: the target column is not visible here
            for array in arrays[1:]:
                keys = _target_keys(ctx, array, outputs_of[ctx.targets.key(array)])
                if ctx.targets.kind(keys) == CATEGORICAL:
                    yield self.report(
                        call, message=self._message_for(ctx.code(array)),
                        fix=_stratify_fix(ctx, call, array),
                    )
                    break

    def _message_for(self, target: str) -> str:
        return (
            "classification target split without stratification: the class mix can differ "
            "between the splits, so their accuracies are not comparable; "
            f"pass stratify={target}"
        )


def _stratify_fix(ctx: FileContext, call: cst.Call, target: cst.BaseExpression) -> Fix:
    """Pass `stratify=<target>` (replacing an explicit `stratify=None`)."""
    existing = keyword(call, "stratify")
    if existing is not None:
        edit = ctx.replace_edit(existing.value, target)
    else:
        edit = add_keyword_argument(ctx, call, "stratify", ctx.code(target))
    return Fix(edits=(edit,), safe=True, description=f"Pass stratify={ctx.code(target)}")


def _split_outputs(ctx: FileContext, call: cst.Call, n_arrays: int) -> List[Optional[cst.BaseExpression]]:
    """The names that receive the split arrays, in the order train_test_split returns them
    (a_train, a_test, b_train, b_test, ...); None where unknown."""
    parent = ctx.index.parent(call)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
        targets = list(assigned_targets(parent.targets[0].target))
        if len(targets) == 2 * n_arrays:
            return list(targets)
    return [None] * (2 * n_arrays)


def _target_keys(
    ctx: FileContext, target: cst.BaseExpression, outputs: List[cst.BaseExpression]
) -> List[str]:
    """Expression keys that stand for the same labels as `target`: the expression itself,
    what it was assigned from, names assigned from it, and the split outputs."""
    evidence = ctx.targets
    keys = _column_variants(evidence.key(target))
    if isinstance(target, cst.Name):
        for value in evidence.definitions(target.value):
            keys.extend(_column_variants(evidence.key(value)))
    keys.extend(evidence.key(output) for output in outputs)
    # Reverse: `y = df["label"]` elsewhere, when the split is given `df["label"]` itself.
    target_key = evidence.key(target)
    for assign in ctx.index.of_type(cst.Assign):
        if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
            if evidence.key(assign.value) == target_key:
                keys.append(assign.targets[0].target.value)
    return keys


def _column_variants(key: str) -> List[str]:
    """`df.label` and `df['label']` name the same column."""
    variants = [key]
    head, dot, attr = key.rpartition(".")
    if dot and head and attr.isidentifier():
        variants.append(f"{head}['{attr}']")
    if key.endswith("']") and "['" in key:
        head, _, rest = key.rpartition("['")
        column = rest[:-2]
        if column.isidentifier():
            variants.append(f"{head}.{column}")
    return variants


__all__ = ["UnstratifiedSplit"]
