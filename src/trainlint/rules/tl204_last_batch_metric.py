"""TL204 last-batch-metric."""

from __future__ import annotations

from typing import Iterator

from trainlint.semantic.context import FileContext
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, caseless


class LastBatchMetric(Rule):
    code = "TL204"
    name = "last-batch-metric"
    severity = Severity.ERROR
    summary = "A metric assigned inside the batch loop is read after it as the epoch figure."
    message = (
        "this metric is assigned (not accumulated) inside the batch loop and read after it: only "
        "the last batch counts; accumulate it over the batches (sum weighted by batch size, then "
        "divide by the number of samples)"
    )
    triggers = ("for", "while")
    # the assigned figure is a loss (criteria) or named like a metric (epoch_figures._METRIC_WORDS)
    requires = (caseless("loss", "acc", "f1", "auc", "score", "metric", "err", "mae", "mse", "iou",
                         "dice", "precision", "recall", "correct", "psnr", "cross_entropy", "kl_div"),)
    anchors = ("batch_loop",)

    what_it_does = (
        "Flags an assignment inside a batch loop (`val_loss = criterion(out, y).item()`, "
        "`acc = (pred == y).float().mean()`, `loss = criterion(...)`) whose name is read after "
        "the loop — printed, logged, appended to a history, passed to a scheduler or returned — "
        "before anything assigns it again."
    )
    why_it_matters = (
        "After the loop the name holds the value of the last batch only, which is often a "
        "smaller, unrepresentative batch. Reported as the epoch's loss or accuracy it is noise; "
        "early stopping or a learning-rate schedule driven by it reacts to one batch."
    )
    example = """\
import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
for x, y in val_loader:
    out = model(x)
    val_loss = criterion(out, y).item()
print(f"val loss {val_loss:.4f}")
"""
    use_instead = """\
import torchvision
model = torchvision.models.resnet18(num_classes=10)
model.eval()
total, seen = 0.0, 0
for x, y in val_loader:
    out = model(x)
    total += criterion(out, y).item() * x.size(0)
    seen += x.size(0)
print(f"val loss {total / seen:.4f}")
"""
    references = ()

    INVALID = (
        Invalid(
            """\
import torch.nn as nn
criterion = nn.CrossEntropyLoss()
for epoch in range(20):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")
""",
            line=6,
            message="`loss` is assigned (not accumulated) inside the batch loop",
        ),
        Invalid(
            """\
def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            acc = (model(images).argmax(1) == labels).float().mean().item()
    return acc
""",
            line=5,
            message="`acc` is assigned (not accumulated) inside the batch loop",
        ),
    )
    VALID = (
        """\
def evaluate(model, loader):
    model.eval()
    hits, seen = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            hits += (model(images).argmax(1) == labels).sum().item()
            seen += labels.size(0)
    return hits / seen
""",
        """\
import numpy as np
losses = []
for x, y in val_loader:
    out = model(x)
    batch_loss = criterion(out, y).item()
    losses.append(batch_loss)
print(np.mean(losses))
""",
        """\
# a sanity check on the first batch only
for x, y in train_loader:
    out = model(x)
    loss = criterion(out, y)
    break
print("initial loss", loss.item())
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for figure in ctx.epoch_figures.last_batch:
            yield self.report(figure.assignment, message=(
                f"`{figure.name}` is assigned (not accumulated) inside the batch loop and read "
                "after it: only the last batch counts; accumulate it over all batches (weighted "
                "by batch size) and divide by the number of samples"
            ))


__all__ = ["LastBatchMetric"]
