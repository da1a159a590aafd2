"""TL301 unstratified-split."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterator, List, Optional

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.edits import add_keyword_argument
from trainlint.semantic.names import (
    assigned_targets,
    bool_value,
    is_none,
    keyword,
    keyword_value,
    last_name,
    positional_args,
    string_value,
)
from trainlint.semantic.targets import CATEGORICAL
from trainlint.core.diagnostics import Fix, Severity
from trainlint.vocab.words import CATEGORICAL_WORDS
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
    triggers = ("train_test_split", "KFold", "ShuffleSplit", "random_split")
    requires = (
        CATEGORICAL_WORDS + ("Weight",),  # evidence that the target is categorical, or class weights
        ("train_test_split", "KFold", "ShuffleSplit", "weight", "Weight"),
        ("random_split",) + CATEGORICAL_WORDS,
    )
    # Every finding is reported on, or starts from, a train_test_split / KFold / ShuffleSplit /
    # RepeatedKFold / random_split call that ImportTable resolves (anchors/splits.py).
    anchors = ("splitter_call",)

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

def fit_forest(features, labels):
    return RandomForestClassifier(n_estimators=200).fit(features, labels)

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
forest = fit_forest(X_train, y_train)
""",
        """\
from sklearn.model_selection import KFold, cross_val_score
from sklearn.ensemble import GradientBoostingClassifier

cv = KFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(GradientBoostingClassifier(), X, y, cv=cv, scoring="accuracy")
""",
        """\
from sklearn.model_selection import ShuffleSplit
from sklearn.linear_model import LogisticRegression

for train_idx, val_idx in ShuffleSplit(n_splits=10, test_size=0.2).split(X):
    clf = LogisticRegression(max_iter=1000).fit(X[train_idx], y[train_idx])
    print(clf.score(X[val_idx], y[val_idx]))
""",
        """\
import torch
from torch import nn
from torch.utils.data import random_split
from torchvision import datasets

full = datasets.ImageFolder("xray/", transform=tfm)
train_ds, val_ds = random_split(full, [0.8, 0.2])
criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 6.0]))  # pneumonia cases are rare
""",
        """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

train_df, test_df = train_test_split(df, test_size=0.2, random_state=7)
clf = RandomForestClassifier().fit(train_df[features], train_df["churned"])
""",
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
                if ctx.targets.kind(keys, ctx.index.enclosing_function(call)) == CATEGORICAL:
                    yield self.report(
                        call, message=self._message_for(ctx.code(array)),
                        fix=_stratify_fix(ctx, call, array),
                    )
                    break

        yield from self._splitters(ctx)
        yield from self._random_splits(ctx)
        yield from self._single_frames(ctx, splits)

    # -- KFold / ShuffleSplit where a stratified splitter fits ------------------------------

    def _splitters(self, ctx: FileContext) -> Iterator[Finding]:
        if "MultiLabelBinarizer" in ctx.text or "multilabel" in ctx.text.lower():
            return  # StratifiedKFold does not take multilabel targets
        constructions = [c for c in ctx.index.of_type(cst.Call) if ctx.imports.matches(c, UNSTRATIFIED_SPLITTERS)]
        if not constructions:
            return
        names: Dict[str, List[cst.Name]] = defaultdict(list)
        for node in ctx.index.of_type(cst.Name):
            names[node.value].append(node)
        for construction in constructions:
            if self._used_for_classification(ctx, construction, names):
                name = ctx.imports.qualified_name(construction) or "KFold"
                short = name.rsplit(".", 1)[-1]
                yield self.report(construction, message=(
                    f"{short} on a classification target does not stratify: the class mix differs "
                    f"between folds, so fold scores are not comparable; use {STRATIFIED[short]}"
                ))

    def _used_for_classification(self, ctx: FileContext, construction: cst.Call, names) -> bool:
        uses = self._uses(ctx, construction, names)
        for use, kind in uses:
            if kind == "cv":
                call = use
                estimator = positional_args(call)[0].value if positional_args(call) else keyword_value(call, "estimator")
                if ctx.targets.estimator_kind(estimator) == CATEGORICAL:
                    return True
                target = positional_args(call)[2].value if len(positional_args(call)) > 2 else keyword_value(call, "y")
                if target is not None and ctx.targets.kind(_target_keys(ctx, target, []), ctx.index.enclosing_function(use)) == CATEGORICAL:
                    return True
            elif kind == "split":
                args = positional_args(use)
                if len(args) >= 2 and ctx.targets.kind(_target_keys(ctx, args[1].value, []), ctx.index.enclosing_function(use)) == CATEGORICAL:
                    return True
                loop = ctx.index.enclosing(use, cst.For)
                if loop is not None and ctx.index.is_inside(use, loop.iter):
                    for call in ctx.index.of_type(cst.Call):
                        if ctx.index.is_inside(call, loop.body) and _is_fit(call):
                            receiver = call.func.value  # type: ignore[attr-defined]
                            if ctx.targets.estimator_kind(receiver) == CATEGORICAL or ctx.targets.model_kind(receiver) == CATEGORICAL:
                                return True
        return False

    def _uses(self, ctx: FileContext, construction: cst.Call, names):
        """Where the splitter goes: `cv=` of a cross-validation call or search, `.split(...)`."""
        expressions: List[cst.CSTNode] = [construction]
        parent = ctx.index.parent(construction)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            target = parent.targets[0].target
            binding = ctx.dataflow.binding_of_target.get(target)
            expressions.extend(n for n in names[target.value] if n is not target and binding in ctx.dataflow.resolve_name(n.value, n))
        found = []
        for expr in expressions:
            parent = ctx.index.parent(expr)
            if isinstance(parent, cst.Arg) and parent.keyword is not None and parent.keyword.value == "cv":
                call = ctx.index.parent(parent)
                if isinstance(call, cst.Call):
                    if last_name(call) in SEARCHES:
                        for fit in ctx.index.of_type(cst.Call):
                            if _is_fit(fit) and call in ctx.dataflow.defining_values(fit.func.value):  # type: ignore[attr-defined]
                                found.append((_as_cv_call(fit, call), "cv"))
                    found.append((call, "cv"))
            elif isinstance(parent, cst.Attribute) and parent.attr.value == "split":
                call = ctx.index.parent(parent)
                if isinstance(call, cst.Call):
                    found.append((call, "split"))
        return found

    # -- torch random_split on an imbalanced labelled dataset --------------------------------

    def _random_splits(self, ctx: FileContext) -> Iterator[Finding]:
        calls = [c for c in ctx.index.of_type(cst.Call) if ctx.imports.matches(c, RANDOM_SPLIT)]
        if not calls:
            return
        evidence = _imbalance_evidence(ctx)
        if evidence is None:
            return
        for call in calls:
            yield self.report(call, message=(
                f"random_split of a labelled dataset whose classes are imbalanced ({evidence}): the "
                "class mix can differ between the parts, so their accuracies are not comparable; "
                "split indices with train_test_split(..., stratify=labels) and wrap them in Subset"
            ))

    # -- train_test_split(df) with the target column visible elsewhere ------------------------

    def _single_frames(self, ctx: FileContext, splits) -> Iterator[Finding]:
        for call, arrays in splits:
            if len(arrays) != 1 or not isinstance(arrays[0], cst.Name):
                continue
            stratify = keyword_value(call, "stratify")
            if (stratify is not None and not is_none(stratify)) or bool_value(keyword_value(call, "shuffle")) is False:
                continue
            frame = arrays[0].value
            names = {frame} | {o.value for o in _split_outputs(ctx, call, 1) if isinstance(o, cst.Name)}
            if len(names) < 3:
                continue
            columns = set()
            for subscript in ctx.index.of_type(cst.Subscript):
                if isinstance(subscript.value, cst.Name) and subscript.value.value in names and len(subscript.slice) == 1:
                    index = subscript.slice[0].slice
                    label = string_value(index.value) if isinstance(index, cst.Index) else None
                    if label is not None:
                        columns.add(label)
            scope = ctx.index.enclosing_function(call)
            categorical = [c for c in sorted(columns) if self._column_kind(ctx, names, c, scope) == CATEGORICAL]
            if len(categorical) != 1:
                continue
            column = categorical[0]
            target = cst.parse_expression(f"{frame}[{column!r}]".replace("'", '"'))
            yield self.report(call, message=self._message_for(ctx.module.code_for_node(target)),
                              fix=_stratify_fix(ctx, call, target))

    def _column_kind(self, ctx: FileContext, names, column: str, scope):
        keys: List[str] = []
        for name in names:
            keys.extend(_column_variants(f"{name}['{column}']"))
        wanted = set(keys)
        for assign in ctx.index.of_type(cst.Assign):
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
                if ctx.targets.key(assign.value) in wanted:
                    keys.append(assign.targets[0].target.value)
        return ctx.targets.kind(keys, scope)

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
    keys.extend(_nested_part_names(ctx, target))
    return keys


