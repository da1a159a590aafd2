"""Fits, statistics and resamplings, and whether they saw rows that a split later holds out.

Built on the data-flow (`analysis/dataflow.py`) and the splits (`analysis/splits.py`):

- `fits`: every `fit`/`fit_transform`/`fit_on_texts`/`adapt`/`fit_resample` call, with the
  class of the fitted object when the file shows it (a constructor assigned to the name).
- `leaks_into(data, produced)`: the split whose held-out rows `data` covers and which the
  result of the fit (`produced`: the fitted state or output) reaches, or None.
- `normalisations`: statistics (`X.mean()`, `np.std(X, axis=0)`, `df.fillna(df.median())`)
  used to normalise or fill the same data: in arithmetic, as the value that fills missing
  entries (`fillna`, `x if pd.isnull(x) else stat`, `np.where(df.c.isna(), stat, df.c)`,
  `df.loc[df.c.isna(), "c"] = stat`), or as the mean/std of a `Normalize` transform given to a
  dataset. Statistics may be per group: `df.groupby(k)[c].median()`,
  `.agg(lambda s: s.mode()[0])`.

TL303 asks its own questions (`fitted_rows`, `split_shaped_by`), which differ from TL304's
(`covered_rows`, `split_covering`):
- a fit of a split part (`scaler.fit_transform(X_train)`) leaks into a *later* split of that
  part: the folds of a cross-validation or search over it (a validation slice or Keras
  `validation_split` of it is left alone: a small leak, accepted in review);
- a row subset picked by a slice or a role index (`X[:n]`, `pool.data[train_idx]`) is not
  all the rows of the data it was picked from;
- a dataset that loads the same source again (`MNIST(root, train=True)` without and then
  with `transform=`) holds the same rows;
- the fit must shape the *features* of the split (`train_test_split(X, y)`'s X,
  `cross_val_score(est, X, y)`'s X), not only the target (`y - y.min()` re-encodes labels);
- a column mask taken from a fitted selector (`X.loc[:, selector.get_support()]`) shapes the
  data it selects from;
- after an `if`/`else`, both arms' bindings reach a read (`semantic/branches.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.branches import BranchArms
from trainlint.semantic.dataflow import DATA_KINDS, INDEX, ROWS, STATE, STATE_METHODS, Binding
from trainlint.semantic.names import (
    argument, bool_value, keyword_value, last_name, nodes_in, positional_args, string_value,
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
# Fit categories of objects that learn from the data they transform. A transformer class
# defined in the file is kept apart: TL303 counts it, TL307 (whose gate anchor keys on
# library constructors) does not yet.
LOCAL_TRANSFORMER = "local_transformer"
LEARNING_CATEGORIES = {"transformer", LOCAL_TRANSFORMER}
TRANSFORMER_LIBRARIES = (
    "sklearn.", "keras.", "tensorflow.", "category_encoders.", "feature_engine.", "tf.",
)
SAMPLER_LIBRARIES = ("imblearn.",)
STATISTICS = {"mean", "std", "var", "min", "max", "median", "quantile", "percentile",
              "nanmean", "nanstd", "nanmin", "nanmax", "nanmedian", "amin", "amax", "ptp", "mode"}
TRANSFORM_METHODS = {"transform", "texts_to_sequences", "texts_to_matrix"}
# Methods that call a function on every group or column of the receiver: a lambda parameter
# stands for rows of the receiver (`df.groupby(k)[c].agg(lambda s: s.mode()[0])`).
GROUP_APPLY_METHODS = {"agg", "aggregate", "apply", "transform"}
# ... and methods that call it on every row or element (the rows filled, not a statistic).
ELEMENT_APPLY_METHODS = {"apply", "map", "applymap"}
# Windows of the data: a statistic over each is local, not one of all rows.
WINDOW_METHODS = {"rolling", "expanding", "ewm", "resample"}
# Tests for missing entries: a branch taken on them fills a gap.
MISSING_TESTS = {"isnull", "isna", "notnull", "notna", "isnan"}
# Transforms that normalise with the statistics they are given.
NORMALIZE_TRANSFORMS = {
    "torchvision.transforms.Normalize", "torchvision.transforms.v2.Normalize",
    "torchvision.transforms.transforms.Normalize", "albumentations.Normalize",
    "albumentations.augmentations.transforms.Normalize",
}
TRANSFORM_KEYWORDS = {"transform", "transforms"}
# Encoders whose fitted state is the list of categories seen, unless told to drop rare ones.
CATEGORY_LISTING_ENCODERS = {"OneHotEncoder", "OrdinalEncoder", "StringLookup", "IntegerLookup"}
FREQUENCY_KEYWORDS = {"min_frequency", "max_categories", "max_tokens"}
# Calls that load rows from a source (a folder, a file, a named data set): the same call with
# the same arguments loads the same rows. Keywords that do not change which rows are loaded:
SOURCE_PREFIXES = (
    "torchvision.datasets.", "torchaudio.datasets.", "torchtext.datasets.", "sklearn.datasets.load_",
    "sklearn.datasets.fetch_", "pandas.read_", "numpy.load", "numpy.genfromtxt", "datasets.load_dataset",
    "tensorflow_datasets.load",
)  # not `make_classification` and other generators: each call draws new rows
SOURCE_NEUTRAL_KEYWORDS = {"transform", "target_transform", "transforms", "download", "verbose"}
# Keywords that name the first parameter (where the rows are): `MNIST(ROOT)` is `MNIST(root=ROOT)`.
FIRST_PARAMETER_KEYWORDS = {
    "root", "root_dir", "path", "filepath_or_buffer", "img_dir", "data_dir", "directory", "file",
    "fname", "filename", "path_or_buf",
}
# Split kinds whose positional inputs are (features, target): `train_test_split(X, y)`,
# `cross_val_score(est, X, y)`, `fit(x, y, validation_split=...)`, `kf.split(X, y)`.
FEATURES_THEN_TARGET = {"train_test_split", "ordered_split", "cv", "validation_split", "kfold"}


@dataclass(eq=False)
class Fit:
    call: cst.Call
    method: str
    receiver: cst.BaseExpression
    cls: Optional[str]  # the fitted object's class, when the file constructs it
    category: Optional[str]  # "transformer" | "local_transformer" | "sampler" | None
    data: Optional[cst.BaseExpression]
    state: Optional[Binding]


@dataclass(eq=False)
class Normalisation:
    statistic: cst.Call  # `X.mean()` / `np.std(X, axis=0)` / `df["a"].median()`
    target: cst.CSTNode  # the expression normalised or filled with it
    result: cst.CSTNode  # the binary operation, fill or dataset call that uses the statistic
    fills: bool = False  # fills missing entries (rather than scaling or centring)


class LeakageFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        self.flow = ctx.dataflow
        self.splits = ctx.splits
        self._input_derivations: Dict[int, Set[Binding]] = {}
        self._full_derivations: Dict[int, Set[Binding]] = {}
        self._split_rows: Dict[int, Set[Binding]] = {}
        self._feature_influences: Dict[Tuple[int, bool], Set[Binding]] = {}
        self._arms: Optional[BranchArms] = None
        self._alternatives: Dict[frozenset, Dict[Binding, List[Binding]]] = {}
        self._sources: Optional[Dict[Tuple, List[Binding]]] = None
        self._source_keys: Dict[Binding, Optional[Tuple]] = {}  # every fit asks of every earlier df
        self._learning_classes: Dict[str, bool] = {}
        self.fits: List[Fit] = [fit for fit in self._fits()]
        self._transform_calls = [
            call for call in ctx.index.of_type(cst.Call)
            if last_name(call) in TRANSFORM_METHODS | STATE_METHODS and type(call.func) is cst.Attribute
        ]

    # -- fitted objects -----------------------------------------------------------------

    def _fits(self):
        from trainlint.semantic.dataflow import FIT_METHODS

        for call in self.ctx.index.of_type(cst.Call):
            method = last_name(call)
            if method not in FIT_METHODS or type(call.func) is not cst.Attribute:
                continue
            receiver = call.func.value
            cls, category = self.classify(receiver)
            data = argument(call, 0, "X")
            if data is None:
                data = keyword_value(call, "texts") or keyword_value(call, "data") or keyword_value(call, "x")
            yield Fit(call, method, receiver, cls, category, data, self.flow.call_state(call))

    def classify(self, receiver: cst.BaseExpression):
        """(class name, "transformer" / "local_transformer" / "sampler" / None) of a fitted
        object."""
        for value in self.flow.defining_values(receiver):
            if type(value) is not cst.Call:
                continue
            name = last_name(value)
            candidates = self.ctx.imports.candidates(value)
            if name is not None and not candidates and type(value.func) is cst.Name:
                if self.is_learning_transformer_class(value.func):
                    return name, LOCAL_TRANSFORMER
                continue
            if name is None or not candidates:
                continue
            if any(c.startswith(SAMPLER_LIBRARIES) for c in candidates):
                if name not in ("Pipeline", "make_pipeline"):
                    return name, "sampler"
            if not any(c.startswith(TRANSFORMER_LIBRARIES) for c in candidates):
                continue
            if name in TRANSFORMERS and not _stateless_configuration(name, value):
                return name, "transformer"
            if name in COMPOSITES:
                last = self._last_step_category(value)
                if last in LEARNING_CATEGORIES:
                    return name, last
            return name, None
        return None, None

    def is_learning_transformer_class(self, name: cst.Name) -> bool:
        """A class of this file that works like a scikit-learn transformer and learns from the
        data: it has `transform`, and its `fit(self, X, ...)` stores on `self` something
        computed from X (a vocabulary, column statistics). `fit` that only returns `self`
        learns nothing: such a class is a stateless transform."""
        known = self._learning_classes.get(name.value)
        if known is not None:
            return known
        learns = False
        for binding in self.flow.resolve_name(name.value, name):
            if binding.how == "def" and type(binding.node) is cst.ClassDef:
                learns = self._class_learns(binding.node)
        self._learning_classes[name.value] = learns
        return learns

    def _class_learns(self, cls: cst.ClassDef) -> bool:
        methods = {
            statement.name.value: statement for statement in cls.body.body
            if type(statement) is cst.FunctionDef
        }
        fit = methods.get("fit")
        if fit is None or not ({"transform", "fit_transform"} & set(methods)):
            return False
        params = [*fit.params.posonly_params, *fit.params.params]
        if len(params) < 2:
            return False
        data = params[1]
        for node in self.ctx.index.descendants(fit.body):
            if type(node) in (cst.Assign, cst.AugAssign):
                targets = [t.target for t in node.targets] if type(node) is cst.Assign else [node.target]
                if not any(_is_self_attribute(t) for t in targets):
                    continue
                if any(b.how == "param" and b.node is data for b in self.flow.derivation(node.value)):
                    return True
        return False

    def _last_step_category(self, pipeline: cst.Call) -> Optional[str]:
        if last_name(pipeline) == "make_pipeline":
            steps = positional_args(pipeline)
            last = steps[-1].value if steps else None
        else:
            listed = argument(pipeline, 0, "steps")
            last = None
            if type(listed) in (cst.List, cst.Tuple) and listed.elements:
                pair = listed.elements[-1].value
                if type(pair) is cst.Tuple and len(pair.elements) == 2:
                    last = pair.elements[1].value
        return self.classify(last)[1] if last is not None else None

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

    # -- TL303: fits and statistics, and the later split that holds their rows out ------------

    def fit_leak(self, fit: Fit) -> Optional[Split]:
        """The split that later holds out rows a transformer was fitted on, when the fit
        shapes what is split (or the held-out part is transformed with it)."""
        if fit.state is None:
            return None
        cover = self.fitted_rows(fit.data)
        if any(b.split is not None for b in cover) and self._only_lists_categories(fit):
            return None  # a training part's category list tells the folds nothing
        split = self.split_shaped_by(cover, {fit.state}, through_masks=True)
        if split is None and not any(b.split is not None for b in cover):
            # A part fitted in full is held out again only by cross-validation over it.
            split = self.split_transformed_after(cover, fit.state)
        return split

    def statistic_leak(self, normalisation: Normalisation) -> Optional[Split]:
        """The split that later holds out rows a statistic was computed over, when the data
        it normalises or fills is what is split."""
        cover = self.fitted_rows(self.statistic_data(normalisation.statistic))
        if not (cover & self.rows_of(normalisation.target)):
            return None  # a statistic of other data (a reference set, a constant table)
        produced = self.flow.bindings_assigned_from(normalisation.result)
        return self.split_shaped_by(cover, produced)

    def _only_lists_categories(self, fit: Fit) -> bool:
        """`OneHotEncoder()` / `OrdinalEncoder()` without frequency thresholds: the state is
        the set of categories seen, no statistic of the rows. A category that occurs only in a
        validation fold gets a column the model never saw active: no help to the model."""
        if fit.cls not in CATEGORY_LISTING_ENCODERS:
            return False
        for value in self.flow.defining_values(fit.receiver):
            if type(value) is cst.Call and last_name(value) == fit.cls:
                return not any(keyword_value(value, k) is not None for k in FREQUENCY_KEYWORDS)
        return False

    def fitted_rows(self, data: Optional[cst.CSTNode]) -> Set[Binding]:
        """The bindings whose rows a fit or a statistic reads in full.

        The walk stops at a split part (`X_train`): its rows are the part's, and what can still
        hold them out is a later split of that part (cross-validation folds). It stops at a row subset (`X[:n]`, `pool.data[train_idx]`): that is not all
        the rows it was picked from. It steps from a lambda's parameter to the frame the
        lambda is applied over by group or column. Datasets that load the same source again
        count as the same rows."""
        if data is None or self._picks_rows(data):
            return set()
        seen: Set[Binding] = set()
        stack = [ref.binding for ref in self.flow.refs(data) if ref.kind == ROWS]
        while stack:
            binding = stack.pop()
            if binding in seen or binding.how in ("for", "comp"):
                continue
            seen.add(binding)
            if binding.how == "param" and type(binding.scope) is cst.Lambda:
                receiver = self._lambda_receiver(binding, per_sample=False)
                if receiver is not None:  # else one row or element at a time: per sample
                    stack.extend(ref.binding for ref in self.flow.refs(receiver) if ref.kind == ROWS)
                continue
            if binding.split is not None or (binding.how == "assign" and self._picks_rows(binding.value)):
                continue
            stack.extend(ref.binding for ref in binding.parents if ref.kind == ROWS)
        cover = {b for b in seen if not self.flow.is_constant(b) and type(b.scope) is not cst.Lambda}
        return cover | self._same_source(cover)

    def split_shaped_by(self, cover: Set[Binding], reaches: Iterable[Binding], through_masks: bool = False) -> Optional[Split]:
        """The first split whose inputs hold rows of `cover` and whose *features* are shaped by
        one of `reaches` (a fitted state, a normalised or filled binding). With
        `through_masks`, a column or row mask computed from the fitted state counts
        (`X.loc[:, selector.get_support()]`)."""
        reaches = set(reaches)
        if not cover or not reaches:
            return None
        # A part fitted in full (`X_train`) is held out again by cross-validation over it. A
        # validation slice or a Keras `validation_split` of it is left alone: a small leak
        # that reviewers of real code accept, where a false alarm would cost more.
        refits_a_part = any(b.split is not None for b in cover)
        for split, rows in self._rows_entering_splits:
            if refits_a_part and split.kind not in ("cv", "kfold"):
                continue
            if cover & rows and reaches & self._feature_influences_of(split, through_masks):
                return split
        return None

    @cached_property
    def _rows_entering_splits(self) -> List[Tuple[Split, Set[Binding]]]:
        """Each split with the rows entering it: every fit of a notebook is checked against
        every split."""
        return [(split, self._rows_entering(split)) for split in self.splits.splits]

    def rows_of(self, expr: Optional[cst.CSTNode]) -> Set[Binding]:
        """What an expression holds rows of: its derivation, the frame a lambda parameter in it
        is applied over, and for a call, the bindings it is assigned to (`ds = MNIST(...)`)
        with the datasets loading the same source."""
        if expr is None:
            return set()
        found = set(self.flow.derivation(expr))
        for binding in list(found):
            receiver = self._lambda_receiver(binding, per_sample=True)
            if receiver is not None:
                found |= self.flow.derivation(receiver)
        if type(expr) is cst.Call:
            found |= set(self.flow.bindings_assigned_from(expr))
        return found | self._same_source(found)

    def _rows_entering(self, split: Split) -> Set[Binding]:
        cached = self._split_rows.get(id(split))
        if cached is None:
            cached = self._across_arms(split.inputs, split.node, DATA_KINDS)
            self._split_rows[id(split)] = cached
        return cached

    def _feature_influences_of(self, split: Split, through_masks: bool) -> Set[Binding]:
        key = (id(split), through_masks)
        cached = self._feature_influences.get(key)
        if cached is None:
            kinds = DATA_KINDS | {STATE, INDEX} if through_masks else DATA_KINDS | {STATE}
            cached = self._across_arms(_feature_inputs(split), split.node, kinds)
            self._feature_influences[key] = cached
        return cached

    def _across_arms(self, exprs: Iterable[cst.BaseExpression], reader: cst.CSTNode, kinds) -> Set[Binding]:
        """The derivation of `exprs` read at `reader`, through both arms of every `if`/`else`
        on the way (the data-flow alone follows the arm written last)."""
        kinds = frozenset(kinds)
        if self._arms is None:
            self._arms = BranchArms(self.flow, self.ctx.index)
        found: Set[Binding] = set()
        pending: List[Binding] = []
        for expr in exprs:
            found |= self.flow.derivation(expr, kinds)
            for ref in self.flow.refs(expr):
                if ref.kind in kinds:
                    pending.extend(self._arms.alternatives(ref.binding, reader))
        examined: Set[Binding] = set()
        alternatives = self._alternatives.setdefault(kinds, {})
        while True:
            todo = found - examined
            for binding in todo - alternatives.keys():
                alternatives[binding] = self._parent_alternatives(binding, kinds)
            # In C: each split's derivation holds every earlier rebinding of `df`.
            pending.extend(chain.from_iterable(map(alternatives.__getitem__, todo)))
            examined |= todo
            fresh = [b for b in pending if b not in found]
            pending = []
            if not fresh:
                return found
            found |= self.flow.ancestry(fresh, kinds)

    def _parent_alternatives(self, binding: Binding, kinds: frozenset) -> List[Binding]:
        """The other-arm bindings of what `binding` is computed from (`_across_arms`): the
        same for every split whose derivation holds the binding, so answered once."""
        return [alternative for ref in binding.parents if ref.kind in kinds
                for alternative in self._arms.alternatives(ref.binding, binding.node)]

    def _picks_rows(self, expr: Optional[cst.CSTNode]) -> bool:
        """`X[:n]`, `df.iloc[a:b]`, `s[:"2021"]`, `pool.data[train_idx]` (possibly followed by
        `.reshape(...)`, `.values`...): a subset of the rows, chosen by position or by a role."""
        while type(expr) in (cst.Call, cst.Attribute):
            if type(expr) is cst.Call:
                if type(expr.func) is not cst.Attribute or self.ctx.imports.candidates(expr):
                    return False
                expr = expr.func.value
            else:
                expr = expr.value
        if type(expr) is not cst.Subscript or not expr.slice:
            return False
        first = expr.slice[0].slice
        if type(first) is cst.Slice:
            return first.step is None and not _is_whole_or_shift(first)
        if type(first) is cst.Index:
            value = first.value
            if type(value) in (cst.Integer, cst.List, cst.Tuple) or string_value(value) is not None:
                return False
            return self.splits.flow_roles.role(value) is not None
        return False

    def _lambda_receiver(self, binding: Binding, per_sample: bool) -> Optional[cst.BaseExpression]:
        """For the parameter of `frame.agg(lambda s: ...)` (by group or column), the frame.
        With `per_sample`, also row- and element-wise calls (`df.apply(f, axis=1)`, `.map`)."""
        if binding.how != "param" or type(binding.scope) is not cst.Lambda:
            return None
        arg = self.ctx.index.parent(binding.scope)
        call = self.ctx.index.parent(arg) if type(arg) is cst.Arg else None
        if type(call) is not cst.Call or type(call.func) is not cst.Attribute:
            return None
        method = call.func.attr.value
        axis = keyword_value(call, "axis")
        by_row = (type(axis) is cst.Integer and axis.evaluated_value == 1) or string_value(axis) == "columns"
        if method in GROUP_APPLY_METHODS and not by_row:
            return call.func.value
        if per_sample and method in ELEMENT_APPLY_METHODS:
            return call.func.value
        return None

    def _same_source(self, bindings: Set[Binding]) -> Set[Binding]:
        """Other bindings that load the same rows as one of `bindings` (the same loader or
        dataset class called again with the same arguments, a transform aside)."""
        if self._sources is None:
            self._sources = {}
            for binding in self.flow.all_bindings:
                key = self._source_key(binding)
                if key is not None:
                    self._sources.setdefault(key, []).append(binding)
        found: Set[Binding] = set()
        keys = self._source_keys
        for binding in bindings:
            key = keys[binding] if binding in keys else keys.setdefault(binding, self._source_key(binding))
            if key is not None:
                found.update(self._sources.get(key, ()))
        return found

    def _source_key(self, binding: Binding) -> Optional[Tuple]:
        value = binding.value
        if binding.how != "assign" or type(value) is not cst.Call or type(binding.node) is not cst.Assign:
            return None
        if type(binding.node.targets[0].target) is not cst.Name:
            return None  # `x, y = load()`: which part is which is not this question
        callee = self._source_callee(value)
        if callee is None:
            return None
        args = []
        for position, arg in enumerate(positional_args(value)):
            args.append((position, self._value_key(arg.value)))
        for arg in value.args:
            if arg.keyword is None or arg.keyword.value in SOURCE_NEUTRAL_KEYWORDS:
                continue
            slot = 0 if arg.keyword.value in FIRST_PARAMETER_KEYWORDS else arg.keyword.value
            args.append((slot, self._value_key(arg.value)))
        return (callee, tuple(sorted(args, key=repr)))

    def _source_callee(self, call: cst.Call) -> Optional[str]:
        for candidate in self.ctx.imports.candidates(call):
            if candidate.startswith(SOURCE_PREFIXES):
                return candidate
        if type(call.func) is cst.Name and not self.ctx.imports.candidates(call):
            for binding in self.flow.resolve_name(call.func.value, call):
                if binding.how == "def" and type(binding.node) is cst.ClassDef and any(
                        (last_name(base.value) or "").endswith("Dataset") for base in binding.node.bases):
                    return f"<class {call.func.value}@{binding.order}>"
        return None

    def _value_key(self, expr: cst.BaseExpression) -> Tuple:
        """An argument's code and what its names are bound to (`ROOT` rebound is another root)."""
        bindings = tuple(sorted(
            id(b) for node in nodes_in(expr) if type(node) is cst.Name
            for b in self.flow.resolve_name(node.value, node)))
        return (self.ctx.code(expr), bindings)

    # -- statistics used to normalise --------------------------------------------------------

    def normalisations(self) -> List[Normalisation]:
        found: List[Normalisation] = []
        for operation in self.ctx.index.of_type(cst.BinaryOperation):
            if type(operation.operator) not in (cst.Subtract, cst.Divide):
                continue
            for statistic in self._statistics_in(operation.right):
                found.append(Normalisation(statistic, operation.left, operation))
        for call in self.ctx.index.of_type(cst.Call):
            if last_name(call) == "fillna" and type(call.func) is cst.Attribute:
                value = argument(call, 0, "value")
                for statistic in self._statistics_in(value):
                    found.append(Normalisation(statistic, call.func.value, call, fills=True))
            elif self.ctx.imports.matches(call, {"numpy.where"}) and len(call.args) == 3 and _tests_missing(call.args[0].value):
                for branch in (call.args[1].value, call.args[2].value):
                    for statistic in self._statistics_in(branch):
                        found.append(Normalisation(statistic, call.args[0].value, call, fills=True))
        found.extend(self._conditional_fills())
        found.extend(self._normalize_transforms())
        return found

    def _conditional_fills(self) -> List[Normalisation]:
        """A statistic taken where an entry is missing: `x if pd.isnull(x) else stat` (in a
        row-wise `apply`) and `df.loc[df["c"].isna(), "c"] = stat`."""
        found: List[Normalisation] = []
        for branch in self.ctx.index.of_type(cst.IfExp):
            if _tests_missing(branch.test):
                for value in (branch.body, branch.orelse):
                    for statistic in self._statistics_in(value):
                        found.append(Normalisation(statistic, branch.test, branch, fills=True))
        for assign in self.ctx.index.of_type(cst.Assign):
            for target in assign.targets:
                if type(target.target) is cst.Subscript and _tests_missing(target.target):
                    for statistic in self._statistics_in(assign.value):
                        found.append(Normalisation(statistic, target.target, assign.value, fills=True))
        return found

    def _normalize_transforms(self) -> List[Normalisation]:
        """`Normalize(mean, std)` built from statistics, and the datasets given that transform
        (`MNIST(root, transform=Compose([..., Normalize(mean, std)]))`): the datasets are what
        it normalises."""
        found: List[Normalisation] = []
        for normalize in self.ctx.index.of_type(cst.Call):
            if not self.ctx.imports.matches(normalize, NORMALIZE_TRANSFORMS):
                continue
            statistics = [stat for arg in normalize.args for stat in self._statistics_in(arg.value)]
            if not statistics:
                continue
            for dataset in self._datasets_given(normalize):
                found.extend(Normalisation(statistic, dataset, dataset) for statistic in statistics)
        return found

    def _datasets_given(self, transform: cst.Call) -> List[cst.Call]:
        """Calls that receive `transform` (inline, or through the names it is assigned to) as
        their `transform=` argument."""
        holders = set(self.flow.bindings_assigned_from(transform))
        found: List[cst.Call] = []
        for call in self.ctx.index.of_type(cst.Call):
            for arg in call.args:
                if arg.keyword is None or arg.keyword.value not in TRANSFORM_KEYWORDS:
                    continue
                inline = self.ctx.index.is_inside(transform, arg.value)
                if inline or holders & self.flow.derivation(arg.value):
                    found.append(call)
        return found

    def _statistics_in(self, expr: Optional[cst.CSTNode], depth: int = 2) -> List[cst.Call]:
        """Column statistics in an expression, directly or through a name assigned one."""
        found: List[cst.Call] = []
        if expr is None:
            return found
        for node in self.ctx.index.descendants(expr):
            if type(node) is cst.Call and self.is_column_statistic(node):
                found.append(node)
            elif type(node) is cst.Name and depth > 0:
                for binding in self.flow.resolve_name(node.value, node):
                    if binding.how == "assign" and binding.value is not None and binding.scope == self._home_scope(node):
                        found.extend(self._statistics_in(binding.value, depth - 1))
        return found

    def _home_scope(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The function, class or module around `node`, past lambdas and comprehensions
        (`df.apply(lambda row: fill[row.k])` reads the module's `fill`)."""
        scope = self.flow.scope_of(node)
        while type(scope) in (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp):
            scope = self.flow.scope_of(scope)
        return scope

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
        elif type(call.func) is not cst.Attribute or candidates:
            return False
        elif _over_windows(call.func.value):
            return False  # `s.rolling(7).mean()`: a statistic of each window, not of all rows
        elif axis is None and positional_args(call) and name not in ("quantile",):
            axis = positional_args(call)[0].value
        if axis is None:
            return True
        if type(axis) is cst.Integer:
            return axis.evaluated_value == 0
        if type(axis) is cst.Tuple:
            return any(type(e.value) is cst.Integer and e.value.evaluated_value == 0 for e in axis.elements)
        return string_value(axis) == "index"

    def statistic_data(self, call: cst.Call) -> Optional[cst.CSTNode]:
        if type(call.func) is cst.Attribute and not self.ctx.imports.candidates(call):
            return call.func.value
        return call.args[0].value if call.args else None

    def statistic_groups(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        """For a statistic of a lambda's parameter (`df.groupby(k)[c].agg(lambda s: s.mode())`),
        the frame or groups it is computed over; else None."""
        data = self.statistic_data(call)
        while type(data) in (cst.Subscript, cst.Attribute):
            data = data.value
        if type(data) is not cst.Name:
            return None
        for binding in self.flow.resolve_name(data.value, data):
            receiver = self._lambda_receiver(binding, per_sample=False)
            if receiver is not None:
                return receiver
        return None


def _stateless_configuration(name: str, constructor: cst.Call) -> bool:
    """A character vocabulary learns nothing about the rows (`Tokenizer(char_level=True)`)."""
    if name == "Tokenizer" and bool_value(keyword_value(constructor, "char_level")):
        return True
    if name == "TextVectorization" and string_value(keyword_value(constructor, "split")) == "character":
        return True
    if name in ("CountVectorizer", "TfidfVectorizer") and string_value(keyword_value(constructor, "analyzer")) in ("char", "char_wb"):
        return False  # character n-grams still learn document frequencies
    return False


def _feature_inputs(split: Split) -> List[cst.BaseExpression]:
    """The inputs of a split that are features: all but the target of an `(X, y)` split
    (`train_test_split`'s last array, the `y` of cross-validation, `fit` and `kf.split`)."""
    inputs = list(split.inputs)
    if split.kind not in FEATURES_THEN_TARGET or len(inputs) < 2:
        return inputs
    if split.kind in ("train_test_split", "ordered_split"):
        return inputs[:-1]
    return inputs[:1]


def _is_whole_or_shift(piece: cst.Slice) -> bool:
    """`[:]`, `[1:]`, `[:-1]`: every row, or all but one (a sequence shifted by one step)."""
    for bound in (piece.lower, piece.upper):
        if bound is None:
            continue
        if type(bound) is cst.UnaryOperation and type(bound.expression) is cst.Integer:
            bound = bound.expression
        if not (type(bound) is cst.Integer and abs(bound.evaluated_value) <= 1):
            return False
    return True


def _over_windows(receiver: cst.CSTNode) -> bool:
    """Whether a method's receiver is a window or resampling of the data (`s.rolling(7)`)."""
    node: Optional[cst.CSTNode] = receiver
    while type(node) in (cst.Call, cst.Attribute, cst.Subscript):
        if type(node) is cst.Call:
            if last_name(node) in WINDOW_METHODS:
                return True
            node = node.func
        else:
            node = node.value
    return False


def _tests_missing(node: cst.CSTNode) -> bool:
    """Whether an expression tests for missing entries (`pd.isnull(x)`, `df["c"].isna()`)."""
    return any(type(n) is cst.Call and last_name(n) in MISSING_TESTS for n in nodes_in(node))


def _is_self_attribute(target: cst.CSTNode) -> bool:
    """`self.vocabulary_` (or `self.stats_[k]`)."""
    while type(target) is cst.Subscript:
        target = target.value
    return type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == "self"


__all__ = ["LeakageFacts", "Fit", "Normalisation", "TRANSFORMERS"]
