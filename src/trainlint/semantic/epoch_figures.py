"""Epoch figures: what each batch loop adds up, and what it is divided by after the loop.

Built on the loop facts (`ctx.loops`, analysis/loops.py) and the criterion facts
(`ctx.criteria`). For every accumulator of a batch loop the *kind* of the added value:

- BATCH_MEAN: a per-batch mean (`loss.item()` of a mean-reduced loss, `outputs.loss`,
  `(pred == y).float().mean()`);
- SAMPLE_SUM: a per-sample sum (`loss.item() * x.size(0)`, a `reduction="sum"` loss);
- COUNT: a count of correct predictions (`(pred == y).sum().item()`);
- SAMPLE_COUNT: a number of samples (`y.size(0)`, `len(labels)`);
- BATCH_COUNT: `+= 1`;
- LEN_BATCH: `len(batch)` of a dict or tuple batch (its number of keys or fields).

For every division after the loop whose numerator is such an accumulator (`total /
len(loader)`, or in place: `total /= batch_idx + 1`) and that reads the sum itself (not a
value rebound after the loop), the kind of the denominator: BATCHES (`len(loader)`, `i + 1`,
the index of `enumerate(loader, 1)`, a `+= 1` counter) or SAMPLES (`len(loader.dataset)`, a
sample counter such as `y.size(0)` or a graph batch's `num_graphs`), and which loader it
measures.

A *running mean* updated in the loop (`avg += (x - avg) / (i + 1)`, `avg = avg + (x - avg) /
n_batches`, `avg = (avg * i + x) / (i + 1)`) is the sum of the `x` divided by the number of
batches seen so far: it is recorded as a division (at the update) of an accumulated `x`, so
the rules read it like `sum(x) / len(loader)`. Only a count of the batches seen qualifies as
its denominator; a constant (`/ len(loader)`, an exponential moving average) does not.

And the *last-batch figures*: a metric assigned (not accumulated) inside the loop and read
after it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.criteria import MEAN, SUM, CriteriaTable
from trainlint.semantic.batching import LoaderFacts, LoaderTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import (
    argument, dotted_name, expression_key, is_zero, last_name, nodes_in, positional_args,
)
from trainlint.vocab.roles import name_tokens

BATCH_MEAN, SAMPLE_SUM, COUNT = "batch_mean", "sample_sum", "count"
SAMPLE_COUNT, BATCH_COUNT, LEN_BATCH = "sample_count", "batch_count", "len_batch"
# a loss from a criterion the file does not construct: PyTorch's default reduction is the
# mean, so it probably is a batch mean (good enough for TL202, not for TL203)
LIKELY_MEAN = "likely_mean"
BATCHES, SAMPLES = "batches", "samples"
# the variable of a running mean (`avg += (x - avg) / (i + 1)`): already divided, not a sum
RUNNING_MEAN = "running_mean"

_PASS_THROUGH = {"item", "detach", "cpu", "data", "double", "float", "numpy", "tolist", "clone"}
_NUMBER_CASTS = {"float", "int"}
_PROGRESS_BARS = {"tqdm", "tqdm_notebook", "track", "progress_bar"}
_UPDATE_METHODS = {"add", "update", "append", "extend", "accumulate", "add_batch"}
_METRIC_WORDS = {"loss", "acc", "accuracy", "f1", "auc", "score", "metric", "error", "err",
                 "mae", "mse", "rmse", "iou", "dice", "precision", "recall", "correct", "psnr"}
_METRIC_FUNCTIONS = {"accuracy_score", "f1_score", "precision_score", "recall_score",
                     "roc_auc_score", "balanced_accuracy_score", "mean_squared_error",
                     "mean_absolute_error", "r2_score", "matthews_corrcoef", "accuracy"}


@dataclass(frozen=True)
class Accumulated:
    name: str
    kind: Optional[str]
    node: cst.CSTNode  # the small statement that adds
    loop: object  # loops.LoopFact


@dataclass(frozen=True)
class EpochDivision:
    # the division (`a / b`), the in-place division statement (`a /= b`), or the running-mean
    # update statement (`avg += (x - avg) / (i + 1)`)
    node: cst.CSTNode
    numerator: Accumulated
    denominator: Optional[str]  # BATCHES / SAMPLES / None
    measured: Optional[cst.BaseExpression]  # the loader or dataset the denominator measures
    measured_is_dataset_of: Optional[cst.BaseExpression]  # X in `len(X.dataset)`
    running_mean: bool = False  # an update `avg += (x - avg) / (i + 1)`, not a division after the loop


@dataclass(frozen=True)
class LastBatchFigure:
    assignment: cst.CSTNode
    name: str
    loop: object
    read: cst.CSTNode


class EpochFigures:
    def __init__(self, module: cst.Module, index: ModuleIndex, loops, criteria: CriteriaTable,
                 loaders: LoaderTable) -> None:
        self._module = module
        self._index = index
        self._loops = loops
        self._criteria = criteria
        self._loaders = loaders
        self._assigned_cache: Dict[cst.CSTNode, Set[str]] = {}
        self._loop_cache: Dict[Tuple[cst.CSTNode, type], List[cst.CSTNode]] = {}
        # (function, name) -> [(start token, is_write, Name node)] in source order
        self._mentions: Dict[Tuple[Optional[cst.CSTNode], str], List[Tuple[int, bool, cst.Name]]] = {}
        self._assigns_by_name: Dict[Tuple[Optional[cst.CSTNode], str], List[cst.BaseExpression]] = {}
        # (function, name) -> start tokens of `name op= ...` (in-place updates, not in _mentions)
        self._in_place: Dict[Tuple[Optional[cst.CSTNode], str], List[int]] = {}
        self.accumulated: List[Accumulated] = []
        self.divisions: List[EpochDivision] = []
        self.last_batch: List[LastBatchFigure] = []
        if not loops.loops:
            return  # every figure comes from a batch loop
        self._index_statements()
        running: List[Tuple[object, cst.CSTNode, str, cst.BaseExpression, cst.BaseExpression]] = []
        for loop in loops.loops:
            for accumulator in loop.accumulators:
                if accumulator.op in ("+=", "assign"):
                    update = _running_mean_update(self._module, accumulator)
                    if update is not None:
                        running.append((loop, accumulator.node, accumulator.name) + update)
                        kind: Optional[str] = RUNNING_MEAN
                    else:
                        kind = self._value_kind(accumulator.value, loop, accumulator.node)
                    self.accumulated.append(Accumulated(accumulator.name, kind, accumulator.node, loop))
            running.extend(self._weighted_running_means(loop))
        self._find_divisions()
        for loop, node, name, value, count in running:
            self._running_mean_division(loop, node, name, value, count)
        for loop in loops.loops:
            self.last_batch.extend(self._last_batch_figures(loop))

    # -- public ---------------------------------------------------------------------------

    def loader_facts(self, loop, loader: Optional[cst.BaseExpression] = None) -> List[LoaderFacts]:
        """DataLoader facts for the loop's loader (or `loader`): directly, or through the call
        sites of the enclosing function when the loader is one of its parameters."""
        expr = loader if loader is not None else loop.loader
        name = dotted_name(expr) if expr is not None else None
        if name is None:
            return []
        function = loop.function
        facts = self._loaders.named(name, function)
        if facts is not None:
            return [facts]
        if function is None or "." in name:
            return []
        found = []
        for call in self._criteria.call_sites(function):
            value = self._criteria.bindings_for(call, function).get(name)
            named = self._loaders.named(dotted_name(value), self._index.enclosing_function(call)) \
                if value is not None else None
            if named is None:
                return []  # one call site we cannot see: stay silent
            found.append(named)
        return found

    # -- accumulated values ---------------------------------------------------------------

    def _value_kind(self, expr: Optional[cst.BaseExpression], loop, at: cst.CSTNode,
                    depth: int = 0) -> Optional[str]:
        if expr is None or depth > 5:
            return None
        core = _strip(expr)
        if type(core) is cst.Integer and core.value == "1":
            return BATCH_COUNT
        if type(core) is cst.BinaryOperation:
            if type(core.operator) is cst.Multiply:
                for side, other in ((core.left, core.right), (core.right, core.left)):
                    if _is_number(side):
                        return self._value_kind(other, loop, at, depth + 1)
                for side in (core.left, core.right):
                    if self._is_batch_size(side, loop):
                        return SAMPLE_SUM
                return None
            if type(core.operator) is cst.Divide:
                return BATCH_MEAN
            return None
        if type(core) is cst.Call:
            name = last_name(core.func)
            if name == "len" and positional_args(core):
                arg = positional_args(core)[0].value
                if type(arg) is cst.Name and arg.value in loop.batch_names:
                    if len(loop.batch_names) == 1 and self._structured_batch(arg.value, loop):
                        return LEN_BATCH
                    return SAMPLE_COUNT if len(loop.batch_names) > 1 else None
            if self._is_batch_size(core, loop):
                return SAMPLE_COUNT
            if _has_equality(core):
                if _calls(core, {"sum", "count_nonzero"}):
                    return COUNT
                if _calls(core, {"mean"}):
                    return BATCH_MEAN
                return None
            use = self._criteria.loss_use(core)
            if use is not None:
                return {MEAN: BATCH_MEAN, SUM: SAMPLE_SUM}.get(use.spec.reduction or "")
            if name == "mean":
                return BATCH_MEAN
            if name == "sum":
                return SAMPLE_SUM
            callee = dotted_name(core.func)
            if callee is not None and _looks_like_criterion(callee.rsplit(".", 1)[-1]):
                return LIKELY_MEAN
            return None
        if type(core) in (cst.Subscript, cst.Attribute) and self._is_batch_size(core, loop):
            return SAMPLE_COUNT  # `y.shape[0]`, `batch.num_graphs`
        if type(core) is cst.Attribute and core.attr.value == "loss":
            return BATCH_MEAN  # Hugging Face `outputs.loss`: mean over the batch's tokens
        if type(core) is cst.Name:
            value = self._assigned_before(core.value, loop, at)
            if value is not None:
                return self._value_kind(value, loop, at, depth + 1)
        return None

    def _is_batch_size(self, node: cst.BaseExpression, loop) -> bool:
        """`x.size(0)`, `y.shape[0]`, `len(y)`, `y.numel()`, `x.size()[0]` on batch data."""
        node = _strip(node)
        if type(node) is cst.Call:
            name = last_name(node.func)
            receiver = node.func.value if type(node.func) is cst.Attribute else None
            if name == "size" and receiver is not None:
                args = positional_args(node)
                return bool(args) and _is_zero_index(args[0].value) and self._is_batch_data(receiver, loop)
            if name == "numel" and receiver is not None:
                return self._is_batch_data(receiver, loop)
            if name == "len" and positional_args(node):
                return self._is_batch_data(positional_args(node)[0].value, loop)
            return False
        if type(node) is cst.Subscript and len(node.slice) == 1:
            index = node.slice[0].slice
            if type(index) is cst.Index and _is_zero_index(index.value):
                base = node.value
                if type(base) is cst.Attribute and base.attr.value == "shape":
                    return self._is_batch_data(base.value, loop)
                if type(base) is cst.Call and last_name(base.func) == "size" and type(base.func) is cst.Attribute:
                    return self._is_batch_data(base.func.value, loop)
        if type(node) is cst.Attribute and node.attr.value == "num_graphs":
            return self._is_batch_data(node.value, loop)  # PyTorch Geometric: graphs in the batch
        if type(node) is cst.Name:
            return node.value == "bs" or "batch_size" in node.value
        return False

    def _is_batch_data(self, node: cst.BaseExpression, loop) -> bool:
        """A batch variable, an element of one (`batch["labels"]`), or a name assigned from
        one inside the loop (`images = images.to(device)`, `labels = batch[1]`)."""
        base = node
        while type(base) in (cst.Subscript, cst.Attribute):
            base = base.value
        if type(base) is cst.Call and type(base.func) is cst.Attribute:
            return self._is_batch_data(base.func.value, loop)
        if type(base) is cst.Name:
            if base.value in loop.batch_names:
                return True
            return any(base.value == n for n in self._names_assigned_in(loop))
        return False

    def _structured_batch(self, name: str, loop) -> bool:
        """The batch is a dict or tuple: `batch["x"]`, `batch[0]`, `**batch`, `x, y = batch`."""
        for node in self._in_loop(loop, cst.Subscript):
            if type(node.value) is cst.Name and node.value.value == name:
                return True
        for arg in self._in_loop(loop, cst.Arg):
            if arg.star == "**" and type(arg.value) is cst.Name and arg.value.value == name:
                return True
        for assign in self._in_loop(loop, cst.Assign):
            if type(assign.value) is cst.Name and assign.value.value == name and \
                    any(type(t.target) in (cst.Tuple, cst.List) for t in assign.targets):
                return True
        return False

    def _in_loop(self, loop, node_type: type) -> List:
        """Nodes of a type inside the loop, by token span (no walk)."""
        key = (loop.node, node_type)
        cached = self._loop_cache.get(key)
        if cached is None:
            cached = self._index.within(loop.node, node_type)
            self._loop_cache[key] = cached
        return cached

    def _names_assigned_in(self, loop) -> Set[str]:
        cached = self._assigned_cache.get(loop.node)
        if cached is not None:
            return cached
        names: Set[str] = set()
        self._assigned_cache[loop.node] = names
        for assign in self._in_loop(loop, cst.Assign):
            for target in assign.targets:
                for element in _flatten(target.target):
                    if type(element) is cst.Name:
                        names.add(element.value)
        return names

    def _assigned_before(self, name: str, loop, at: cst.CSTNode) -> Optional[cst.BaseExpression]:
        """The value last assigned to `name` inside the loop before `at` (one unpacking-free
        assignment), else None."""
        found = None
        limit = self._index.span(at)[0]
        for assign in self._in_loop(loop, cst.Assign):
            if self._index.span(assign)[0] > limit:
                continue
            for target in assign.targets:
                if type(target.target) is cst.Name and target.target.value == name:
                    found = assign.value
        return found

    # -- divisions after the loop ---------------------------------------------------------

    def _find_divisions(self) -> None:
        by_name: Dict[Tuple[object, str], List[Accumulated]] = {}
        for acc in self.accumulated:
            by_name.setdefault((acc.loop.function, acc.name), []).append(acc)
        if not by_name:
            return
        for division in self._index.of_type(cst.BinaryOperation):
            if type(division.operator) is cst.Divide:
                self._division(by_name, division, division.left, division.right)
        for statement in self._index.of_type(cst.AugAssign):
            if type(statement.operator) is cst.DivideAssign:  # `epoch_loss /= batch_idx + 1`
                self._division(by_name, statement, statement.target, statement.value)

    def _division(self, by_name, node: cst.CSTNode, left: cst.BaseExpression,
                  right: cst.BaseExpression) -> None:
        name = _numerator_name(left)
        if name is None:
            return
        function = self._index.enclosing_function(node)
        candidates = [acc for acc in by_name.get((function, name), [])
                      if acc.kind != RUNNING_MEAN and self._after(node, acc.loop.node)]
        if not candidates:
            return
        numerator = max(candidates, key=lambda acc: self._index.span(acc.loop.node)[0])
        loop = numerator.loop
        if self._rebound_between(name, function, loop.node, node):
            return  # `total /= len(loader)` earlier: this division reads the mean, not the sum
        kind, measured, dataset_of = self._denominator(right, loop, function, node)
        self.divisions.append(EpochDivision(node, numerator, kind, measured, dataset_of))

    def _rebound_between(self, name: str, function, loop_node: cst.CSTNode, division: cst.CSTNode) -> bool:
        """`name` is written after the loop and before the statement of `division`."""
        start = self._index.span(loop_node)[1]
        end = self._index.span(self._index.statement_of(division))[0]
        writes = [position for position, is_write, _node in self._mentions.get((function, name), []) if is_write]
        writes += self._in_place.get((function, name), [])
        return any(start <= position < end for position in writes)

    def _denominator(self, expr: cst.BaseExpression, loop, function, at, depth: int = 0):
        if depth > 4:
            return None, None, None
        core = _strip(expr)
        if type(core) is cst.Call and last_name(core.func) == "max" and positional_args(core):
            core = _strip(positional_args(core)[0].value)  # max(n, 1)
        if _batches_from_index(core, loop):
            return BATCHES, loop.loader, None
        if type(core) is cst.BinaryOperation:
            return None, None, None
        if type(core) is cst.Call and last_name(core.func) == "len" and positional_args(core):
            arg = positional_args(core)[0].value
            if type(arg) is cst.Attribute and arg.attr.value == "dataset":
                return SAMPLES, arg.value, arg.value
            name = dotted_name(arg)
            if name is not None and (name == loop.loader_name or self._loaders.named(name) is not None):
                return BATCHES, arg, None
            facts = self.loader_facts(loop)
            if facts and all(_same_expr(self._module, f.dataset, arg) for f in facts):
                return SAMPLES, arg, None
            return None, arg, None
        if type(core) is cst.Name:
            for acc in self.accumulated:
                if acc.loop is loop and acc.name == core.value:
                    if acc.kind == SAMPLE_COUNT or acc.kind == LEN_BATCH:
                        return SAMPLES, loop.loader, None
                    if acc.kind == BATCH_COUNT:
                        return BATCHES, loop.loader, None
                    return None, None, None
            value = self._single_assignment(core.value, function)
            if value is not None:
                return self._denominator(value, loop, function, at, depth + 1)
        return None, None, None

    # -- running means ----------------------------------------------------------------------

    def _weighted_running_means(self, loop) -> Iterator[Tuple[object, cst.CSTNode, str, cst.BaseExpression, cst.BaseExpression]]:
        """`avg = (avg * i + x) / (i + 1)` with `i` the index of `enumerate(loader)`."""
        index = _enumerate_index(loop)
        if index is None or _enumerate_start(loop) != 0:
            return
        for assign in self._in_loop(loop, cst.Assign):
            if len(assign.targets) != 1 or type(assign.targets[0].target) is not cst.Name:
                continue
            name = assign.targets[0].target.value
            value = assign.value
            if not (type(value) is cst.BinaryOperation and type(value.operator) is cst.Divide
                    and type(value.left) is cst.BinaryOperation and type(value.left.operator) is cst.Add):
                continue
            if self._loops.loop_of(assign) is not loop:
                continue
            total = value.left
            for weighted, added in ((total.left, total.right), (total.right, total.left)):
                if _is_product_of_names(weighted, name, index):
                    yield loop, assign, name, added, value.right
                    break

    def _running_mean_division(self, loop, node: cst.CSTNode, name: str, value: cst.BaseExpression,
                               count: cst.BaseExpression) -> None:
        """Record a running-mean update as the division of the summed `value` by the number
        of batches, when `count` counts the batches seen so far."""
        if not self._counts_batches_seen(count, loop):
            return
        kind = self._value_kind(value, loop, node)
        numerator = Accumulated(name, kind, node, loop)
        self.divisions.append(EpochDivision(node, numerator, BATCHES, loop.loader, None, running_mean=True))

    def _counts_batches_seen(self, count: cst.BaseExpression, loop) -> bool:
        """`i + 1` (`i` from `enumerate(loader)`), `i` from `enumerate(loader, 1)`, or a `+= 1`
        counter of this loop; not a constant such as `len(loader)`."""
        core = _strip(count)
        if _batches_from_index(core, loop):
            return True
        return type(core) is cst.Name and any(
            acc.loop is loop and acc.name == core.value and acc.kind == BATCH_COUNT for acc in self.accumulated)

    def _single_assignment(self, name: str, function) -> Optional[cst.BaseExpression]:
        values = self._assigns_by_name.get((function, name), [])
        return values[0] if len(values) == 1 else None

    # -- last-batch figures ---------------------------------------------------------------

    def _last_batch_figures(self, loop) -> Iterator[LastBatchFigure]:
        if _ends_with_break(loop.node):
            return
        accumulated = set(loop.accumulator_names) | self._updated_objects(loop)
        seen: Set[str] = set()
        for assign in self._in_loop(loop, cst.Assign):
            if self._loops.loop_of(assign) is not loop:
                continue
            if len(assign.targets) != 1 or type(assign.targets[0].target) is not cst.Name:
                continue
            name = assign.targets[0].target.value
            if name in accumulated or name in loop.batch_names or name in seen:
                continue
            if "last" in name_tokens(name) or any(read in accumulated for read in _read_names(assign.value)):
                continue  # named as the last batch, or a running figure over the accumulators
            if not self._is_metric_value(name, assign.value, loop, assign):
                continue
            read = self._first_read_after(name, loop)
            if read is not None:
                seen.add(name)
                yield LastBatchFigure(self._small_statement(assign), name, loop, read)

    def _updated_objects(self, loop) -> Set[str]:
        """Running-total objects the loop feeds: `metric.add(...)`, `meter.update(...)`
        (d2l's Accumulator, AverageMeter); a ratio of their fields is an epoch figure."""
        names = set()
        for call in self._in_loop(loop, cst.Call):
            func = call.func
            if type(func) is cst.Attribute and type(func.value) is cst.Name \
                    and func.attr.value in _UPDATE_METHODS:
                names.add(func.value.value)
        return names

    def _is_metric_value(self, name: str, value: cst.BaseExpression, loop, at) -> bool:
        core = _strip(value)
        if type(core) is cst.Call and self._criteria.loss_use(core) is not None:
            return True
        tokens = set(name_tokens(name)) | set(name.lower().split("_"))
        if not tokens & _METRIC_WORDS:
            return False
        if type(core) is cst.Call and last_name(core.func) in _METRIC_FUNCTIONS:
            return True
        return self._value_kind(value, loop, at) in (BATCH_MEAN, LIKELY_MEAN, SAMPLE_SUM, COUNT)

    def _first_read_after(self, name: str, loop) -> Optional[cst.CSTNode]:
        """The first statement after the loop (same function, in source order) that reads
        `name`, unless the name is assigned again first."""
        end = self._index.span(loop.node)[1]
        mentions = self._mentions.get((loop.function, name), [])
        position = bisect.bisect_left(mentions, (end, False, None)) if mentions else 0
        for start, is_write, node in mentions[position:]:
            if start < end:
                continue
            if is_write:
                return None
            return self._index.statement_of(node)
        return None

    def _small_statement(self, node: cst.CSTNode) -> cst.CSTNode:
        return node

    # -- order ----------------------------------------------------------------------------

    def _index_statements(self) -> None:
        for assign in self._index.of_type(cst.Assign):
            function = self._index.enclosing_function(assign)
            for target in assign.targets:
                if type(target.target) is cst.Name:
                    self._assigns_by_name.setdefault((function, target.target.value), []).append(assign.value)
        for name in self._index.of_type(cst.Name):
            usage = self._usage(name)
            if usage is not None:
                key = (self._index.enclosing_function(name), name.value)
                self._mentions.setdefault(key, []).append((self._index.span(name)[0], usage, name))
        for mentions in self._mentions.values():
            mentions.sort(key=lambda mention: (mention[0], mention[1]))
        for statement in self._index.of_type(cst.AugAssign):
            if type(statement.target) is cst.Name:
                key = (self._index.enclosing_function(statement), statement.target.value)
                self._in_place.setdefault(key, []).append(self._index.span(statement)[0])

    def _usage(self, name: cst.Name) -> Optional[bool]:
        """True for a write (assignment or loop target), False for a read, None for neither
        (an attribute name, a keyword, a `del`, a definition's name)."""
        parent = self._index.parent(name)
        kind = type(parent)  # type tests, not isinstance: this runs for every name in the file
        if kind is cst.Attribute and parent.attr is name:  # type: ignore[union-attr]
            return None
        if kind is cst.Arg and parent.keyword is name:  # type: ignore[union-attr]
            return None
        if kind in _DEFINING_PARENTS:
            return None
        child: cst.CSTNode = name
        for ancestor in self._index.ancestors(name):
            kind = type(ancestor)
            if kind is cst.Del:
                return None
            if kind is cst.AssignTarget:
                return True
            if kind in _TARGET_OWNERS:
                target = ancestor.target  # type: ignore[attr-defined]
                return True if child is target else False
            if kind in _UNPACKING:
                child = ancestor
                continue
            return False
        return False

    def _after(self, node: cst.CSTNode, loop_node: cst.CSTNode) -> bool:
        return self._index.span(node)[0] >= self._index.span(loop_node)[1]


# _usage: parents whose name is a definition, owners of a target, and unpacking containers
_DEFINING_PARENTS = frozenset({cst.FunctionDef, cst.ClassDef, cst.Param, cst.ImportAlias, cst.AsName})
_TARGET_OWNERS = frozenset({cst.AnnAssign, cst.For, cst.CompFor})
_UNPACKING = frozenset({cst.Tuple, cst.List, cst.Element, cst.StarredElement})


# -- expression helpers ------------------------------------------------------------------

def _strip(node: cst.BaseExpression) -> cst.BaseExpression:
    """Remove `.item()`, `.detach()`, `.cpu()`, `float(...)`, parentheses and the like."""
    while True:
        if type(node) is cst.Call:
            func = node.func
            if type(func) is cst.Attribute and func.attr.value in _PASS_THROUGH and not node.args:
                node = func.value
                continue
            if type(func) is cst.Name and func.value in _NUMBER_CASTS and len(node.args) == 1:
                node = node.args[0].value
                continue
        if type(node) is cst.Attribute and node.attr.value == "data":
            node = node.value
            continue
        return node


def _numerator_name(node: cst.BaseExpression) -> Optional[str]:
    node = _strip(node)
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        if _is_number(node.left):
            return _numerator_name(node.right)
        if _is_number(node.right):
            return _numerator_name(node.left)
        return None
    return dotted_name(node)


def _is_number(node: cst.BaseExpression) -> bool:
    return type(node) in (cst.Integer, cst.Float)


def _running_mean_update(module: cst.Module, accumulator) -> Optional[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    """`avg += (x - avg) / n` or `avg = avg + (x - avg) / n`: (x, n); else None."""
    if type(accumulator.node) is cst.AugAssign and type(accumulator.node.operator) is not cst.AddAssign:
        return None
    value = accumulator.value
    if not (type(value) is cst.BinaryOperation and type(value.operator) is cst.Divide):
        return None
    delta = value.left
    if not (type(delta) is cst.BinaryOperation and type(delta.operator) is cst.Subtract):
        return None
    if expression_key(module, delta.right) != accumulator.name:
        return None
    return delta.left, value.right


def _is_product_of_names(node: cst.BaseExpression, first: str, second: str) -> bool:
    """`first * second` in either order."""
    if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply):
        return False
    names = {n.value for n in (node.left, node.right) if type(n) is cst.Name}
    return names == {first, second}


def _batches_from_index(core: cst.BaseExpression, loop) -> bool:
    """The number of batches seen, from the loop's enumerate index: `i + 1` / `1 + i` when
    counting from 0, `i` itself for `enumerate(loader, 1)`."""
    index = _enumerate_index(loop)
    if index is None:
        return False
    start = _enumerate_start(loop)
    if type(core) is cst.Name:
        return start == 1 and core.value == index
    if start == 0 and type(core) is cst.BinaryOperation and type(core.operator) is cst.Add:
        for name, one in ((core.left, core.right), (core.right, core.left)):
            if type(name) is cst.Name and name.value == index and type(one) is cst.Integer and one.value == "1":
                return True
    return False


def _enumerate_call(loop) -> Optional[cst.Call]:
    """The `enumerate(...)` the loop iterates, also inside a progress bar:
    `for i, batch in tqdm(enumerate(loader), total=len(loader))`."""
    node = loop.node.iter if type(loop.node) is cst.For else None
    while type(node) is cst.Call:
        name = last_name(node.func)
        if name == "enumerate":
            return node
        args = positional_args(node)
        if name not in _PROGRESS_BARS or not args:
            return None
        node = args[0].value
    return None


def _enumerate_start(loop) -> Optional[int]:
    """The literal start of the loop's `enumerate(...)` (0 by default), None if not literal."""
    call = _enumerate_call(loop)
    if call is None:
        return None
    start = argument(call, 1, "start")
    if start is None:
        return 0
    if type(start) is cst.Integer:
        return int(start.value)
    return None


def _enumerate_index(loop) -> Optional[str]:
    if _enumerate_call(loop) is None:
        return None
    target = loop.node.target
    if type(target) in (cst.Tuple, cst.List) and target.elements:
        first = target.elements[0].value
        return first.value if type(first) is cst.Name else None
    return None


def _same_expr(module: cst.Module, a: Optional[cst.CSTNode], b: Optional[cst.CSTNode]) -> bool:
    if a is None or b is None:
        return False
    return "".join(module.code_for_node(a).split()) == "".join(module.code_for_node(b).split())


def _flatten(target: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from _flatten(element.value)
    else:
        yield target


def _calls(node: cst.CSTNode, names: Set[str]) -> bool:
    return any(type(n) is cst.Call and last_name(n.func) in names for n in nodes_in(node))


def _has_equality(node: cst.CSTNode) -> bool:
    for child in nodes_in(node):
        if type(child) is cst.ComparisonTarget and type(child.operator) is cst.Equal:
            return True
        if type(child) is cst.Call and last_name(child.func) == "eq":
            return True
    return False


def _looks_like_criterion(name: str) -> bool:
    lowered = name.lower()
    return "loss" in lowered or lowered.startswith("crit") or lowered.endswith("criterion")


def _ends_with_break(loop_node: cst.CSTNode) -> bool:
    body = getattr(loop_node, "body", None)
    statements = getattr(body, "body", ())
    if not statements:
        return False
    last = statements[-1]
    return type(last) is cst.SimpleStatementLine and any(type(s) is cst.Break for s in last.body)


def _read_names(root: cst.CSTNode) -> Iterator[str]:
    """Names read in an expression: not attribute names (`out.loss`) nor keywords (`f(loss=1)`)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if type(node) is cst.Name:
            yield node.value
        elif type(node) is cst.Attribute:
            stack.append(node.value)
        elif type(node) is cst.Arg:
            stack.append(node.value)
        else:
            stack.extend(node.children)


def _is_zero_index(node: cst.BaseExpression) -> bool:
    """`x.size(0)`, `shape[0]`: an integer literal zero."""
    return type(node) is cst.Integer and is_zero(node)
