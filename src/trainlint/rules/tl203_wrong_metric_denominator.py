"""TL203 wrong-metric-denominator."""

from __future__ import annotations

from typing import Iterator, Optional

from trainlint.semantic.context import FileContext
from trainlint.semantic.epoch_figures import (
    BATCH_MEAN,
    BATCHES,
    COUNT,
    LEN_BATCH,
    SAMPLE_SUM,
    SAMPLES,
    EpochDivision,
)
from trainlint.semantic.names import dotted_name
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule


class WrongMetricDenominator(Rule):
    code = "TL203"
    name = "wrong-metric-denominator"
    severity = Severity.ERROR
    summary = "A metric is divided by the wrong count (batches for samples, another split's size, ...)."
    message = "this metric is divided by the wrong count; divide a per-sample sum by the number of samples it covers"
    triggers = ("+", "-=", "*=")  # every finding starts from an accumulator of a batch loop
    requires = (("len", "/"),)  # `len(batch)`, or a division
    anchors = ("batch_loop",)

    what_it_does = (
        "Flags epoch figures divided by the wrong count: a number of correct predictions or a "
        "per-sample sum divided by the number of batches; a sum of mean-reduced batch losses "
        "divided by the number of samples; a count from one split divided by the size of "
        "another (`train_correct / len(val_loader.dataset)`); `len(loader.dataset)` when the "
        "loader's sampler draws a subset; and `len(batch)` of a dict or tuple batch used as the "
        "sample count (it counts keys or fields). Divisions in place count too "
        "(`test_loss /= len(test_loader.dataset)`). A loss is mean-reduced when the file shows "
        "it: a criterion object built earlier with the default reduction "
        "(`criterion = nn.CrossEntropyLoss()`, also passed to a helper), a functional loss "
        "(`F.mse_loss(...)`), Hugging Face `outputs.loss`. The number of samples is "
        "`len(loader.dataset)` or a counter of the loop (`n += x.size(0)`, `y.shape[0]`, "
        "`len(labels)`, a PyTorch Geometric batch's `num_graphs`). It stays silent on losses "
        "whose reduction it cannot see (a criterion from a factory or another module), "
        "`reduction='sum'` / `size_average=False`, `loss.item() * x.size(0)`, loaders of one "
        "sample per batch, and a figure already averaged before the division."
    )
    why_it_matters = (
        "The figure is off by a factor (the batch size, the ratio of two split sizes, the "
        "sampled fraction) — accuracies above 100%, losses a batch-size too small, or figures "
        "that silently change when the batch size changes — and training and validation figures "
        "computed with different mistakes cannot be compared."
    )
    example = """\
import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
correct = 0
for x, y in val_loader:
    correct += (model(x).argmax(1) == y).sum().item()
print("val acc", correct / len(val_loader))
"""
    use_instead = """\
import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
correct = 0
for x, y in val_loader:
    correct += (model(x).argmax(1) == y).sum().item()
print("val acc", correct / len(val_loader.dataset))
"""
    references = ()

    INVALID = (
        Invalid(
            """\
import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
correct = 0
for images, labels in test_loader:
    correct += (model(images).argmax(1) == labels).sum().item()
print("accuracy", 100.0 * correct / len(test_loader))
""",
            line=7,
            message="`correct` is a per-sample count or sum but is divided by the number of batches",
        ),
        Invalid(
            """\
from transformers import AutoModelForTokenClassification
model = AutoModelForTokenClassification.from_pretrained("bert-base-cased", num_labels=9)
seen = 0
for batch in eval_dataloader:
    with torch.no_grad():
        outputs = model(**batch)
    seen += len(batch)
""",
            line=7,
            message="`len(batch)` of a dict or tuple batch counts its keys or fields",
        ),
        Invalid(
            """\
from torch.utils.data import DataLoader, SubsetRandomSampler
train_loader = DataLoader(full_ds, batch_size=64, sampler=SubsetRandomSampler(train_idx))
hits = 0
for x, y in train_loader:
    optimizer.zero_grad()
    out = model(x)
    criterion(out, y).backward()
    optimizer.step()
    hits += (out.argmax(1) == y).sum().item()
print(hits / len(train_loader.dataset))
""",
            line=10,
            message="SubsetRandomSampler draws a subset, so `len(loader.dataset)` is not the number of samples",
        ),
        Invalid(
            """\
import torch
import torch.nn as nn
criterion = nn.CrossEntropyLoss()

def test(model, test_loader):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for data, target in test_loader:
            test_loss += criterion(model(data), target).item()
    test_loss /= len(test_loader.dataset)
    return test_loss
""",
            line=11,
            message="`test_loss` sums per-batch means but is divided by the number of samples",
        ),
    )
    VALID = (
        """\
import torch.nn.functional as F
loss_sum, graphs = 0.0, 0
for batch in val_loader:
    out = model(batch)
    loss_sum += F.mse_loss(out, batch.y).item() * batch.num_graphs
    graphs += batch.num_graphs
print("val mse", loss_sum / graphs)
""",
        """\
correct, total = 0, 0
for images, labels in test_loader:
    correct += (model(images).argmax(1) == labels).sum().item()
    total += labels.size(0)
print("accuracy", 100.0 * correct / total)
""",
        """\
correct = 0
for images, labels in test_loader:
    correct += (model(images).argmax(1) == labels).sum().item()
print("accuracy", correct / len(test_loader.dataset))
""",
        """\
seen = 0
for images, labels in loader:
    out = model(images)
    seen += len(labels)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        figures = ctx.epoch_figures
        for accumulated in figures.accumulated:
            if accumulated.kind == LEN_BATCH:
                yield self.report(accumulated.node, message=(
                    "`len(batch)` of a dict or tuple batch counts its keys or fields, not its "
                    "samples; count the samples with `labels.size(0)` (or `len(batch['labels'])`)"
                ))
        for division in figures.divisions:
            message = self._problem(ctx, division)
            if message is not None:
                yield self.report(division.node, message=message)

    def _problem(self, ctx: FileContext, division: EpochDivision) -> Optional[str]:
        numerator = division.numerator
        loop = numerator.loop
        name = numerator.name
        loaders = ctx.epoch_figures.loader_facts(loop)
        if loaders and all(facts.single_samples for facts in loaders):
            return None  # one sample per batch: batches and samples are the same count
        if numerator.kind in (COUNT, SAMPLE_SUM) and division.denominator == BATCHES:
            return (f"`{name}` is a per-sample count or sum but is divided by the number of "
                    "batches; divide by the number of samples (`len(loader.dataset)` or a "
                    "`total += y.size(0)` counter)")
        if numerator.kind == BATCH_MEAN and division.denominator == SAMPLES:
            return (f"`{name}` sums per-batch means but is divided by the number of samples; "
                    "accumulate `loss.item() * batch_size` (or divide by the number of batches)")
        measured = division.measured
        if measured is not None and numerator.kind in (COUNT, SAMPLE_SUM, BATCH_MEAN):
            own_role = loop.role
            other_role = ctx.roles.role_of(measured, loop.function)
            own_name = dotted_name(loop.loader) if loop.loader is not None else None
            other_name = dotted_name(measured)
            if own_role and other_role and own_role != other_role and own_name != other_name:
                return (f"`{name}` is accumulated over the {own_role} data but divided by the size "
                        f"of the {other_role} data; divide by the number of samples of the same split")
        dataset_of = division.measured_is_dataset_of
        if dataset_of is not None and numerator.kind in (COUNT, SAMPLE_SUM, BATCH_MEAN):
            for facts in figures_loader(ctx, loop, dataset_of):
                if facts.subset_sampler:
                    return (f"the loader's {facts.subset_sampler} draws a subset, so "
                            "`len(loader.dataset)` is not the number of samples seen; count them "
                            "in the loop (`total += y.size(0)`) or use `len(loader.sampler)`")
        return None


def figures_loader(ctx: FileContext, loop, loader_expr):
    """Loader facts for `X` in `len(X.dataset)` when X is the loop's own loader."""
    if loop.loader is None or dotted_name(loop.loader) != dotted_name(loader_expr):
        return []
    return ctx.epoch_figures.loader_facts(loop)


__all__ = ["WrongMetricDenominator"]
