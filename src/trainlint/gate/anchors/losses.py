"""Loss-weighting and imbalance anchors: a weighted training criterion or a weighted Keras fit
(`weighted_loss`, for TL201) and evidence of class imbalance (`imbalance`, for TL205).

TL201 compares a weighted training loss with an unweighted validation loss; with no weighting
anywhere in the file there is nothing to compare. TL205 reports accuracy only where the file
admits to imbalanced classes. Library and model code rarely does either, though it mentions
`weight`, `loss` and `sample` all the time, so the words of the prefilter let it through.

Both follow the libcst evidence loosely: `analysis/criteria.py` (which calls build a loss and
with which weighting) and `analysis/imbalance.py` (ImbalanceFacts.evidence). A callee is
recognised by its own last name or by the last name of the import it resolves to, never by its
module (looser than ImportTable); a keyword counts unless its value is a literal the libcst
code itself rejects (`None`, `False`, `0.0`).
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, Optional, Set, Tuple

from trainlint.gate.anchors.tree import Predicate, SyntaxTree, last_name, targets
from trainlint.vocab.class_balance import IMBALANCE_KEYWORDS, RESAMPLERS, WEIGHT_FUNCTIONS
from trainlint.vocab.losses import CLASS_WEIGHTED, FUNCTIONAL_LOSSES, LABEL_SMOOTHING, LOSS_CLASSES, POS_WEIGHT, WEIGHT
from trainlint.vocab.roles import name_tokens

NONE = "none"  # reduction="none": a loss reduced by hand, maybe weighted

# Loss name (a torch.nn class or a torch.nn.functional function) -> positional index of its
# weight argument, None when it takes none (criteria.LOSS_CLASSES / FUNCTIONAL_LOSSES).
_LOSSES: Dict[str, Optional[int]] = {
    **{name: index for name, (_family, index) in LOSS_CLASSES.items()},
    **FUNCTIONAL_LOSSES,
}
# Losses whose `weight` holds class weights: evidence of imbalance (imbalance._read_call).
_CLASS_WEIGHTED = {name for name, (family, _index) in LOSS_CLASSES.items() if family in CLASS_WEIGHTED} | set(
    CLASS_WEIGHTED)
_KERAS_FITS = {"fit", "fit_generator"}
_KERAS_WEIGHTS = {"class_weight", "sample_weight"}
_KERAS_VALIDATION = {"validation_split", "validation_data"}
# Names of `imbalance._read_call` that are evidence by themselves (`resample` only when it is
# sklearn.utils.resample there; any `resample` here).
_IMBALANCE_CALLS = WEIGHT_FUNCTIONS | RESAMPLERS | {"WeightedRandomSampler", "fit_resample", "fit_sample", "resample"}
_COUNT_CALLS = {"value_counts", "bincount", "Counter", "unique"}  # imbalance._COUNT_CALLS


# -- shared helpers -------------------------------------------------------------------------


def _is_literal(node: ast.AST, value: object) -> bool:
    """`node` is the literal `None` / `True` / `False` (what names.is_none / bool_value read)."""
    return isinstance(node, ast.Constant) and node.value is value


def _is_float_zero(node: ast.AST) -> bool:
    """A float literal equal to zero: criteria._is_zero takes those (and `None`) for "no label
    smoothing". Integer zeros are left as weighting (`0x0` is no zero to libcst's float())."""
    return isinstance(node, ast.Constant) and type(node.value) is float and node.value == 0.0


def _imported_as(tree: SyntaxTree) -> Dict[str, Set[str]]:
    """Local name -> last names of everything any import of the file binds to it
    (`from torch.nn import CrossEntropyLoss as CE`: CE -> {CrossEntropyLoss}); every import
    counts, whichever one ImportTable keeps when a name is imported twice."""
    return tree.memo("losses.imported_as", lambda tree: {
        local: {qualified.rsplit(".", 1)[-1] for qualified in qualifieds}
        for local, qualifieds in tree.imported_as.items()})


