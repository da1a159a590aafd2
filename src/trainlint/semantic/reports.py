"""What a script reports, and which names flow into a report.

"Reported" = printed, logged (logging, wandb, mlflow, TensorBoard, HF `log_metrics`), written
to a results file (`json.dump`, `f.write`, `to_csv`), shown in a plot title, or returned from
the script's main function. `ReportFlow.reaching_report(scope, keys, after)` answers "does a
value derived from these names reach a report in this scope (after this statement)?", following
simple assignments, container writes and, one or two levels up, a helper's `return` to the
call sites that use it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import assigned_targets, dotted_name, last_name, string_value

# Bare functions and methods whose arguments are reported.
REPORT_FUNCTIONS = {"print", "pprint", "display", "echo"}
REPORT_METHODS = {
    "info", "warning", "warn", "debug", "error", "critical", "log", "log_metric", "log_metrics",
    "log_dict", "log_param", "log_params", "add_scalar", "add_scalars", "add_text", "write",
    "dump", "set_title", "suptitle", "title", "to_csv", "to_json", "save_metrics", "savetxt",
    "success", "add_hparams", "echo", "pprint", "print", "write_text",
}
# Loggers of per-step values inside training code (Lightning `self.log`) are not final
# reports of a figure; they are only reports when they run after the selection anyway.
MAIN_FUNCTION_NAMES = {"main"}

Scope = Optional[cst.CSTNode]


def mentioned_keys(node: cst.CSTNode, children: Optional[Callable[[cst.CSTNode], Sequence[cst.CSTNode]]] = None
                   ) -> Set[str]:
    """Names and dotted attribute chains read in an expression: `f"{best_acc:.3f}"` → best_acc;
    `search.best_score_` → search, search.best_score_. `children`: the index's recorded
    children for a node of the indexed tree (libcst's `children` rebuilds the node)."""
    keys: Set[str] = set()
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Name:
            keys.add(current.value)  # type: ignore[attr-defined]
            continue
        if kind is cst.Attribute:
            dotted = dotted_name(current)
            if dotted is not None:
                keys.add(dotted)
            stack.append(current.value)  # type: ignore[attr-defined]  # the attribute's own name is not a variable
            continue
        stack.extend(current.children if children is None else children(current))
    return keys


def target_keys(target: cst.BaseExpression) -> Set[str]:
    """Keys a write defines: `a`, `self.best`, `results` for `results["acc"] = ...`."""
    keys: Set[str] = set()
    for single in assigned_targets(target):
        while type(single) is cst.Subscript:
            single = single.value
        dotted = dotted_name(single)
        if dotted is not None:
            keys.add(dotted)
    return keys


class ReportFlow:
    """Per-scope tables of writes, reports and returns, built in one pass over the index."""

    CONTAINER_WRITES = {"append", "extend", "update", "add", "insert", "setdefault"}

    def __init__(self, index: ModuleIndex, cell_starts: Sequence[int] = ()) -> None:
        self.index = index
        self.cell_starts = tuple(cell_starts)
        # scope -> [(statement node, defined keys, read keys)]
        self._writes: Dict[Scope, List[Tuple[cst.CSTNode, Set[str], Set[str]]]] = defaultdict(list)
        # scope -> [(report node, read keys)]
        self._reports: Dict[Scope, List[Tuple[cst.CSTNode, Set[str]]]] = defaultdict(list)
        self._returns: Dict[Scope, List[Tuple[cst.Return, Set[str]]]] = defaultdict(list)
        self._functions: Dict[str, List[cst.FunctionDef]] = defaultdict(list)
        self._main_functions: Set[cst.CSTNode] = set()
        self._collect()

    # -- building -------------------------------------------------------------------------

    def _scope(self, node: cst.CSTNode) -> Scope:
        return self.index.enclosing(node, cst.FunctionDef, cst.ClassDef)

    def _collect(self) -> None:
        index = self.index

        def keys_of(node: cst.CSTNode) -> Set[str]:
            return mentioned_keys(node, index.child_nodes)

        for assign in index.of_type(cst.Assign):
            defined: Set[str] = set()
            read = keys_of(assign.value)
            for target in assign.targets:
                defined |= target_keys(target.target)
                if _is_summary_write(target.target):
                    self._reports[self._scope(assign)].append((assign, set(read)))
            self._writes[self._scope(assign)].append((assign, defined, read))
        for assign in index.of_type(cst.AugAssign):
            self._writes[self._scope(assign)].append(
                (assign, target_keys(assign.target), keys_of(assign.value)))
        for assign in index.of_type(cst.AnnAssign):
            if assign.value is not None:
                self._writes[self._scope(assign)].append(
                    (assign, target_keys(assign.target), keys_of(assign.value)))
        for loop in index.of_type(cst.For):
            self._writes[self._scope(loop)].append(
                (loop, target_keys(loop.target), keys_of(loop.iter)))
        for call in index.of_type(cst.Call):
            self._read_call(call)
        for ret in index.of_type(cst.Return):
            if ret.value is not None:
                self._returns[self._scope(ret)].append((ret, keys_of(ret.value)))
        for function in index.of_type(cst.FunctionDef):
            self._functions[function.name.value].append(function)
            if function.name.value in MAIN_FUNCTION_NAMES:
                self._main_functions.add(function)
        for function in self._functions_called_under_main_guard():
            self._main_functions.add(function)
        for displayed in self._displayed_expressions():
            self._reports[None].append((displayed, keys_of(displayed.value)))

    def _displayed_expressions(self) -> Iterable[cst.Expr]:
        """The last statement of each notebook cell when it is an expression: Jupyter shows
        its value (`grid.best_score_`, `model.evaluate(X_valid, y_valid)`), unless a `;`
        ends it."""
        if not self.cell_starts:
            return
        last_of_cell: Dict[int, cst.CSTNode] = {}
        for statement in self.index.module.body:
            line = self.index.positions[statement].start.line
            last_of_cell[bisect.bisect_right(self.cell_starts, line)] = statement
        for statement in last_of_cell.values():
            if type(statement) is not cst.SimpleStatementLine or not statement.body:
                continue
            last = statement.body[-1]
            if type(last) is cst.Expr and isinstance(last.semicolon, cst.MaybeSentinel):
                yield last

    def _read_call(self, call: cst.Call) -> None:
        func = call.func
        scope = self._scope(call)
        if type(func) is cst.Name and func.value in REPORT_FUNCTIONS:
            self._reports[scope].append((call, _argument_keys(call, self.index)))
            return
        if type(func) is not cst.Attribute:
            return
        method = func.attr.value
        if method in REPORT_METHODS:
            self._reports[scope].append((call, _argument_keys(call, self.index)))
        elif method in self.CONTAINER_WRITES:
            container = dotted_name(func.value)
            if container is not None:
                self._writes[scope].append((call, {container}, _argument_keys(call, self.index)))

    def _functions_called_under_main_guard(self) -> Iterable[cst.FunctionDef]:
        for if_node in self.index.of_type(cst.If):
            if "__main__" not in _strings_in(if_node.test):
                continue
            for call in self.index.of_type(cst.Call):
                if type(call.func) is cst.Name and self.index.is_inside(call, if_node.body):
                    yield from self._functions.get(call.func.value, [])

    # -- queries --------------------------------------------------------------------------

    def derived(self, scope: Scope, keys: Iterable[str], after: Optional[cst.CSTNode] = None) -> Set[str]:
        """`keys` and every key assigned (in this scope, after `after` when given) from an
        expression that reads one."""
        found = set(keys)
        writes = self._writes.get(scope, [])
        if after is not None:
            writes = [write for write in writes if self.is_after(write[0], after)]
        changed = True
        rounds = 0
        while changed and rounds < 6:
            changed = False
            rounds += 1
            for _node, defined, read in writes:
                if defined - found and _reads_any(read, found):
                    found |= defined
                    changed = True
        return found

    def reaching_report(
        self,
        scope: Scope,
        keys: Iterable[str],
        after: Optional[cst.CSTNode] = None,
        depth: int = 0,
        also_reads: Optional[Set[str]] = None,
    ) -> Optional[cst.CSTNode]:
        """The first report (or main-function `return`) in `scope` that reads a value derived
        from `keys` (and, when given, one of `also_reads` too), placed after `after` when
        given; None when there is none."""
        flowing = self.derived(scope, keys)
        for node, read in self._reports.get(scope, []):
            if also_reads is not None and not _reads_any(read, also_reads):
                continue
            if (after is None or self.is_after(node, after)) and _reads_any(read, flowing):
                return node
        if also_reads is not None:
            return None
        for ret, read in self._returns.get(scope, []):
            if (after is not None and not self.is_after(ret, after)) or not _reads_any(read, flowing):
                continue
            if scope in self._main_functions:
                return ret
            if depth < 2 and type(scope) is cst.FunctionDef:
                found = self._report_at_call_sites(scope, depth)
                if found is not None:
                    return found
        return None

    def reported_directly(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The report call `node` sits in (`print(model.evaluate(...))`), if any."""
        scope = self._scope(node)
        for report, _read in self._reports.get(scope, []):
            if self.index.is_inside(node, report):
                return report
        return None

    def result_reported(self, call: cst.Call, after: Optional[cst.CSTNode] = None) -> Optional[cst.CSTNode]:
        """The report that shows the value of `call`: directly, or through the names it is
        assigned to."""
        direct = self.reported_directly(call)
        if direct is not None:
            return direct
        statement = self.index.statement_of(call)
        returned = self.index.enclosing(call, cst.Return)
        if returned is not None and self._scope(returned) is self._scope(call):
            # `return model.evaluate(valid)["mae"]`: the callers show it
            function = self._scope(call)
            if function in self._main_functions:
                return returned
            if type(function) is cst.FunctionDef:
                return self._report_at_call_sites(function, 0)
            return None
        assigned: Set[str] = set()
        parent = self.index.parent(call)
        if type(parent) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
            targets = parent.targets if type(parent) is cst.Assign else [parent]
            for target in targets:
                assigned |= target_keys(target.target)
        if not assigned:
            return None
        return self.reaching_report(self._scope(call), assigned, after=after or statement)

    def is_after(self, node: cst.CSTNode, ref: cst.CSTNode) -> bool:
        """`node` comes after the whole of `ref` in the source."""
        return self.index.order(node) > self.index.order(ref) and not self.index.is_inside(node, ref)

    def scope_of(self, node: cst.CSTNode) -> Scope:
        return self._scope(node)

    def _report_at_call_sites(self, function: cst.FunctionDef, depth: int) -> Optional[cst.CSTNode]:
        name = function.name.value
        for call in self.index.of_type(cst.Call):
            if not (type(call.func) is cst.Name and call.func.value == name):
                continue
            if self.index.is_inside(call, function):
                continue
            direct = self.reported_directly(call)
            if direct is not None:
                return direct
            parent = self.index.parent(call)
            if type(parent) is cst.Assign:
                keys: Set[str] = set()
                for target in parent.targets:
                    keys |= target_keys(target.target)
                found = self.reaching_report(self._scope(call), keys, after=parent, depth=depth + 1)
                if found is not None:
                    return found
        return None


def _argument_keys(call: cst.Call, index: ModuleIndex) -> Set[str]:
    keys: Set[str] = set()
    for arg in call.args:
        keys |= mentioned_keys(arg.value, index.child_nodes)
    return keys


def _reads_any(read: Set[str], keys: Set[str]) -> bool:
    return not read.isdisjoint(keys)


def _is_summary_write(target: cst.BaseExpression) -> bool:
    """`wandb.run.summary["best"] = x`, `run["metrics/best"] = x` (neptune)."""
    if type(target) is not cst.Subscript:
        return False
    return last_name(target.value) in ("summary", "run")


def _strings_in(node: cst.CSTNode) -> Set[str]:
    found: Set[str] = set()
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        value = string_value(current)
        if value is not None:
            found.add(value)
        stack.extend(current.children)
    return found


__all__ = ["ReportFlow", "mentioned_keys", "target_keys"]
