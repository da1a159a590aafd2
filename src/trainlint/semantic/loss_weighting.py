"""Loss weighting applied on the training side only (`ctx.loss_weighting`).

A training loss with `weight=`, `pos_weight=`, `label_smoothing=` or per-sample weights and a
validation loss of the same family without them are on different scales. Compared: the
losses of evaluation loops against those of training loops (PyTorch), one epoch helper
called for training and for validation with different criteria, Lightning's
`validation_step` / `test_step` against its `training_step`, and Keras `fit(class_weight=...)`
whose validation data carries no weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.criteria import LossUse
from trainlint.semantic.names import dotted_name, is_none, is_zero, keyword_value, last_name, positional_args
from trainlint.vocab.roles import TRAIN

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

# Where the weighting is missing.
EVAL_LOOP = "eval-loop"            # `use`: a loss of an evaluation loop; `train_uses` for a fix
SHARED_HELPER = "shared-helper"    # `node`: the validation call of a helper shared with training
LIGHTNING_STEP = "lightning-step"  # `use`: a loss of validation_step / test_step
KERAS_SPLIT = "keras-split"        # `keyword`: fit(class_weight=..., validation_split=...)
KERAS_DATA = "keras-data"          # `keyword`: fit(class_weight=..., validation_data=(x, y))

_DATASET_CHAIN = {"batch", "prefetch", "cache", "shuffle", "repeat", "take", "skip",
                  "unbatch", "padded_batch", "with_options"}
_LIGHTNING_EVAL_STEPS = ("validation_step", "test_step")


@dataclass(frozen=True)
class UnweightedValidation:
    node: cst.CSTNode
    kind: str
    missing: FrozenSet[str] = frozenset()   # weighting kinds the training loss has (criteria.py)
    keyword: str = ""                       # Keras: `class_weight` or `sample_weight`
    use: Optional[LossUse] = None
    train_uses: Tuple[LossUse, ...] = field(default=())


class LossWeightingFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @cached_property
    def unweighted_validation(self) -> List[UnweightedValidation]:
        found = [*self._keras(), *self._lightning()]
        reported = set()
        for item in [*self._torch_loops(), *self._shared_helpers()]:
            if item.node not in reported:  # a loss of a helper seen from two loops
                reported.add(item.node)
                found.append(item)
        return found

    # -- PyTorch loops --------------------------------------------------------------------

    def _torch_loops(self) -> Iterator[UnweightedValidation]:
        """Losses of evaluation loops against the losses of training loops."""
        loops = self._ctx.loops.loops
        train_uses: List[LossUse] = []
        for loop in loops:
            if loop.kind in ("train", "mixed"):
                train_uses.extend(self._uses_with_helpers(loop.node))
        if not train_uses:
            return
        for loop in loops:
            if loop.kind != "eval" or loop.role == TRAIN:
                continue
            for use in self._uses_with_helpers(loop.node):
                missing = missing_weighting(train_uses, use)
                if missing:
                    yield UnweightedValidation(use.call, EVAL_LOOP, missing, use=use, train_uses=tuple(train_uses))

    def _shared_helpers(self) -> Iterator[UnweightedValidation]:
        """One epoch helper run for training and for validation with different criteria:
        `run_epoch(model, train_dl, weighted, opt)` / `run_epoch(model, val_dl, plain)`."""
        criteria = self._ctx.criteria
        for function in self._ctx.index.of_type(cst.FunctionDef):
            sites = criteria.call_sites(function)
            if len(sites) < 2:
                continue
            by_role: Dict[str, List[Tuple[cst.Call, List[LossUse]]]] = {"train": [], "eval": []}
            for call in sites:
                role = self._call_site_role(call)
                if role is None:
                    continue
                uses = criteria.loss_uses_in(function, criteria.bindings_for(call, function))
                by_role["train" if role == TRAIN else "eval"].append((call, uses))
            train_uses = [use for _, uses in by_role["train"] for use in uses]
            if not train_uses:
                continue
            for call, uses in by_role["eval"]:
                missing = frozenset().union(*(missing_weighting(train_uses, use, shared=True) for use in uses)) \
                    if uses else frozenset()
                if missing:
                    yield UnweightedValidation(call, SHARED_HELPER, missing)

    def _call_site_role(self, call: cst.Call) -> Optional[str]:
        """"train" when a call passes training data (or an optimizer), "validation"/"test" when
        it passes evaluation data; None when mixed or unknown."""
        roles = set()
        scope = self._ctx.index.enclosing_function(call)
        for arg in call.args:
            name = dotted_name(arg.value)
            if name is None:
                continue
            last = name.lower().rsplit(".", 1)[-1]
            if last.startswith("optim") or last in ("opt", "sgd", "adam") or last.endswith(("optimizer", "_opt")):
                roles.add(TRAIN)
                continue
            role = self._ctx.roles.role_of(arg.value, scope)
            if role is not None:
                roles.add(role)
        return roles.pop() if len(roles) == 1 else None

    def _uses_with_helpers(self, function: cst.CSTNode) -> List[LossUse]:
        """Loss computations in `function` (or a loop) and in same-file helpers it calls (one level)."""
        criteria = self._ctx.criteria
        uses = criteria.loss_uses_in(function)
        for call in criteria.calls_in(function):
            helper = criteria.local_function(call)
            if helper is not None and helper is not function:
                uses.extend(criteria.loss_uses_in(helper, criteria.bindings_for(call, helper)))
        return uses

    # -- Keras ----------------------------------------------------------------------------

    def _keras(self) -> Iterator[UnweightedValidation]:
        for call in self._ctx.index.of_type(cst.Call):
            if last_name(call) not in ("fit", "fit_generator") or type(call.func) is not cst.Attribute:
                continue
            weighting = [name for name in ("class_weight", "sample_weight")
                         if keyword_value(call, name) is not None and not is_none(keyword_value(call, name))]
            if not weighting:
                continue
            split = keyword_value(call, "validation_split")
            data = keyword_value(call, "validation_data")
            if split is not None and not (is_zero(split) or is_none(split)) and data is None:
                yield UnweightedValidation(call, KERAS_SPLIT, keyword=weighting[0])
            elif data is not None and self._element_count(data) == 2:
                yield UnweightedValidation(call, KERAS_DATA, keyword=weighting[0])

    def _element_count(self, data: cst.BaseExpression, depth: int = 0) -> Optional[int]:
        """How many elements validation data holds: `(x, y)` → 2; a name assigned one tuple,
        `tf.data.Dataset.from_tensor_slices((x, y)).batch(32)` → 2; None when not visible."""
        if depth > 4:
            return None
        if type(data) in (cst.Tuple, cst.List):
            if any(type(e) is cst.StarredElement for e in data.elements):
                return None
            return len(data.elements)
        if type(data) is cst.Name:
            counts = {self._element_count(value, depth + 1) for value in self._ctx.targets.definitions(data.value)}
            return counts.pop() if len(counts) == 1 else None
        if type(data) is cst.Call and type(data.func) is cst.Attribute:
            method = data.func.attr.value
            if method in _DATASET_CHAIN:
                return self._element_count(data.func.value, depth + 1)
            if method in ("from_tensor_slices", "from_tensors", "zip"):
                args = positional_args(data)
                return self._element_count(args[0].value, depth + 1) if args else None
        return None

    # -- Lightning ------------------------------------------------------------------------

    def _lightning(self) -> Iterator[UnweightedValidation]:
        for cls in self._ctx.index.of_type(cst.ClassDef):
            methods = {s.name.value: s for s in cls.body.body if type(s) is cst.FunctionDef}
            train_step = methods.get("training_step")
            if train_step is None:
                continue
            train_uses = self._uses_with_helpers(train_step)
            if not train_uses:
                continue
            for step_name in _LIGHTNING_EVAL_STEPS:
                step = methods.get(step_name)
                if step is None:
                    continue
                for use in self._uses_with_helpers(step):
                    missing = missing_weighting(train_uses, use)
                    if missing:
                        yield UnweightedValidation(use.call, LIGHTNING_STEP, missing, use=use)


def missing_weighting(train_uses: Iterable[LossUse], use: LossUse, shared: bool = False) -> FrozenSet[str]:
    """Weighting that every training loss of the same family has and `use` lacks. A loss
    computed by the very same call on both sides is the same loss (unless `shared`: a helper
    whose criterion comes from its call sites)."""
    same_family = [t for t in train_uses if t.spec.family == use.spec.family]
    if not same_family or (not shared and any(t.call is use.call for t in same_family)):
        return frozenset()
    required = frozenset.intersection(*(t.weighting for t in same_family))
    return required - use.weighting
