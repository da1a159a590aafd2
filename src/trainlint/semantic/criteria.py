"""Loss functions of a file: which criteria exist, how they weight, and which calls use them.

A *criterion* is a PyTorch loss object (`nn.CrossEntropyLoss(weight=w)`) or a functional loss
(`F.cross_entropy(..., weight=w)`). For each loss computation the table answers: which loss
family, which weighting arguments (`weight`, `pos_weight`, `label_smoothing`), which
reduction, and whether an unreduced loss is multiplied by per-sample weights or by a padding
mask afterwards. Criteria are followed through variables, `self.criterion` attributes,
`.to(device)`, `functools.partial` and parameters of functions defined in the same file
(through their call sites). Anything else is unknown (None), and rules stay silent on it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import (
    bool_value,
    dotted_name,
    is_none,
    is_zero,
    keyword_value,
    last_name,
    positional_args,
    string_value,
)
from trainlint.vocab.losses import (
    CLASS_WEIGHTED,  # noqa: F401 - semantic/imbalance.py reads it from here
    FUNCTIONAL_LOSSES,
    LABEL_SMOOTHING,
    LOSS_CLASSES,
    POS_WEIGHT,
    SAMPLE_WEIGHT,
    WEIGHT,
)

MEAN, SUM, NONE = "mean", "sum", "none"

_DEVICE_METHODS = {"to", "cuda", "cpu", "double", "float", "half"}
_MASK_WORDS = ("mask", "pad", "valid", "nonzero", "non_pad", "keep")


@dataclass(frozen=True)
class LossSpec:
    """One criterion: its family (functional name), weighting arguments and reduction."""

    family: str
    weighting: FrozenSet[str]
    reduction: Optional[str]  # MEAN / SUM / NONE, None when not a literal
    source: cst.CSTNode  # the constructor, functional call or partial(...)

    def same_loss(self, other: "LossSpec") -> bool:
        return (self.family, self.weighting, self.reduction) == (
            other.family, other.weighting, other.reduction)


@dataclass(frozen=True)
class LossUse:
    """A call that computes a loss value."""

    call: cst.Call
    spec: LossSpec
    # Key of an expression the unreduced loss is multiplied by, and whether it is a mask.
    multiplier: Optional[str] = None
    multiplier_is_mask: bool = False

    @property
    def weighting(self) -> FrozenSet[str]:
        if self.multiplier is not None and not self.multiplier_is_mask:
            return self.spec.weighting | {SAMPLE_WEIGHT}
        return self.spec.weighting


Bindings = Mapping[str, cst.BaseExpression]


class CriteriaTable:
    def __init__(self, module: cst.Module, index: ModuleIndex, imports: ImportTable) -> None:
        self._module = module
        self._index = index
        self._imports = imports
        # (scope node or None for module level, name) → assigned values
        self._assigned: Dict[Tuple[Optional[cst.CSTNode], str], List[cst.BaseExpression]] = defaultdict(list)
        # (class node, attribute) → values assigned to self.<attribute> in any method
        self._attributes: Dict[Tuple[cst.CSTNode, str], List[cst.BaseExpression]] = defaultdict(list)
        self._functions: Dict[str, List[cst.FunctionDef]] = defaultdict(list)
        self._calls_by_name: Optional[Dict[str, List[cst.Call]]] = None
        self._products: Optional[Dict[Optional[cst.CSTNode], List[cst.BinaryOperation]]] = None
        self._collect()

    # -- public ---------------------------------------------------------------------------

    def loss_use(self, call: cst.Call, bindings: Optional[Bindings] = None) -> Optional[LossUse]:
        """The loss computed by `call`, or None if it is not (visibly) a loss."""
        spec = self._functional_spec(call)
        if spec is None:
            if type(call.func) is cst.Call or _is_name_like(call.func):
                spec = self.criterion_spec(call.func, call, bindings)
        if spec is None:
            return None
        multiplier = self._multiplier(call) if spec.reduction == NONE else None
        return LossUse(call, spec, multiplier, multiplier is not None and _looks_like_mask(multiplier))

    def loss_spec(self, call: cst.Call) -> Optional[LossSpec]:
        """The criterion a constructor (`nn.BCEWithLogitsLoss(pos_weight=p)`) or a functional
        loss call (`F.cross_entropy(..., weight=w)`) stands for; None for anything else."""
        return self._functional_spec(call) or self._class_spec(call)

    def loss_uses_in(self, node: cst.CSTNode, bindings: Optional[Bindings] = None) -> List[LossUse]:
        """Loss computations inside `node` (not inside functions or classes nested in it)."""
        found = []
        for call in self.calls_in(node):
            use = self.loss_use(call, bindings)
            if use is not None:
                found.append(use)
        return found

    def calls_in(self, node: cst.CSTNode) -> List[cst.Call]:
        """Calls inside `node`, in source order, not inside nested functions or classes."""
        calls = []
        for call in self._index.within(node, cst.Call):
            scope = self._index.enclosing_scope(call)
            if scope is None or scope is node or not self._index.is_inside(scope, node):
                calls.append(call)
        return calls

    def criterion_spec(self, expr: cst.BaseExpression, at: cst.CSTNode,
                       bindings: Optional[Bindings] = None, depth: int = 0) -> Optional[LossSpec]:
        """What criterion the expression `expr` (seen at node `at`) holds."""
        if depth > 6:
            return None
        if type(expr) is cst.Call:
            return self._constructed_spec(expr, at, bindings, depth)
        if type(expr) is cst.Attribute and dotted_name(expr) is not None:
            qualified = self._functional_name(expr)
            if qualified is not None:  # `loss_fn = F.cross_entropy`
                return LossSpec(qualified, frozenset(), MEAN, expr)
            if type(expr.value) is cst.Name and expr.value.value == "self":
                cls = self._index.enclosing(at, cst.ClassDef)
                if cls is None:
                    return None
                values = self._attributes.get((cls, expr.attr.value), [])
                return self._agree([self.criterion_spec(v, v, None, depth + 1) for v in values])
            return None
        if type(expr) is cst.Name:
            return self._name_spec(expr.value, at, bindings, depth)
        return None

    def local_function(self, call: cst.Call) -> Optional[cst.FunctionDef]:
        """The function defined in this file that `helper(...)` / `self.helper(...)` calls."""
        func = call.func
        if type(func) is cst.Name:
            candidates = [f for f in self._functions.get(func.value, [])
                          if type(self._index.enclosing_scope(f)) is not cst.ClassDef]
        elif (type(func) is cst.Attribute and type(func.value) is cst.Name
              and func.value.value == "self"):
            cls = self._index.enclosing(call, cst.ClassDef)
            candidates = [f for f in self._functions.get(func.attr.value, [])
                          if self._index.enclosing_scope(f) is cls]
        else:
            return None
        return candidates[0] if len(candidates) == 1 else None

    def bindings_for(self, call: cst.Call, function: cst.FunctionDef) -> Dict[str, cst.BaseExpression]:
        """Parameter name → argument expression at this call site (defaults included)."""
        params = _parameters(function)
        bound: Dict[str, cst.BaseExpression] = {}
        for param in params:
            if param.default is not None:
                bound[param.name.value] = param.default
        positional = list(function.params.posonly_params) + list(function.params.params)
        if positional and positional[0].name.value in ("self", "cls") and type(call.func) is cst.Attribute:
            positional = positional[1:]  # bound method: the receiver fills `self`
        for arg, param in zip(positional_args(call), positional):
            bound[param.name.value] = arg.value
        for arg in call.args:
            if arg.keyword is not None:
                bound[arg.keyword.value] = arg.value
        return bound

    def call_sites(self, function: cst.FunctionDef) -> List[cst.Call]:
        if self._calls_by_name is None:
            self._calls_by_name = defaultdict(list)
            for call in self._index.of_type(cst.Call):
                name = last_name(call.func)
                if name is not None and name in self._functions:
                    self._calls_by_name[name].append(call)
        return [call for call in self._calls_by_name.get(function.name.value, [])
                if self.local_function(call) is function]

    # -- specs ----------------------------------------------------------------------------

    def _functional_name(self, node: cst.CSTNode) -> Optional[str]:
        for candidate in self._imports.candidates(node):
            if candidate.startswith("torch.nn.functional."):
                name = candidate.rsplit(".", 1)[-1]
                if name in FUNCTIONAL_LOSSES:
                    return name
        return None

    def _functional_spec(self, call: cst.Call) -> Optional[LossSpec]:
        family = self._functional_name(call.func)
        if family is None:
            return None
        return LossSpec(family, _weighting(call, FUNCTIONAL_LOSSES[family]), _reduction(call), call)

    def _class_spec(self, call: cst.Call) -> Optional[LossSpec]:
        for candidate in self._imports.candidates(call.func):
            if candidate.startswith("torch.nn."):
                name = candidate.rsplit(".", 1)[-1]
                if name in LOSS_CLASSES:
                    family, weight_index = LOSS_CLASSES[name]
                    return LossSpec(family, _weighting(call, weight_index), _reduction(call), call)
        return None

    def _constructed_spec(self, call: cst.Call, at: cst.CSTNode, bindings: Optional[Bindings],
                          depth: int) -> Optional[LossSpec]:
        spec = self._class_spec(call)
        if spec is not None:
            return spec
        func = call.func
        # nn.CrossEntropyLoss(weight=w).to(device)
        if type(func) is cst.Attribute and func.attr.value in _DEVICE_METHODS:
            return self.criterion_spec(func.value, at, bindings, depth + 1)
        # functools.partial(F.cross_entropy, weight=w)
        if self._imports.matches(func, {"functools.partial"}):
            args = positional_args(call)
            if not args:
                return None
            family = self._functional_name(args[0].value)
            if family is None:
                return None
            return LossSpec(family, _weighting(call, None), _reduction(call), call)
        return None

    def _name_spec(self, name: str, at: cst.CSTNode, bindings: Optional[Bindings],
                   depth: int) -> Optional[LossSpec]:
        if bindings is not None and name in bindings:
            value = bindings[name]
            return self.criterion_spec(value, value, None, depth + 1)
        scope = self._index.enclosing_function(at)
        while scope is not None:
            values = self._assigned.get((scope, name))
            if values:
                return self._agree([self.criterion_spec(v, v, None, depth + 1) for v in values])
            if any(p.name.value == name for p in _parameters(scope)):
                return self._parameter_spec(scope, name, depth)
            scope = self._index.enclosing_function(scope)
        values = self._assigned.get((None, name), [])
        return self._agree([self.criterion_spec(v, v, None, depth + 1) for v in values])

    def _parameter_spec(self, function: cst.FunctionDef, name: str, depth: int) -> Optional[LossSpec]:
        """A parameter holds a known criterion when every call site in the file agrees."""
        specs = []
        for call in self.call_sites(function):
            value = self.bindings_for(call, function).get(name)
            specs.append(self.criterion_spec(value, call, None, depth + 1) if value is not None else None)
        return self._agree(specs)

    @staticmethod
    def _agree(specs: List[Optional[LossSpec]]) -> Optional[LossSpec]:
        if not specs or any(spec is None for spec in specs):
            return None
        first = specs[0]
        return first if all(first.same_loss(spec) for spec in specs[1:]) else None  # type: ignore[union-attr]

    # -- per-sample weights on an unreduced loss ----------------------------------------

    def _multiplier(self, call: cst.Call) -> Optional[str]:
        """`(criterion(out, y) * w).mean()` or `losses = criterion(out, y); (losses * w)`."""
        node: cst.CSTNode = call
        parent = self._index.parent(node)
        if type(parent) is cst.BinaryOperation and type(parent.operator) is cst.Multiply:
            other = parent.right if parent.left is node else parent.left
            return self._key(other)
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            target = parent.targets[0].target
            if type(target) is cst.Name:
                if self._products is None:
                    self._products = defaultdict(list)
                    for operation in self._index.of_type(cst.BinaryOperation):
                        if type(operation.operator) is cst.Multiply:
                            self._products[self._index.enclosing_function(operation)].append(operation)
                for operation in self._products.get(self._index.enclosing_function(call), []):
                    for side, other in ((operation.left, operation.right), (operation.right, operation.left)):
                        if type(side) is cst.Name and side.value == target.value:
                            return self._key(other)
        return None

    def _key(self, node: cst.CSTNode) -> str:
        return "".join(self._module.code_for_node(node).split())

    # -- collection -----------------------------------------------------------------------

    def _collect(self) -> None:
        for function in self._index.of_type(cst.FunctionDef):
            self._functions[function.name.value].append(function)
        for assign in self._index.of_type(cst.Assign):
            for target in assign.targets:
                self._record(target.target, assign.value, assign)
        for assign in self._index.of_type(cst.AnnAssign):
            if assign.value is not None:
                self._record(assign.target, assign.value, assign)

    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression, at: cst.CSTNode) -> None:
        if type(target) is cst.Name:
            self._assigned[(self._index.enclosing_function(at), target.value)].append(value)
        elif (type(target) is cst.Attribute and type(target.value) is cst.Name
              and target.value.value == "self"):
            cls = self._index.enclosing(at, cst.ClassDef)
            if cls is not None:
                self._attributes[(cls, target.attr.value)].append(value)


def _weighting(call: cst.Call, weight_index: Optional[int]) -> FrozenSet[str]:
    found = set()
    weight = keyword_value(call, WEIGHT)
    if weight is None and weight_index is not None:
        positional = positional_args(call)
        if weight_index < len(positional):
            weight = positional[weight_index].value
    if weight is not None and not is_none(weight):
        found.add(WEIGHT)
    pos_weight = keyword_value(call, POS_WEIGHT)
    if pos_weight is not None and not is_none(pos_weight):
        found.add(POS_WEIGHT)
    smoothing = keyword_value(call, LABEL_SMOOTHING)
    if smoothing is not None and not (is_zero(smoothing) or is_none(smoothing)):
        found.add(LABEL_SMOOTHING)
    return frozenset(found)


def _reduction(call: cst.Call) -> Optional[str]:
    value = keyword_value(call, "reduction")
    if value is not None:
        text = string_value(value)
        return text if text in (MEAN, SUM, NONE) else None
    if bool_value(keyword_value(call, "reduce")) is False:
        return NONE
    if bool_value(keyword_value(call, "size_average")) is False:
        return SUM
    return MEAN


def _is_name_like(node: cst.BaseExpression) -> bool:
    return type(node) is cst.Name or (type(node) is cst.Attribute and dotted_name(node) is not None)


def _looks_like_mask(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _MASK_WORDS)


def _parameters(function: cst.FunctionDef) -> List[cst.Param]:
    params = function.params
    return [*params.posonly_params, *params.params, *params.kwonly_params]
