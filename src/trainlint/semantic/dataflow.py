"""Module-wide data-flow: which array, frame or dataset each name holds, and where it came from.

Every binding of a name (assignment, parameter, loop target, in-place mutation such as
`df["c"] = ...`, `scaler.fit(X)`, `np.random.shuffle(X)`, `X.append(v)`) is one `Binding`
with edges to the bindings its value was computed from. References resolve per scope
(comprehension → function → module), in source order: a name read at a statement sees the
latest binding before it. Calls of functions defined in the same file link their parameters
to the arguments of every call site and their result to their `return` values, so data is
followed through helpers however far apart the lines are. Module scope spans the whole file
(and, for notebooks, all cells).

Edges carry a kind, because rules ask different questions:
- ROWS: the value holds (some of) the rows of the source (`X.values`, `df.drop(...)`, `X[:, 0]`).
- ELEMENT: one sample of the source (`for img in X`, `X[i]`): statistics over it are per sample.
- STATE: a fitted object whose state was learnt from the source (`scaler.transform(Z)` reads
  the scaler): the value is shaped by the source but holds none of its rows.
- INDEX: positions into the source (`X[idx]` depends on `idx` that way, `kf.split(X)` yields them).
- PARAM: a keyword argument of a library call (`random_state=SEED`): not data.
An edge is `opaque` when it passes through a call the analysis cannot see (a helper imported
from elsewhere), which may do anything, shuffling included.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import dotted_name, last_name, nodes_in, string_value

ROWS = "rows"
ELEMENT = "element"
STATE = "state"
INDEX = "index"
PARAM = "param"
FRAME = "frame"  # internal: the previous version of a frame changed in place

DATA_KINDS = frozenset({ROWS, ELEMENT})
ALL_BUT_PARAM = frozenset({ROWS, ELEMENT, STATE, INDEX})
# Bindings held, all closures together, by the ancestry memo: bounded memory in a large file.
_CLOSURE_BUDGET = 1_000_000
# Up to this many start bindings, each is walked (and its closure kept) on its own.
_SEPARATE_WALKS = 8

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda) + COMPREHENSIONS

# Libraries whose functions and methods are transparent: their results hold the rows of
# their positional arguments. Anything else that is not defined in the file is opaque.
KNOWN_LIBRARIES = (
    "numpy", "pandas", "sklearn", "torch", "torchvision", "tensorflow", "keras", "scipy",
    "imblearn", "albumentations", "cv2", "PIL", "os", "glob", "pathlib", "random", "math",
    "json", "pickle", "joblib", "h5py", "collections", "itertools", "functools", "datasets",
    "transformers", "xgboost", "lightgbm", "catboost", "category_encoders", "skimage",
    "statsmodels", "re", "string", "csv", "copy", "matplotlib", "seaborn",
)
BUILTINS = {
    "list", "tuple", "dict", "set", "sorted", "reversed", "zip", "enumerate", "map", "filter",
    "len", "range", "int", "float", "str", "bool", "min", "max", "sum", "abs", "round", "iter",
    "next", "open", "print", "isinstance", "getattr", "any", "all", "type", "frozenset",
}
# Keyword arguments of library calls that carry data (everything else is a parameter).
DATA_KEYWORDS = {
    "x", "y", "X", "data", "dataset", "objs", "arrays", "a", "arr", "values", "texts",
    "sequences", "input", "inputs", "frame", "df", "left", "right", "other", "images",
    "labels", "targets", "indices",
}
SIZE_ATTRIBUTES = {"shape", "size", "ndim", "dtype", "dtypes", "columns"}
# Methods whose receiver is a fitted object read for its state (not rows).
STATE_METHODS = {
    "transform", "inverse_transform", "predict", "predict_proba", "predict_log_proba",
    "decision_function", "texts_to_sequences", "texts_to_matrix", "sequences_to_texts",
    "score_samples", "apply", "kneighbors",
}
# Methods that learn state from their arguments and store it on the receiver.
FIT_METHODS = {"fit", "partial_fit", "fit_transform", "fit_resample", "fit_sample",
               "fit_on_texts", "fit_on_sequences", "adapt", "fit_predict"}
DATA_RETURNING_FITS = {"fit_transform", "fit_resample", "fit_sample", "fit_predict"}
# In-place mutations of the receiver by its arguments.
APPENDING_METHODS = {"append", "extend", "insert", "update", "add"}
SHUFFLE_FUNCTIONS = {
    "numpy.random.shuffle", "random.shuffle", "numpy.random.permutation",
    "sklearn.utils.shuffle", "torch.randperm", "tensorflow.random.shuffle",
    "numpy.random.default_rng.permutation",
}


@dataclass(frozen=True)
class Ref:
    binding: "Binding"
    kind: str
    opaque: bool = False
    # `df.drop(columns=[...])`: the columns removed on the way (what was written only into
    # them no longer reaches the result).
    drop: Optional[frozenset] = None
    # The previous version of the same frame (`df` before `df["c"] = v`).
    frame: bool = False


@dataclass(eq=False)
class Binding:
    """One definition of a name in one scope."""

    name: str
    scope: Optional[cst.CSTNode]  # None = module scope
    node: cst.CSTNode  # the statement, For, parameter or call that binds it
    order: int
    value: Optional[cst.BaseExpression] = None
    how: str = "assign"  # assign | param | for | comp | mutate | return | def | import
    parents: List[Ref] = field(default_factory=list)
    shuffled: bool = False
    columns: Optional[Tuple[str, ...]] = None  # set by `df["c"] = v`: the columns written
    # A split output: the Split that produced it and the part's role (train / eval / None).
    split: Optional["object"] = None
    part_role: Optional[str] = None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Binding {self.name}@{self.order} {self.how}>"


@dataclass(eq=False)
class _Function:
    node: cst.FunctionDef
    params: Dict[str, Binding]
    positional: List[str]
    returns: List[Tuple[cst.BaseExpression, int]]  # (value, order)
    results: Dict[Tuple[int, int], Binding] = field(default_factory=dict)


class DataFlow:
    def __init__(self, module: cst.Module, index: ModuleIndex, imports: ImportTable) -> None:
        self.module = module
        self.index = index
        self.imports = imports
        self._order: Dict[cst.CSTNode, int] = {}
        self._bindings: Dict[Optional[cst.CSTNode], Dict[str, List[Binding]]] = {}
        self._functions: Dict[str, _Function] = {}
        self._pending: List[Tuple[Binding, cst.BaseExpression, str, Optional[Tuple[int, int]]]] = []
        self._call_state: Dict[cst.Call, Binding] = {}
        self._calls_of: Dict[str, List[cst.Call]] = {}
        self._ref_cache: Dict[int, List[Ref]] = {}
        self.all_bindings: List[Binding] = []
        self.binding_of_target: Dict[cst.CSTNode, Binding] = {}
        self._counter = 0
        self._current_functions: List[_Function] = []
        self.part_subscripts: Dict[cst.Subscript, Binding] = {}
        self._by_node: Dict[cst.CSTNode, List[Binding]] = {}
        self._implicit: Dict[str, Binding] = {}
        self._sorted = False  # the binding lists, by order (after the first pass)
        self._orders: Dict[int, List[int]] = {}
        self._edges_by_filter: Dict[Tuple[frozenset, bool], Tuple[dict, dict, dict]] = {}
        self._closure_budget = _CLOSURE_BUDGET
        self._constant: Dict[Binding, bool] = {}
        self._walk_statements(module.body, None)
        self._expression_bindings()
        self._collect_calls()
        for table in self._bindings.values():
            for bindings in table.values():
                bindings.sort(key=lambda b: b.order)
        self._sorted = True
        # The edges come with `link()`, after splits.split_data_flow has recognised the splits.

    # ================================================================================
    # public queries
    # ================================================================================

    def order_of(self, node: cst.CSTNode) -> int:
        for candidate in [node, *self.index.ancestors(node)]:
            order = self._order.get(candidate)
            if order is not None:
                return order
        return 0

    def scope_of(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.index.enclosing(node, *SCOPES)

    def refs(self, expr: Optional[cst.CSTNode]) -> List[Ref]:
        """The bindings an expression reads, with the kind of each dependency."""
        if expr is None:
            return []
        cached = self._ref_cache.get(id(expr))
        if cached is None:
            cached = list(self._refs(expr, ROWS, False))
            self._ref_cache[id(expr)] = cached
        return cached

    def bindings(self, expr: Optional[cst.CSTNode], kinds: Iterable[str] = DATA_KINDS) -> List[Binding]:
        wanted = frozenset(kinds)
        return [ref.binding for ref in self.refs(expr) if ref.kind in wanted]

    def ancestry(
        self,
        start: Iterable[Binding],
        kinds: Iterable[str] = DATA_KINDS,
        through_opaque: bool = True,
    ) -> Set[Binding]:
        """Every binding reachable from `start` through edges of the given kinds (start included)."""
        return self._ancestry([(b, None) for b in start], frozenset(kinds), through_opaque)

    def _ancestry(self, stack, wanted, through_opaque: bool = True) -> Set[Binding]:
        """Every split of a notebook asks for an ancestry reaching back through every earlier
        rebinding of `df`, so the closure of each start binding is kept (within a budget) and
        a later walk that reaches that binding takes its closure whole. Starts are walked
        earliest first, so that a later one finds the earlier's closure."""
        tables = self._edge_tables(wanted, through_opaque)
        plain = sorted({binding for binding, dropped in stack if not dropped}, key=lambda b: b.order)
        pending = [item for item in stack if item[1]]
        if len(plain) > _SEPARATE_WALKS:
            return self._walk(plain, pending, wanted, through_opaque, tables)[0]
        found: Set[Binding] = set()
        closures = tables[2]
        for binding in plain:
            closure = closures.get(binding)
            if closure is None:
                closure, saw_drops = self._walk([binding], [], wanted, through_opaque, tables)
                if not saw_drops and self._closure_budget >= len(closure):
                    self._closure_budget -= len(closure)
                    closures[binding] = frozenset(closure)
            found |= closure
        if pending:
            found |= self._walk([], pending, wanted, through_opaque, tables)[0]
        return found

    def _walk(self, plain: List[Binding], pending, wanted, through_opaque, tables) -> Tuple[Set[Binding], bool]:
        """The bindings reachable from `plain` (nothing dropped) and `pending` ((binding,
        dropped columns) pairs), and whether some edge dropped columns. A binding reached
        with columns dropped on the way (`df.drop(columns=...)`) is walked edge by edge;
        reached with nothing dropped, it is walked plainly, which reaches everything the
        other would."""
        plain_of, dropping_of, closures = tables
        found: Set[Binding] = set()
        reached: Set[Binding] = set()  # reached with nothing dropped
        saw_drops = bool(pending)
        walked: Set[Tuple[Binding, frozenset]] = set()
        while plain or pending:
            while plain:
                binding = plain.pop()
                if binding in reached:
                    continue
                closure = closures.get(binding)
                if closure is not None:
                    reached |= closure
                    continue
                reached.add(binding)
                parents = plain_of.get(binding)
                plain.extend(parents if parents is not None else self._fill_edges(binding, wanted, through_opaque))
                dropping = dropping_of.get(binding)
                if dropping:
                    pending.extend(dropping)
                    saw_drops = True
            while pending and not plain:
                item = pending.pop()
                binding, dropped = item
                if binding in reached or item in walked:
                    continue
                walked.add(item)
                found.add(binding)
                for ref in binding.parents:
                    if ref.kind not in wanted or (ref.opaque and not through_opaque):
                        continue
                    if binding.columns and not ref.frame and set(binding.columns) <= dropped:
                        continue  # written only into columns that are dropped later
                    carried = dropped if ref.frame else None
                    if ref.drop:
                        carried = (carried or frozenset()) | ref.drop
                    if carried:
                        pending.append((ref.binding, carried))
                    else:
                        plain.append(ref.binding)
        found |= reached
        return found, saw_drops

    def _edge_tables(self, wanted: frozenset, through_opaque: bool):
        """Per edge filter: binding -> the parents reached with nothing dropped; binding ->
        the (parent, dropped columns) pairs (both filled as the walks reach bindings); and the
        closures kept of lone bindings."""
        key = (wanted, through_opaque)
        tables = self._edges_by_filter.get(key)
        if tables is None:
            tables = self._edges_by_filter[key] = ({}, {}, {})
        return tables

    def _fill_edges(self, binding: Binding, wanted: frozenset, through_opaque: bool) -> Tuple[Binding, ...]:
        plain_of, dropping_of, _closures = self._edge_tables(wanted, through_opaque)
        refs = [ref for ref in binding.parents
                if ref.kind in wanted and not (ref.opaque and not through_opaque)]
        plain = plain_of[binding] = tuple(ref.binding for ref in refs if not ref.drop)
        dropping = [(ref.binding, ref.drop) for ref in refs if ref.drop]
        if dropping:
            dropping_of[binding] = dropping
        return plain

    def derivation(self, expr: Optional[cst.CSTNode], kinds: Iterable[str] = DATA_KINDS) -> Set[Binding]:
        """Bindings whose data an expression is computed from (rows and elements by default)."""
        kinds = frozenset(kinds)
        return self._ancestry([(r.binding, r.drop) for r in self.refs(expr) if r.kind in kinds], kinds)

    def bindings_assigned_from(self, node: cst.CSTNode) -> List[Binding]:
        """The bindings made by the statement (or in-place call) that computes `node`."""
        found: List[Binding] = []
        for candidate in [node, *self.index.ancestors(node)]:
            found.extend(self._by_node.get(candidate, ()))
            if isinstance(candidate, cst.BaseSmallStatement) or isinstance(candidate, cst.BaseCompoundStatement):
                break
        return found

    def passes_opaque(self, expr: Optional[cst.CSTNode], kinds: Iterable[str] = DATA_KINDS) -> bool:
        """Whether the data of `expr` went through a call the analysis cannot see."""
        kinds = frozenset(kinds)
        if any(ref.opaque for ref in self.refs(expr) if ref.kind in kinds):
            return True
        for binding in self.derivation(expr, kinds):
            if any(ref.opaque and ref.kind in kinds for ref in binding.parents):
                return True
        return False

    def coverage(self, expr: Optional[cst.CSTNode]) -> Set[Binding]:
        """The whole-data bindings an expression reads all rows of: rows edges only, never
        past one sample (a loop or comprehension target, `X[i]`). Empty for per-sample data."""
        start = [ref.binding for ref in self.refs(expr) if ref.kind == ROWS]
        seen: Set[Binding] = set()
        stack = list(start)
        while stack:
            binding = stack.pop()
            if binding in seen or binding.how in ("for", "comp"):
                continue
            seen.add(binding)
            stack.extend(ref.binding for ref in binding.parents if ref.kind == ROWS)
        return {b for b in seen if not self.is_constant(b)}

    def is_constant(self, binding: Binding) -> bool:
        """A binding holding a literal, a number computed from sizes, a path or a function.
        Memoized: every fit of a notebook asks about the rebindings before it."""
        known = self._constant.get(binding)
        if known is None:
            known = self._constant[binding] = self._holds_constant(binding)
        return known

    def _holds_constant(self, binding: Binding) -> bool:
        if binding.how in ("def", "import"):
            return True
        value = binding.value
        if value is None:
            return False
        if binding.how == "assign" and not any(
            type(n) in (cst.Call, cst.Name, cst.Attribute, cst.Subscript) for n in nodes_in(value)
        ):
            return True
        if type(value) is cst.Call and last_name(value) in ("len", "int", "round", "float"):
            return True
        return False

    def function(self, name: str) -> Optional[cst.FunctionDef]:
        function = self._functions.get(name)
        return function.node if function else None

    def call_state(self, call: cst.Call) -> Optional[Binding]:
        """The binding created by a fitting call (`scaler.fit(X)`): the fitted object."""
        return self._call_state.get(call)

    def resolve_name(self, name: str, at: cst.CSTNode) -> List[Binding]:
        """The bindings a name read at `at` may refer to."""
        return self._resolve(name, self.scope_of(at), self.order_of(at))

    def defining_values(self, expr: Optional[cst.CSTNode], depth: int = 3) -> List[cst.BaseExpression]:
        """For a name, the values it was assigned (following plain aliases); else [expr]."""
        if expr is None:
            return []
        if type(expr) is cst.Name and depth > 0:
            values: List[cst.BaseExpression] = []
            for binding in self.resolve_name(expr.value, expr):
                if binding.how == "assign" and binding.value is not None:
                    values.extend(self.defining_values(binding.value, depth - 1))
                elif binding.how == "mutate":
                    values.extend(self._mutation_origin(binding, depth - 1))
            return values
        return [expr]  # type: ignore[list-item]

    def _mutation_origin(self, binding: Binding, depth: int) -> List[cst.BaseExpression]:
        """What a name held before an in-place change (`scaler.fit(X)` keeps `scaler`)."""
        earlier = [
            b for b in self._table(binding.scope).get(binding.name, [])
            if b.order < binding.order or (b.order == binding.order and b is not binding and b.how != "mutate")
        ]
        if not earlier or depth <= 0:
            return []
        previous = earlier[-1]
        if previous.how == "assign" and previous.value is not None:
            return self.defining_values(previous.value, depth - 1)
        if previous.how == "mutate":
            return self._mutation_origin(previous, depth - 1)
        return []

    # ================================================================================
    # pass 1: bindings, in source order
    # ================================================================================

    def _next(self, node: cst.CSTNode) -> int:
        self._counter += 1
        self._order[node] = self._counter
        return self._counter

    def _table(self, scope: Optional[cst.CSTNode]) -> Dict[str, List[Binding]]:
        return self._bindings.setdefault(scope, {})

    def _bind(self, name: str, scope, node, order, value=None, how="assign") -> Binding:
        binding = Binding(name=name, scope=scope, node=node, order=order, value=value, how=how)
        self._table(scope).setdefault(name, []).append(binding)
        self._by_node.setdefault(node, []).append(binding)
        self.all_bindings.append(binding)
        return binding

    def _walk_statements(self, body: Iterable[cst.CSTNode], scope) -> None:
        for statement in body:
            if type(statement) is cst.SimpleStatementLine:
                for small in statement.body:
                    order = self._next(small)
                    self._small_statement(small, scope, order)
            elif isinstance(statement, cst.BaseCompoundStatement):
                self._compound(statement, scope)

    def _block(self, block, scope) -> None:
        if type(block) is cst.IndentedBlock:
            self._walk_statements(block.body, scope)
        elif type(block) is cst.SimpleStatementSuite:
            for small in block.body:
                order = self._next(small)
                self._small_statement(small, scope, order)

    def _compound(self, statement: cst.BaseCompoundStatement, scope) -> None:
        order = self._next(statement)
        if type(statement) is cst.FunctionDef:
            self._bind(statement.name.value, scope, statement, order, how="def")
            self._function_def(statement, register=type(scope) is not cst.ClassDef)
            return
        if type(statement) is cst.ClassDef:
            self._bind(statement.name.value, scope, statement, order, how="def")
            self._block(statement.body, statement)
            return
        if type(statement) is cst.For:
            self._bind_for_target(statement.target, statement.iter, scope, statement, order, "for")
        elif type(statement) is cst.With:
            for item in statement.items:
                if item.asname is not None:
                    for name in _target_names(item.asname.name):
                        binding = self._bind(name, scope, statement, order, value=item.item)
                        self._pending.append((binding, item.item, ROWS, None))
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(statement, attr, None)
            if type(block) in (cst.Else, cst.Finally):
                self._block(block.body, scope)
            elif type(block) is cst.If:  # elif
                self._compound(block, scope)
            elif block is not None:
                self._block(block, scope)
        for handler in getattr(statement, "handlers", ()) or ():
            self._block(handler.body, scope)

    def _function_def(self, node: cst.FunctionDef, register: bool) -> None:
        params: Dict[str, Binding] = {}
        positional: List[str] = []
        order = self._order[node]
        all_params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in all_params:
            name = param.name.value
            params[name] = self._bind(name, node, param, order, value=param.default, how="param")
            if param not in node.params.kwonly_params:
                positional.append(name)
        function = _Function(node=node, params=params, positional=positional, returns=[])
        if register:  # methods are called through attributes, never by bare name
            self._functions.setdefault(node.name.value, function)
        self._current_functions.append(function)
        self._block(node.body, node)
        self._current_functions.pop()

    def _small_statement(self, small: cst.BaseSmallStatement, scope, order: int) -> None:
        if type(small) is cst.Assign:
            for target in small.targets:
                self._bind_target(target.target, small.value, scope, small, order)
        elif type(small) is cst.AnnAssign and small.value is not None:
            self._bind_target(small.target, small.value, scope, small, order)
        elif type(small) is cst.AugAssign:
            root = _root_name(small.target)
            if root is not None:
                binding = self._bind(root, scope, small, order, value=small.value, how="mutate")
                self._pending.append((binding, small.target, ROWS, None))
                self._pending.append((binding, small.value, ROWS, None))
        elif type(small) is cst.Return and small.value is not None:
            if self._current_functions and scope is self._current_functions[-1].node:
                self._current_functions[-1].returns.append((small.value, order))
        elif type(small) in (cst.Import, cst.ImportFrom):
            names = small.names if type(small.names) is not cst.ImportStar else ()
            for alias in names:
                bound = alias.asname.name if alias.asname is not None else alias.name
                name = dotted_name(bound)
                if name:
                    self._bind(name.split(".")[0], scope, small, order, how="import")

    def _expression_bindings(self) -> None:
        """Bindings made inside expressions: comprehension targets, lambda parameters,
        walrus targets (found through the shared index, not another walk)."""
        nodes: List[cst.CSTNode] = []
        for node_type in (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Lambda, cst.NamedExpr):
            nodes.extend(self.index.of_type(node_type))
        for node in nodes:
            scope = self.scope_of(node)
            order = self.order_of(node)
            if type(node) in COMPREHENSIONS:
                comp_for: Optional[cst.CompFor] = node.for_in
                while comp_for is not None:
                    self._bind_for_target(comp_for.target, comp_for.iter, node, node, order, "comp")
                    comp_for = comp_for.inner_for_in
            elif type(node) is cst.Lambda:
                for param in node.params.params:
                    self._bind(param.name.value, node, param, order, how="param")
            elif type(node) is cst.NamedExpr and type(node.target) is cst.Name:
                binding = self._bind(node.target.value, scope, node, order, value=node.value)
                self._pending.append((binding, node.value, ROWS, None))

    def _bind_for_target(self, target, iterable, scope, node, order, how) -> None:
        splitter = unwrap_enumerate(iterable)
        for name_node in _target_name_nodes(target):
            binding = self._bind(name_node.value, scope, node, order, value=iterable, how=how)
            self.binding_of_target[name_node] = binding
            self._pending.append((binding, splitter, ELEMENT, None))

    def _bind_target(self, target, value, scope, statement, order) -> None:
        if type(target) is cst.Name:
            binding = self._bind(target.value, scope, statement, order, value=value)
            self.binding_of_target[target] = binding
            self._pending.append((binding, value, ROWS, None))
            return
        if type(target) in (cst.Tuple, cst.List):
            elements = [e for e in target.elements]
            count = len(elements)
            for position, element in enumerate(elements):
                inner = element.value
                if type(element) is cst.StarredElement or type(inner) is not cst.Name:
                    if type(inner) in (cst.Tuple, cst.List):
                        self._bind_target(inner, value, scope, statement, order)
                    continue
                binding = self._bind(inner.value, scope, statement, order, value=value)
                self.binding_of_target[inner] = binding
                self._pending.append((binding, value, ROWS, (position, count)))
            return
        # `df["c"] = v`, `df.loc[m, "c"] = v`, `X[:, 0] = v`: a new version of df.
        root = _root_name(target)
        if root is not None and type(target) is cst.Subscript:
            binding = self._bind(root, scope, statement, order, value=value, how="mutate")
            binding.columns = _subscript_columns(target)
            self.binding_of_target[target] = binding
            self._pending.append((binding, _frame_of(target), FRAME, None))
            self._pending.append((binding, value, ROWS, None))

    # -- mutations made by calls -------------------------------------------------------

    def _collect_calls(self) -> None:
        for call in self.index.of_type(cst.Call):
            name = last_name(call)
            if type(call.func) is cst.Name and call.func.value in self._functions:
                self._calls_of.setdefault(call.func.value, []).append(call)
            if type(call.func) is not cst.Attribute:
                qualified = self._qualified(call)
                if qualified in ("numpy.random.shuffle", "random.shuffle") and call.args:
                    self._mutate(call, call.args[0].value, shuffled=True)
                continue
            receiver = call.func.value
            if name in FIT_METHODS:
                self._fit_state(call, receiver)
            elif name == "shuffle" and call.args:  # rng.shuffle(X)
                self._mutate(call, call.args[0].value, shuffled=True)
            elif name in APPENDING_METHODS and _root_name(receiver) is not None:
                self._mutate(call, receiver)
            elif any(
                arg.keyword is not None and arg.keyword.value == "inplace"
                and type(arg.value) is cst.Name and arg.value.value == "True"
                for arg in call.args
            ):
                self._mutate(call, receiver)

    def _fit_state(self, call: cst.Call, receiver: cst.BaseExpression) -> None:
        scope = self.scope_of(call)
        order = self.order_of(call)
        root = receiver.value if type(receiver) is cst.Name else f"<fit@{order}>"
        binding = self._bind(root, scope, call, order, value=call, how="mutate")
        self._call_state[call] = binding
        self._pending.append((binding, receiver, STATE, None))
        for arg in call.args:
            self._pending.append((binding, arg.value, ROWS if arg.keyword is None else PARAM, None))

    def _mutate(self, call: cst.Call, target: cst.BaseExpression, shuffled: bool = False) -> None:
        root = _root_name(target)
        if root is None:
            return
        scope = self.scope_of(call)
        order = self.order_of(call)
        binding = self._bind(root, scope, call, order, value=call, how="mutate")
        binding.shuffled = shuffled
        self._pending.append((binding, target, FRAME, None))
        for arg in call.args:
            if arg.value is not target:
                self._pending.append((binding, arg.value, ROWS if arg.keyword is None else PARAM, None))

    # ================================================================================
    # pass 2: edges
    # ================================================================================

    def make_part(self, subscript: cst.Subscript, split, role: Optional[str]) -> Binding:
        """A node for the rows a subscript picks out of a split (`X[:n]`, `X[train_idx]`)."""
        binding = Binding(name="<part>", scope=self.scope_of(subscript), node=subscript,
                          order=self.order_of(subscript), value=subscript, how="part")
        binding.split, binding.part_role = split, role
        self.part_subscripts[subscript] = binding
        self.all_bindings.append(binding)
        self._pending.append((binding, subscript.value, ROWS, None))
        return binding

    def link(self) -> None:
        self._ref_cache.clear()
        self._edges_by_filter.clear()
        self._closure_budget = _CLOSURE_BUDGET
        for binding, expr, kind, unpack in self._pending:
            binding.parents.extend(self._value_refs(binding, expr, kind, unpack))
        for name, function in self._functions.items():
            for call in self._calls_of.get(name, []):
                self._link_call_site(function, call)
        self._ref_cache.clear()

    def _value_refs(self, binding, expr, kind, unpack) -> List[Ref]:
        if unpack is not None:
            position, count = unpack
            element = _unpacked_element(expr, position, count)
            if element is not None:
                expr = element
            elif type(expr) is cst.Call:
                mapped = self._unpacked_call(expr, position, count)
                if mapped is not None:
                    return mapped
        refs = list(self._refs(expr, ROWS, False))
        if kind == FRAME:
            return [Ref(r.binding, r.kind, r.opaque, r.drop, frame=True) for r in refs]
        if kind != ROWS:
            refs = [Ref(r.binding, kind if r.kind == ROWS else r.kind, r.opaque) for r in refs]
        return refs

    def _unpacked_call(self, call: cst.Call, position: int, count: int) -> Optional[List[Ref]]:
        """`a, b = helper(...)` with every `return x, y` of the helper: a ← x, b ← y."""
        if type(call.func) is cst.Name and call.func.value in self._functions:
            function = self._functions[call.func.value]
            if not function.returns or not all(
                type(value) in (cst.Tuple, cst.List) and len(value.elements) == count
                for value, _order in function.returns
            ):
                return None
            return [Ref(self._result(function, (position, count)), ROWS, False)]
        return None

    def _result(self, function: "_Function", part: Optional[Tuple[int, int]]) -> Binding:
        """One node for what a helper returns (or for one element of the tuples it returns).
        Made once and registered before its edges are computed, so that recursive helpers
        (`return walk(node.left) + walk(node.right)`) close a cycle instead of recursing."""
        key = part if part is not None else (-1, -1)
        binding = function.results.get(key)
        if binding is not None:
            return binding
        name = function.node.name.value
        binding = Binding(name=f"<return {name}>", scope=function.node, node=function.node,
                          order=self._order.get(function.node, 0), how="return")
        function.results[key] = binding
        self.all_bindings.append(binding)
        for value, _order in function.returns:
            if part is not None and type(value) in (cst.Tuple, cst.List):
                value = value.elements[part[0]].value
            binding.parents.extend(self._refs(value, ROWS, False))
        return binding

    def _link_call_site(self, function: _Function, call: cst.Call) -> None:
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        for position, arg in enumerate(positional):
            if position < len(function.positional):
                param = function.params[function.positional[position]]
                param.parents.extend(self._refs(arg.value, ROWS, False))
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in function.params:
                param = function.params[arg.keyword.value]
                param.parents.extend(self._refs(arg.value, ROWS, False))

    # -- references -------------------------------------------------------------------

    def _last_before(self, bindings: List[Binding], order: int) -> Optional[Binding]:
        """The last of a name's bindings that comes before `order`. Bisected once the lists
        are sorted (after the first pass): a notebook rebinds `df` hundreds of times and
        every reference asks."""
        orders = self._orders.get(id(bindings)) if self._sorted else None
        if orders is None or len(orders) != len(bindings):
            orders = [b.order for b in bindings]
            if not self._sorted or any(a > b for a, b in zip(orders, orders[1:])):
                before = [b for b in bindings if b.order < order]
                return before[-1] if before else None
            self._orders[id(bindings)] = orders
        earlier = bisect_left(orders, order)
        return bindings[earlier - 1] if earlier else None

    def _resolve(self, name: str, scope, order: int) -> List[Binding]:
        while True:
            table = self._bindings.get(scope, {})
            bindings = table.get(name)
            if bindings:
                if type(scope) in COMPREHENSIONS or type(scope) is cst.Lambda:
                    return list(bindings)
                before = self._last_before(bindings, order)
                return [before if before is not None else bindings[-1]]
            if scope is None:
                return self._free(name)
            if type(scope) is cst.FunctionDef:
                order = self._reference_order(scope, order)
            scope = self.scope_of(scope)

    def _free(self, name: str) -> List[Binding]:
        """A name read but never bound in the file (defined in an earlier notebook cell that
        is not here, or by `exec`): one implicit module binding of unknown origin."""
        if name in BUILTINS or name in ("True", "False", "None", "self", "cls"):
            return []
        binding = self._implicit.get(name)
        if binding is None:
            binding = Binding(name=name, scope=None, node=self.module, order=0, how="free")
            self._implicit[name] = binding
            self.all_bindings.append(binding)
        return [binding]

    def _reference_order(self, function: cst.FunctionDef, order: int) -> int:
        """Module names read inside a function: as of the function's first call."""
        calls = self._calls_of.get(function.name.value)
        if calls:
            return min(self.order_of(call) for call in calls)
        return 10**9

    def _qualified(self, node: cst.CSTNode) -> Optional[str]:
        candidates = self.imports.candidates(node)
        return candidates[0] if candidates else None

    def _refs(self, node: cst.CSTNode, kind: str, opaque: bool) -> Iterator[Ref]:
        if type(node) is cst.Name:
            for binding in self._resolve(node.value, self.scope_of(node), self.order_of(node)):
                yield Ref(binding, kind, opaque)
            return
        if type(node) is cst.Attribute:
            # `X.shape[0]`, `df.columns`: sizes and labels, not rows
            inner = PARAM if node.attr.value in SIZE_ATTRIBUTES else kind
            yield from self._refs(node.value, inner, opaque)
            return
        if type(node) is cst.Subscript:
            part = self.part_subscripts.get(node)
            if part is not None:
                yield Ref(part, kind, opaque)
                for element_node in node.slice:
                    yield from self._refs(element_node.slice, INDEX, opaque)
                return
            element = _is_element_index(self, node)
            yield from self._refs(node.value, ELEMENT if element and kind == ROWS else kind, opaque)
            for element_node in node.slice:
                yield from self._refs(element_node.slice, INDEX, opaque)
            return
        if type(node) is cst.Call:
            yield from self._call_refs(node, kind, opaque)
            return
        if type(node) is cst.Lambda or type(node) in COMPREHENSIONS:
            yield from self._comprehension_refs(node, kind, opaque)
            return
        if type(node) is cst.Arg:
            yield from self._refs(node.value, kind, opaque)
            return
        if type(node) in (cst.Param, cst.Parameters):
            return
        for child in self.index.child_nodes(node):
            yield from self._refs(child, kind, opaque)

    def _comprehension_refs(self, node, kind, opaque) -> Iterator[Ref]:
        if type(node) is cst.Lambda:
            yield from self._refs(node.body, kind, opaque)
            return
        if type(node) is cst.DictComp:
            yield from self._refs(node.key, kind, opaque)
            yield from self._refs(node.value, kind, opaque)
        else:
            yield from self._refs(node.elt, kind, opaque)
        comp_for = node.for_in
        while comp_for is not None:
            for condition in comp_for.ifs:
                yield from self._refs(condition.test, INDEX, opaque)
            comp_for = comp_for.inner_for_in

    def _call_refs(self, call: cst.Call, kind: str, opaque: bool) -> Iterator[Ref]:
        func = call.func
        # A function defined in this file: its result is what it returns.
        if type(func) is cst.Name and func.value in self._functions:
            result = self._result(self._functions[func.value], None)
            yield Ref(result, kind, opaque)
            return
        state = self._call_state.get(call)
        if state is not None:  # scaler.fit_transform(X): rows of X, state of the fit
            yield Ref(state, STATE if kind == ROWS else kind, opaque)
            if last_name(call) not in DATA_RETURNING_FITS:
                return  # `fit` returns the fitted object, not data
            for arg in call.args:
                yield from self._refs(arg.value, kind if arg.keyword is None else PARAM, opaque)
            return
        qualified = self._qualified(call)
        method = last_name(call)
        if type(func) is cst.Attribute and (qualified is None or not _is_module_path(qualified)):
            # A method on a value: `df.drop(...)`, `scaler.transform(X)`, `model.predict(X)`.
            receiver_kind = STATE if method in STATE_METHODS and kind == ROWS else kind
            dropped = _dropped_columns(call) if method == "drop" else None
            for ref in self._refs(func.value, receiver_kind, opaque):
                yield Ref(ref.binding, ref.kind, ref.opaque, dropped, ref.frame) if dropped else ref
            for arg in call.args:
                arg_kind = kind if arg.keyword is None or arg.keyword.value in DATA_KEYWORDS else PARAM
                yield from self._refs(arg.value, arg_kind, opaque)
            return
        known = qualified is not None and qualified.split(".")[0] in KNOWN_LIBRARIES
        builtin = type(func) is cst.Name and func.value in BUILTINS and qualified is None
        local_class = type(func) is cst.Name and qualified is None and any(
            b.how == "def" and type(b.node) is cst.ClassDef
            for b in self._resolve(func.value, self.scope_of(call), self.order_of(call))
        )
        through = opaque or not (known or builtin or local_class)
        sizes = type(func) is cst.Name and func.value in ("len", "range") and qualified is None
        for arg in call.args:
            if sizes:
                yield from self._refs(arg.value, PARAM, through)  # `len(X)` is a number
            elif arg.keyword is None or arg.keyword.value in DATA_KEYWORDS:
                yield from self._refs(arg.value, kind, through)
            else:
                yield from self._refs(arg.value, PARAM, through)


