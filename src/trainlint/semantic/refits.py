"""Transformers fitted again on evaluation data after a fit on training data (`ctx.refits`).

Three shapes: the same object is fitted on training data and later on evaluation data
(`scaler.fit(X_train)` ... `scaler.fit_transform(X_test)`); a helper creates and fits a
new transformer on every call and is called on training data and then on evaluation data
(`def scale(X): return StandardScaler().fit_transform(X)`); a helper fits the transformer it
is given (`def encode(frame, encoder): encoder.fit_transform(frame)`) and is called with
evaluation data and a transformer already fitted on training data (same-file function
summaries: the call site links the parameters to its arguments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, List, Optional, Set

import libcst as cst

from trainlint.semantic.dataflow import PARAM, STATE, Binding
from trainlint.semantic.leakage import Fit
from trainlint.semantic.names import last_name
from trainlint.vocab.refitting import LABEL_ENCODERS, REFITTING
from trainlint.vocab.roles import TRAIN, is_eval

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

# How many bindings the search for a passed transformer's fit looks at before it gives up.
_SEARCH_LIMIT = 200


@dataclass(frozen=True)
class Refit:
    node: cst.Call                       # the fit on evaluation data, or the helper's call
    fit: Fit
    earlier: Optional[cst.Call] = None   # the fit on training data of the same object
    helper: Optional[cst.FunctionDef] = None  # the helper that fits anew on every call
    call_site: Optional[cst.Call] = None  # a helper refitting what it is given: the call with
    earlier_fit: Optional[Fit] = None     # evaluation data, and the fit of what it is given


class RefitFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def refits(self) -> List[Refit]:
        return [*self._refits_of_one_object(), *self._helper_refits(), *self._refits_of_passed_transformers()]

    def _transformer_fits(self) -> Iterator[Fit]:
        for fit in self._ctx.leakage.fits:
            if is_transformer(fit) and fit.method in REFITTING and fit.data is not None:
                yield fit

    def _refits_of_one_object(self) -> Iterator[Refit]:
        for fit in self._transformer_fits():
            if not is_eval(self._ctx.roles.along_flow(fit.data)):
                continue
            earlier = self._earlier_fit(fit)
            if earlier is not None:
                yield Refit(fit.call, fit, earlier=earlier)

    def _earlier_fit(self, fit: Fit) -> Optional[cst.Call]:
        """A fit of the same object, on data that is not evaluation data, before this one."""
        flow = self._ctx.dataflow
        seen: Set[Binding] = set()
        stack: List[Binding] = [r.binding for r in flow.refs(fit.receiver)]
        while stack:
            binding = stack.pop()
            if binding in seen:
                continue
            seen.add(binding)
            value = binding.value
            if binding.how == "mutate" and type(value) is cst.Call and value is not fit.call:
                if last_name(value) in REFITTING and flow.call_state(value) is binding and self._on_training_side(value):
                    return value
            stack.extend(r.binding for r in binding.parents if r.kind == STATE)
            if binding.how == "assign" and type(value) is cst.Call and last_name(value) in REFITTING:
                if flow.call_state(value) is not None and value is not fit.call and self._on_training_side(value):
                    return value
        return None

    def _on_training_side(self, fit_call: cst.Call) -> bool:
        data = fit_call.args[0].value if fit_call.args else None
        return data is not None and not is_eval(self._ctx.roles.along_flow(data))

    def _helper_refits(self) -> Iterator[Refit]:
        ctx = self._ctx
        flow = ctx.dataflow
        for fit in self._transformer_fits():
            function = ctx.index.enclosing_function(fit.call)
            if function is None:
                continue
            params = [r.binding for r in flow.refs(fit.data) if r.binding.how == "param" and r.binding.scope is function]
            if len(params) != 1:
                continue
            # The transformer must be created inside the helper: a fresh fit on every call.
            if not any(type(v) is cst.Call and v is not fit.call for v in flow.defining_values(fit.receiver)):
                if type(fit.receiver) is not cst.Call:
                    continue
            param = params[0]
            position = _param_position(function, param.name)
            calls = [c for c in ctx.index.of_type(cst.Call)
                     if type(c.func) is cst.Name and c.func.value == function.name.value]
            roles = []
            for call in calls:
                argument = _call_argument(call, position, param.name)
                roles.append((call, ctx.roles.along_flow(argument) if argument is not None else None))
            if not any(role == TRAIN for _, role in roles):
                continue
            for call, role in roles:
                if is_eval(role):
                    yield Refit(call, fit, helper=function)


    # -- a helper that refits the transformer it is given ----------------------------------

    def _refits_of_passed_transformers(self) -> Iterator[Refit]:
        """`def encode(frame, encoder, cols): encoder.fit_transform(frame[cols])`, called as
        `encode(X_test, onehot, cols)` with an `onehot` already fitted on training data (in
        this file, also inside another helper that returned it): the helper's fit refits it
        on the evaluation data of that call."""
        ctx = self._ctx
        for fit in ctx.leakage.fits:
            if fit.method not in REFITTING or fit.data is None:
                continue
            function = ctx.index.enclosing_function(fit.call)
            transformer = self._parameter(fit.receiver, function)
            data = self._data_parameter(fit.data, function)
            if function is None or transformer is None or data is None:
                continue
            for call in self._calls_of(function):
                data_argument = _call_argument(call, _param_position(function, data), data)
                passed = _call_argument(call, _param_position(function, transformer), transformer)
                if passed is None or not is_eval(ctx.roles.along_flow(data_argument)):
                    continue
                earlier = self._fitted_transformer(passed, names={transformer, _root(passed)})
                if earlier is not None:
                    yield Refit(fit.call, fit, earlier=earlier.call, call_site=call, earlier_fit=earlier)
                    break

    def _parameter(self, expr: cst.BaseExpression, function: Optional[cst.FunctionDef]) -> Optional[str]:
        """The name of the parameter of `function` the expression is (not a copy of it)."""
        if function is None or type(expr) is not cst.Name:
            return None
        bindings = self._ctx.dataflow.resolve_name(expr.value, expr)
        if len(bindings) == 1 and bindings[0].how == "param" and bindings[0].scope is function:
            return expr.value
        return None

    def _data_parameter(self, data: cst.BaseExpression, function: Optional[cst.FunctionDef]) -> Optional[str]:
        """The one parameter of `function` whose rows the fitted data holds (`frame[cols]`)."""
        if function is None:
            return None
        params = {b.name for b in self._ctx.dataflow.derivation(data) if b.how == "param" and b.scope is function}
        return params.pop() if len(params) == 1 else None

    def _calls_of(self, function: cst.FunctionDef) -> List[cst.Call]:
        flow = self._ctx.dataflow
        name = function.name.value
        return [c for c in self._ctx.index.of_type(cst.Call) if type(c.func) is cst.Name and c.func.value == name
                and any(b.node is function for b in flow.resolve_name(name, c))]

    def _fitted_transformer(self, passed: cst.BaseExpression, names: Set[Optional[str]]) -> Optional[Fit]:
        """The fit on training data of the transformer an argument holds, followed back
        through assignments, containers and the returns of this file's helpers; the fit's
        own data is not followed (that is what it learnt from, not what it is). Containers
        are not told apart by key or position, so when several fitted transformers are
        reachable, the one fitted under the parameter's or the argument's name is quoted."""
        found = self._fitted_transformers(passed)
        named = [f for f in found if _root(f.receiver) in names]
        return (named or found or [None])[0]

    def _fitted_transformers(self, passed: cst.BaseExpression) -> List[Fit]:
        ctx = self._ctx
        flow = ctx.dataflow
        fits = {id(f.call): f for f in ctx.leakage.fits}
        seen: Set[Binding] = set()
        found: List[Fit] = []
        stack: List[Binding] = [r.binding for r in flow.refs(passed) if r.kind != PARAM]
        while stack and len(seen) < _SEARCH_LIMIT:
            binding = stack.pop()
            if binding in seen:
                continue
            seen.add(binding)
            value = binding.value
            fit = fits.get(id(value)) if type(value) is cst.Call else None
            if fit is not None and flow.call_state(value) is not None:  # type: ignore[arg-type]
                holds_object = binding.how == "mutate" or fit.method == "fit"  # `fit` returns self
                if holds_object:
                    if is_transformer(fit) and self._on_training_side(fit.call):
                        found.append(fit)
                        continue
                    stack.extend(r.binding for r in binding.parents if r.kind == STATE)
                    continue
            stack.extend(r.binding for r in binding.parents if r.kind != PARAM)
        return sorted(found, key=lambda f: flow.order_of(f.call))


def _root(expr: cst.BaseExpression) -> Optional[str]:
    """`encoder` of `encoder`, `self.encoder`, `encoders["x"]`: the name last in a dotted
    receiver, or the subscripted name."""
    while type(expr) is cst.Subscript:
        expr = expr.value
    if type(expr) is cst.Attribute:
        return expr.attr.value
    return expr.value if type(expr) is cst.Name else None


def is_transformer(fit: Fit) -> bool:
    return fit.category == "transformer" or fit.cls in LABEL_ENCODERS


def _param_position(function: cst.FunctionDef, name: str) -> int:
    params = [*function.params.posonly_params, *function.params.params]
    for index, param in enumerate(params):
        if param.name.value == name:
            return index
    return -1


def _call_argument(call: cst.Call, position: int, name: str) -> Optional[cst.BaseExpression]:
    """The argument for a parameter: by keyword, or at its position when it has one (-1: none)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if 0 <= position < len(positional):
        return positional[position].value
    return None
