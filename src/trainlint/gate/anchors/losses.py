"""Loss anchors: a loss that may weight (`weighted_loss`, for TL201) and evidence of class
imbalance (`imbalance`, for TL205).

Library and model code mentions `weight`, `loss` and `sample` all the time, so the words of
the prefilter let it through; what it rarely does is construct a loss with a weighting or
admit to imbalanced classes. A call counts as a loss when the loss vocabulary (vocab/losses.py)
names it or its name says `loss`, by the call's own last name or by what it is imported as.
"""

from __future__ import annotations

import ast
from typing import Dict, Optional

from trainlint.gate.anchors.tree import Predicate, SyntaxTree, calls_where, named, positional
from trainlint.vocab.class_balance import IMBALANCE_KEYWORDS, RESAMPLERS, WEIGHT_FUNCTIONS
from trainlint.vocab.losses import FUNCTIONAL_LOSSES, LABEL_SMOOTHING, LOSS_CLASSES, POS_WEIGHT, SAMPLE_WEIGHT, WEIGHT

# Where each known loss takes its weight by position (None: it takes none).
_WEIGHT_POSITION: Dict[str, Optional[int]] = {
    **{name: index for name, (_family, index) in LOSS_CLASSES.items()}, **FUNCTIONAL_LOSSES}
# Keywords that weight a loss or a fit; `reduction` / `reduce` because an unreduced loss is
# how per-sample weights are applied.
_WEIGHTING = {WEIGHT, POS_WEIGHT, LABEL_SMOOTHING, SAMPLE_WEIGHT, "class_weight", "reduction", "reduce"}
# Calls that take a loss's weighting on its behalf (`partial(F.cross_entropy, weight=w)`) or
# a Keras fit's class / sample weights.
_CARRIERS = {"partial", "fit", "fit_generator"}
_IMBALANCE_CALLS = WEIGHT_FUNCTIONS | RESAMPLERS | {"WeightedRandomSampler", "fit_resample", "fit_sample",
                                                   "resample"}
_IMBALANCE_KEYWORDS = IMBALANCE_KEYWORDS | {POS_WEIGHT, "is_unbalance"}
_COUNT_CALLS = {"value_counts", "bincount", "Counter", "unique"}


def _is_loss_name(name: str) -> bool:
    return name in _WEIGHT_POSITION or "loss" in name.lower()


def _loss_calls(tree: SyntaxTree):
    return tree.memo("losses.loss_calls", lambda tree: calls_where(tree, _is_loss_name))


def _weighted_by_position(call: ast.Call, tree: SyntaxTree) -> bool:
    """A known loss given as many positional arguments as reach its weight."""
    for name in tree.last_names(call):
        position = _WEIGHT_POSITION.get(name)
        if position is not None and len(positional(call)) > position:
            return True
    return False


def weighted_loss(tree: SyntaxTree) -> bool:
    """A loss (or a `partial` / `fit`) with a weighting keyword, or a known loss with a
    positional weight."""
    for call in [*_loss_calls(tree), *named(tree, _CARRIERS)]:
        if any(keyword.arg in _WEIGHTING for keyword in call.keywords):
            return True
        if _weighted_by_position(call, tree):
            return True
    return False


def imbalance(tree: SyntaxTree) -> bool:
    """A class-weight keyword, a weight function, sampler or resampler, a loss with a weight,
    or a weight-named variable in a file that counts classes (`value_counts`, `bincount` …)."""
    if named(tree, _IMBALANCE_CALLS):
        return True
    if any(keyword.arg in _IMBALANCE_KEYWORDS for keyword in tree.of_type(ast.keyword)):
        return True
    for call in _loss_calls(tree):
        if any(keyword.arg == WEIGHT for keyword in call.keywords) or _weighted_by_position(call, tree):
            return True
    return bool(named(tree, _COUNT_CALLS)) and any(
        isinstance(target, ast.Name) and "weight" in target.id.lower() for _scope, target, _value in tree.assignments)


PREDICATES: Dict[str, Predicate] = {
    "weighted_loss": weighted_loss,
    "imbalance": imbalance,
}
