"""TL102 train-in-eval-mode."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.edits import insert_line_before, mode_call_in_scope
from trainlint.semantic.modes import EVAL
from trainlint.semantic.names import dotted_name
from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule


class TrainInEvalMode(Rule):
    code = "TL102"
    name = "train-in-eval-mode"
    severity = Severity.ERROR
    summary = "Training steps run while the model may be in eval mode."
    message = (
        "training step while the model may be in eval mode (an earlier evaluation called .eval() "
        "and nothing calls .train() again): from the second epoch on dropout is off and BatchNorm "
        "frozen; call model.train() at the top of the epoch loop"
    )
    triggers = ("backward",)
    anchors = ("batch_loop",)

    what_it_does = (
        "Flags the `backward()` of a training step (a loop that also steps an optimizer) when the "
        "model it trains may be in eval mode on some path: typically the epoch loop runs a "
        "validation that calls `model.eval()` (directly or inside a helper of the same file) and "
        "the way back into the training loop never calls `model.train()`."
    )
    why_it_matters = (
        "The first epoch trains normally; every later one trains with dropout switched off and "
        "BatchNorm using frozen running statistics. The model regularises less, BatchNorm layers "
        "stop adapting, and the training curves change after epoch one for no visible reason."
    )
    example = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
model.train()
for epoch in range(epochs):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(x), y).item() for x, y in val_loader)
"""
    use_instead = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
for epoch in range(epochs):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(x), y).item() for x, y in val_loader)
"""
    fix_safety = (
        "Safe: the fix inserts `model.train()` on its own line right before the training batch "
        "loop (the model named in the message, when that name is used in the loop), so each "
        "pass over the training data starts in train mode, which is what the training step "
        "intends. Evaluation code that sets `.eval()` itself is unaffected."
    )
    references = (
        "https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.train",
    )

    INVALID = (
        Invalid(
            """\
import torch
import torchvision

model = torchvision.models.resnet50(num_classes=5)
model.train()
for epoch in range(20):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            val_out = model(x)
""",
            line=10,
            message="training step while `model` may be in eval mode",
        ),
        Invalid(
            """\
import torch
import torch.nn as nn

def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)

def train_one_epoch(net, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

net = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
opt = torch.optim.Adam(net.parameters())
for epoch in range(10):
    train_one_epoch(net, train_loader, opt)
    print(evaluate(net, val_loader))
""",
            line=13,
            message="training step while `net` may be in eval mode",
        ),
    )
    VALID = (
        """\
import torch
import torchvision

model = torchvision.models.resnet50(num_classes=5)
for epoch in range(20):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            val_out = model(x)
""",
        """\
import torch
import torchvision

backbone = torchvision.models.resnet18(weights="DEFAULT")
backbone.eval()
for p in backbone.parameters():
    p.requires_grad = False
head = torch.nn.Linear(1000, 4)
optimizer = torch.optim.Adam(head.parameters())
for x, y in train_loader:
    with torch.no_grad():
        features = backbone(x)
    loss = criterion(head(features), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
""",
        """\
import torch
import torchvision

model = torchvision.models.resnet18(weights="DEFAULT")
model.eval()
for images, labels in val_loader:
    images.requires_grad_()
    loss = criterion(model(images), labels)
    loss.backward()
    saliency = images.grad.abs().amax(dim=1)
""",
    )

    FIX_EXAMPLES = (
        (INVALID[0].snippet, """\
import torch
import torchvision

model = torchvision.models.resnet50(num_classes=5)
model.train()
for epoch in range(20):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            val_out = model(x)
"""),
        (INVALID[1].snippet, """\
import torch
import torch.nn as nn

def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)

def train_one_epoch(net, loader, opt):
    net.train()
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

net = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
opt = torch.optim.Adam(net.parameters())
for epoch in range(10):
    train_one_epoch(net, train_loader, opt)
    print(evaluate(net, val_loader))
"""),
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        if not ctx.models.is_torch_file:
            return
        # backward() without an optimizer step computes input gradients, not a training step
        training = [loop for loop in ctx.loops.of_kind("train", "mixed") if loop.step_calls]
        if not training:
            return  # nothing to check: the mode analysis is not needed
        modes = ctx.modes
        frozen = _frozen_keys(ctx)
        for loop in training:
            trained = {ctx.models.forward_of(c).key for c in loop.forward_calls}  # type: ignore[union-attr]
            trained -= frozen
            for call in loop.backward_calls:
                flagged = None
                for _env, state in modes.backward_states(call):
                    for key in sorted(trained):
                        if EVAL in state.get(key, frozenset()) and \
                                ctx.models.mode_dependent(key, loop.function) is not False:
                            flagged = key
                            break
                    if flagged:
                        break
                if flagged:
                    yield self.report(call, fix=_train_before_loop(ctx, loop, flagged), message=(
                        f"training step while `{flagged}` may be in eval mode (an evaluation "
                        "earlier in the loop called .eval() and nothing calls .train() on the way "
                        "back): dropout is off and BatchNorm frozen from the second epoch on; call "
                        f"{flagged}.train() at the top of the epoch loop"
                    ))


def _train_before_loop(ctx: FileContext, loop, model_key: str) -> Optional[Fix]:
    """`model.train()` right before the training batch loop: every pass over the training data
    then starts in train mode, whatever the evaluation before it left."""
    code = mode_call_in_scope(ctx, loop.node, model_key, "train")
    if code is None:
        return None
    return Fix(edits=(insert_line_before(ctx, loop.node, code),), safe=True,
               description=f"call {code} before the training loop")


def _frozen_keys(ctx: FileContext) -> Set[str]:
    """Models whose parameters are visibly frozen: `m.requires_grad_(False)` or
    `for p in m.parameters(): p.requires_grad = False`."""
    frozen: Set[str] = set()
    for call in ctx.index.of_type(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "requires_grad_" and call.args and \
                dotted_name(call.args[0].value) == "False":
            key = ctx.models.key(func.value, ctx.index.enclosing_function(call))
            if key:
                frozen.add(key)
    for loop in ctx.index.of_type(cst.For):
        iterable = loop.iter
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and \
                iterable.func.attr.value in ("parameters", "named_parameters"):
            body = ctx.module.code_for_node(loop.body)
            if "requires_grad = False" in body or "requires_grad=False" in body or "requires_grad_(False)" in body:
                key = ctx.models.key(iterable.func.value, ctx.index.enclosing_function(loop))
                if key:
                    frozen.add(key)
    return frozen