def _loss_aliases(tree: SyntaxTree) -> Dict[str, Tuple[str, ...]]:
    """Local names imported as a loss: local name -> the loss names it may stand for."""
    def compute(tree: SyntaxTree) -> Dict[str, Tuple[str, ...]]:
        found = {}
        for local, lasts in _imported_as(tree).items():
            losses = tuple(last for last in lasts if last in _LOSSES)
            if losses:
                found[local] = losses
        return found
    return tree.memo("losses.aliases", compute)


def _loss_names(call: ast.Call, aliases: Dict[str, Tuple[str, ...]]) -> Tuple[str, ...]:
    """The loss names a call may construct or compute: its own last name, and what the
    imported name it calls resolves to."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return (func.attr,) if func.attr in _LOSSES else ()
    if isinstance(func, ast.Name):
        names = (func.id,) if func.id in _LOSSES else ()
        return names + aliases.get(func.id, ())
    return ()


def _weight_arguments(call: ast.Call, index: Optional[int]) -> Set[str]:
    """criteria._weighting over ast: `weight` by keyword or at `index` among the positional
    arguments (starred ones not counted, as names.positional_args), `pos_weight`,
    `label_smoothing` — unless the literal says none."""
    found = set()
    for keyword in call.keywords:
        if keyword.arg in (WEIGHT, POS_WEIGHT) and not _is_literal(keyword.value, None):
            found.add(keyword.arg)
        elif keyword.arg == LABEL_SMOOTHING and not (_is_literal(keyword.value, None) or _is_float_zero(keyword.value)):
            found.add(LABEL_SMOOTHING)
    if index is not None and WEIGHT not in found:
        positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
        if index < len(positional) and not _is_literal(positional[index], None):
            found.add(WEIGHT)
    return found


def _unreduced(call: ast.Call) -> bool:
    """criteria._reduction gives NONE: `reduction="none"`, or `reduce=False` (the per-sample
    loss a multiplication by sample weights needs). Either keyword anywhere counts."""
    for keyword in call.keywords:
        if keyword.arg == "reduction" and isinstance(keyword.value, ast.Constant) and keyword.value.value == NONE:
            return True
        if keyword.arg == "reduce" and _is_literal(keyword.value, False):
            return True
    return False


# -- weighted_loss (TL201) ------------------------------------------------------------------


def weighted_loss(tree: SyntaxTree) -> bool:
    """A Keras `fit` with class or sample weights and validation data, or a PyTorch criterion
    that weights: a loss constructor or functional loss (directly or through
    `functools.partial`) with `weight` / `pos_weight` / `label_smoothing` or an unreduced loss
    (criteria.CriteriaTable specs with a weighting or reduction "none")."""
    aliases = _loss_aliases(tree)
    partials = {local for local, lasts in _imported_as(tree).items() if "partial" in lasts}
    for call in tree.of_type(ast.Call):
        func, own = call.func, last_name(call)
        if own is None:
            continue  # no name: not a loss, a fit or a partial to criteria.py / TL201._keras
        if not (call.keywords or call.args):
            continue
        if own in _LOSSES or own in aliases:
            for name in _loss_names(call, aliases):
                if _weight_arguments(call, _LOSSES[name]) or _unreduced(call):
                    return True
        if not call.keywords:
            continue
        if own in _KERAS_FITS and isinstance(func, ast.Attribute) and _keras_weighted_fit(call):
            return True
        if (own == "partial" or own in partials) and _partial_of_loss(call, aliases) and (
                _weight_arguments(call, None) or _unreduced(call)):
            return True
    return False


def _partial_of_loss(call: ast.Call, aliases: Dict[str, Tuple[str, ...]]) -> bool:
    """`partial(F.cross_entropy, ...)`: the first positional argument names a functional loss
    (criteria._constructed_spec reads `_functional_name` of it)."""
    first = next((arg for arg in call.args if not isinstance(arg, ast.Starred)), None)
    if isinstance(first, ast.Attribute):
        return first.attr in FUNCTIONAL_LOSSES
    if isinstance(first, ast.Name):
        return first.id in FUNCTIONAL_LOSSES or any(name in FUNCTIONAL_LOSSES for name in aliases.get(first.id, ()))
    return False


def _keras_weighted_fit(call: ast.Call) -> bool:
    """TrainOnlyLossWeighting._keras: `x.fit(..., class_weight= / sample_weight= not None,
    validation_split= or validation_data=)` — both a weighting and validation are needed."""
    weighted = any(keyword.arg in _KERAS_WEIGHTS and not _is_literal(keyword.value, None) for keyword in call.keywords)
    return weighted and any(keyword.arg in _KERAS_VALIDATION for keyword in call.keywords)


# -- imbalance (TL205) ----------------------------------------------------------------------


def imbalance(tree: SyntaxTree) -> bool:
    """Evidence of class imbalance, as ImbalanceFacts collects it: a class-weight keyword
    (`class_weight=`, `scale_pos_weight=`, … not `None`/`False`; `is_unbalance=True`), a
    weight function, sampler or resampler called by name, a loss with `pos_weight` or with
    class weights (`weight`, by keyword or position, on a class-weighted loss), or a
    weight-named variable computed from class counts (`value_counts`, `bincount`, …)."""
    aliases = _loss_aliases(tree)
    counted = False
    for call in tree.of_type(ast.Call):
        own = last_name(call)
        if own is None:
            continue  # no last name: ImbalanceFacts._read_call skips the call
        if own in _IMBALANCE_CALLS:
            return True
        if own in _COUNT_CALLS:
            counted = True
        if call.keywords and _imbalance_keyword(call.keywords):
            return True
        if own in _LOSSES or own in aliases:
            for name in _loss_names(call, aliases):
                weights = _weight_arguments(call, _LOSSES[name])
                if POS_WEIGHT in weights or (WEIGHT in weights and name in _CLASS_WEIGHTED):
                    return True
    return counted and _weights_from_counts(tree)


def _imbalance_keyword(keywords: Iterable[ast.keyword]) -> bool:
    """imbalance._read_call: an IMBALANCE_KEYWORDS keyword whose value is not the literal
    `None` or `False`, or `is_unbalance=True`."""
    for keyword in keywords:
        if keyword.arg in IMBALANCE_KEYWORDS:
            if not (_is_literal(keyword.value, None) or _is_literal(keyword.value, False)):
                return True
        elif keyword.arg == "is_unbalance" and _is_literal(keyword.value, True):
            return True
    return False


def _weights_from_counts(tree: SyntaxTree) -> bool:
    """imbalance._read_assignment: a name with a `weight(s)` token assigned a value that calls
    a counting function or mentions a name assigned from one (`counts = df.y.value_counts()`;
    `weights = 1.0 / counts`). Identifiers are every name, attribute, keyword and parameter
    name of the value, as libcst's `Name` nodes are."""
    count_names: Optional[Set[str]] = None
    for _scope, target, value in tree.assignments:
        if not isinstance(target, ast.Name) or "weight" not in target.id.lower():  # a quick look first
            continue
        if not {"weight", "weights"} & set(name_tokens(target.id)):
            continue
        if count_names is None:
            count_names = _count_names(tree)
        for node in ast.walk(value):
            if isinstance(node, ast.Call) and last_name(node) in _COUNT_CALLS:
                return True
            if _identifier(node) in count_names:
                return True
    return False


def _count_names(tree: SyntaxTree) -> Set[str]:
    """Names assigned by the statement that encloses a counting call (imbalance._count_names:
    the innermost enclosing `Assign`'s plain-name targets; tuples opened, which is looser)."""
    names: Set[str] = set()
    for call in tree.of_type(ast.Call):
        if last_name(call) not in _COUNT_CALLS:
            continue
        for ancestor in tree.ancestors(call):
            if isinstance(ancestor, ast.Assign):
                for target in ancestor.targets:
                    names.update(t.id for t in targets(target) if isinstance(t, ast.Name))
                break
    return names


def _identifier(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.keyword):
        return node.arg
    if isinstance(node, ast.arg):
        return node.arg
    return None


# -- the libcst facts -----------------------------------------------------------------------


PREDICATES: Dict[str, Predicate] = {
    "weighted_loss": weighted_loss,
    "imbalance": imbalance,
}
