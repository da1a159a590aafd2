"""Class imbalance the code admits to, and the classification metrics it reports.

*Evidence* of imbalance is something the author did because the classes are imbalanced:
class weights (`class_weight=`, `compute_class_weight`, a weighted `CrossEntropyLoss`),
`pos_weight`, a `WeightedRandomSampler`, over/under-sampling, weights derived from
`value_counts()`/`bincount`. *Accuracy sites* are where plain (micro) accuracy is computed
or declared. *Other metrics* are any sign of a metric that sees the minority class
(F1, precision/recall, AUC, balanced accuracy, a confusion matrix, a classification report,
macro-averaged accuracy) — matched broadly, because it only ever silences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Set

import libcst as cst

from trainlint.semantic.criteria import CLASS_WEIGHTED, POS_WEIGHT, WEIGHT, CriteriaTable
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import (
    argument, bool_value, dotted_name, is_none, keyword_value, last_name, nodes_in, positional_args,
    string_value,
)
from trainlint.vocab.class_balance import (
    IMBALANCE_KEYWORDS,
    RESAMPLERS,
    WEIGHT_FUNCTIONS,
    WEIGHTED_TORCH_LOSSES,
    WEIGHTING_CALLS,
)
from trainlint.vocab.roles import TRAIN, RoleWords, name_tokens

KERAS_ACCURACY_STRINGS = {
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
}
KERAS_ACCURACY_CLASSES = {
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
}
OTHER_METRIC_CALLS = {
    "f1_score", "fbeta_score", "precision_score", "recall_score", "roc_auc_score",
    "balanced_accuracy_score", "classification_report", "confusion_matrix",
    "ConfusionMatrixDisplay", "average_precision_score", "matthews_corrcoef",
    "cohen_kappa_score", "precision_recall_fscore_support", "roc_curve",
    "precision_recall_curve", "multilabel_confusion_matrix", "log_loss", "brier_score_loss",
    "top_k_accuracy_score", "hamming_loss", "jaccard_score",
}
# Words that name a metric beside accuracy, in identifiers and strings.
_OTHER_METRIC_WORDS = re.compile(
    r"(?<![a-z])(f1|fbeta|recall|precision|auc|auroc|roc|balanced[_ ]acc\w*|confusion|kappa|"
    r"mcc|sensitivity|specificity|prc|classification_report)(?![a-z])",
    re.IGNORECASE,
)
_TORCHMETRICS_CONTAINERS = {
    "MetricCollection", "MeanMetric", "SumMetric", "MaxMetric", "MinMetric", "CatMetric",
    "RunningMean", "RunningSum",
}
_COUNT_CALLS = {"value_counts", "bincount", "Counter", "unique"}


@dataclass(frozen=True)
class Site:
    node: cst.CSTNode
    what: str


class ImbalanceFacts:
    def __init__(self, module: cst.Module, index: ModuleIndex, imports: ImportTable,
                 criteria: CriteriaTable, words: RoleWords) -> None:
        self._module = module
        self._words = words
        self._index = index
        self._imports = imports
        self._criteria = criteria
        self.evidence: List[Site] = []
        self.accuracy: List[Site] = []
        self.other_metric = False
        self._count_names: Set[str] = set()
        self._hit_counters: Set[str] = set()
        self._collect()

    # -- collection -----------------------------------------------------------------------

    def _collect(self) -> None:
        for aug in self._index.of_type(cst.AugAssign):
            # `hits += (preds == y).sum().item()`, `n_ok += pred.eq(y).sum()`
            if type(aug.target) is cst.Name and type(aug.operator) is cst.AddAssign:
                if _has_equality(aug.value) and _contains_call(aug.value, {"sum"}):
                    self._hit_counters.add(aug.target.value)
        for call in self._index.of_type(cst.Call):
            if last_name(call) in _COUNT_CALLS:
                assign = self._index.enclosing(call, cst.Assign)
                for target in getattr(assign, "targets", ()):
                    if type(target.target) is cst.Name:
                        self._count_names.add(target.target.value)
        for call in self._index.of_type(cst.Call):
            self._read_call(call)
        for assign in self._index.of_type(cst.Assign):
            self._read_assignment(assign)
            self._read_accuracy_assignment(assign)
        for operation in self._index.of_type(cst.BinaryOperation):
            if type(operation.operator) is cst.Divide and (
                _counts_correct(operation.left) or _mentions(operation.left, self._hit_counters)
            ):
                self._add_manual_accuracy(operation)
        if not self.other_metric:
            self.other_metric = self._mentions_other_metric()

    def _read_call(self, call: cst.Call) -> None:
        name = last_name(call)
        if name is None:
            return
        candidates = self._imports.candidates(call)
        # evidence of imbalance
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in IMBALANCE_KEYWORDS:
                if not is_none(arg.value) and bool_value(arg.value) is not False:
                    self.evidence.append(Site(call, f"{arg.keyword.value}="))
            if arg.keyword is not None and arg.keyword.value == "is_unbalance" and bool_value(arg.value):
                self.evidence.append(Site(call, "is_unbalance=True"))
        if name in WEIGHT_FUNCTIONS:
            self.evidence.append(Site(call, name))
        elif name == "WeightedRandomSampler":
            self.evidence.append(Site(call, "WeightedRandomSampler"))
        elif name in RESAMPLERS or name in ("fit_resample", "fit_sample"):
            self.evidence.append(Site(call, "resampling"))
        elif name == "resample" and self._imports.matches(call, {"sklearn.utils.resample"}):
            self.evidence.append(Site(call, "resampling"))
        spec = self._criteria.loss_spec(call)
        if spec is not None:
            if POS_WEIGHT in spec.weighting:
                self.evidence.append(Site(call, "pos_weight"))
            elif WEIGHT in spec.weighting and spec.family in CLASS_WEIGHTED:
                self.evidence.append(Site(call, "class weights in the loss"))
        # metrics
        if name in OTHER_METRIC_CALLS:
            self.other_metric = True
        elif name == "accuracy_score":
            truth = argument(call, 0, "y_true")
            if self._words.name_role(dotted_name(truth)) != TRAIN:
                self.accuracy.append(Site(call, "accuracy_score"))
        elif name == "compile" and type(call.func) is cst.Attribute:
            self._read_keras_metrics(call)
        elif any(c.startswith("torchmetrics.") for c in candidates):
            self._read_torchmetrics(call, name)
        elif name in ("load", "load_metric") and positional_args(call):
            metric = string_value(positional_args(call)[0].value)
            if metric == "accuracy":
                self.accuracy.append(Site(call, "accuracy"))
            elif metric is not None:
                self.other_metric = True

    def _read_keras_metrics(self, call: cst.Call) -> None:
        declared = []
        for keyword_name in ("metrics", "weighted_metrics"):
            value = keyword_value(call, keyword_name)
            if value is None:
                continue
            if type(value) is cst.Name:
                definitions = self._definitions(value.value)
                value = definitions[0] if len(definitions) == 1 else None
            if type(value) not in (cst.List, cst.Tuple):
                self.other_metric = True  # cannot see what is declared: assume the best
                continue
            for element in value.elements:
                item = element.value
                text = string_value(item)
                if text is not None:
                    declared.append(text in KERAS_ACCURACY_STRINGS)
                elif type(item) in (cst.Call, cst.Attribute, cst.Name):
                    declared.append(last_name(item) in KERAS_ACCURACY_CLASSES)
                else:
                    declared.append(False)
        if declared and not all(declared):
            self.other_metric = True
        elif declared:
            self.accuracy.append(Site(call, "compile(metrics=['accuracy'])"))

    def _read_torchmetrics(self, call: cst.Call, name: str) -> None:
        average = string_value(keyword_value(call, "average"))
        if name in ("Accuracy", "accuracy", "BinaryAccuracy", "binary_accuracy"):
            plain = average in (None, "micro") and not is_none(keyword_value(call, "average"))
        elif name in ("MulticlassAccuracy", "MultilabelAccuracy", "multiclass_accuracy"):
            plain = average == "micro"  # these default to macro averaging
        else:
            if name not in _TORCHMETRICS_CONTAINERS:
                self.other_metric = True
            return
        if plain:
            self.accuracy.append(Site(call, f"torchmetrics {name}"))
        else:
            self.other_metric = True

    def _read_accuracy_assignment(self, assign: cst.Assign) -> None:
        """`acc = (preds == labels).float().mean()`."""
        names = [n for t in assign.targets for n in _names(t.target)]
        if not any({"acc", "accuracy"} & set(name_tokens(n)) for n in names):
            return
        if any(self._words.name_role(n) == TRAIN for n in names):
            return
        if _contains_call(assign.value, {"mean"}) and _has_equality(assign.value):
            statement = self._index.statement_of(assign)
            if not any(site.node is statement for site in self.accuracy):
                self.accuracy.append(Site(statement, "mean of correct predictions"))

    def _read_assignment(self, assign: cst.Assign) -> None:
        """`weights = 1.0 / df.label.value_counts()`, `w = len(y) / np.bincount(y)`."""
        names = [t.target.value for t in assign.targets if type(t.target) is cst.Name]
        if not any("weight" in name_tokens(n) or "weights" in name_tokens(n) for n in names):
            return
        if _contains_call(assign.value, _COUNT_CALLS) or _mentions(assign.value, self._count_names):
            self.evidence.append(Site(assign, "weights from class counts"))

    def _add_manual_accuracy(self, division: cst.BinaryOperation) -> None:
        statement = self._index.statement_of(division)
        if any(site.node is statement for site in self.accuracy):
            return
        if any(self._words.name_role(n) == TRAIN for n in _names(division.left)):
            return
        function = self._index.enclosing_function(division)
        if function is not None and self._words.name_role(function.name.value) == TRAIN:
            return  # a training-progress figure, not the evaluation metric
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                if type(small) is cst.Assign:
                    targets = [dotted_name(t.target) for t in small.targets]
                    if any(self._words.name_role(t) == TRAIN for t in targets if t):
                        return
        self.accuracy.append(Site(statement, "correct / total"))

    def weighting_by_import(self) -> Optional[str]:
        """The first weighted sampler or class-weight function resolved through the imports,
        or torch loss given `weight=` / `pos_weight=`: narrower than `evidence` (no bare
        keywords, no resampling), what a random_split must see to be called imbalanced."""
        for call in self._index.of_type(cst.Call):
            candidates = self._imports.candidates(call)
            for qualified in candidates:
                if qualified in WEIGHTING_CALLS:
                    return WEIGHTING_CALLS[qualified]
            name = last_name(call)
            if name in WEIGHTED_TORCH_LOSSES and any(c.startswith("torch.") for c in candidates):
                for keyword_name in ("weight", "pos_weight"):
                    value = keyword_value(call, keyword_name)
                    if value is not None and not is_none(value):
                        return f"{name}({keyword_name}=...)"
        return None

    def _mentions_other_metric(self) -> bool:
        """Identifiers the code defines or strings it prints that name another metric."""
        for assign in self._index.of_type(cst.Assign):
            for target in assign.targets:
                for name in _names(target.target):
                    if _OTHER_METRIC_WORDS.search(name):
                        return True
        for function in self._index.of_type(cst.FunctionDef):
            if _OTHER_METRIC_WORDS.search(function.name.value):
                return True
        for string in self._index.of_type(cst.SimpleString):
            if type(self._index.parent(string)) is cst.Expr:
                continue  # docstrings describe, they do not report
            text = string.value.strip("'\"rbfuRBFU")
            if _OTHER_METRIC_WORDS.search(text.replace("-", "_")):
                return True
        for part in self._index.of_type(cst.FormattedStringText):
            if _OTHER_METRIC_WORDS.search(part.value):
                return True
        return False

    def _definitions(self, name: str) -> List[cst.BaseExpression]:
        values = []
        for assign in self._index.of_type(cst.Assign):
            for target in assign.targets:
                if type(target.target) is cst.Name and target.target.value == name:
                    values.append(assign.value)
        return values


def _contains_call(node: cst.CSTNode, names: Set[str]) -> bool:
    return any(type(n) is cst.Call and last_name(n) in names for n in nodes_in(node))


def _names(node: cst.CSTNode) -> List[str]:
    """Identifiers in an expression: names and attribute names."""
    found: List[str] = []
    for current in nodes_in(node):
        if type(current) is cst.Name:
            found.append(current.value)
    return found


def _mentions(node: cst.CSTNode, names: Set[str]) -> bool:
    return bool(names) and any(name in names for name in _names(node))


def _counts_correct(numerator: cst.CSTNode) -> bool:
    """The numerator counts correct predictions: `correct`, `100 * n_correct`,
    `running_corrects.double()`."""
    return any("correct" in name.lower() for name in _names(numerator))


def _has_equality(node: cst.CSTNode) -> bool:
    for current in nodes_in(node):
        if type(current) is cst.ComparisonTarget and type(current.operator) is cst.Equal:
            return True
        if type(current) is cst.Call and last_name(current) == "eq":
            return True
    return False
