"""Transformers fitted again on evaluation data after a fit on training data (`ctx.refits`).

Two shapes: the same object is fitted on training data and later on evaluation data
(`scaler.fit(X_train)` ... `scaler.fit_transform(X_test)`), or a helper creates and fits a
new transformer on every call and is called on training data and then on evaluation data
(`def scale(X): return StandardScaler().fit_transform(X)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, List, Optional, Set

import libcst as cst

from trainlint.semantic.dataflow import STATE, Binding
from trainlint.semantic.leakage import Fit
from trainlint.semantic.names import last_name
from trainlint.vocab.refitting import LABEL_ENCODERS, REFITTING
from trainlint.vocab.roles import TRAIN, is_eval

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext


@dataclass(frozen=True)
class Refit:
    node: cst.Call                       # the fit on evaluation data, or the helper's call
    fit: Fit
    earlier: Optional[cst.Call] = None   # the fit on training data of the same object
    helper: Optional[cst.FunctionDef] = None  # the helper that fits anew on every call


class RefitFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def refits(self) -> List[Refit]:
        return [*self._refits_of_one_object(), *self._helper_refits()]

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
            if binding.how == "mutate" and isinstance(value, cst.Call) and value is not fit.call:
                if last_name(value) in REFITTING and flow.call_state(value) is binding and self._on_training_side(value):
                    return value
            stack.extend(r.binding for r in binding.parents if r.kind == STATE)
            if binding.how == "assign" and isinstance(value, cst.Call) and last_name(value) in REFITTING:
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
            if not any(isinstance(v, cst.Call) and v is not fit.call for v in flow.defining_values(fit.receiver)):
                if not isinstance(fit.receiver, cst.Call):
                    continue
            param = params[0]
            position = _param_position(function, param.name)
            calls = [c for c in ctx.index.of_type(cst.Call)
                     if isinstance(c.func, cst.Name) and c.func.value == function.name.value]
            roles = []
            for call in calls:
                argument = _call_argument(call, position, param.name)
                roles.append((call, ctx.roles.along_flow(argument) if argument is not None else None))
            if not any(role == TRAIN for _, role in roles):
                continue
            for call, role in roles:
                if is_eval(role):
                    yield Refit(call, fit, helper=function)


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
