"""TL305 random-augmentation-in-eval."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.names import (
    argument,
    bool_value,
    keyword_value,
    last_name,
    positional_args,
    string_value,
    subscript_string,
    walk,
)
from trainlint.semantic.roles import TRAIN, is_eval
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Rule

RANDOM_TORCHVISION = {
    "ColorJitter", "RandAugment", "AutoAugment", "TrivialAugmentWide", "AugMix", "GaussianBlur",
    "ElasticTransform", "ScaleJitter", "MixUp", "CutMix",
}
RANDOM_ALBUMENTATIONS = {
    "HorizontalFlip", "VerticalFlip", "Flip", "Transpose", "Rotate", "ShiftScaleRotate", "Affine",
    "ColorJitter", "HueSaturationValue", "RGBShift", "GaussNoise", "GaussianBlur", "MotionBlur",
    "Blur", "MedianBlur", "CoarseDropout", "Cutout", "GridDropout", "Perspective",
    "ElasticTransform", "GridDistortion", "OpticalDistortion", "CLAHE", "ChannelShuffle",
    "OneOf", "SomeOf", "ISONoise", "ImageCompression", "Sharpen", "Emboss", "Downscale",
    "Posterize", "Solarize", "InvertImg", "PiecewiseAffine", "ToGray", "ChannelDropout",
}
AUGMENTING_GENERATOR_ARGS = {
    "rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range",
    "horizontal_flip", "vertical_flip", "brightness_range", "channel_shift_range",
}
FLOW_METHODS = {"flow", "flow_from_directory", "flow_from_dataframe"}
EVAL_PATH = re.compile(r"(^|[/\\_\-.])(val|valid|validation|test|testing|eval|holdout|dev)($|[/\\_\-.])", re.I)
TRAIN_PATH = re.compile(r"(^|[/\\_\-.])(train|training)($|[/\\_\-.])", re.I)


class RandomAugmentationInEval(Rule):
    code = "TL305"
    name = "random-augmentation-in-eval"
    severity = Severity.WARNING
    summary = "The validation or test data goes through random augmentation."
    message = (
        "evaluation data goes through random augmentation, so its figures are random and "
        "pessimistic; use a deterministic transform (resize, center crop, normalise) for it"
    )
    triggers = (
        "Random", "random_", "ImageDataGenerator", "albumentations", "ColorJitter", "RandAugment",
        "AutoAugment", "TrivialAugmentWide", "AugMix", "GaussianBlur", "ElasticTransform",
        "ScaleJitter", "MixUp", "CutMix",
    )
    requires = (
        (
            "Random", "random_", "ImageDataGenerator", "ColorJitter", "RandAugment", "AutoAugment",
            "TrivialAugmentWide", "AugMix", "GaussianBlur", "ElasticTransform", "ScaleJitter",
            "MixUp", "CutMix", "Flip", "Transpose", "Rotate", "Affine", "ColorJitter",
            "HueSaturationValue", "RGBShift", "GaussNoise", "Blur", "CoarseDropout", "Cutout",
            "GridDropout", "Perspective", "ElasticTransform", "Distortion", "CLAHE",
            "ChannelShuffle", "OneOf", "SomeOf", "ISONoise", "ImageCompression", "Sharpen",
            "Emboss", "Downscale", "Posterize", "Solarize", "InvertImg", "ToGray",
            "ChannelDropout",
        ),
        ("torchvision", "albumentations", "keras", "tensorflow", "ImageDataGenerator"),
        ("flow", "map", "transform", "ImageFolder", "DatasetFolder"),
    )
    # every finding needs a random transform and a pipeline given to data, or an
    # augmenting ImageDataGenerator and a flow (anchors/data.py)
    anchors = ("random_augmentation", "augmenting_generator")

    what_it_does = (
        "Flags validation or test data built with random augmentation: a torchvision or "
        "albumentations pipeline with random transforms (`RandomResizedCrop`, "
        "`RandomHorizontalFlip`, `ColorJitter`, `RandAugment`, `A.HorizontalFlip`, ...) given to "
        "an evaluation dataset or inherited by the validation part of a `random_split`; Keras "
        "random preprocessing layers mapped over an evaluation `tf.data` dataset; an "
        "`ImageDataGenerator` with augmentation arguments used for validation or test data."
    )
    why_it_matters = (
        "Augmentation is there to make training harder. Applied to the evaluation data it makes "
        "every evaluation a different random draw, pessimistic and noisy, and no longer comparable "
        "between epochs or runs; checkpoint selection and early stopping then follow noise."
    )
    example = """\
from torchvision import datasets, transforms

train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor()])
val_ds = datasets.ImageFolder("data/val", transform=train_tf)
"""
    use_instead = """\
from torchvision import datasets, transforms

eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])
val_ds = datasets.ImageFolder("data/val", transform=eval_tf)
"""
    references = (
        "https://pytorch.org/vision/stable/transforms.html",
        "https://keras.io/guides/preprocessing_layers/",
    )

    INVALID = (
        """\
from torch.utils.data import random_split
from torchvision import datasets, transforms as T