# -- helpers ------------------------------------------------------------------------------


def _is_module_path(qualified: str) -> bool:
    """`np.concatenate` resolves to numpy.concatenate: a library function, not a method."""
    return qualified.split(".")[0] in KNOWN_LIBRARIES


def _root_name(node: cst.CSTNode) -> Optional[str]:
    """`df` for `df`, `df["a"]`, `df.loc[m, "a"]`, `df["a"].iloc[0]`."""
    while type(node) in (cst.Subscript, cst.Attribute):
        node = node.value
    return node.value if type(node) is cst.Name else None


def _target_names(target: cst.CSTNode) -> Iterator[str]:
    if type(target) is cst.Name:
        yield target.value
    elif type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from _target_names(element.value)


def _target_name_nodes(target: cst.CSTNode) -> Iterator[cst.Name]:
    if type(target) is cst.Name:
        yield target
    elif type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from _target_name_nodes(element.value)


def unwrap_enumerate(iterable: cst.BaseExpression) -> cst.BaseExpression:
    if type(iterable) is cst.Call and type(iterable.func) is cst.Name:
        if iterable.func.value in ("enumerate", "tqdm", "list") and iterable.args:
            return iterable.args[0].value
    return iterable


def _unpacked_element(value: cst.BaseExpression, position: int, count: int) -> Optional[cst.BaseExpression]:
    if type(value) in (cst.Tuple, cst.List) and len(value.elements) == count:
        element = value.elements[position]
        if type(element) is not cst.StarredElement:
            return element.value
    return None


