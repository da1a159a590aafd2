"""Training and evaluation loops, their accumulators, and what is reported after them.

`ctx.loops` is a `LoopTable`; `ctx.loops.loops` lists one `LoopFact` per *batch loop*: the
innermost `for` / `while` around a model forward pass, a `backward()` or an optimizer
`step()` (a `for phase in ["train", "val"]` loop is never a batch loop; it is recorded as the
loop's `phase_loop`). See /work/notes/loops-api.md for the contract other rules rely on.

Kinds:
- "train": the loop runs `backward()` / `optimizer.step()` on every pass;
- "mixed": it does so only under a test of the phase variable (`if phase == "train":`);
- "eval": it runs a forward pass and no backward/step;
- "unknown": neither (e.g. only a loss computed on precomputed outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from bisect import bisect_right
from typing import Dict, Iterator, List, Optional, Tuple, Union

import libcst as cst

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.models import ModelTable
from trainlint.semantic.names import assigned_targets, dotted_name, expression_key, last_name, positional_args
from trainlint.semantic.roles import TRAIN, DataRoles

TRAIN_KIND, EVAL_KIND, MIXED_KIND, UNKNOWN_KIND = "train", "eval", "mixed", "unknown"

LoopNode = Union[cst.For, cst.While]

# Wrappers around an iterable that keep its data: `enumerate(loader)`, `tqdm(loader)`.
_ITER_WRAPPERS = {"enumerate", "tqdm", "trange", "tqdm_notebook", "iter", "islice", "track",
                  "progress_bar", "ProgressBar", "cycle", "Bar", "auto", "notebook"}
_OPTIMIZER_WORDS = ("optim", "opt", "solver")
_REPORT_FUNCTIONS = {"print", "pprint", "display", "write"}
_LOG_METHODS = {"info", "debug", "warning", "log", "write", "set_postfix", "set_description",
                "set_postfix_str", "log_dict", "log_metrics", "add_scalar", "add_scalars",
                "log_metric", "log_scalar", "report", "update_state", "add_row", "save_metrics"}
_PLOT_METHODS = {"plot", "scatter", "bar", "semilogy", "semilogx", "loglog", "errorbar", "fill_between"}
_NO_GRAD = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
            "torch.autograd.grad_mode.no_grad", "torch.enable_grad"}


@dataclass
class Accumulator:
    """`name` is updated on every pass of the loop with `value`.

    op: "+=" (also -=, *=), "assign" (`total = total + v`), "append" (`.append(v)` /
    `.extend(v)`), "update" (`meter.update(v, n)`, torchmetrics `metric.update(...)`).
    """

    name: str
    node: cst.CSTNode  # the small statement (AugAssign, Assign, Expr)
    value: Optional[cst.BaseExpression]
    op: str
    call: Optional[cst.Call] = None  # for append/update


@dataclass
class Report:
    """A statement after the loop that reads a figure derived from the loop's accumulators.

    kind: "print" | "log" (logging, trackers: SummaryWriter, wandb, mlflow, tqdm postfix) |
    "plot" | "append" (list/history appends) | "store" (`history['acc'] = ...`, dict literal
    assigned) | "return" | "format" (an f-string or .format assigned to a name).
    """

    node: cst.CSTNode  # the small statement
    kind: str
    names: Tuple[str, ...]  # the figure names it reads
    call: Optional[cst.Call] = None


@dataclass
class LoopFact:
    node: LoopNode
    kind: str
    function: Optional[cst.FunctionDef]
    loader: Optional[cst.BaseExpression]  # the data source, wrappers removed (None: not visible)
    loaders: Tuple[cst.BaseExpression, ...]  # all of them for zip(...)
    loader_name: Optional[str]
    role: Optional[str]  # from name / producing call / call sites; "train" also from kind
    batch_names: Tuple[str, ...]
    forward_calls: Tuple[cst.Call, ...]
    backward_calls: Tuple[cst.Call, ...]
    step_calls: Tuple[cst.Call, ...]
    accumulators: Tuple[Accumulator, ...]
    reports: Tuple[Report, ...]
    # name -> the statement that derives it after the loop (`acc = correct / total`)
    figures: Dict[str, cst.CSTNode]
    epoch_loop: Optional[LoopNode]
    phase_loop: Optional[cst.For]
    phase_variable: Optional[str]
    phase_values: Tuple[str, ...]
    enclosing_loops: Tuple[LoopNode, ...] = field(default=())

    @property
    def accumulator_names(self) -> Tuple[str, ...]:
        return tuple(dict.fromkeys(a.name for a in self.accumulators))


class LoopTable:
    def __init__(self, module: cst.Module, index: ModuleIndex, imports: ImportTable,
                 models: ModelTable, roles: DataRoles) -> None:
        self.module = module
        self.index = index
        self.imports = imports
        self.models = models
        self.roles = roles
        self._order = {id(node): i for i, node in enumerate(index.of_type(cst.SimpleStatementLine))}
        self.loops: List[LoopFact] = []
        # Keyed by id(node): libcst nodes hash in Python, and these are asked of every node.
        self._by_node: Dict[int, LoopFact] = {}
        self._function_of: Dict[int, Optional[cst.FunctionDef]] = {}
        self._lines_of: Dict[int, Tuple[List[cst.SimpleStatementLine], List[int]]] = {}
        self._loop_of: Dict[int, Optional[LoopFact]] = {}
        self._statement_names: Dict[int, Tuple[set, List[str]]] = {}
        self._build()

    # -- public queries -----------------------------------------------------------------

    def of_kind(self, *kinds: str) -> List[LoopFact]:
        return [loop for loop in self.loops if loop.kind in kinds]

    def fact(self, node: cst.CSTNode) -> Optional[LoopFact]:
        """The LoopFact of a For/While node, if it is a batch loop."""
        return self._by_node.get(id(node))

    def loop_of(self, node: cst.CSTNode) -> Optional[LoopFact]:
        """The innermost batch loop containing `node`."""
        key = id(node)
        if key in self._loop_of:
            return self._loop_of[key]
        by_node = self._by_node
        found = None
        for ancestor in self.index.ancestors(node):
            found = by_node.get(id(ancestor))
            if found is not None:
                break
        self._loop_of[key] = found  # memoized: a forward pass asks it of every backward of its scope
        return found

    def function_of(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        """The enclosing function of `node` (memoized; None at module level)."""
        key = id(node)
        if key not in self._function_of:
            self._function_of[key] = self.index.enclosing_function(node)
        return self._function_of[key]

    def is_unit_test(self, function: Optional[cst.FunctionDef]) -> bool:
        """A pytest/unittest test function: its loops and forward passes exercise the code
        (a few steps on toy data, asserts) rather than train or evaluate a model."""
        if function is None or not function.name.value.startswith("test"):
            return False
        if self.imports.imports_test_framework:
            return True
        owner = self.index.enclosing(function, cst.ClassDef)
        return owner is not None and (owner.name.value.startswith("Test") or owner.name.value.endswith("TestCase"))

    def in_functions(self, function: Optional[cst.CSTNode]) -> List[LoopFact]:
        return [loop for loop in self.loops if loop.function is function]

    # -- building -----------------------------------------------------------------------

    def _build(self) -> None:
        events: Dict[LoopNode, Dict[str, List[cst.Call]]] = {}
        for call in self.index.of_type(cst.Call):
            kind = self._event_kind(call)
            if kind is None:
                continue
            loop = self._batch_loop_around(call)
            if loop is None:
                continue
            events.setdefault(loop, {"forward": [], "backward": [], "step": []})[kind].append(call)
        for node in self.index.of_type(cst.For) + self.index.of_type(cst.While):
            if node in events and not self.is_unit_test(self.function_of(node)):
                fact = self._make_fact(node, events[node])
                self._by_node[id(node)] = fact
        self.loops = sorted(self._by_node.values(), key=lambda f: self._first_line_order(f.node))

    def _first_line_order(self, node: cst.CSTNode) -> int:
        return self.index.order(node)

    def _event_kind(self, call: cst.Call) -> Optional[str]:
        if self.models.forward_of(call) is not None:
            return "forward"
        if is_backward_call(call):
            return "backward"
        if is_optimizer_step(call):
            return "step"
        return None

    def _batch_loop_around(self, node: cst.CSTNode) -> Optional[LoopNode]:
        for ancestor in self.index.ancestors(node):
            if type(ancestor) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
                return None
            if type(ancestor) is cst.For and phase_values(ancestor) is None:
                return ancestor
            if type(ancestor) is cst.While:
                return ancestor
        return None

    def _make_fact(self, node: LoopNode, events: Dict[str, List[cst.Call]]) -> LoopFact:
        function = self.index.enclosing_function(node)
        enclosing = tuple(a for a in self.index.ancestors(node) if type(a) in (cst.For, cst.While)
                          and self.index.enclosing_function(a) is function)
        phase_loop = next((a for a in enclosing if type(a) is cst.For and phase_values(a) is not None), None)
        phase_var = dotted_name(phase_loop.target) if phase_loop is not None else None
        epoch_loop = next((a for a in enclosing if a is not phase_loop), None)
        loaders = self._loaders(node, function)
        loader = loaders[0] if loaders else None
        kind = self._kind(node, events, self._phase_names(phase_loop, phase_var))
        role = self.roles.role_of(loader, function) if loader is not None else None
        if role is None and kind == TRAIN_KIND:
            role = TRAIN
        accumulators = tuple(self._accumulators(node))
        reports, figures = self._reports_after(node, function, accumulators)
        return LoopFact(
            node=node, kind=kind, function=function, loader=loader, loaders=tuple(loaders),
            loader_name=_target_key(self.module, loader) if loader is not None else None, role=role,
            batch_names=tuple(self._batch_names(node)),
            forward_calls=tuple(events["forward"]), backward_calls=tuple(events["backward"]),
            step_calls=tuple(events["step"]), accumulators=accumulators, reports=tuple(reports),
            figures=figures, epoch_loop=epoch_loop, phase_loop=phase_loop, phase_variable=phase_var,
            phase_values=phase_values(phase_loop) or () if phase_loop is not None else (),
            enclosing_loops=enclosing,
        )

    def _phase_names(self, phase_loop, phase_var: Optional[str]) -> Tuple[str, ...]:
        """The phase variable and names derived from it (`is_train = phase == "train"`)."""
        if phase_loop is None or phase_var is None:
            return ()
        names = [phase_var]
        for statement in _simple_statements_within(self.index, phase_loop):
            if type(statement) is cst.Assign and _mentions(self.index, statement.value, phase_var):
                for target in statement.targets:
                    if type(target.target) is cst.Name:
                        names.append(target.target.value)
        return tuple(names)

    def _kind(self, node: LoopNode, events, phase_names: Tuple[str, ...]) -> str:
        training = events["backward"] + events["step"]
        if training:
            if phase_names and all(any(self._guarded_by(c, node, name) for name in phase_names) for c in training):
                return MIXED_KIND
            return TRAIN_KIND
        if events["forward"]:
            return EVAL_KIND
        return UNKNOWN_KIND

    def _guarded_by(self, call: cst.Call, loop: LoopNode, variable: str) -> bool:
        for ancestor in self.index.ancestors(call):
            if ancestor is loop:
                return False
            if type(ancestor) is cst.If and _mentions(self.index, ancestor.test, variable):
                return True
        return False

    # -- the data source ----------------------------------------------------------------

    def _loaders(self, node: LoopNode, function) -> List[cst.BaseExpression]:
        if type(node) is cst.For:
            found = self._unwrap(node.iter, function)
            if found and not _is_range(found[0]):
                return found
        # `while True: x, y = next(it)` / `for step in range(n): batch = next(it)`
        for call in _calls_within(self.index, node):
            if last_name(call.func) == "next" and dotted_name(call.func) == "next":
                args = positional_args(call)
                if args:
                    return self._unwrap(args[0].value, function)
        return []

    def _unwrap(self, expr: cst.BaseExpression, function, depth: int = 0) -> List[cst.BaseExpression]:
        if depth > 4:
            return [expr]
        if type(expr) is cst.Call:
            name = last_name(expr.func)
            args = positional_args(expr)
            if name == "zip":
                out: List[cst.BaseExpression] = []
                for arg in args:
                    out.extend(self._unwrap(arg.value, function, depth + 1))
                return out
            if name in _ITER_WRAPPERS and args:
                return self._unwrap(args[0].value, function, depth + 1)
            return [expr]
        if type(expr) is cst.Name:
            # `pbar = tqdm(loader)`, `it = iter(loader)` bound in the same function
            value = _single_binding(self.index, function, expr.value)
            if type(value) is cst.Call and last_name(value.func) in _ITER_WRAPPERS | {"zip"}:
                return self._unwrap(value, function, depth + 1)
        return [expr]

    def _batch_names(self, node: LoopNode) -> Iterator[str]:
        if type(node) is not cst.For:
            return
        target = node.target
        iterable = node.iter
        if type(iterable) is cst.Call and last_name(iterable.func) == "enumerate" and \
                type(target) in (cst.Tuple, cst.List) and len(target.elements) == 2:
            target = target.elements[1].value
        for element in assigned_targets(target):
            name = dotted_name(element)
            if name:
                yield name

    # -- accumulators and reports -------------------------------------------------------

    def _accumulators(self, node: LoopNode) -> Iterator[Accumulator]:
        for statement in _simple_statements_within(self.index, node):
            if type(statement) is cst.AugAssign:
                name = _target_key(self.module, statement.target)
                if name and type(statement.operator).__name__ in ("AddAssign", "SubtractAssign", "MultiplyAssign"):
                    yield Accumulator(name, statement, statement.value, "+=")
            elif type(statement) is cst.Assign and len(statement.targets) == 1:
                name = _target_key(self.module, statement.targets[0].target)
                value = statement.value
                if name and type(value) is cst.BinaryOperation and type(value.operator) is cst.Add:
                    left = _target_key(self.module, value.left)
                    right = _target_key(self.module, value.right)
                    if name in (left, right):
                        other = value.right if left == name else value.left
                        yield Accumulator(name, statement, other, "assign")
            elif type(statement) is cst.Expr and type(statement.value) is cst.Call:
                call = statement.value
                func = call.func
                if type(func) is cst.Attribute and func.attr.value in ("append", "extend", "update", "add_"):
                    name = _target_key(self.module, func.value)
                    args = positional_args(call)
                    if name and args and name not in ("self",) and not name.endswith(("optimizer", "pbar", "bar")):
                        op = "update" if func.attr.value in ("update", "add_") else "append"
                        yield Accumulator(name, statement, args[0].value, op, call)

    def _reports_after(self, node: LoopNode, function, accumulators) -> Tuple[List[Report], Dict[str, cst.CSTNode]]:
        live = {a.name for a in accumulators}
        figures: Dict[str, cst.CSTNode] = {}
        reports: List[Report] = []
        if not live:
            return reports, figures
        start, end = self.index.span(node)
        last_inside = max((self._order[id(s)] for s in self.index.within(node, cst.SimpleStatementLine)),
                          default=-1) if (start, end) != (0, 0) else max(
            (self._order[id(s)] for s in self.index.of_type(cst.SimpleStatementLine) if self.index.is_inside(s, node)),
            default=-1)
        # The lines of the loop's own function after the loop (from the whole file, or from
        # the function's start, each loop would cost the size of the file or the function);
        # nested functions' lines are skipped below.
        lines, orders = self._own_lines(function)
        for line in lines[bisect_right(orders, last_inside):]:
            if not live:
                break  # every figure was overwritten, and only a read of one adds another
            for statement in line.body:
                reads, written = self._reads_and_writes(statement)
                reads = reads & live
                if type(statement) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
                    if reads:
                        for name in written:
                            live.add(name)
                            figures[name] = statement
                        kind = self._store_kind(statement)
                        if kind:
                            reports.append(Report(statement, kind, tuple(sorted(reads))))
                    else:
                        live.difference_update(written)
                    continue
                if not reads:
                    continue
                if type(statement) is cst.Return:
                    reports.append(Report(statement, "return", tuple(sorted(reads))))
                    continue
                call = statement.value if type(statement) is cst.Expr and type(statement.value) is cst.Call else None
                kind = report_kind(self.imports, call) if call is not None else None
                if kind:
                    reports.append(Report(statement, kind, tuple(sorted(reads)), call))
                    if kind == "append":
                        target = _target_key(self.module, call.func.value)  # type: ignore[union-attr]
                        if target:
                            live.add(target)
                            figures[target] = statement
        return reports, figures

    def _own_lines(self, function) -> Tuple[List[cst.SimpleStatementLine], List[int]]:
        """The statement lines of a function (of the module at None), not those of functions
        nested in it, in source order, with their orders (ascending)."""
        key = id(function)
        known = self._lines_of.get(key)
        if known is None:
            lines = [line for line in self.index.in_function(function, cst.SimpleStatementLine)
                     if self.function_of(line) is function]
            known = self._lines_of[key] = (lines, [self._order[id(line)] for line in lines])
        return known

    def _reads_and_writes(self, statement: cst.CSTNode) -> Tuple[set, List[str]]:
        """What a statement after a loop reads and writes: every loop before it asks, so kept
        (by id: libcst nodes hash in Python)."""
        key = id(statement)
        if key not in self._statement_names:
            self._statement_names[key] = (
                _reads(self.index, self.module, statement), list(_written(self.module, statement)))
        return self._statement_names[key]

    def _store_kind(self, statement) -> Optional[str]:
        targets = statement.targets if type(statement) is cst.Assign else [statement]
        for target in targets:
            if type(target.target) is cst.Subscript:
                return "store"
        if type(statement.value) in (cst.Dict, cst.FormattedString):
            return "store" if type(statement.value) is cst.Dict else "format"
        if type(statement.value) is cst.Call and last_name(statement.value.func) == "format":
            return "format"
        return None


# -- helpers shared with the mode analysis and the rules -----------------------------------------

def phase_values(node: Optional[cst.CSTNode]) -> Optional[Tuple[str, ...]]:
    """For `for phase in ["train", "val"]`: ("train", "val"); None for any other loop."""
    if type(node) is not cst.For or type(node.target) is not cst.Name:
        return None
    iterable = node.iter
    if type(iterable) in (cst.List, cst.Tuple, cst.Set) and iterable.elements:
        values = []
        for element in iterable.elements:
            value = element.value
            if type(value) is cst.SimpleString and isinstance(value.evaluated_value, str):
                values.append(value.evaluated_value)
            else:
                return None
        return tuple(values)
    return None


def is_backward_call(call: cst.Call) -> bool:
    func = call.func
    if type(func) is cst.Attribute and func.attr.value == "backward":
        return True
    return type(func) is cst.Attribute and func.attr.value == "manual_backward"


def is_optimizer_step(call: cst.Call) -> bool:
    func = call.func
    if type(func) is not cst.Attribute or func.attr.value != "step":
        return False
    receiver = (dotted_name(func.value) or "").rsplit(".", 1)[-1].lower()
    if "sched" in receiver or "lr" == receiver:
        return False
    if receiver in ("scaler", "grad_scaler") or receiver.startswith(_OPTIMIZER_WORDS) or receiver.endswith(("optimizer", "optim", "opt")):
        return True
    return False


def report_kind(imports: ImportTable, call: Optional[cst.Call]) -> Optional[str]:
    if call is None:
        return None
    func = call.func
    name = dotted_name(func) or ""
    last = last_name(func) or ""
    if type(func) is cst.Name and last in _REPORT_FUNCTIONS:
        return "print"
    if type(func) is cst.Attribute:
        receiver = (dotted_name(func.value) or "").lower()
        if last in _PLOT_METHODS and (receiver in ("plt", "ax", "axes", "pyplot") or receiver.startswith(("ax", "plt"))
                                      or imports.matches(func, {"matplotlib.pyplot." + last})):
            return "plot"
        if last in ("append", "extend"):
            return "append"
        if last in _LOG_METHODS or name.startswith(("wandb.", "mlflow.", "logging.", "logger.", "log.")):
            return "log"
        if last == "print" or last == "echo":
            return "print"
    return None


def grad_disabled(index: ModuleIndex, imports: ImportTable, node: cst.CSTNode,
                  env: Optional[Dict[str, str]] = None) -> Optional[bool]:
    """True when `node` runs under `torch.no_grad()` / `inference_mode()` /
    `set_grad_enabled(False)` (a with block or a decorator of the enclosing function),
    False when visibly not, None when a `set_grad_enabled(expr)` depends on something unknown.
    Only the enclosing function is considered; callers are the mode analysis's business."""
    for ancestor in index.ancestors(node):
        if type(ancestor) is cst.With:
            for item in ancestor.items:
                state = _grad_state(imports, item.item, env)
                if state is not None:
                    return state if state != "unknown" else None
        if type(ancestor) is cst.FunctionDef:
            for decorator in ancestor.decorators:
                state = _grad_state(imports, decorator.decorator, env)
                if state is True:
                    return True
            return False
    return False


