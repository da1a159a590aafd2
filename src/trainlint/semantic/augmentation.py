"""Random augmentation that reaches validation or test data (`ctx.augmentation`).

A random transform is recognised by its resolved import (vocab/random_transforms.py). It
reaches evaluation data when the evaluation dataset is built with it (`ImageFolder("val",
transform=train_tf)`), inherits it through a split of an augmented dataset
(`random_split(augmented, ...)`), has it mapped over (`val_ds.map(augment)`), comes from an
augmenting `ImageDataGenerator`, or is given it later (`val_ds.dataset.transform = train_tf`).
Files that mention test-time augmentation have none: there it is on purpose. A pipeline
imported from a module of the project (`from data import train_tf`, `transform=
get_train_transforms()`) is random when the project index summarised it so
(`project_index.TransformSummary`); the finding then names it (`origin`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.names import (
    argument,
    bool_value,
    is_zero,
    keyword_value,
    last_name,
    positional_args,
    string_value,
    subscript_string,
    literal_texts,
)
from trainlint.vocab.random_transforms import (
    AUGMENTING_GENERATOR_ARGS,
    EVAL_PATH_PATTERN,
    FLOW_METHODS,
    RANDOM_ALBUMENTATIONS,
    RANDOM_TORCHVISION,
    TRAIN_PATH_PATTERN,
)
from trainlint.vocab.roles import EVAL, TRAIN, is_eval

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext
    from trainlint.semantic.project_index import TransformSummary

EVAL_PATH = re.compile(EVAL_PATH_PATTERN, re.I)
TRAIN_PATH = re.compile(TRAIN_PATH_PATTERN, re.I)

# How the random transform reaches the evaluation data.
BUILT_WITH = "built-with"      # the evaluation dataset's own transform
INHERITED = "inherited"        # a split of an augmented dataset
MAPPED = "mapped"              # `.map(random_fn)` over evaluation data
GENERATOR = "generator"        # an evaluation flow of an augmenting ImageDataGenerator
ASSIGNED = "assigned"          # `val_ds.transform = random_tf`


class RandomOp(str):
    """The name of a random transform found through the project index, with the summary of
    the pipeline it is in (a `str` everywhere else)."""

    origin: "TransformSummary"

    def __new__(cls, name: str, origin: "TransformSummary") -> "RandomOp":
        op = super().__new__(cls, name)
        op.origin = origin
        return op


@dataclass(frozen=True)
class AugmentedEvaluation:
    node: cst.CSTNode
    how: str
    random_op: str               # the random transform's name, or the generator's argument
    source: Optional[cst.CSTNode] = None  # the transform (BUILT_WITH), the dataset (INHERITED)
    evaluation_parts: Tuple[cst.CSTNode, ...] = ()  # INHERITED: the targets that hold them
    origin: Optional["TransformSummary"] = None  # the pipeline of another project module it came from


class AugmentationFacts:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx

    @staticmethod
    def origin_of(random_op: Optional[str]) -> Optional["TransformSummary"]:
        return getattr(random_op, "origin", None)

    @cached_property
    def augmented_evaluations(self) -> List[AugmentedEvaluation]:
        return [] if _mentions_tta(self._ctx.text) else list(self._find())

    def _find(self) -> Iterator[AugmentedEvaluation]:
        for call in self._ctx.index.of_type(cst.Call):
            name = last_name(call)
            if name in FLOW_METHODS and type(call.func) is cst.Attribute:
                found = self._generator(call)
            elif name == "map" and type(call.func) is cst.Attribute:
                found = self._mapped(call)
            elif name in ("random_split", "Subset"):
                found = self._split_of_augmented(call)
            else:
                found = self._dataset(call)
            if found is not None and self._reaches_evaluation(found):
                yield found
        for assign in self._ctx.index.of_type(cst.Assign):
            found = self._assigned_transform(assign)
            if found is not None:
                yield found

    def _reaches_evaluation(self, found: AugmentedEvaluation) -> bool:
        """A held-out part that merely inherits the augmentation of a split must feed a
        figure: a validation loader that nothing reads (k-fold training that takes only the
        training loader) makes none. Evaluation data built on purpose with a random transform
        is reported as it is built."""
        if found.how != INHERITED:
            return True
        flow = self._ctx.dataflow
        held_out = [flow.binding_of_target[p] for p in found.evaluation_parts if p in flow.binding_of_target]
        return self._ctx.data_uses.reaches_evaluation(held_out)

    # -- which transforms are random ------------------------------------------------------

    def random_transform(self, expr: Optional[cst.CSTNode], depth: int = 4) -> Optional[str]:
        """The name of a random transform in the pipeline `expr`, or None."""
        if expr is None or depth < 0:
            return None
        flow = self._ctx.dataflow
        if type(expr) is cst.Name:
            values = flow.defining_values(expr)
            for value in values:
                if value is not expr:
                    found = self.random_transform(value, depth - 1)
                    if found:
                        return found
            return None if values else self._from_project(expr, called=False)
        if type(expr) is cst.Attribute:
            found = self._from_project(expr, called=False)  # `data.train_tf` after `import data`
            if found:
                return found
        if type(expr) is cst.Subscript:
            key = subscript_string(expr)
            if key is None:
                return None
            for value in flow.defining_values(expr.value):
                if type(value) is cst.Dict:
                    for element in value.elements:
                        if type(element) is cst.DictElement and string_value(element.key) == key:
                            return self.random_transform(element.value, depth - 1)
            return None
        for node in self._ctx.index.descendants(expr):
            if type(node) is cst.Call and self.is_random_op(node):
                return last_name(node)
            if type(node) is cst.Call and type(node.func) in (cst.Name, cst.Attribute):
                found = self._from_project(node.func, called=True)
                if found:
                    return found
            if type(node) is cst.Name and node is not expr and type(self._ctx.index.parent(node)) is cst.Element:
                found = self.random_transform(node, depth - 1)
                if found:
                    return found
        return None

    def _from_project(self, expr: cst.BaseExpression, called: bool) -> Optional[str]:
        """The first random transform of a pipeline that an imported name holds (or, called,
        that a function of another project module returns), by the project index."""
        project = self._ctx.project
        if project is None:
            return None
        if type(expr) is cst.Name and any(
                binding.how != "import" for binding in self._ctx.dataflow.resolve_name(expr.value, expr)):
            return None  # a parameter, a function of this file: not the imported name
        summary = project.transform(expr, called)
        if summary is None:
            return None
        return RandomOp(summary.random_ops[0], summary)

    def is_random_op(self, call: cst.Call) -> bool:
        name = last_name(call) or ""
        candidates = self._ctx.imports.candidates(call)
        if is_zero(keyword_value(call, "p")):
            return False
        if any(c.startswith("tensorflow.image.random_") for c in candidates):
            return True
        if any(c.startswith("torchvision.transforms") for c in candidates):
            return name.startswith("Random") or name in RANDOM_TORCHVISION
        if any(c.startswith("albumentations") for c in candidates):
            return name.startswith("Random") or name in RANDOM_ALBUMENTATIONS
        if any(c.startswith(("keras.layers", "tensorflow.keras.layers", "keras.layers.experimental")) for c in candidates):
            return name.startswith("Random")
        return False

    # -- evaluation data built with them --------------------------------------------------

    def _dataset(self, call: cst.Call) -> Optional[AugmentedEvaluation]:
        transform = _transform_argument(call)
        if transform is None:
            return None
        random_op = self.random_transform(transform)
        if random_op is None or not self._evaluation_dataset(call):
            return None
        return AugmentedEvaluation(call, BUILT_WITH, random_op, transform, origin=self.origin_of(random_op))

    def _evaluation_dataset(self, call: cst.Call) -> bool:
        roles = self._ctx.roles
        train_flag = bool_value(keyword_value(call, "train"))
        if train_flag is not None:
            return train_flag is False
        split = string_value(keyword_value(call, "split"))
        if split is not None:
            return is_eval(roles.name_role(split))
        role = roles.assigned_role(call)
        if role is not None:
            return is_eval(role)
        paths = [s for node in call.args for s in literal_texts(node.value)]
        if any(EVAL_PATH.search(p) for p in paths) and not any(TRAIN_PATH.search(p) for p in paths):
            return True
        first = positional_args(call)
        return is_eval(roles.along_flow(first[0].value)) if first else False

    def _split_of_augmented(self, call: cst.Call) -> Optional[AugmentedEvaluation]:
        ctx = self._ctx
        if not ctx.imports.candidates(call):
            return None
        dataset = argument(call, 0, "dataset")
        if dataset is None:
            return None
        random_op = None
        for value in ctx.dataflow.defining_values(dataset):
            if type(value) is cst.Call:
                random_op = random_op or self.random_transform(_transform_argument(value))
        if random_op is None or _transform_reassigned(ctx):
            return None
        parent = ctx.index.parent(call)
        parts = []
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            target = parent.targets[0].target
            parts = [e.value for e in target.elements] if type(target) in (cst.Tuple, cst.List) else [target]
        if last_name(call) == "random_split":
            eval_parts = [p for i, p in enumerate(parts) if i > 0 and ctx.roles.name_role(ctx.code(p)) != TRAIN]
            if not eval_parts:
                return None
        else:
            eval_parts = [p for p in parts if is_eval(ctx.roles.name_role(ctx.code(p)))]
            if not eval_parts and not is_eval(ctx.roles.along_flow(argument(call, 1, "indices"))):
                return None
        return AugmentedEvaluation(call, INHERITED, random_op, dataset, tuple(eval_parts or parts),
                                   origin=self.origin_of(random_op))

    def _mapped(self, call: cst.Call) -> Optional[AugmentedEvaluation]:
        ctx = self._ctx
        role = ctx.roles.along_flow(call.func.value)  # type: ignore[attr-defined]
        assigned = ctx.roles.assigned_role(call)
        if not is_eval(role) and not is_eval(assigned):
            return None
        if role == TRAIN or assigned == TRAIN:
            return None
        function = argument(call, 0, "map_func")
        if function is None:
            return None
        random_op = None
        body = function
        if type(function) is cst.Name and ctx.dataflow.function(function.value) is not None:
            body = ctx.dataflow.function(function.value).body  # a helper defined in this file
        for node in ctx.index.descendants(body):
            if type(node) is cst.Call:
                if self.is_random_op(node):
                    random_op = last_name(node)
                elif type(node.func) is cst.Name:
                    random_op = random_op or self.random_transform(node.func)
            if random_op:
                break
        if type(function) is cst.Name and random_op is None:
            random_op = self.random_transform(function)
        return AugmentedEvaluation(call, MAPPED, random_op) if random_op else None

    def _generator(self, call: cst.Call) -> Optional[AugmentedEvaluation]:
        ctx = self._ctx
        augmenting = None
        for value in ctx.dataflow.defining_values(call.func.value):  # type: ignore[attr-defined]
            if type(value) is cst.Call and last_name(value) == "ImageDataGenerator":
                augmenting = next((a.keyword.value for a in value.args if a.keyword is not None
                                   and a.keyword.value in AUGMENTING_GENERATOR_ARGS and not falsy(a.value)), None)
        if augmenting is None:
            return None
        subset = string_value(keyword_value(call, "subset"))
        if subset is not None:
            evaluation = subset == "validation"
        else:
            role = ctx.roles.assigned_role(call)
            if role is None:
                first = positional_args(call)[0].value if positional_args(call) else None
                role = ctx.roles.along_flow(first)
                if role is None and first is not None:
                    role = EVAL if any(EVAL_PATH.search(p) for p in literal_texts(first)) else None
            evaluation = is_eval(role)
        return AugmentedEvaluation(call, GENERATOR, augmenting) if evaluation else None

    def _assigned_transform(self, assign: cst.Assign) -> Optional[AugmentedEvaluation]:
        """`val_ds.dataset.transform = train_tf`."""
        if len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if not (type(target) is cst.Attribute and target.attr.value in ("transform", "transforms")):
            return None
        if not is_eval(self._ctx.roles.along_flow(target.value)):
            return None
        random_op = self.random_transform(assign.value)
        return AugmentedEvaluation(assign, ASSIGNED, random_op, origin=self.origin_of(random_op)) if random_op else None


def falsy(node: cst.BaseExpression) -> bool:
    """`0`, `0.0`, `False`, `None`: an ImageDataGenerator argument that does not augment."""
    if type(node) in (cst.Integer, cst.Float):
        return node.evaluated_value == 0
    return bool_value(node) is False or (type(node) is cst.Name and node.value == "None")


def _transform_argument(call: cst.Call) -> Optional[cst.BaseExpression]:
    transform = keyword_value(call, "transform") or keyword_value(call, "transforms")
    if transform is None and last_name(call) in ("ImageFolder", "DatasetFolder") and len(positional_args(call)) >= 2:
        transform = positional_args(call)[1].value
    return transform


def _transform_reassigned(ctx: "FileContext") -> bool:
    """Someone sets `val_set.dataset.transform = ...` later: the author handled it."""
    for assign in ctx.index.of_type(cst.Assign):
        for target in assign.targets:
            if type(target.target) is cst.Attribute and target.target.attr.value in ("transform", "transforms"):
                return True
    return False


def _mentions_tta(text: str) -> bool:
    """Test-time augmentation on purpose: names or text that say so."""
    lowered = text.lower()
    return "tta" in re.findall(r"[a-z]+", lowered.replace("_", " ")) or "test-time augmentation" in lowered \
        or "test time augmentation" in lowered

