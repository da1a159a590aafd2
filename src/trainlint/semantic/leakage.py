"""Fits, statistics and resamplings, and whether they saw rows that a split later holds out.

Built on the data-flow (`analysis/dataflow.py`) and the splits (`analysis/splits.py`):

- `fits`: every `fit`/`fit_transform`/`fit_on_texts`/`adapt`/`fit_resample` call, with the
  class of the fitted object when the file shows it (a constructor assigned to the name).
- `leaks_into(data, produced)`: the split whose held-out rows `data` covers and which the
  result of the fit (`produced`: the fitted state or output) reaches, or None.
- `normalisations`: statistics (`X.mean()`, `np.std(X, axis=0)`, `df.fillna(df.median())`)
  used to normalise or fill the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set

import libcst as cst

from trainlint.semantic.dataflow import DATA_KINDS, ROWS, STATE, STATE_METHODS, Binding
from trainlint.semantic.names import (
    argument,
    bool_value,
    keyword_value,
    last_name,
    positional_args,
    string_value,
    walk,
)
from trainlint.semantic.splits import Split

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

TRANSFORMERS = {
    # scaling, imputation, encoding, discretisation
    "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "SplineTransformer", "SimpleImputer", "KNNImputer",
    "IterativeImputer", "OneHotEncoder", "OrdinalEncoder", "TargetEncoder",
    # decomposition and selection
    "PCA", "IncrementalPCA", "KernelPCA", "TruncatedSVD", "NMF", "FastICA", "FactorAnalysis",
    "SparsePCA", "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr", "SelectFwe",
    "GenericUnivariateSelect", "VarianceThreshold", "RFE", "SelectFromModel",
    "SequentialFeatureSelector",
    # text
    "TfidfVectorizer", "CountVectorizer", "TfidfTransformer", "DictVectorizer", "Tokenizer",
    "TextVectorization", "Normalization", "StringLookup", "IntegerLookup", "Discretization",
    "CategoryEncoding",
    # composites of transformers
    "ColumnTransformer", "make_column_transformer", "FeatureUnion", "make_union",
}
COMPOSITES = {"Pipeline", "make_pipeline"}
TRANSFORMER_LIBRARIES = (
    "sklearn.", "keras.", "tensorflow.", "category_encoders.", "feature_engine.", "tf.",
)
SAMPLER_LIBRARIES = ("imblearn.",)
STATISTICS = {"mean", "std", "var", "min", "max", "median", "quantile", "percentile",
              "nanmean", "nanstd", "nanmin", "nanmax", "nanmedian", "amin", "amax", "ptp", "mode"}
TRANSFORM_METHODS = {"transform", "texts_to_sequences", "texts_to_matrix"}


@dataclass(eq=False)
class Fit:
    call: cst.Call
    method: str
    receiver: cst.BaseExpression
    cls: Optional[str]  # the fitted object's class, when the file constructs it
    category: Optional[str]  # "transformer" | "sampler" | None
    data: Optional[cst.BaseExpression]
    state: Optional[Binding]


@dataclass(eq=False)
class Normalisation:
    statistic: cst.Call  # `X.mean()` / `np.std(X, axis=0)` / `df["a"].median()`
    target: cst.CSTNode  # the expression normalised or filled with it
    result: cst.CSTNode  # the binary operation or fill call that uses the statistic


class LeakageFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        self.flow = ctx.dataflow
        self.splits = ctx.splits
        self._input_derivations: Dict[int, Set[Binding]] = {}
        self._full_derivations: Dict[int, Set[Binding]] = {}
        self.fits: List[Fit] = [fit for fit in self._fits()]
        self._transform_calls = [
            call for call in ctx.index.of_type(cst.Call)
            if last_name(call) in TRANSFORM_METHODS | STATE_METHODS and isinstance(call.func, cst.Attribute)
        ]

    # -- fitted objects -----------------------------------------------------------------

    def _fits(self):
        from trainlint.semantic.dataflow import FIT_METHODS

        for call in self.ctx.index.of_type(cst.Call):
            method = last_name(call)
            if method not in FIT_METHODS or not isinstance(call.func, cst.Attribute):
                continue
            receiver = call.func.value
            cls, category = self.classify(receiver)
            data = argument(call, 0, "X")
            if data is None:
                data = keyword_value(call, "texts") or keyword_value(call, "data") or keyword_value(call, "x")
            yield Fit(call, method, receiver, cls, category, data, self.flow.call_state(call))

    def classify(self, receiver: cst.BaseExpression):
        """(class name, "transformer" / "sampler" / None) of a fitted object."""
        for value in self.flow.defining_values(receiver):
            if not isinstance(value, cst.Call):
                continue
            name = last_name(value)
            candidates = self.ctx.imports.candidates(value)
            if name is None or not candidates:
                continue
            if any(c.startswith(SAMPLER_LIBRARIES) for c in candidates):
                if name not in ("Pipeline", "make_pipeline"):
                    return name, "sampler"
            if not any(c.startswith(TRANSFORMER_LIBRARIES) for c in candidates):
                continue
            if name in TRANSFORMERS and not _stateless_configuration(name, value):
                return name, "transformer"
            if name in COMPOSITES and self._last_step_is_transformer(value):
                return name, "transformer"
            return name, None
        return None, None

    def _last_step_is_transformer(self, pipeline: cst.Call) -> bool:
        if last_name(pipeline) == "make_pipeline":
            steps = positional_args(pipeline)
            last = steps[-1].value if steps else None
        else:
            listed = argument(pipeline, 0, "steps")
            last = None
            if isinstance(listed, (cst.List, cst.Tuple)) and listed.elements:
                pair = listed.elements[-1].value
                if isinstance(pair, cst.Tuple) and len(pair.elements) == 2:
                    last = pair.elements[1].value
        return last is not None and self.classify(last)[1] == "transformer"

    # -- the leak question -----------------------------------------------------------------

    def covered_rows(self, data: Optional[cst.CSTNode]) -> Set[Binding]:
        """The whole-data bindings `data` reads all rows of, or empty when `data` is one
        sample or already a part of a split."""
        cover = self.flow.coverage(data)
        if any(b.split is not None for b in cover):
            return set()
        return cover

    def input_rows(self, split: Split) -> Set[Binding]:
        cached = self._input_derivations.get(id(split))
        if cached is None:
            cached = set()
            for expr in split.inputs:
                cached |= self.flow.derivation(expr)
            self._input_derivations[id(split)] = cached
        return cached

    def input_influences(self, split: Split) -> Set[Binding]:
        """Everything the split inputs were computed from, fitted states included."""
        cached = self._full_derivations.get(id(split))
        if cached is None:
            cached = set()
            for expr in split.inputs:
                cached |= self.flow.derivation(expr, DATA_KINDS | {STATE})
            self._full_derivations[id(split)] = cached
        return cached

    def split_covering(self, cover: Set[Binding], reaches: Iterable[Binding]) -> Optional[Split]:
        """The first split whose inputs hold rows of `cover` and are shaped by one of
        `reaches` (a fitted state, a transformed output, a resampled array)."""
        reaches = set(reaches)
        if not cover:
            return None
        for split in self.splits.splits:
            if not (cover & self.input_rows(split)):
                continue
            if reaches & self.input_influences(split):
                return split
        return None

    def split_transformed_after(self, cover: Set[Binding], state: Optional[Binding]) -> Optional[Split]:
        """A split of the covered rows whose parts are transformed by the fitted state:
        `scaler.fit(X)` ... `X_tr, X_te = train_test_split(X)` ... `scaler.transform(X_te)`."""
        if state is None or not cover:
            return None
        for call in self._transform_calls:
            receiver = call.func.value  # type: ignore[attr-defined]
            if state not in self.flow.ancestry(self.flow.bindings(receiver, (ROWS, STATE)), (STATE, ROWS)):
                continue
            args = positional_args(call)
            if not args:
                continue
            for binding in sorted(self.flow.derivation(args[0].value), key=lambda b: b.order):
                split = binding.split
                if split is not None and cover & self.input_rows(split):
                    return split
        return None

    # -- statistics used to normalise --------------------------------------------------------

    def normalisations(self) -> List[Normalisation]:
        found: List[Normalisation] = []
        for operation in self.ctx.index.of_type(cst.BinaryOperation):
            if not isinstance(operation.operator, (cst.Subtract, cst.Divide)):
                continue
            for statistic in self._statistics_in(operation.right):
                found.append(Normalisation(statistic, operation.left, operation))
        for call in self.ctx.index.of_type(cst.Call):
            if last_name(call) == "fillna" and isinstance(call.func, cst.Attribute):
                value = argument(call, 0, "value")
                for statistic in self._statistics_in(value):
                    found.append(Normalisation(statistic, call.func.value, call))
        return found

    def _statistics_in(self, expr: Optional[cst.CSTNode], depth: int = 2) -> List[cst.Call]:
        """Column statistics in an expression, directly or through a name assigned one."""
        found: List[cst.Call] = []
        if expr is None:
            return found
        for node in walk(expr):
            if isinstance(node, cst.Call) and self.is_column_statistic(node):
                found.append(node)
            elif isinstance(node, cst.Name) and depth > 0:
                for binding in self.flow.resolve_name(node.value, node):
                    if binding.how == "assign" and binding.value is not None and binding.scope == self.flow.scope_of(node):
                        found.extend(self._statistics_in(binding.value, depth - 1))
        return found

    def is_column_statistic(self, call: cst.Call) -> bool:
        """`X.mean()`, `df.std(axis=0)`, `np.max(X)`: over rows, not per sample (`axis=1`)."""
        name = last_name(call)
        if name not in STATISTICS:
            return False
        axis = keyword_value(call, "axis") or keyword_value(call, "dim")
        candidates = self.ctx.imports.candidates(call)
        is_function = any(c.startswith(("numpy.", "torch.")) for c in candidates)
        if is_function:
            if not call.args:
                return False
            if axis is None and len(positional_args(call)) > 1:
                axis = positional_args(call)[1].value
        elif not isinstance(call.func, cst.Attribute) or candidates:
            return False
        elif axis is None and positional_args(call) and name not in ("quantile",):
            axis = positional_args(call)[0].value
        if axis is None:
            return True
        if isinstance(axis, cst.Integer):
            return axis.evaluated_value == 0
        if isinstance(axis, cst.Tuple):
            return any(isinstance(e.value, cst.Integer) and e.value.evaluated_value == 0 for e in axis.elements)
        return string_value(axis) == "index"

    def statistic_data(self, call: cst.Call) -> Optional[cst.CSTNode]:
        if isinstance(call.func, cst.Attribute) and not self.ctx.imports.candidates(call):
            return call.func.value
        return call.args[0].value if call.args else None


def _stateless_configuration(name: str, constructor: cst.Call) -> bool:
    """A character vocabulary learns nothing about the rows (`Tokenizer(char_level=True)`)."""
    if name == "Tokenizer" and bool_value(keyword_value(constructor, "char_level")):
        return True
    if name == "TextVectorization" and string_value(keyword_value(constructor, "split")) == "character":
        return True
    if name in ("CountVectorizer", "TfidfVectorizer") and string_value(keyword_value(constructor, "analyzer")) in ("char", "char_wb"):
        return False  # character n-grams still learn document frequencies
    return False


__all__ = ["LeakageFacts", "Fit", "Normalisation", "TRANSFORMERS"]
