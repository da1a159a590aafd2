"""Is a target categorical? Evidence from estimators, losses, metrics and label handling.

Rules that only make sense for classification (stratification, accuracy on imbalanced
classes) ask `TargetEvidence.kind(keys)` where `keys` are the expression keys of the target
and the names it flows into. The answer is CATEGORICAL or CONTINUOUS only when the code shows
it and nothing contradicts it; otherwise None, and the rule stays silent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.index import ModuleIndex
if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.dataflow import DataFlow
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.names import (
    argument,
    dotted_name,
    expression_key,
    keyword_value,
    last_name,
    positional_args,
    string_value,
)

CATEGORICAL = "categorical"
CONTINUOUS = "continuous"

ESTIMATOR_LIBRARIES = ("sklearn.", "xgboost.", "lightgbm.", "catboost.", "imblearn.")

CLASSIFIERS = {
    "LogisticRegression", "LogisticRegressionCV", "SVC", "LinearSVC", "NuSVC", "GaussianNB",
    "MultinomialNB", "BernoulliNB", "ComplementNB", "CategoricalNB", "Perceptron",
    "LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis", "NearestCentroid",
}
REGRESSORS = {
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
    "SVR", "LinearSVR", "NuSVR", "BayesianRidge", "ARDRegression", "KernelRidge", "Lars",
    "LassoLars", "OrthogonalMatchingPursuit", "PoissonRegressor", "GammaRegressor",
    "TweedieRegressor", "QuantileRegressor", "TheilSenRegressor", "RANSACRegressor",
}
CLASSIFICATION_METRICS = {
    "accuracy_score", "balanced_accuracy_score", "f1_score", "fbeta_score", "precision_score",
    "recall_score", "roc_auc_score", "classification_report", "confusion_matrix",
    "log_loss", "matthews_corrcoef", "cohen_kappa_score", "average_precision_score",
    "precision_recall_curve", "roc_curve", "precision_recall_fscore_support",
    "hamming_loss", "jaccard_score", "top_k_accuracy_score", "ConfusionMatrixDisplay",
}
REGRESSION_METRICS = {
    "mean_squared_error", "mean_absolute_error", "r2_score", "mean_absolute_percentage_error",
    "median_absolute_error", "explained_variance_score", "mean_squared_log_error",
    "root_mean_squared_error", "max_error",
}
# Calls whose argument is a class label vector.
LABEL_FUNCTIONS = {
    "sklearn.utils.class_weight.compute_class_weight": ("y", 2),
    "sklearn.utils.class_weight.compute_sample_weight": ("y", 1),
    "sklearn.utils.compute_class_weight": ("y", 2),
    "sklearn.utils.compute_sample_weight": ("y", 1),
    "numpy.bincount": ("x", 0),
    "collections.Counter": ("iterable", 0),
    "keras.utils.to_categorical": ("y", 0),
    "keras.utils.np_utils.to_categorical": ("y", 0),
    "pandas.factorize": ("values", 0),
    "pandas.get_dummies": ("data", 0),
}
# scikit-learn data sets whose target is class labels / a continuous value.
CLASSIFICATION_LOADERS = {
    "load_iris", "load_wine", "load_breast_cancer", "load_digits", "fetch_covtype",
    "fetch_20newsgroups", "fetch_20newsgroups_vectorized", "fetch_lfw_people", "fetch_olivetti_faces",
    "make_classification", "make_moons", "make_circles", "make_blobs", "make_gaussian_quantiles",
    "make_hastie_10_2",
}
REGRESSION_LOADERS = {
    "load_diabetes", "fetch_california_housing", "load_boston", "load_linnerud",
    "make_regression", "make_friedman1", "make_friedman2", "make_friedman3", "make_sparse_uncorrelated",
}
LABEL_ENCODERS = {"LabelEncoder", "LabelBinarizer", "OrdinalEncoder", "MultiLabelBinarizer"}
CLASSIFICATION_LOSSES = {
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy",
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "hinge", "categorical_hinge",
}
REGRESSION_LOSSES = {
    "mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error", "huber",
    "MeanSquaredError", "MeanAbsoluteError", "Huber", "log_cosh", "LogCosh",
}


@dataclass(frozen=True)
class EvidenceSite:
    """One piece of evidence: `kind` shown for the expression `key` at `node`. `defines` is
    the assigned name when the evidence is about the binding the statement creates
    (`y = LabelEncoder().fit_transform(...)`); otherwise the evidence is about the binding
    that `key`'s root name holds where `node` reads it."""

    key: str
    kind: str
    node: Optional[cst.CSTNode]
    scope: Optional[cst.CSTNode]  # the function the evidence is read in; None: module level
    defines: Optional[cst.Name] = None