def _grad_state(imports: ImportTable, expr: cst.BaseExpression, env) -> Union[bool, str, None]:
    target = expr.func if type(expr) is cst.Call else expr
    candidates = imports.candidates(target)
    last = last_name(target)
    if any(c in _NO_GRAD for c in candidates) or (not candidates and last in ("no_grad", "inference_mode")):
        if last == "enable_grad":
            return False
        if last == "inference_mode" and type(expr) is cst.Call and expr.args:
            value = expr.args[0].value
            if type(value) is cst.Name and value.value == "False":
                return False
        return True
    if last == "set_grad_enabled" and type(expr) is cst.Call and expr.args:
        value = expr.args[0].value
        if type(value) is cst.Name and value.value in ("True", "False"):
            return value.value == "False"
        decided = evaluate_condition(value, env or {})
        if decided is not None:
            return not decided
        return "unknown"
    return None


def evaluate_condition(test: cst.BaseExpression, env: Dict[str, str]) -> Optional[bool]:
    """Decide `phase == "train"`, `phase != 'val'`, `phase in ("val", "test")`, `not ...`,
    `is_train` when bound in env... for constant bindings in `env`; None when undecidable."""
    if type(test) is cst.Name and isinstance(env.get(test.value), bool):
        return env[test.value]  # `is_train = phase == "train"` ... `if is_train:`
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        inner = evaluate_condition(test.expression, env)
        return None if inner is None else not inner
    if type(test) is cst.BooleanOperation:
        left = evaluate_condition(test.left, env)
        right = evaluate_condition(test.right, env)
        if type(test.operator) is cst.And:
            if left is False or right is False:
                return False
            return True if left and right else None
        if left or right:
            return True
        return False if left is False and right is False else None
    if type(test) is cst.Comparison and len(test.comparisons) == 1:
        left = _constant(test.left, env)
        comparison = test.comparisons[0]
        operator = comparison.operator
        if type(operator) in (cst.In, cst.NotIn) and left is not None and \
                type(comparison.comparator) in (cst.List, cst.Tuple, cst.Set):
            options = [_constant(e.value, env) for e in comparison.comparator.elements]
            if any(o is None for o in options):
                return None
            result = left in options
            return result if type(operator) is cst.In else not result
        right = _constant(comparison.comparator, env)
        if left is None or right is None:
            return None
        if type(operator) in (cst.Equal, cst.Is):
            return left == right
        if type(operator) in (cst.NotEqual, cst.IsNot):
            return left != right
    return None


