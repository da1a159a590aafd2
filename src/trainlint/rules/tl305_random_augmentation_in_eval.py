"""TL305 random-augmentation-in-eval."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule
from trainlint.semantic.augmentation import (
    BUILT_WITH,
    GENERATOR,
    INHERITED,
    MAPPED,
    AugmentedEvaluation,
    falsy,
)
from trainlint.semantic.context import FileContext
from trainlint.vocab.random_transforms import (
    AUGMENTING_GENERATOR_ARGS,
    FLOW_METHODS,
    RANDOM_ALBUMENTATIONS,
    RANDOM_TORCHVISION,
)


class RandomAugmentationInEval(Rule):
    code = "TL305"
    name = "random-augmentation-in-eval"
    severity = Severity.WARNING
    summary = "The validation or test data goes through random augmentation."
    message = (
        "evaluation data goes through random augmentation, so its figures are random and "
        "pessimistic; use a deterministic transform (resize, center crop, normalise) for it"
    )
    # A pipeline imported from another project module (the project index) needs no random
    # word in this file: only a transform given to data, so the words below are the random
    # ones or "transform"; the anchors tell the two apart.
    triggers = (
        "Random", "random_", "ImageDataGenerator", "albumentations", "ColorJitter", "RandAugment",
        "AutoAugment", "TrivialAugmentWide", "AugMix", "GaussianBlur", "ElasticTransform",
        "ScaleJitter", "MixUp", "CutMix", "transform", "ImageFolder", "DatasetFolder",
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
            "ChannelDropout", "transform", "ImageFolder", "DatasetFolder",
        ),
        ("torchvision", "albumentations", "keras", "tensorflow", "ImageDataGenerator", "import"),
        ("flow", "map", "transform", "ImageFolder", "DatasetFolder"),
    )
    # every finding needs a random transform and a pipeline given to data, an augmenting
    # ImageDataGenerator and a flow, or a pipeline imported from a project module
    # (anchors/data.py)
    anchors = ("random_augmentation", "augmenting_generator", "imported_pipeline")

    what_it_does = (
        "Flags validation or test data built with random augmentation: a torchvision or "
        "albumentations pipeline with random transforms (`RandomResizedCrop`, "
        "`RandomHorizontalFlip`, `ColorJitter`, `RandAugment`, `A.HorizontalFlip`, ...) given to "
        "an evaluation dataset or inherited by the validation part of a `random_split` (or "
        "`Subset`) that some evaluation reads; Keras random preprocessing layers mapped over an "
        "evaluation `tf.data` dataset; an `ImageDataGenerator` with augmentation arguments used "
        "for validation or test data. Across files (the project index): a pipeline imported "
        "from another project module (`from data import train_tf`, `transform=get_train_tf()`) "
        "is random when that module binds the name once to a pipeline with random transforms, "
        "or the function returns one on every path; the message names it and its line. A "
        "pipeline chosen by an argument, or imported from an installed library, stays unknown. "
        "Must not flag: an inheriting validation part that reaches "
        "no figure (its loader is never read, as in k-fold training that takes only the "
        "training loader, or it is only counted with `len`)."
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
        Invalid(
            """\
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms as T

augment = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor()])
full = datasets.ImageFolder("images/", transform=augment)
train_set, val_set = random_split(full, [0.9, 0.1])
print("val accuracy:", evaluate(model, DataLoader(val_set, batch_size=256)))
""",
            line=6,
            message="the evaluation part of this split inherits the random transform (RandomCrop) of `full`",
        ),
        Invalid(
            """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator

datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True, validation_split=0.2)
train_gen = datagen.flow_from_directory("data", subset="training")
val_gen = datagen.flow_from_directory("data", subset="validation")
""",
            line=5,
            message="the evaluation generator comes from an ImageDataGenerator that augments",
        ),
        Invalid(
            """\
import tensorflow as tf
from tensorflow.keras import layers

augment = tf.keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
val_ds = val_ds.map(lambda x, y: (augment(x, training=True), y))
""",
            line=5,
            message="random augmentation (RandomFlip) is mapped over the evaluation dataset",
        ),
        Invalid(
            """\
import albumentations as A
from albumentations.pytorch import ToTensorV2

tfm = A.Compose([A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=0.2), ToTensorV2()])
test_dataset = LeafDataset(test_df, transforms=tfm)
""",
            line=5,
            message="the evaluation dataset is built with a random transform (HorizontalFlip) in `tfm`",
        ),
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
        for found in ctx.augmentation.augmented_evaluations:
            yield self.report(found.node, message=_message(ctx, found))

    def _is_random_op(self, ctx: FileContext, call: cst.Call) -> bool:
        """Kept for gate/anchors/data.py until the gate rewrite; the answer is ctx.augmentation's."""
        return ctx.augmentation.is_random_op(call)


_FIGURES = "its figures become random and pessimistic"


def _message(ctx: FileContext, found: AugmentedEvaluation) -> str:
    op = found.random_op
    if found.origin is not None:
        return _imported_message(ctx, found)
    if found.how == BUILT_WITH:
        return (f"the evaluation dataset is built with a random transform ({op}) in "
                f"`{ctx.code(found.source)}`: {_FIGURES}; give it a deterministic pipeline "
                "(resize, center crop, normalise)")
    if found.how == INHERITED:
        return (f"the evaluation part of this split inherits the random transform ({op}) of "
                f"`{ctx.code(found.source)}`: {_FIGURES}; build the evaluation part from a dataset "
                "with a deterministic transform (same indices, Subset)")
    if found.how == MAPPED:
        return (f"random augmentation ({op}) is mapped over the evaluation dataset: {_FIGURES}; "
                "map it over the training dataset only (or keep the augmentation layers inside the model)")
    if found.how == GENERATOR:
        return (f"the evaluation generator comes from an ImageDataGenerator that augments ({op}=...): "
                f"{_FIGURES}; use a separate ImageDataGenerator with only rescaling for validation "
                "and test data")
    return f"the evaluation dataset is given a random transform ({op}): {_FIGURES}; give it a deterministic pipeline"


def _imported_message(ctx: FileContext, found: AugmentedEvaluation) -> str:
    """The pipeline comes from another project module: named with its file and line."""
    origin = found.origin
    ops = ", ".join(origin.random_ops)
    # The operations go after the first clause, which is the short message.
    if found.how == INHERITED:
        return (f"{origin.label} applies random augmentation to `{ctx.code(found.source)}`, "
                f"whose evaluation part this split takes: {ops} make its figures random and pessimistic; build the evaluation "
                "part from a dataset with a deterministic transform (same indices, Subset)")
    return (f"{origin.label} applies random augmentation to the evaluation dataset: {ops} make its "
            "figures random and pessimistic; give it a deterministic pipeline (resize, center crop, normalise)")


# The word lists and `_falsy` stay importable here for gate/anchors/data.py until its rewrite.
_falsy = falsy
__all__ = [
    "RandomAugmentationInEval", "AUGMENTING_GENERATOR_ARGS", "FLOW_METHODS", "RANDOM_ALBUMENTATIONS",
    "RANDOM_TORCHVISION",
]