def _subscript_columns(target: cst.Subscript) -> Optional[Tuple[str, ...]]:
    """The column labels a subscript names: `df["a"]`, `df[["a", "b"]]`, `df.loc[:, "a"]`."""
    elements = target.slice
    if not elements:
        return None
    last = elements[-1].slice
    if type(last) is not cst.Index:
        return None
    value = last.value
    single = string_value(value)
    if single is not None:
        return (single,)
    if type(value) in (cst.List, cst.Tuple):
        labels = [string_value(e.value) for e in value.elements]
        if labels and all(label is not None for label in labels):
            return tuple(labels)  # type: ignore[arg-type]
    return None


def _is_element_index(flow: DataFlow, subscript: cst.Subscript) -> bool:
    """`X[i]` / `X[0]` picks one sample: an integer literal, or a loop variable over a range."""
    if len(subscript.slice) < 1:
        return False
    first = subscript.slice[0].slice
    if type(first) is not cst.Index:
        return False
    value = first.value
    if type(value) is cst.Integer:
        return True
    if type(value) is cst.Name:
        for binding in flow.resolve_name(value.value, value):
            if binding.how in ("for", "comp"):
                iterable = unwrap_enumerate(binding.value) if binding.value is not None else None
                if type(iterable) is cst.Call and last_name(iterable) == "range":
                    return True
    return False


def _frame_of(target: cst.Subscript) -> cst.BaseExpression:
    """`df` for `df["c"]` and `df.loc[m, "c"]`."""
    value = target.value
    if type(value) is cst.Attribute and value.attr.value in ("loc", "iloc", "at", "iat"):
        return value.value
    return value


def _dropped_columns(call: cst.Call) -> Optional[frozenset]:
    """Column labels removed by `df.drop(columns=[...])` / `df.drop([...], axis=1)`."""
    columns = None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "columns":
            columns = arg.value
    if columns is None:
        positional = [a for a in call.args if a.keyword is None]
        axis = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "axis"), None)
        if len(positional) >= 2:
            axis = positional[1].value
        is_columns = (type(axis) is cst.Integer and axis.value == "1") or string_value(axis) == "columns"
        if positional and is_columns:
            columns = positional[0].value
    if columns is None:
        return None
    single = string_value(columns)
    if single is not None:
        return frozenset({single})
    if type(columns) in (cst.List, cst.Tuple):
        labels = {string_value(e.value) for e in columns.elements}
        labels.discard(None)
        return frozenset(labels) if labels else None  # type: ignore[arg-type]
    return None
