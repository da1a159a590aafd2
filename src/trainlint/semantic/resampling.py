"""Rows copied before the split that makes the evaluation part (`ctx.resampling`).

Resampling (`SMOTE().fit_resample`, `sklearn.utils.resample`, `df.sample(replace=True)`) or
stacking an array with rows taken from it (`np.concatenate([X, X[y == 1]])`, `[df] +
[minority] * 3`) before a split lets copies of one row land in both parts. The split is the
one whose input covers the copied rows (LeakageFacts.split_covering).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, List, Optional

import libcst as cst

from trainlint.semantic.names import bool_value, expression_key, keyword_value, last_name, positional_args
from trainlint.semantic.splits import Split
from trainlint.vocab.splitting import RESAMPLE_FUNCTIONS, ROW_CONCATENATIONS

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

RESAMPLED = "resampled"
DUPLICATED = "rows duplicated"


@dataclass(frozen=True)
class CopiedBeforeSplit:
    node: cst.Call
    how: str        # RESAMPLED or DUPLICATED
    split: Split


class ResamplingFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def copied_before_split(self) -> List[CopiedBeforeSplit]:
        return [*self._resampled(), *self._duplicated()]

    def _resamplers(self) -> Iterator[cst.Call]:
        ctx = self._ctx
        for fit in ctx.leakage.fits:
            if fit.category == "sampler" and fit.method in ("fit_resample", "fit_sample"):
                yield fit.call
        for call in ctx.index.of_type(cst.Call):
            if ctx.imports.matches(call, RESAMPLE_FUNCTIONS):
                yield call
            elif last_name(call) == "sample" and type(call.func) is cst.Attribute and bool_value(
                keyword_value(call, "replace")
            ):
                yield call

    def _resampled(self) -> Iterator[CopiedBeforeSplit]:
        facts = self._ctx.leakage
        for call in list(self._resamplers()):
            if last_name(call) == "sample" and type(call.func) is cst.Attribute:
                data: Optional[cst.BaseExpression] = call.func.value  # `df.sample(...)` resamples df
            else:
                data = positional_args(call)[0].value if positional_args(call) else None
            if data is None:
                continue
            split = facts.split_covering(facts.covered_rows(data), set(self._ctx.dataflow.bindings_assigned_from(call)))
            if split is not None:
                yield CopiedBeforeSplit(call, RESAMPLED, split)

    def _duplicated(self) -> Iterator[CopiedBeforeSplit]:
        ctx = self._ctx
        facts = ctx.leakage
        for call in ctx.index.of_type(cst.Call):
            if not ctx.imports.matches(call, ROW_CONCATENATIONS) or not self._duplicates_rows(call):
                continue
            cover = set()
            for part in _parts(call):
                cover |= facts.covered_rows(part)
            split = facts.split_covering(cover, set(ctx.dataflow.bindings_assigned_from(call)))
            if split is not None:
                yield CopiedBeforeSplit(call, DUPLICATED, split)

    def _duplicates_rows(self, call: cst.Call) -> bool:
        """Two parts hold the same rows: a repeated part, a list repeated with `*`, or a whole
        array next to rows taken or derived from it."""
        if not _axis_is_rows(call):
            return False
        args = positional_args(call)
        first = keyword_value(call, "objs") if not args else args[0].value
        if _has_list_repetition(first):
            return True
        parts = _parts(call)
        keys = [expression_key(self._ctx.module, p) for p in parts]
        if len(set(keys)) < len(keys):
            return True
        flow = self._ctx.dataflow
        for index, part in enumerate(parts):
            whole = _whole(part)
            if whole is None:
                continue
            whole_bindings = set(flow.bindings(whole))
            if not whole_bindings or any(flow.is_constant(b) for b in whole_bindings):
                continue
            for other_index, other in enumerate(parts):
                if other_index != index and whole_bindings & flow.derivation(other):
                    return True
        return False


def _parts(call: cst.Call) -> List[cst.BaseExpression]:
    args = positional_args(call)
    first = keyword_value(call, "objs") if not args else args[0].value
    if last_name(call) == "append" and len(args) >= 2:
        return [args[0].value, args[1].value]
    if type(first) in (cst.List, cst.Tuple):
        return [e.value for e in first.elements]
    if type(first) is cst.BinaryOperation:  # [df] + [minority] * 3
        return _list_terms(first)
    return []


def _list_terms(expr: cst.BaseExpression) -> List[cst.BaseExpression]:
    if type(expr) is cst.BinaryOperation:
        return _list_terms(expr.left) + _list_terms(expr.right)
    if type(expr) in (cst.List, cst.Tuple):
        return [e.value for e in expr.elements]
    return []


def _axis_is_rows(call: cst.Call) -> bool:
    axis = keyword_value(call, "axis") or keyword_value(call, "dim")
    if axis is None and last_name(call) in ("concatenate", "cat", "concat") and len(positional_args(call)) >= 2:
        axis = positional_args(call)[1].value
    if axis is None:
        return True
    return type(axis) is cst.Integer and axis.value == "0"


def _has_list_repetition(expr: Optional[cst.BaseExpression]) -> bool:
    if type(expr) is cst.BinaryOperation:
        if type(expr.operator) is cst.Multiply and type(expr.left) in (cst.List, cst.Tuple):
            return True
        return _has_list_repetition(expr.left) or _has_list_repetition(expr.right)
    return False


def _whole(part: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`X`, `df`, `X.values`: a part that is a whole array rather than some of its rows."""
    if type(part) is cst.Name:
        return part
    if type(part) is cst.Attribute and part.attr.value == "values" and type(part.value) is cst.Name:
        return part.value
    return None