def _constant(expr: cst.BaseExpression, env: Dict[str, str]) -> Optional[str]:
    if type(expr) is cst.SimpleString and isinstance(expr.evaluated_value, str):
        return expr.evaluated_value
    if type(expr) is cst.Name and isinstance(env.get(expr.value), str):
        return env[expr.value]
    return None


def _mentions(index: ModuleIndex, expr: cst.CSTNode, name: str) -> bool:
    return any(type(n) is cst.Name and n.value == name for n in index.descendants(expr))


def _is_range(expr: cst.BaseExpression) -> bool:
    return type(expr) is cst.Call and last_name(expr.func) in ("range", "trange")


def _single_binding(index: ModuleIndex, function, name: str) -> Optional[cst.BaseExpression]:
    found = None
    # within the function only: a scan of the whole file per loop would be quadratic
    for assign in index.in_function(function, cst.Assign):
        if index.enclosing_function(assign) is not function:
            continue
        for target in assign.targets:
            if type(target.target) is cst.Name and target.target.value == name:
                if found is not None:
                    return None
                found = assign.value
    return found


def _target_key(module: cst.Module, node: cst.CSTNode) -> Optional[str]:
    name = dotted_name(node)
    if name is not None:
        return name
    if type(node) is cst.Subscript and dotted_name(node.value) is not None:
        return expression_key(module, node)
    return None


