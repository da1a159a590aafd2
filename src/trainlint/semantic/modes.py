"""Flow-sensitive model mode: train / eval / unknown, per model, at every forward and backward.

For each function (and the module level) the statements are interpreted in order with an
abstract state per model key: the *set* of modes the model may be in (`{"train"}`,
`{"train", "eval"}` after an `if` that calls `.eval()` on one branch, ...). `"unknown"`
stands for a mode the analysis cannot see (a parameter nobody in this file passes, a model
loaded or built by a factory, a call outside the file that received the model).

- `.eval()`, `.train()`, `.train(False)`, `.train(phase == "train")` set the mode (of the
  model and of its attributes, `model.backbone`); a fresh `nn.Module` starts in train mode,
  `from_pretrained` (transformers) returns eval mode.
- `if` joins both branches unless the test is decided by a phase constant; loops run to a
  fixed point and are taken at least once (an epoch loop of zero epochs is not a real path);
  `for phase in ["train", "val"]` is unrolled with the phase bound, so `if phase == "train"`
  and `dataloaders[phase]` are decided per phase.
- Calls to functions and methods of this file use summaries ("sets its argument to eval",
  "to train", "leaves it"); their entry state is the join over their call sites in the file.
  Any other call that receives the model makes its mode unknown.

Rules read `forward_states(call)` / `backward_states(call)`: one `(env, states)` pair per
phase binding under which the call is reached. A rule fires only on a mode that is in the
set with positive evidence (`"train"` for TL101, `"eval"` for TL102); `{"unknown"}` alone
never fires.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.loops import evaluate_condition, grad_disabled, phase_values
from trainlint.semantic.names import dotted_name, last_name
from trainlint.vocab.evaluation import EVAL_FUNCTION_PATTERN

TRAIN, EVAL, UNKNOWN, ENTRY = "train", "eval", "unknown", "entry"
Modes = FrozenSet[str]
State = Dict[str, Modes]
Env = Tuple[Tuple[str, object], ...]

_ONE_UNKNOWN: Modes = frozenset({UNKNOWN})
# A function whose entry keeps growing (call sites in a cycle) runs at most this often.
_MAX_ENTRY_RUNS = 6
_HARMLESS_CALLS = {
    "print", "len", "str", "repr", "isinstance", "type", "id", "hasattr", "getattr", "vars",
    "deepcopy", "copy", "save", "watch", "summary_writer", "sum", "list", "next", "iter",
    "format", "info", "debug", "warning", "log", "add_graph", "numel", "count_parameters",
    "parameters_to_vector", "clip_grad_norm_", "clip_grad_value_", "display", "zip", "enumerate",
}
# _calls_of: calls in these run in their own scope, or in a nested block the walk visits itself.
_OWN_SCOPES = frozenset({cst.Lambda, cst.FunctionDef, cst.ClassDef})
_NESTED_BLOCKS = frozenset({cst.If, cst.For, cst.While, cst.With, cst.Try, cst.IndentedBlock})
_TERMINATORS = {"exit", "quit", "sys.exit", "os._exit"}
_EVAL_FUNCTION = re.compile(EVAL_FUNCTION_PATTERN, re.IGNORECASE)
# Framework hooks that manage the mode themselves (Lightning, HF).
_FRAMEWORK_HOOKS = {"validation_step", "test_step", "predict_step", "validation_epoch_end",
                    "test_epoch_end", "on_validation_epoch_end", "on_test_epoch_end", "training_step",
                    "forward", "compute_loss", "prediction_step", "evaluation_loop"}


def _join(a: Optional[State], b: Optional[State], default: Modes) -> Optional[State]:
    if a is None:
        return None if b is None else dict(b)
    if b is None:
        return dict(a)
    out = {}
    for key in set(a) | set(b):
        out[key] = a.get(key, default) | b.get(key, default)
    return out


class _Summary:
    def __init__(self) -> None:
        self.exit: Optional[State] = {}  # key -> modes with ENTRY standing for "as on entry"


class ModeAnalysis:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.index = ctx.index
        self.models = ctx.models
        self.imports = ctx.imports
        self._functions: Dict[str, List[cst.FunctionDef]] = {}
        self._methods: Dict[str, List[cst.FunctionDef]] = {}
        for function in self.index.of_type(cst.FunctionDef):
            owner = self.index.parent(self.index.parent(function))
            if type(owner) is cst.ClassDef:
                self._methods.setdefault(function.name.value, []).append(function)
            else:
                self._functions.setdefault(function.name.value, []).append(function)
        self._summaries: Dict[cst.FunctionDef, _Summary] = {}
        self._entries: Dict[cst.FunctionDef, State] = {}
        self._call_sites: Dict[cst.FunctionDef, List[cst.Call]] = {}
        self._grown: Set[cst.FunctionDef] = set()  # callees whose entry a run grew
        self._forward: Dict[cst.Call, Dict[Env, Modes]] = {}
        self._backward: Dict[cst.Call, Dict[Env, State]] = {}
        self._recording = False
        self._summaries_read: Set[cst.FunctionDef] = set()  # by the run in progress (summary phase)
        self._summary_mode = False
        self._loop_stack: List[Tuple[List[State], List[State]]] = []
        self._returns: List[State] = []
        self._calls_cache: Dict[cst.CSTNode, List[cst.Call]] = {}
        # Calls of project helpers (another module) that evaluate a model argument:
        # (call, model key, the helper's parameter) -> (helper, the modes it may be in there).
        self._helper_calls: Dict[Tuple[cst.Call, str, str], Tuple[object, Modes]] = {}
        self._compute()

    # -- public ---------------------------------------------------------------------------

    def forward_states(self, call: cst.Call) -> List[Tuple[Dict[str, object], Modes]]:
        return [(dict(env), modes) for env, modes in self._forward.get(call, {}).items()]

    def backward_states(self, call: cst.Call) -> List[Tuple[Dict[str, object], State]]:
        return [(dict(env), state) for env, state in self._backward.get(call, {}).items()]

    def helper_evaluations(self) -> List[Tuple[cst.Call, str, str, object, Modes]]:
        """(call, model key, helper parameter, helper summary, modes at the call) for each call of a project
        helper of another module that runs an evaluation forward pass on that model in the
        mode it is given, or with autograd as it is given (`project_index.HelperSummary`)."""
        return [(call, key, param, helper, modes) for (call, key, param), (helper, modes) in self._helper_calls.items()]

    def summary_exit(self, function: cst.FunctionDef) -> Optional[State]:
        """The modes `function` leaves each model in (ENTRY: as on entry); None when it
        never returns."""
        summary = self._summaries.get(function)
        return None if summary is None else summary.exit

    def entry_mode_forwards(self, function: cst.FunctionDef) -> Dict[cst.Call, Modes]:
        """The forward passes of `function` with the modes they run in when it is entered
        with every model as it came (ENTRY: the mode the caller gave it)."""
        saved = (self._forward, self._backward, self._call_sites, self._entries, self._helper_calls)
        self._forward, self._backward, self._call_sites, self._entries, self._helper_calls = {}, {}, {}, {}, {}
        self._summary_mode = self._recording = True
        try:
            self._run_function(function, {})
            return {call: frozenset().union(*seen.values()) for call, seen in self._forward.items()}
        finally:
            self._summary_mode = self._recording = False
            self._forward, self._backward, self._call_sites, self._entries, self._helper_calls = saved

    def call_sites(self, function: cst.FunctionDef) -> List[cst.Call]:
        return self._call_sites.get(function, [])

    def runs_without_grad(self, node: cst.CSTNode, env=None, _depth: int = 0) -> Optional[bool]:
        """Whether `node` runs with autograd off: inside no_grad / inference_mode (with block
        or decorator), or in a function every call site of which runs without grad."""
        state = grad_disabled(self.index, self.imports, node, env)
        if state is not False or _depth > 4:
            return state
        function = self.ctx.loops.function_of(node)
        if function is None:
            return False
        sites = self.call_sites(function)
        if not sites:
            # Called from elsewhere: cannot see, unless the function also trains (then its
            # callers cannot have turned autograd off) or is an entry point.
            if function.name.value in ("main", "run", "fit", "train") or any(
                    loop.backward_calls for loop in self.ctx.loops.in_functions(function)):
                return False
            return None
        results = {self.runs_without_grad(site, None, _depth + 1) for site in sites}
        if results == {True}:
            return True
        return False if False in results else None

    def evaluation_states(self, call: cst.Call) -> List[Tuple[Dict[str, object], Modes, Optional[str]]]:
        """For a forward call: the (env, modes, role) under which it is an *evaluation*
        forward pass. Evidence, strongest first: the data it runs on is validation/test data
        (its argument, an expression of it, or the loop's loader); the helper it sits in is
        called with validation/test data at some call site of this file; an evaluation loop
        over a loader in a function named like one (`evaluate`, `test`); the model is
        certainly in eval mode (`.eval()` was called, or `from_pretrained`) on real data,
        outside any training loop, and the result is not trained on. A name alone, a loop
        over `range`, or hand-typed inputs are no evidence."""
        forward = self.models.forward_of(call)
        if forward is None:
            return []
        function = forward.scope
        if function is not None and (function.name.value in _FRAMEWORK_HOOKS or self.models.is_lightning_method(function)):
            return []
        if self.ctx.loops.is_unit_test(function):
            return []
        loop = self.ctx.loops.loop_of(call)
        out = []
        for env, modes in self.forward_states(call):
            role = self.ctx.forward_data.role(call, function, env)
            if role in ("validation", "test"):
                out.append((env, modes, role))
                continue
            if loop is not None and (loop.kind == "train" or (
                    loop.kind == "mixed" and self._backward_reached(loop, env))):
                continue
            if role is None and loop is not None and loop.loader is not None:
                role = self._loop_role(loop, function, env)
            if role is None and modes == frozenset({EVAL}) and self._runs_on_real_data(call) and (
                    function is None or (loop is not None and loop.loader is not None)):
                # Eval mode on data of no stated role (never training data): at module level
                # or over a loader. A helper's input from its parameters is judged by its call
                # sites, not here (`predict(model, "typed sentence")`).
                role = "evaluation"
            if role in ("validation", "test", "evaluation"):
                out.append((env, modes, role))
        return out

    def _loop_role(self, loop, function, env) -> Optional[str]:
        """The role of an evaluation loop's data: its loader, the arguments its helper is
        called with, or the helper's name."""
        role = self.ctx.roles.role_of(loop.loader, loop.function, env)
        if role is None:
            role = self._call_site_role(function, loop.loader)
        if role is None and loop.kind == "eval" and function is not None and \
                _EVAL_FUNCTION.search(function.name.value):
            role = "evaluation"
        return role

    def _call_site_role(self, function, loader) -> Optional[str]:
        """`def compute_accuracy(model, loader)` called with `val_loader` (and `train_loader`):
        the helper evaluates; the role when its held-out call sites agree."""
        if function is None or type(loader) is not cst.Name or loader.value not in _param_names(function):
            return None
        held_out = set()
        for site in self.call_sites(function):
            argument = _argument_for(site, function, loader.value)
            if argument is None:
                continue
            role = self.ctx.forward_data.expression_role(
                argument, self.ctx.loops.function_of(site), {}, self.index.order(site), 0)
            if role in ("validation", "test"):
                held_out.add(role)
        if not held_out:
            return None
        return held_out.pop() if len(held_out) == 1 else "evaluation"

    def _runs_on_real_data(self, call: cst.Call) -> bool:
        data = self.ctx.forward_data
        return data.data_argument(call) is not None and not data.hand_typed(call) and not data.feeds_backward(call)

    def _backward_reached(self, loop, env) -> bool:
        key = tuple(sorted(env.items()))
        return any(key in self._backward.get(call, {}) for call in loop.backward_calls)

    # -- driver ---------------------------------------------------------------------------

    def _compute(self) -> None:
        functions = [f for fs in list(self._functions.values()) + list(self._methods.values()) for f in fs]
        for function in functions:
            self._summaries[function] = _Summary()
        # Summaries, bottom-up to a fixed point (recursion converges on sets).
        # A function is run again only when a summary it read changed since its last run:
        # its run reads nothing else that changes, so a rerun would give the same exit.
        self._summary_mode = True
        step = 0
        ran_at: Dict[cst.FunctionDef, int] = {}
        changed_at: Dict[cst.FunctionDef, int] = {}
        read: Dict[cst.FunctionDef, Set[cst.FunctionDef]] = {}
        for _ in range(4):
            changed = False
            for function in functions:
                if function in ran_at and all(changed_at.get(callee, -1) < ran_at[function]
                                              for callee in read[function]):
                    continue
                self._summaries_read = read[function] = set()
                exit_state = self._run_function(function, {})
                step += 1
                ran_at[function] = step
                if exit_state != self._summaries[function].exit:
                    self._summaries[function].exit = exit_state
                    changed_at[function] = step
                    changed = True
            if not changed:
                break
        self._summary_mode = False
        self._propagate_entries(functions)

    def _propagate_entries(self, functions: List[cst.FunctionDef]) -> None:
        """Entry states, top-down from the module level through call sites, and what each
        run records (forward passes, backward calls, call sites, helper calls). A worklist:
        entries only grow, so a function runs again only when a call site grew its entry,
        and what it recorded is that of its last run (with its final entry). The module
        level runs once: its entry is always empty."""
        self._recording = True
        owners: List[Optional[cst.FunctionDef]] = [None, *functions]
        records: Dict[Optional[cst.FunctionDef], tuple] = {}
        runs: Dict[cst.FunctionDef, int] = {}
        pending = list(functions)
        queued = set(functions)
        self._record_run(None, records)
        while pending:
            function = pending.pop(0)
            queued.discard(function)
            runs[function] = runs.get(function, 0) + 1
            self._record_run(function, records)
            for grown in self._grown:
                if grown not in queued and runs.get(grown, 0) < _MAX_ENTRY_RUNS:
                    pending.append(grown)
                    queued.add(grown)
        forward, backward, call_sites, helper_calls = {}, {}, {}, {}
        for owner in owners:  # module level first, then in source order, as callers list them
            owner_forward, owner_backward, owner_sites, owner_helpers = records[owner]
            forward.update(owner_forward)
            backward.update(owner_backward)
            helper_calls.update(owner_helpers)
            for callee, sites in owner_sites.items():
                call_sites.setdefault(callee, []).extend(sites)
        self._forward, self._backward, self._call_sites, self._helper_calls = forward, backward, call_sites, helper_calls

    def _record_run(self, owner: Optional[cst.FunctionDef], records: Dict) -> None:
        """Run `owner` (None: the module level) with its current entry into fresh records."""
        self._forward, self._backward, self._call_sites, self._helper_calls = {}, {}, {}, {}
        self._grown = set()
        if owner is None:
            self._run_block(self.ctx.module.body, {}, {})
        else:
            self._run_function(owner, self._entries.get(owner, {}))
        records[owner] = (self._forward, self._backward, self._call_sites, self._helper_calls)

    def _run_function(self, function: cst.FunctionDef, entry: State) -> Optional[State]:
        self._loop_stack = []
        self._returns = []
        state = dict(entry)
        body = function.body.body if type(function.body) is cst.IndentedBlock else [function.body]
        result = self._run_block(body, state, {})
        for returned in self._returns:
            result = _join(result, returned, self._default)
        return result

    @property
    def _default(self) -> Modes:
        return frozenset({ENTRY}) if self._summary_mode else _ONE_UNKNOWN

    # -- statements -----------------------------------------------------------------------

    def _run_block(self, statements, state: Optional[State], env: Dict[str, object]) -> Optional[State]:
        for statement in statements:
            if state is None:
                return None
            state = self._run_statement(statement, state, env)
        return state

    def _body(self, block) -> list:
        if type(block) is cst.IndentedBlock:
            return list(block.body)
        if type(block) is cst.SimpleStatementSuite:
            return [cst.SimpleStatementLine(body=block.body)] if False else [block]
        return [block]

    def _run_statement(self, statement, state: State, env) -> Optional[State]:
        if type(statement) in (cst.SimpleStatementLine, cst.SimpleStatementSuite):
            for small in statement.body:
                state = self._run_small(small, state, env)
                if state is None:
                    return None
            return state
        if type(statement) is cst.If:
            return self._run_if(statement, state, env)
        if type(statement) is cst.For:
            values = phase_values(statement)
            if values is not None and type(statement.target) is cst.Name:
                self._events_in(statement.iter, state, env)
                variable = statement.target.value
                for value in values:
                    inner = dict(env)
                    inner[variable] = value
                    state = self._run_loop_body(statement, state, inner, once=True)
                    if state is None:
                        return None
                return state
            self._events_in(statement.iter, state, env)
            return self._run_loop_body(statement, state, env)
        if type(statement) is cst.While:
            self._events_in(statement.test, state, env)
            return self._run_loop_body(statement, state, env)
        if type(statement) is cst.With:
            for item in statement.items:
                self._events_in(item.item, state, env)
            return self._run_block(self._body(statement.body), state, env)
        if type(statement) is cst.Try or type(statement).__name__ == "TryStar":
            after_body = self._run_block(self._body(statement.body), dict(state), env)
            result = after_body
            handler_entry = _join(state, after_body, self._default)
            for handler in statement.handlers:
                result = _join(result, self._run_block(self._body(handler.body), dict(handler_entry), env), self._default)
            if statement.orelse is not None and after_body is not None:
                result = _join(result, self._run_block(self._body(statement.orelse.body), dict(after_body), env), self._default)
            if statement.finalbody is not None:
                base = result if result is not None else handler_entry
                finished = self._run_block(self._body(statement.finalbody.body), dict(base), env)
                return finished if result is not None else None
            return result
        if type(statement) in (cst.FunctionDef, cst.ClassDef):
            return state
        if type(statement).__name__ == "Match":
            result = None
            for case in statement.cases:
                result = _join(result, self._run_block(self._body(case.body), dict(state), env), self._default)
            return _join(result, state, self._default)
        return state

    def _run_if(self, statement: cst.If, state: State, env) -> Optional[State]:
        self._events_in(statement.test, state, env)
        decided = evaluate_condition(statement.test, env)
        if decided is None and statement.orelse is None and _is_module_check(statement.test):
            # `if isinstance(net, nn.Module): net.eval()`: when the test fails, `net` is no
            # module and has no mode, so the body's mode change is the only one that matters
            decided = True
        if decided is True:
            return self._run_block(self._body(statement.body), state, env)
        orelse = statement.orelse
        if decided is False:
            return self._run_else(orelse, state, env)
        taken = self._run_block(self._body(statement.body), dict(state), env)
        other = self._run_else(orelse, dict(state), env)
        return _join(taken, other, self._default)

    def _run_else(self, orelse, state, env):
        if orelse is None:
            return state
        if type(orelse) is cst.If:
            return self._run_if(orelse, state, env)
        return self._run_block(self._body(orelse.body), state, env)

    def _run_loop_body(self, loop, state: State, env, once: bool = False) -> Optional[State]:
        """At least one pass; further passes to a fixed point."""
        entry = dict(state)
        result: Optional[State] = None
        for _ in range(8):
            self._loop_stack.append(([], []))
            out = self._run_block(self._body(loop.body), dict(entry), env)
            breaks, continues = self._loop_stack.pop()
            for extra in continues:
                out = _join(out, extra, self._default)
            exit_state = out
            for extra in breaks:
                exit_state = _join(exit_state, extra, self._default)
            result = exit_state
            if once or out is None:
                break
            new_entry = _join(entry, out, self._default)
            if new_entry == entry:
                break
            entry = new_entry
        if getattr(loop, "orelse", None) is not None and result is not None:
            result = self._run_block(self._body(loop.orelse.body), result, env)
        return result

    def _run_small(self, small, state: State, env) -> Optional[State]:
        if type(small) in (cst.Return, cst.Raise):
            self._events_in(small, state, env)
            if type(small) is cst.Return:
                self._returns.append(dict(state))
            return None
        if type(small) is cst.Break:
            if self._loop_stack:
                self._loop_stack[-1][0].append(dict(state))
            return None
        if type(small) is cst.Continue:
            if self._loop_stack:
                self._loop_stack[-1][1].append(dict(state))
            return None
        if type(small) is cst.Expr and type(small.value) is cst.Call and \
                dotted_name(small.value.func) in _TERMINATORS:
            return None
        if type(small) is cst.Expr and type(small.value) is cst.IfExp:
            # `net.train() if phase == "train" else net.eval()`
            expression = small.value
            self._events_in(expression.test, state, env)
            decided = evaluate_condition(expression.test, env)
            taken = dict(state)
            other = dict(state)
            if decided is not False:
                self._events_in(expression.body, taken, env)
            if decided is not True:
                self._events_in(expression.orelse, other, env)
            if decided is True:
                return taken
            if decided is False:
                return other
            return _join(taken, other, self._default)
        if type(small) is cst.Assign:
            self._events_in(small.value, state, env)
            self._bind(small, state, env)
            return state
        self._events_in(small, state, env)
        return state

    # -- bindings and events --------------------------------------------------------------

    def _scope(self, node):
        return self.ctx.loops.function_of(node)

    def _bind(self, assign: cst.Assign, state: State, env) -> None:
        scope = self._scope(assign)
        value = assign.value
        for target in assign.targets:
            name = dotted_name(target.target)
            if name is None:
                if type(target.target) in (cst.Tuple, cst.List):
                    for element in target.target.elements:
                        bound = dotted_name(element.value)
                        if bound and self.models.key(element.value, scope) is not None:
                            state[self.models.key(element.value, scope)] = self._default
                continue
            if type(target.target) is cst.Name and type(value) in (cst.Comparison, cst.UnaryOperation, cst.BooleanOperation):
                decided = evaluate_condition(value, env)
                if decided is not None:
                    env[name] = decided
            key = self.models.key(target.target, scope)
            if key is None:
                continue
            state[key] = self._produced_modes(value, scope, state, self.models.asks_project(key, value))
            for other in list(state):
                if other.startswith(key + "."):
                    del state[other]

    def _produced_modes(self, value, scope, state: State, ask_project: bool = False) -> Modes:
        wrapped = None
        if type(value) is cst.Call:
            is_model, wrapped = self.models.is_model_producer(value, scope, ask_project)
            if wrapped is not None:
                return state.get(wrapped, self._default)
            if is_model:
                if last_name(value.func) == "from_pretrained":
                    return frozenset({EVAL})
                return frozenset({TRAIN})
            return _ONE_UNKNOWN
        key = self.models.key(value, scope)
        if key is not None:
            return state.get(key, self._default)
        return _ONE_UNKNOWN

    def _events_in(self, node: cst.CSTNode, state: State, env) -> None:
        """Calls inside one statement (not inside nested functions/lambdas), in order."""
        calls = self._calls_cache.get(node)
        if calls is None:
            calls = self._calls_cache[node] = self._calls_of(node)
        for call in calls:
            self._call_event(call, state, env)

    def _calls_of(self, node: cst.CSTNode) -> List[cst.Call]:
        if type(node) in _OWN_SCOPES:
            return []
        if self.index.span(node) == (0, 0):
            return self._walked_calls_of(node)
        # The calls in the statement's span (a bisection), less those in a nested scope or
        # block: a statement has far fewer calls than nodes.
        parent = self.index.parent
        calls = []
        for call in self.index.within(node, cst.Call):
            current = parent(call) if call is not node else None
            while current is not None and current is not node:
                if type(current) in _OWN_SCOPES or type(current) in _NESTED_BLOCKS:
                    break
                current = parent(current)
            else:  # reached the statement (or the call is the node itself)
                calls.append(call)
        # Arguments are evaluated before the call: innermost calls first.
        return list(reversed(calls))

    def _walked_calls_of(self, node: cst.CSTNode) -> List[cst.Call]:
        calls = []
        stack = [node]
        children = self.index.children
        while stack:
            current = stack.pop()
            kind = type(current)
            if kind in _OWN_SCOPES:
                continue
            if kind in _NESTED_BLOCKS and current is not node:
                continue
            if kind is cst.Call:
                calls.append(current)
            stack.extend(reversed(children(current)))
        # Arguments are evaluated before the call: innermost calls first.
        return list(reversed(calls))

    def _call_event(self, call: cst.Call, state: State, env) -> None:
        scope = self._scope(call)
        func = call.func
        env_key: Env = tuple(sorted(env.items()))
        forward = self.models.forward_of(call)
        if forward is not None:
            if self._recording:
                modes = state.get(forward.key, self._default)
                seen = self._forward.setdefault(call, {})
                seen[env_key] = seen.get(env_key, frozenset()) | modes
            return
        if type(func) is cst.Attribute and func.attr.value in ("backward", "manual_backward"):
            if self._recording:
                seen_state = self._backward.setdefault(call, {})
                previous = seen_state.get(env_key)
                seen_state[env_key] = _join(previous, state, self._default) if previous is not None else dict(state)
            return
        if type(func) is cst.Attribute and func.attr.value in ("eval", "train"):
            key = self.models.key(func.value, scope)
            if key is not None:
                self._set_mode(state, key, self._mode_of_call(call, env))
                return
        target = self._resolve(call, scope)
        if target is not None:
            self._apply_summary(call, target, state, scope)
            return
        helper = self._project_helper(call, scope)
        if helper is not None and self._apply_helper(call, helper, state, scope):
            return
        # A call outside the file that receives a model may change its mode.
        name = last_name(func) or ""
        if name in _HARMLESS_CALLS or self.imports.matches(func, {"torch.save", "copy.deepcopy"}):
            return
        if type(func) is cst.Attribute and self.models.key(func.value, scope) is not None:
            return  # a method of the model itself (parameters, to, zero_grad, load_state_dict)
        for arg in call.args:
            key = self.models.key(arg.value, scope)
            if key is not None:
                self._set_mode(state, key, _ONE_UNKNOWN)

    def _mode_of_call(self, call: cst.Call, env) -> Modes:
        if last_name(call.func) == "eval":
            return frozenset({EVAL})
        if not call.args:
            return frozenset({TRAIN})
        value = call.args[0].value
        if type(value) is cst.Name and value.value in ("True", "False"):
            return frozenset({TRAIN if value.value == "True" else EVAL})
        if type(value) is cst.Name and isinstance(env.get(value.value), bool):
            return frozenset({TRAIN if env[value.value] else EVAL})
        decided = evaluate_condition(value, env)
        if decided is not None:
            return frozenset({TRAIN if decided else EVAL})
        return _ONE_UNKNOWN

    def _set_mode(self, state: State, key: str, modes: Modes) -> None:
        state[key] = modes
        for other in list(state):
            if other.startswith(key + "."):
                state[other] = modes

    # -- calls to functions of this file -------------------------------------------------

    def _resolve(self, call: cst.Call, scope) -> Optional[cst.FunctionDef]:
        func = call.func
        if type(func) is cst.Name:
            candidates = self._functions.get(func.value, [])
            if len(candidates) == 1:
                return candidates[0]
            if func.value in self.models.classes or func.value in self._class_names():
                inits = [m for m in self._methods.get("__init__", [])
                         if self.index.enclosing(m, cst.ClassDef).name.value == func.value]
                return inits[0] if len(inits) == 1 else None
            return None
        if type(func) is cst.Attribute:
            candidates = self._methods.get(func.attr.value, [])
            receiver = dotted_name(func.value)
            if receiver == "self" and scope is not None:
                cls = self.index.enclosing(scope, cst.ClassDef)
                own = [m for m in candidates if self.index.enclosing(m, cst.ClassDef) is cls]
                if len(own) == 1:
                    return own[0]
            if len(candidates) == 1 and receiver is not None and self.models.key(func.value, scope) is None:
                return candidates[0]
        return None

    def _class_names(self):
        return {c.name.value for c in self.index.of_type(cst.ClassDef)}

    def _parameter_map(self, call: cst.Call, function: cst.FunctionDef, scope) -> Dict[str, str]:
        """callee parameter -> caller model key, for the arguments that are models."""
        params = function.params
        ordered = [p.name.value for p in list(params.posonly_params) + list(params.params)]
        if ordered and ordered[0] in ("self", "cls") and (
                type(call.func) is cst.Attribute or function.name.value == "__init__"):
            ordered = ordered[1:]
        positional = [a for a in call.args if a.keyword is None and not a.star]
        return self._model_arguments(call, ordered, positional, scope)

    def _model_arguments(self, call: cst.Call, params, positional, scope) -> Dict[str, str]:
        """Parameter -> the model key passed to it, positionally (in `params` order) or by keyword."""
        mapping: Dict[str, str] = {}
        for param, arg in zip(params, positional):
            key = self.models.key(arg.value, scope)
            if key is not None:
                mapping[param] = key
        for arg in call.args:
            if arg.keyword is not None:
                key = self.models.key(arg.value, scope)
                if key is not None:
                    mapping[arg.keyword.value] = key
        return mapping

    def _grow_entry(self, function: cst.FunctionDef, entry: State, key: str, modes: Modes) -> None:
        joined = entry.get(key, frozenset()) | modes
        if joined != entry.get(key):
            entry[key] = joined
            self._grown.add(function)

    def _apply_summary(self, call: cst.Call, function: cst.FunctionDef, state: State, scope) -> None:
        mapping = self._parameter_map(call, function, scope)
        if self._recording:
            self._call_sites.setdefault(function, []).append(call)
            entry = self._entries.setdefault(function, {})
            passed = set(mapping)
            for param, key in mapping.items():
                self._grow_entry(function, entry, param, state.get(key, self._default))
            # Models the callee reads by the same name (globals, self attributes).
            for key, modes in state.items():
                head = key.split(".")[0]
                if head == "self" and not _is_self_call(call):
                    continue
                if key not in passed and (head == "self" or head not in _param_names(function)):
                    self._grow_entry(function, entry, key, modes)
        summary = self._summaries.get(function)
        if self._summary_mode:
            self._summaries_read.add(function)
        exit_state = summary.exit if summary is not None else None
        if exit_state is None:
            return  # never returns: the path ends (rare; keep state)
        reverse = {param: key for param, key in mapping.items()}
        for callee_key, modes in exit_state.items():
            head, _, rest = callee_key.partition(".")
            if head == "self":
                if not _is_self_call(call):
                    continue  # another object's attributes
                caller_key = callee_key
            elif head in reverse:
                caller_key = reverse[head] + ("." + rest if rest else "")
            elif head in _param_names(function):
                continue
            elif callee_key in self.models.known_keys(None):
                caller_key = callee_key
            else:
                continue  # a local of the callee
            before = state.get(caller_key, self._default)
            new = (modes - {ENTRY}) | (before if ENTRY in modes else frozenset())
            state[caller_key] = new

    # -- calls to functions of other project modules --------------------------------------

    def _project_helper(self, call: cst.Call, scope):
        """The summary of the project function `call` names, asked only when the call is
        given a model (no other call needs one, so no other module is read)."""
        project = self.ctx.project
        if project is None or not any(self.models.key(arg.value, scope) is not None for arg in call.args):
            return None
        if type(call.func) is cst.Name and call.func.value in self._functions:
            return None  # defined here too (several times, or `_resolve` would have taken it)
        return project.helper(call.func)

    def _apply_helper(self, call: cst.Call, helper, state: State, scope) -> bool:
        """Apply a helper's summary to the models it is given; False when the arguments
        cannot be matched to its parameters (the caller then treats it as unknown)."""
        if any(arg.star for arg in call.args):
            return False
        positional = [a for a in call.args if a.keyword is None]
        if len(positional) > len(helper.params):
            return False
        mapping = self._model_arguments(call, helper.params, positional, scope)
        env_modes = {key: state.get(key, self._default) for key in mapping.values()}
        for param, key in mapping.items():
            if self._recording and (param in helper.evaluates or param in helper.grad_from_caller):
                previous = self._helper_calls.get((call, key, param))
                modes = env_modes[key] | (previous[1] if previous else frozenset())
                self._helper_calls[(call, key, param)] = (helper, modes)
            exit_modes = helper.exit_modes(param)
            if exit_modes is None:
                self._set_mode(state, key, _ONE_UNKNOWN)
                continue
            if exit_modes == frozenset({ENTRY}):
                continue
            new = (exit_modes - {ENTRY}) | (env_modes[key] if ENTRY in exit_modes else frozenset())
            self._set_mode(state, key, frozenset(new))
        return True


def _is_module_check(test: cst.BaseExpression) -> bool:
    """`isinstance(net, nn.Module)` / `isinstance(net, torch.nn.Module)`."""
    if not (type(test) is cst.Call and type(test.func) is cst.Name and test.func.value == "isinstance"):
        return False
    if len(test.args) != 2:
        return False
    kind = test.args[1].value
    return type(kind) in (cst.Name, cst.Attribute) and (
        kind.value if type(kind) is cst.Name else kind.attr.value
    ) == "Module"


def _param_names(function: cst.FunctionDef) -> List[str]:
    params = function.params
    return [p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)]


def _argument_for(call: cst.Call, function: cst.FunctionDef, param: str) -> Optional[cst.BaseExpression]:
    """The argument a call passes for `param` of `function` (by keyword or position)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param:
            return arg.value
    params = function.params
    ordered = [p.name.value for p in list(params.posonly_params) + list(params.params)]
    if ordered and ordered[0] in ("self", "cls") and type(call.func) is cst.Attribute:
        ordered = ordered[1:]
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if param in ordered and ordered.index(param) < len(positional):
        return positional[ordered.index(param)].value
    return None


def _is_self_call(call: cst.Call) -> bool:
    return type(call.func) is cst.Attribute and dotted_name(call.func.value) == "self"