def _nested_part_names(ctx: FileContext, target: cst.BaseExpression) -> List[str]:
    """Names of the parts of later splits of the same labels (data-flow): evidence on
    `y_train` counts for `y` when `y` -> `y_trval` -> `y_train` through two splits."""
    flow = ctx.dataflow
    frontier = set(flow.bindings(target))
    names: List[str] = []
    seen = set()
    while frontier:
        found = set()
        for split in ctx.splits.splits:
            if id(split) in seen or split.kind not in ("train_test_split", "ordered_split"):
                continue
            if any(frontier & set(flow.bindings(expr)) for expr in split.inputs):
                seen.add(id(split))
                for part in split.parts:
                    if part.name != "<part>" and part in _label_parts(flow, split, frontier):
                        names.append(part.name)
                        found.add(part)
        frontier = found
    return names


def _label_parts(flow, split, labels) -> list:
    """The parts of a train_test_split that come from the `labels` input (a_train, a_test
    for input a: positions 2i, 2i+1)."""
    parts = []
    for position, expr in enumerate(split.inputs):
        if labels & set(flow.bindings(expr)):
            parts.extend(p for p in split.parts if split.parts.index(p) // 2 == position)
    return parts


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


UNSTRATIFIED_SPLITTERS = {
    "sklearn.model_selection.KFold", "sklearn.model_selection.ShuffleSplit",
    "sklearn.model_selection.RepeatedKFold",
}
STRATIFIED = {
    "KFold": "StratifiedKFold", "ShuffleSplit": "StratifiedShuffleSplit",
    "RepeatedKFold": "RepeatedStratifiedKFold",
}
SEARCHES = {"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV"}
RANDOM_SPLIT = {"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"}
IMBALANCE_CALLS = {
    "torch.utils.data.WeightedRandomSampler": "WeightedRandomSampler",
    "torch.utils.data.sampler.WeightedRandomSampler": "WeightedRandomSampler",
    "sklearn.utils.class_weight.compute_class_weight": "compute_class_weight",
    "sklearn.utils.compute_class_weight": "compute_class_weight",
}
WEIGHTED_LOSSES = {"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "cross_entropy",
                   "nll_loss", "binary_cross_entropy_with_logits"}


def _is_fit(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "fit"


def _as_cv_call(fit: cst.Call, search: cst.Call) -> cst.Call:
    """`search.fit(X, y)` read like `cross_val_score(estimator, X, y)`."""
    estimator = positional_args(search)[0].value if positional_args(search) else keyword_value(search, "estimator")
    args = [cst.Arg(estimator)] if estimator is not None else []
    return fit.with_changes(args=[*args, *fit.args]) if estimator is not None else search


def _imbalance_evidence(ctx: FileContext) -> Optional[str]:
    """What in the file says the classes are imbalanced (weights, weighted sampling)."""
    for call in ctx.index.of_type(cst.Call):
        for qualified in ctx.imports.candidates(call):
            if qualified in IMBALANCE_CALLS:
                return IMBALANCE_CALLS[qualified]
        name = last_name(call)
        if name in WEIGHTED_LOSSES and any(c.startswith("torch.") for c in ctx.imports.candidates(call)):
            for keyword_name in ("weight", "pos_weight"):
                value = keyword_value(call, keyword_name)
                if value is not None and not is_none(value):
                    return f"{name}({keyword_name}=...)"
    return None


__all__ = ["UnstratifiedSplit"]