def _reads(index: ModuleIndex, module: cst.Module, statement: cst.CSTNode) -> set:
    """Dotted names and `x['key']` subscripts read by a small statement (targets excluded)."""
    if type(statement) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
        roots = [statement.value] if statement.value is not None else []
        if type(statement) is cst.AugAssign:
            roots.append(statement.target)
    else:
        roots = [statement]
    found = set()
    for root in roots:
        for node in index.descendants(root):
            if type(node) in (cst.Name, cst.Attribute):
                name = dotted_name(node)
                if name:
                    found.add(name)
            elif type(node) is cst.Subscript:
                key = _target_key(module, node)
                if key:
                    found.add(key)
    return found


def _written(module: cst.Module, statement: cst.CSTNode) -> Iterator[str]:
    if type(statement) is cst.Assign:
        for target in statement.targets:
            for element in assigned_targets(target.target):
                key = _target_key(module, element)
                if key:
                    yield key
    elif type(statement) in (cst.AnnAssign, cst.AugAssign):
        key = _target_key(module, statement.target)
        if key:
            yield key


def _calls_within(index: ModuleIndex, node: cst.CSTNode) -> Iterator[cst.Call]:
    for child in index.descendants(node.body if type(node) in (cst.For, cst.While) else node):
        if type(child) is cst.Call:
            yield child


def _simple_statements_within(index: ModuleIndex, node: cst.CSTNode) -> Iterator[cst.BaseSmallStatement]:
    for child in index.descendants(node.body if type(node) in (cst.For, cst.While) else node):
        if type(child) is cst.SimpleStatementLine:
            yield from child.body