augment = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor()])
full = datasets.ImageFolder("images/", transform=augment)
train_set, val_set = random_split(full, [0.9, 0.1])
""",
        """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator

datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True, validation_split=0.2)
train_gen = datagen.flow_from_directory("data", subset="training")
val_gen = datagen.flow_from_directory("data", subset="validation")
""",
        """\
import tensorflow as tf
from tensorflow.keras import layers

augment = tf.keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
val_ds = val_ds.map(lambda x, y: (augment(x, training=True), y))
""",
        """\
import albumentations as A
from albumentations.pytorch import ToTensorV2

tfm = A.Compose([A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=0.2), ToTensorV2()])
test_dataset = LeafDataset(test_df, transforms=tfm)
""",
    )
    VALID = (
        """\
from torchvision import datasets, transforms

eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])
val_ds = datasets.ImageFolder("data/val", transform=eval_tf)
""",
        """\
import tensorflow as tf
from tensorflow.keras import layers

augment = tf.keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomZoom(0.1)])
inputs = tf.keras.Input((224, 224, 3))
x = augment(inputs)  # inside the model: inactive at inference
""",
        """\
from torchvision import transforms

tta = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])
test_ds = CropsDataset(test_files, transform=tta)  # test-time augmentation, averaged below
""",
        """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_gen = ImageDataGenerator(rescale=1 / 255, zoom_range=0.2).flow_from_directory("data/train")