# Decides whether a site is about the labels asked for (flow-sensitive callers pass one).
SiteFilter = Callable[[EvidenceSite], bool]


class TargetEvidence:
    """Module-wide table: expression key → the evidence sites that show a kind for it."""

    def __init__(self, module: cst.Module, index: ModuleIndex, imports: ImportTable,
                 flow: Optional["DataFlow"] = None) -> None:
        self._module = module
        # With the data flow, a name stands for the values it holds where it is read (a
        # notebook may rebind `model` from a regressor to a classifier); without it, for
        # every value it is ever assigned.
        self._flow = flow
        self._index = index
        self._imports = imports
        self._keys: Dict[cst.CSTNode, str] = {}
        # key -> scope of the evidence (a FunctionDef, or None for module level) -> kinds
        self._sites: Dict[str, List[EvidenceSite]] = defaultdict(list)
        self._local_names: Dict[cst.CSTNode, Set[str]] = {}
        self._assigned: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        self._collect_assignments()
        self._model_kinds = self._keras_model_kinds()
        for call in index.of_type(cst.Call):
            self._read_call(call)
        self._propagate_to_call_sites()

    # -- public ---------------------------------------------------------------------------

    def key(self, node: cst.CSTNode) -> str:
        # Memoized: rules compare many expressions many times, and each key is a codegen.
        found = self._keys.get(node)
        if found is None:
            found = self._keys[node] = expression_key(self._module, node)
        return found

    def kind(self, keys: Iterable[str], scope: Optional[cst.CSTNode] = None,
             about: Optional[SiteFilter] = None) -> Optional[str]:
        """The single kind the evidence shows for these keys, read from `scope` (a function,
        or None for module level): evidence about another function's local variable of the
        same name does not count, nor module evidence on a name the function rebinds.
        `about` keeps only the sites that are about the same binding of the labels (a
        notebook may rebind `y_train` to another data set in a later cell)."""
        kinds: Set[str] = set()
        for site in self.sites(keys, scope):
            if about is None or about(site):
                kinds.add(site.kind)
        return next(iter(kinds)) if len(kinds) == 1 else None

    def sites(self, keys: Iterable[str], scope: Optional[cst.CSTNode] = None) -> List[EvidenceSite]:
        """The evidence sites on these keys visible from `scope` (see `kind`)."""
        found: List[EvidenceSite] = []
        for key in dict.fromkeys(keys):
            root = _root_name(key)
            for site in self._sites.get(key, ()):
                evidence_scope = site.scope
                if evidence_scope is scope:
                    found.append(site)
                elif evidence_scope is None:
                    if not (type(scope) is cst.FunctionDef and root in self._locals(scope)):
                        found.append(site)
                elif type(evidence_scope) is cst.FunctionDef and root not in self._locals(evidence_scope):
                    found.append(site)
        return found

    def definitions(self, name: str) -> List[cst.BaseExpression]:
        """Values assigned to a plain name anywhere in the module."""
        return self._assigned.get(name, [])

    def estimator_kind(self, node: Optional[cst.CSTNode], depth: int = 0) -> Optional[str]:
        """CATEGORICAL for a classifier, CONTINUOUS for a regressor (constructed here or held
        by a name assigned from one), through pipelines and searches."""
        if node is None or depth > 4:
            return None
        if type(node) is cst.Name:
            values = self._flow.defining_values(node) if self._flow is not None else self.definitions(node.value)
            kinds = {self.estimator_kind(value, depth + 1) for value in values}
            kinds.discard(None)
            return kinds.pop() if len(kinds) == 1 else None
        if type(node) is not cst.Call:
            return None
        name = last_name(node)
        if name is None:
            return None
        if any(c.startswith(ESTIMATOR_LIBRARIES) for c in self._imports.candidates(node)):
            if name in CLASSIFIERS or name.endswith(("Classifier", "ClassifierCV")):
                return CATEGORICAL
            if name in REGRESSORS or name.endswith(("Regressor", "RegressorCV")):
                return CONTINUOUS
        if name == "fit" and type(node.func) is cst.Attribute:  # LogisticRegression().fit(...)
            return self.estimator_kind(node.func.value, depth + 1)
        if name == "make_pipeline":
            steps = positional_args(node)
            return self.estimator_kind(steps[-1].value, depth + 1) if steps else None
        if name == "Pipeline":
            steps = argument(node, 0, "steps")
            if type(steps) in (cst.List, cst.Tuple) and steps.elements:
                last = steps.elements[-1].value
                if type(last) is cst.Tuple and len(last.elements) == 2:
                    return self.estimator_kind(last.elements[1].value, depth + 1)
            return None
        if name in {"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV",
                    "HalvingRandomSearchCV", "CalibratedClassifierCV", "OneVsRestClassifier",
                    "BaggingClassifier", "MultiOutputClassifier"}:
            return self.estimator_kind(argument(node, 0, "estimator"), depth + 1)
        return None

    def model_kind(self, receiver: Optional[cst.CSTNode]) -> Optional[str]:
        """CATEGORICAL / CONTINUOUS for a Keras model compiled with a classification /
        regression loss in this file."""
        return self._compiled_kind(receiver, receiver) if receiver is not None else None

    # -- collection -----------------------------------------------------------------------

    def _collect_assignments(self) -> None:
        for assign in self._index.of_type(cst.Assign):
            for target in assign.targets:
                if type(target.target) is cst.Name:
                    self._assigned[target.target.value].append(assign.value)
                    self._read_label_producer(target.target, assign.value)
                self._read_loader(target.target, assign.value)
        for assign in self._index.of_type(cst.AnnAssign):
            if type(assign.target) is cst.Name and assign.value is not None:
                self._assigned[assign.target.value].append(assign.value)

    def _read_loader(self, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression) -> None:
        """`iris = load_iris()` (its `.target` holds classes), `X, y = make_moons(...)`,
        `housing = fetch_california_housing()` (a continuous target)."""
        if type(value) is not cst.Call:
            return
        loader = next((c.rsplit(".", 1)[-1] for c in self._imports.candidates(value)
                       if c.startswith("sklearn.datasets.")), None)
        if loader in CLASSIFICATION_LOADERS:
            kind = CATEGORICAL
        elif loader in REGRESSION_LOADERS:
            kind = CONTINUOUS
        else:
            return
        if type(target) is cst.Name:
            for key in (f"{target.value}.target", f"{target.value}['target']"):
                self._add(kind, key, value, defines=target)
        elif type(target) in (cst.Tuple, cst.List) and len(target.elements) == 2:
            labels = target.elements[1].value
            if type(labels) is cst.Name:
                self._add(kind, labels.value, value, defines=labels)

    def _read_label_producer(self, target: cst.Name, value: cst.BaseExpression) -> None:
        """`y = LabelEncoder().fit_transform(df.label)`, `y = df.label.astype("category")`."""
        name = target.value
        if type(value) is not cst.Call:
            return
        method = last_name(value)
        if method in ("fit_transform", "transform") and type(value.func) is cst.Attribute:
            encoder = value.func.value
            if type(encoder) is cst.Name:
                encoder_values = self.definitions(encoder.value)
                encoder = encoder_values[-1] if encoder_values else encoder
            if last_name(encoder) in LABEL_ENCODERS:
                self._add(CATEGORICAL, name, value, defines=target)
                args = positional_args(value)
                if args:
                    self._add(CATEGORICAL, self.key(args[0].value), value)
        elif method == "astype" and string_value(argument(value, 0, "dtype")) == "category":
            self._add(CATEGORICAL, name, value, defines=target)
        elif method in ("to_categorical", "factorize") and self._label_function_arg(value) is not None:
            self._add(CATEGORICAL, name, value, defines=target)

    def _keras_model_kinds(self) -> Dict[str, List[Tuple[int, str]]]:
        """model name -> (source position, kind) of each `compile` on it, in source order: a
        notebook may compile a regression model and later a classifier under one name."""
        kinds: Dict[str, List[Tuple[int, str]]] = defaultdict(list)
        for call in self._index.of_type(cst.Call):
            if last_name(call) != "compile" or type(call.func) is not cst.Attribute:
                continue
            model = dotted_name(call.func.value)
            loss = keyword_value(call, "loss")
            loss_name = string_value(loss) or last_name(loss)
            if model is None or loss_name is None:
                continue
            if loss_name in CLASSIFICATION_LOSSES:
                kinds[model].append((self._index.order(call), CATEGORICAL))
            elif loss_name in REGRESSION_LOSSES:
                kinds[model].append((self._index.order(call), CONTINUOUS))
        return kinds

    def _compiled_kind(self, receiver: cst.CSTNode, at: cst.CSTNode) -> Optional[str]:
        """The kind of the latest `compile` of this model before `at` (the only one if the
        model is compiled once, wherever that is)."""
        compiles = self._model_kinds.get(dotted_name(receiver) or "", [])
        if len(compiles) == 1:
            return compiles[0][1]
        position = self._index.order(at)
        before = [kind for order, kind in compiles if order < position]
        return before[-1] if before else None

    def _add(self, kind: str, key: str, node: Optional[cst.CSTNode] = None,
             defines: Optional[cst.Name] = None) -> None:
        scope = self._index.enclosing_function(node) if node is not None else None
        self._sites[key].append(EvidenceSite(key, kind, node, scope, defines))

    def _propagate_to_call_sites(self) -> None:
        """Evidence on a parameter inside a helper (`def fit_model(X, y): clf.fit(X, y)`)
        holds for the arguments of every call of the helper in this file."""
        functions = {f.name.value: f for f in self._index.of_type(cst.FunctionDef)
                     if type(self._index.enclosing_scope(f)) is not cst.ClassDef}
        calls: Dict[str, List[cst.Call]] = defaultdict(list)
        for call in self._index.of_type(cst.Call):
            if type(call.func) is cst.Name and call.func.value in functions:
                calls[call.func.value].append(call)
        for key, sites in list(self._sites.items()):
            for site in list(sites):
                scope = site.scope
                if type(scope) is not cst.FunctionDef or scope.name.value not in functions:
                    continue
                params = [p.name.value for p in (*scope.params.posonly_params, *scope.params.params)]
                if key not in params:
                    continue
                position = params.index(key)
                for call in calls[scope.name.value]:
                    argument_value = argument(call, position, key)
                    if argument_value is not None:
                        self._add(site.kind, self.key(argument_value), call)

    def _locals(self, function: cst.FunctionDef) -> Set[str]:
        cached = self._local_names.get(function)
        if cached is None:
            cached = {p.name.value for p in (*function.params.posonly_params, *function.params.params,
                                             *function.params.kwonly_params)}
            for assign in self._index.of_type(cst.Assign):
                if self._index.enclosing_function(assign) is function:
                    for target in assign.targets:
                        cached.update(n.value for n in _names_in(target.target))
            self._local_names[function] = cached
        return cached

    def _label_function_arg(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        for qualified in self._imports.candidates(call):
            spec = LABEL_FUNCTIONS.get(qualified)
            if spec is not None:
                return argument(call, spec[1], spec[0])
        return None

    def _read_call(self, call: cst.Call) -> None:
        name = last_name(call)
        if name is None:
            return
        label = self._label_function_arg(call)
        if label is not None:
            self._add(CATEGORICAL, self.key(label), call)
            return
        if name == "value_counts" and type(call.func) is cst.Attribute:
            self._add(CATEGORICAL, self.key(call.func.value), call)
            return
        if name in CLASSIFICATION_METRICS | REGRESSION_METRICS and any(
            c.startswith("sklearn.") for c in self._imports.candidates(call)
        ):
            kind = CATEGORICAL if name in CLASSIFICATION_METRICS else CONTINUOUS
            for arg in positional_args(call)[:2]:
                self._add(kind, self.key(arg.value), call)
            for keyword_name in ("y_true", "y_pred", "y_score"):
                value = keyword_value(call, keyword_name)
                if value is not None:
                    self._add(kind, self.key(value), call)
            return
        if name in ("fit", "score", "partial_fit") and type(call.func) is cst.Attribute:
            receiver = call.func.value
            kind = self.estimator_kind(receiver)
            if kind is None:
                kind = self._compiled_kind(receiver, call)
            target = argument(call, 1, "y")
            if kind is not None and target is not None:
                self._add(kind, self.key(target), call)
            return
        if name in ("cross_val_score", "cross_validate", "cross_val_predict", "learning_curve"):
            kind = self.estimator_kind(argument(call, 0, "estimator"))
            target = argument(call, 2, "y")
            if kind is not None and target is not None:
                self._add(kind, self.key(target), call)


_LEADING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=4096)  # asked for every key of every split: pairwise in a notebook
def _root_name(key: str) -> str:
    """`df` for `df['label']` / `df.label`, `y_train` for `y_train`."""
    head = _LEADING_NAME.match(key)
    return head.group(0) if head else key


def _names_in(target: cst.CSTNode):
    if type(target) is cst.Name:
        yield target
    elif type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from _names_in(element.value)
