"""TL202 mean-of-batch-means."""

from __future__ import annotations

from typing import Iterator

from trainlint.semantic.context import FileContext
from trainlint.semantic.batching import LoaderFacts
from trainlint.semantic.epoch_figures import BATCH_MEAN, BATCHES, LIKELY_MEAN, EpochDivision
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
    # the batch source must be built in the file (batching.LoaderTable): a DataLoader, a
    # torchtext (Bucket/BPTT)Iterator, or Ray Data's iter_torch_batches
    triggers = ("DataLoader", "Iterator", "iter_torch_batches")
    requires = (("torch",), ("/",), ("+", "-=", "*="))  # a division of an accumulated figure
    anchors = ("batch_loop",)

    what_it_does = (
        "Flags the division that turns a sum of per-batch means (`running_loss += loss.item()` "
        "with a mean-reduced loss, `outputs.loss`, a per-batch accuracy) into an epoch figure "
        "by dividing by the number of batches (`len(loader)`, `i + 1`, the index of "
        "`enumerate(loader, 1)`, a batch counter), also in place (`epoch_loss /= batch_idx + 1`) "
        "and inside helpers such as `def evaluate(model, iterator, criterion)` that return "
        "`epoch_loss / len(iterator)`. A running mean updated per batch (`avg += (x - avg) / "
        "(i + 1)`, `avg = avg + (x - avg) / n_batches`, `avg = (avg * i + x) / (i + 1)`) is the "
        "same figure and is reported at its update. The batch source must be built in the file "
        "so that its batching is visible: a `DataLoader` (PyTorch or PyTorch Geometric) without "
        "`drop_last=True`, a legacy torchtext `Iterator` / `BucketIterator` / `BPTTIterator` "
        "(also from `.splits(...)`; they have no `drop_last` and always yield the remainder, "
        "and bucketing makes batches differ in tokens), or Ray Data's `iter_torch_batches`. "
        "It stays silent on sample-weighted sums and running means (`loss.item() * x.size(0)`, "
        "`avg += (x - avg) * n / seen`), `reduction='sum'`, an exponential moving average "
        "(`avg += (x - avg) / len(loader)` is not a mean of the batches), `drop_last=True`, "
        "`batch_size=1`, a loader passed `**kwargs` (they may hold `drop_last`), a batch sampler, "
        "a dataset whose stated length the batch size divides (torchvision MNIST / CIFAR sizes, "
        "`random_split` lengths, `Subset(ds, range(a, b))`, literal slices: every batch is "
        "full), a mean that is divided again after it was already averaged, and loaders it "
        "cannot see."
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
        Invalid(
            """\
import torch.nn.functional as F
from torch.utils.data import DataLoader

loader = DataLoader(train_ds, batch_size=64, shuffle=True)
avg = 0.0
for i, (x, y) in enumerate(loader):
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    avg += (loss.item() - avg) / (i + 1)
print(avg)
""",
            line=11,
            message="`avg` is a running mean of per-batch means",
        ),
        Invalid(
            """\
import torch
from torchtext.legacy.data import BucketIterator

train_it, valid_it = BucketIterator.splits((train_data, valid_data), batch_size=128)

def evaluate(model, iterator, criterion):
    model.eval()
    epoch_loss = 0
    with torch.no_grad():
        for batch in iterator:
            epoch_loss += criterion(model(batch.src), batch.trg).item()
    return epoch_loss / len(iterator)

valid_loss = evaluate(model, valid_it, criterion)
""",
            line=12,
            message="a torchtext iterator yields the remainder",
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
        """\
# 10,000 test images in batches of 1,000: every batch is full, the average is exact
from torch.utils.data import DataLoader
from torchvision import datasets
test_loader = DataLoader(datasets.MNIST("data", train=False), batch_size=1000)
total = 0.0
for x, y in test_loader:
    total += criterion(model(x), y).item()
print(total / len(test_loader))
""",
        """\
# a running mean weighted by batch size is the mean over samples
from torch.utils.data import DataLoader
loader = DataLoader(val_ds, batch_size=64)
avg, seen = 0.0, 0
for x, y in loader:
    n = x.size(0)
    seen += n
    avg += (criterion(model(x), y).item() - avg) * n / seen
print(avg)
""",
        """\
# an exponential moving average of the batch loss (a progress display), not an epoch mean
from torch.utils.data import DataLoader
loader = DataLoader(train_ds, batch_size=64, shuffle=True)
smooth = 0.0
for x, y in loader:
    loss = criterion(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    smooth += (loss.item() - smooth) / 50
print(smooth)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        figures = ctx.epoch_figures
        for division in figures.divisions:
            if division.numerator.kind not in (BATCH_MEAN, LIKELY_MEAN) or division.denominator != BATCHES:
                continue
            uneven = [facts for facts in figures.loader_facts(division.numerator.loop) if facts.uneven_last_batch]
            if uneven:
                yield self.report(division.node, message=_message(division, uneven[0]))


def _message(division: EpochDivision, loader: LoaderFacts) -> str:
    name = division.numerator.name
    smaller = (f"the last batch can be smaller ({loader.why_uneven}) and gets the weight of a "
               "full one")  # the explanation: after the first `: `
    if division.running_mean:
        return (f"`{name}` is a running mean of per-batch means: like their sum divided by the "
                f"number of batches, it weights every batch alike, but {smaller}; weight each update by the batch size "
                "(`seen += n; avg += (x - avg) * n / seen`)")
    return (f"`{name}` sums per-batch means and is divided by the number of batches: "
            f"{smaller}; accumulate `loss.item() * batch_size` and divide by the number of samples")


__all__ = ["MeanOfBatchMeans"]
