"""Model vocabulary: which names and library constructors stand for a PyTorch model.

Read by the semantic model (semantic/models.py) and by the gate's `forward_call` anchor, so a
model library taught to one is known to the other.
"""

from __future__ import annotations

import re

# Packages whose imports may construct a model (torch.nn layers and the model zoos).
MODEL_LIBRARIES = ("torch", "torchvision", "timm", "transformers", "segmentation_models_pytorch",
                   "efficientnet_pytorch", "pretrainedmodels")
# Library constructors whose models have dropout or batch norm (almost all of them do).
LIBRARY_MODEL_PREFIXES = (
    "torchvision.models.", "timm.", "transformers.", "torch.hub.load",
    "segmentation_models_pytorch.", "efficientnet_pytorch.", "pretrainedmodels.",
)
# Methods that return the model they are called on (`model.to(device)`).
SELF_RETURNING = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval",
                  "requires_grad_", "to_empty", "share_memory"}
MODEL_NAME = re.compile(
    r"(^|_)(model|net|network|classifier|encoder|decoder|backbone|student|teacher|generator"
    r"|discriminator|resnet|cnn|rnn|lstm|mlp|vit|bert|unet|module)s?(_|$|\d)|model$|net$",
    re.IGNORECASE,
)


def looks_like_model_name(name: str) -> bool:
    return bool(MODEL_NAME.search(name.rsplit(".", 1)[-1]))


def strip_module(name: str) -> str:
    """`model.module` and `model._orig_mod` are the model itself."""
    while name.endswith(".module"):
        name = name[: -len(".module")]
    name = name.replace("._orig_mod", "")
    return name


def is_library_model(qualified: str) -> bool:
    """`transformers.AutoModelForSequenceClassification.from_pretrained` yes, a tokenizer,
    config or `get_linear_schedule_with_warmup` no; `timm.create_model` yes, `timm.data...` no."""
    if qualified.startswith("transformers."):
        return ("Model" in qualified or "For" in qualified) and not any(
            word in qualified for word in ("Tokenizer", "Config", "Processor", "FeatureExtractor", "Collator"))
    if qualified.startswith("timm."):
        return qualified.endswith("create_model")
    if qualified.startswith("torchvision.models."):
        rest = qualified[len("torchvision.models."):]
        return not rest.startswith(("get_weight", "list_models", "get_model_weights")) and "Weights" not in rest
    return True
