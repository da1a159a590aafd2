"""TL202 mean-of-batch-means."""

from __future__ import annotations

from typing import Iterator

from trainlint.semantic.context import FileContext
from trainlint.semantic.epoch_figures import BATCH_MEAN, BATCHES, LIKELY_MEAN
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule


class MeanOfBatchMeans(Rule):
    code = "TL202"
    name = "mean-of-batch-means"
    severity = Severity.WARNING
    summary = "An epoch figure averages per-batch means over the number of batches."
    message = (
        "epoch figure = sum of per-batch means / number of batches, but the last batch can be "
        "smaller and gets the weight of a full one; accumulate `loss.item() * batch_size` and "
        "divide by the number of samples"
    )
    triggers = ("DataLoader",)  # the loader must be built in the file (batching.LoaderTable)
    requires = (("torch",), ("/",), ("+", "-=", "*="))  # a division of an accumulated figure
    anchors = ("batch_loop",)

    what_it_does = (
        "Flags the division that turns a sum of per-batch means (`running_loss += loss.item()` "
        "with a mean-reduced loss, `outputs.loss`, a per-batch accuracy) into an epoch figure "
        "by dividing by the number of batches (`len(loader)`, `i + 1`, a batch counter), when "
        "the loader is built in the file without `drop_last=True`, so its last batch can be "
        "smaller than the others."
    )
    why_it_matters = (
        "Each batch mean already divides by its batch size. Averaging the means gives the small "
        "last batch the same weight as a full one, so the epoch figure is not the mean over "
        "samples. With few batches, or a very small last batch, the difference is visible, and "
        "it differs between training and validation loaders of different sizes — one more "
        "reason why the two curves are not comparable."
    )
    example = """\
from torch.utils.data import DataLoader

import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
val_loader = DataLoader(val_set, batch_size=64)
running_loss = 0.0
for x, y in val_loader:
    loss = criterion(model(x), y)
    running_loss += loss.item()
print(running_loss / len(val_loader))
"""
    use_instead = """\
from torch.utils.data import DataLoader

import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
val_loader = DataLoader(val_set, batch_size=64)
running_loss, seen = 0.0, 0
for x, y in val_loader:
    loss = criterion(model(x), y)
    running_loss += loss.item() * x.size(0)
    seen += x.size(0)
print(running_loss / seen)
"""
    references = (
        "https://pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader",
    )

    INVALID = (
        Invalid(
            """\
import torch.nn as nn
from torch.utils.data import DataLoader

criterion = nn.CrossEntropyLoss()
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
for epoch in range(10):
    total = 0.0
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(epoch, total / len(train_loader))
""",
            line=14,
            message="`total` sums per-batch means and is divided by the number of batches",
        ),
        Invalid(
            """\
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased", num_labels=3)
eval_loader = DataLoader(eval_ds, batch_size=64, collate_fn=collator)
eval_loss = 0.0
for step, batch in enumerate(eval_loader):
    with torch.no_grad():
        outputs = model(**batch)
    eval_loss += outputs.loss.item()
print("eval loss", eval_loss / (step + 1))
""",
            line=11,
            message="`eval_loss` sums per-batch means and is divided by the number of batches",
        ),
    )
    VALID = (
        """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, drop_last=True)
total = 0.0
for images, labels in train_loader:
    optimizer.zero_grad()
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()
    total += loss.item()
print(total / len(train_loader))
""",
        """\
import torch.nn as nn
from torch.utils.data import DataLoader

summed = nn.MSELoss(reduction="sum")
val_loader = DataLoader(val_ds, batch_size=100)
total = 0.0
with torch.no_grad():
    for x, y in val_loader:
        total += summed(model(x), y).item()
print(total / len(val_loader.dataset))
""",
        """\
# the loader comes from elsewhere: its batching is not visible
from data import make_loader
loader = make_loader("val")
total = 0.0
for x, y in loader:
    total += criterion(model(x), y).item()
print(total / len(loader))
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        figures = ctx.epoch_figures
        for division in figures.divisions:
            if division.numerator.kind not in (BATCH_MEAN, LIKELY_MEAN) or division.denominator != BATCHES:
                continue
            loop = division.numerator.loop
            loaders = figures.loader_facts(loop)
            if loaders and any(facts.uneven_last_batch for facts in loaders):
                yield self.report(division.node, message=(
                    f"`{division.numerator.name}` sums per-batch means and is divided by the "
                    "number of batches, but the last batch can be smaller (no drop_last=True) "
                    "and gets the weight of a full one; accumulate `loss.item() * batch_size` "
                    "and divide by the number of samples"
                ))


__all__ = ["MeanOfBatchMeans"]