val_gen = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/val")
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        if _mentions_tta(ctx):
            return
        for call in ctx.index.of_type(cst.Call):
            name = last_name(call)
            if name in FLOW_METHODS and isinstance(call.func, cst.Attribute):
                finding = self._generator(ctx, call)
            elif name == "map" and isinstance(call.func, cst.Attribute):
                finding = self._mapped(ctx, call)
            elif name in ("random_split", "Subset"):
                finding = self._split_of_augmented(ctx, call)
            else:
                finding = self._dataset(ctx, call)
            if finding is not None:
                yield finding
        for assign in ctx.index.of_type(cst.Assign):
            finding = self._assigned_transform(ctx, assign)
            if finding is not None:
                yield finding

    # -- which transforms are random ------------------------------------------------------

    def random_transform(self, ctx: FileContext, expr: Optional[cst.CSTNode], depth: int = 4) -> Optional[str]:
        """The name of a random transform in the pipeline `expr`, or None."""
        if expr is None or depth < 0:
            return None
        if isinstance(expr, cst.Name):
            for value in ctx.dataflow.defining_values(expr):
                if value is not expr:
                    found = self.random_transform(ctx, value, depth - 1)
                    if found:
                        return found
            return None
        if isinstance(expr, cst.Subscript):
            key = subscript_string(expr)
            if key is None:
                return None
            for value in ctx.dataflow.defining_values(expr.value):
                if isinstance(value, cst.Dict):
                    for element in value.elements:
                        if isinstance(element, cst.DictElement) and string_value(element.key) == key:
                            return self.random_transform(ctx, element.value, depth - 1)
            return None
        for node in walk(expr):
            if isinstance(node, cst.Call) and self._is_random_op(ctx, node):
                return last_name(node)
            if isinstance(node, cst.Name) and node is not expr and isinstance(ctx.index.parent(node), cst.Element):
                found = self.random_transform(ctx, node, depth - 1)
                if found:
                    return found
        return None

    def _is_random_op(self, ctx: FileContext, call: cst.Call) -> bool:
        name = last_name(call) or ""
        candidates = ctx.imports.candidates(call)
        probability = keyword_value(call, "p")
        if isinstance(probability, (cst.Integer, cst.Float)) and probability.evaluated_value == 0:
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

    # -- evaluation data built with them ----------------------------------------------------

    def _dataset(self, ctx: FileContext, call: cst.Call):
        transform = keyword_value(call, "transform") or keyword_value(call, "transforms")
        if transform is None and last_name(call) in ("ImageFolder", "DatasetFolder") and len(positional_args(call)) >= 2:
            transform = positional_args(call)[1].value
        if transform is None:
            return None
        random_op = self.random_transform(ctx, transform)
        if random_op is None or not self._evaluation_dataset(ctx, call):
            return None
        return self.report(call, message=(
            f"the evaluation dataset is built with a random transform ({random_op}) in "
            f"`{ctx.code(transform)}`: its figures become random and pessimistic; give it a "
            "deterministic pipeline (resize, center crop, normalise)"
        ))

    def _evaluation_dataset(self, ctx: FileContext, call: cst.Call) -> bool:
        train_flag = bool_value(keyword_value(call, "train"))
        if train_flag is not None:
            return train_flag is False
        split = string_value(keyword_value(call, "split"))
        if split is not None:
            return is_eval(ctx.roles.name_role(split))
        role = ctx.roles.assigned_role(call)
        if role is not None:
            return is_eval(role)
        paths = [s for node in call.args for s in _strings_in(node.value)]
        if any(EVAL_PATH.search(p) for p in paths) and not any(TRAIN_PATH.search(p) for p in paths):
            return True
        return is_eval(ctx.roles.along_flow(positional_args(call)[0].value)) if positional_args(call) else False

    def _split_of_augmented(self, ctx: FileContext, call: cst.Call):
        if not ctx.imports.candidates(call):
            return None
        dataset = argument(call, 0, "dataset")
        if dataset is None:
            return None
        random_op = None
        for value in ctx.dataflow.defining_values(dataset):
            if isinstance(value, cst.Call):
                transform = keyword_value(value, "transform") or keyword_value(value, "transforms")
                if transform is None and last_name(value) in ("ImageFolder", "DatasetFolder") and len(positional_args(value)) >= 2:
                    transform = positional_args(value)[1].value
                random_op = random_op or self.random_transform(ctx, transform)
        if random_op is None or _transform_reassigned(ctx):
            return None
        parent = ctx.index.parent(call)
        parts = []
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            parts = [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else [target]
        if last_name(call) == "random_split":
            eval_parts = [p for i, p in enumerate(parts) if i > 0 and ctx.roles.name_role(ctx.code(p)) != TRAIN]
        else:
            eval_parts = [p for p in parts if is_eval(ctx.roles.name_role(ctx.code(p)))]
            indices = argument(call, 1, "indices")
            if not eval_parts and not is_eval(ctx.roles.along_flow(indices)):
                return None
        if last_name(call) == "random_split" and not eval_parts:
            return None
        return self.report(call, message=(
            f"the evaluation part of this split inherits the random transform ({random_op}) of "
            f"`{ctx.code(dataset)}`: its figures become random and pessimistic; build the "
            "evaluation part from a dataset with a deterministic transform (same indices, Subset)"
        ))

    def _mapped(self, ctx: FileContext, call: cst.Call):
        receiver = call.func.value  # type: ignore[attr-defined]
        role = ctx.roles.along_flow(receiver)
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
        if isinstance(function, cst.Name) and ctx.dataflow.function(function.value) is not None:
            body = ctx.dataflow.function(function.value).body  # a helper defined in this file
        for node in walk(body):
            if isinstance(node, cst.Call):
                if self._is_random_op(ctx, node):
                    random_op = last_name(node)
                elif isinstance(node.func, cst.Name):
                    random_op = random_op or self.random_transform(ctx, node.func)
            if random_op:
                break
        if isinstance(function, cst.Name) and random_op is None:
            random_op = self.random_transform(ctx, function)
        if random_op is None:
            return None
        return self.report(call, message=(
            f"random augmentation ({random_op}) is mapped over the evaluation dataset: its figures "
            "become random and pessimistic; map it over the training dataset only (or keep the "
            "augmentation layers inside the model)"
        ))

    def _generator(self, ctx: FileContext, call: cst.Call):
        receiver = call.func.value  # type: ignore[attr-defined]
        augmenting = None
        for value in ctx.dataflow.defining_values(receiver):
            if isinstance(value, cst.Call) and last_name(value) == "ImageDataGenerator":
                augmenting = next((a.keyword.value for a in value.args if a.keyword is not None
                                   and a.keyword.value in AUGMENTING_GENERATOR_ARGS and not _falsy(a.value)), None)
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
                    paths = list(_strings_in(first))
                    role = "eval" if any(EVAL_PATH.search(p) for p in paths) else None
            evaluation = is_eval(role)
        if not evaluation:
            return None
        return self.report(call, message=(
            f"the evaluation generator comes from an ImageDataGenerator that augments ({augmenting}=...): "
            "its figures become random and pessimistic; use a separate ImageDataGenerator with only "
            "rescaling for validation and test data"
        ))

    def _assigned_transform(self, ctx: FileContext, assign: cst.Assign):
        """`val_ds.dataset.transform = train_tf`."""
        if len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value in ("transform", "transforms")):
            return None
        role = ctx.roles.along_flow(target.value)
        if not is_eval(role):
            return None
        random_op = self.random_transform(ctx, assign.value)
        if random_op is None:
            return None
        return self.report(assign, message=(
            f"the evaluation dataset is given a random transform ({random_op}): its figures become "
            "random and pessimistic; give it a deterministic pipeline"
        ))


def _transform_reassigned(ctx: FileContext) -> bool:
    """Someone sets `val_set.dataset.transform = ...` later: the author handled it."""
    for assign in ctx.index.of_type(cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Attribute) and target.target.attr.value in ("transform", "transforms"):
                return True
    return False


def _mentions_tta(ctx: FileContext) -> bool:
    """Test-time augmentation on purpose: names or text that say so."""
    lowered = ctx.text.lower()
    return "tta" in re.findall(r"[a-z]+", lowered.replace("_", " ")) or "test-time augmentation" in lowered \
        or "test time augmentation" in lowered


def _falsy(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.evaluated_value == 0
    return bool_value(node) is False or (isinstance(node, cst.Name) and node.value == "None")


def _strings_in(node: cst.CSTNode) -> Iterator[str]:
    for current in walk(node):
        value = string_value(current) if isinstance(current, (cst.SimpleString, cst.ConcatenatedString)) else None
        if value is not None:
            yield value
        elif isinstance(current, cst.FormattedStringText):
            yield current.value


__all__ = ["RandomAugmentationInEval"]
