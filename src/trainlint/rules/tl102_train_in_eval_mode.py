"""TL102 train-in-eval-mode."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.edits import insert_line_after, insert_line_before, mode_call_in_scope
from trainlint.semantic.modes import EVAL
from trainlint.semantic.names import dotted_name
from trainlint.core.diagnostics import Edit, Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule


class TrainInEvalMode(Rule):
    code = "TL102"
    name = "train-in-eval-mode"
    severity = Severity.ERROR
    summary = "Training steps run while the model may be in eval mode."
    message = (
        "training step while the model may be in eval mode: an earlier evaluation called .eval() "
        "and nothing calls .train() again, so from the second epoch on dropout is off and BatchNorm "
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
        "intends. When the evaluation runs inside the batch loop (mid-epoch validation), the "
        "call goes right after it, at the end of the block that evaluates (before a closing "
        "`continue`), and also before the loop when an evaluation outside it may leave the "
        "model in eval mode. Evaluation code that sets `.eval()` itself is unaffected."
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
        # Mid-epoch validation: the evaluation inside the batch loop leaves the rest of the
        # epoch in eval mode, however the epoch starts.
        Invalid(
            """\
import torch
import torch.nn as nn

def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)

model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 3))
opt = torch.optim.Adam(model.parameters())
for epoch in range(10):
    model.train()
    for step, (x, y) in enumerate(train_loader):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(evaluate(model, val_loader))
""",
            line=16,
            message="an evaluation inside the batch loop calls .eval() and nothing calls .train() after it",
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
        (INVALID[2].snippet, """\
import torch
import torch.nn as nn

def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)

model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 3))
opt = torch.optim.Adam(model.parameters())
for epoch in range(10):
    model.train()
    for step, (x, y) in enumerate(train_loader):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(evaluate(model, val_loader))
            model.train()
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
                    yield self._finding(ctx, loop, call, flagged)

    def _finding(self, ctx: FileContext, loop, call: cst.Call, model_key: str) -> Finding:
        inside = _evaluations_in(ctx, loop.node, model_key)
        if not inside:
            return self.report(call, fix=_train_before_loop(ctx, loop, model_key), message=(
                f"training step while `{model_key}` may be in eval mode: an evaluation earlier in "
                "the loop called .eval() and nothing calls .train() on the way back, so dropout is off "
                "and BatchNorm frozen from the second epoch on; call "
                f"{model_key}.train() at the top of the epoch loop"
            ))
        # Mid-epoch validation: the evaluation runs inside the batch loop, so the rest of the
        # current epoch trains in eval mode; the repair belongs right after that evaluation.
        return self.report(call, fix=_train_after_evaluations(ctx, loop, model_key, inside), message=(
            f"training step while `{model_key}` may be in eval mode: an evaluation inside the "
            "batch loop calls .eval() and nothing calls .train() after it, so dropout is off and "
            "BatchNorm frozen for the rest of the epoch after each evaluation; call "
            f"{model_key}.train() right after the evaluation"
        ))


def _train_before_loop(ctx: FileContext, loop, model_key: str) -> Optional[Fix]:
    """`model.train()` right before the training batch loop: every pass over the training data
    then starts in train mode, whatever the evaluation before it left."""
    code = mode_call_in_scope(ctx, loop.node, model_key, "train")
    if code is None:
        return None
    return Fix(edits=(insert_line_before(ctx, loop.node, code),), safe=True,
               description=f"call {code} before the training loop")


_EXITS = (cst.Continue, cst.Break, cst.Return, cst.Raise)


def _train_after_evaluations(ctx: FileContext, loop, model_key: str, calls: List[cst.Call]) -> Optional[Fix]:
    """`model.train()` at the end of each block of the batch loop that evaluates (before a
    closing `continue` / `break`), and before the batch loop too when an evaluation outside
    it may leave the model in eval mode at its start."""
    code = mode_call_in_scope(ctx, loop.node, model_key, "train")
    if code is None:
        return None
    edits: List[Edit] = []
    blocks: List[cst.CSTNode] = []
    for call in calls:
        block = ctx.index.enclosing(call, cst.IndentedBlock)
        if block is None or any(block is seen for seen in blocks):
            continue
        blocks.append(block)
        statements = list(block.body)
        last = statements[-1]
        if type(last) is cst.SimpleStatementLine and type(last.body[-1]) in _EXITS:
            if len(statements) == 1 or len(last.body) > 1:
                return None  # nowhere to put it between the evaluation and the exit
            edits.append(insert_line_before(ctx, last, code))
        else:
            edits.append(insert_line_after(ctx, last, code))
    if not edits:
        return None
    if _evaluations_outside(ctx, loop.node, model_key) and not _train_call_before(ctx, loop.node, model_key):
        edits.append(insert_line_before(ctx, loop.node, code))
    return Fix(edits=tuple(edits), safe=True, description=f"call {code} after the evaluation in the training loop")


def _sets_eval(ctx: FileContext, call: cst.Call, model_key: str, depth: int = 0) -> bool:
    """Whether `call` may put `model_key` (or any model, through a helper of this file)
    in eval mode: `m.eval()`, `m.train(False)`, or a function of this file that does."""
    func = call.func
    scope = ctx.index.enclosing_function(call)
    if type(func) is cst.Attribute and func.attr.value in ("eval", "train"):
        if ctx.models.key(func.value, scope) == model_key:
            return func.attr.value == "eval" or (
                bool(call.args) and dotted_name(call.args[0].value) == "False")
    if depth >= 3:
        return False
    target = _local_function(ctx, call)
    if target is None:
        return False
    for inner in ctx.index.within(target.body, cst.Call):
        inner_func = inner.func
        if type(inner_func) is cst.Attribute and inner_func.attr.value == "eval" and not inner.args:
            return True
        if inner is not call and _local_function(ctx, inner) is not None and \
                _local_function(ctx, inner) is not target and _sets_eval(ctx, inner, model_key, depth + 1):
            return True
    return False


def _local_function(ctx: FileContext, call: cst.Call) -> Optional[cst.FunctionDef]:
    """The function of this file a call runs: `name(...)` with one such top-level or nested
    function, or `self.name(...)` with one such method in the caller's class."""
    func = call.func
    functions = ctx.index.of_type(cst.FunctionDef)
    if type(func) is cst.Name:
        found = [f for f in functions if f.name.value == func.value and
                 type(ctx.index.enclosing(f, cst.ClassDef, cst.FunctionDef)) is not cst.ClassDef]
        return found[0] if len(found) == 1 else None
    if type(func) is cst.Attribute and dotted_name(func.value) == "self":
        cls = ctx.index.enclosing(call, cst.ClassDef)
        found = [f for f in functions if f.name.value == func.attr.value and
                 ctx.index.enclosing(f, cst.ClassDef, cst.FunctionDef) is cls]
        return found[0] if len(found) == 1 else None
    return None


def _evaluations_in(ctx: FileContext, loop_node: cst.CSTNode, model_key: str) -> List[cst.Call]:
    """Calls in the body of the batch loop (not in functions defined there) that may put the
    model in eval mode."""
    body = loop_node.body
    return [call for call in ctx.index.within(body, cst.Call)
            if ctx.index.enclosing(call, cst.FunctionDef, cst.Lambda, cst.ClassDef) is
            ctx.index.enclosing(loop_node, cst.FunctionDef, cst.Lambda, cst.ClassDef)
            and _sets_eval(ctx, call, model_key)]


def _evaluations_outside(ctx: FileContext, loop_node: cst.CSTNode, model_key: str) -> bool:
    """Whether the scope of the batch loop evaluates elsewhere too (before it, or in the
    epoch loop around it), or the loop is in a function (whose callers may evaluate)."""
    scope = ctx.index.enclosing(loop_node, cst.FunctionDef, cst.Lambda, cst.ClassDef)
    if scope is not None:
        return True
    inside = set(map(id, ctx.index.within(loop_node, cst.Call)))
    return any(id(call) not in inside and ctx.index.enclosing(call, cst.FunctionDef, cst.Lambda, cst.ClassDef) is None
               and _sets_eval(ctx, call, model_key) for call in ctx.index.of_type(cst.Call))


def _train_call_before(ctx: FileContext, loop_node: cst.CSTNode, model_key: str) -> bool:
    """Whether the statement right before the batch loop already is `model.train()`."""
    block = ctx.index.parent(loop_node)
    body = list(getattr(block, "body", ()))
    position = next((i for i, statement in enumerate(body) if statement is loop_node), None)
    if not position:
        return False
    previous = body[position - 1]
    return type(previous) is cst.SimpleStatementLine and \
        ctx.code(previous).strip() in (f"{model_key}.train()", f"{model_key}.train(True)")


def _frozen_keys(ctx: FileContext) -> Set[str]:
    """Models whose parameters are visibly frozen: `m.requires_grad_(False)` or
    `for p in m.parameters(): p.requires_grad = False`."""
    frozen: Set[str] = set()
    for call in ctx.index.of_type(cst.Call):
        func = call.func
        if type(func) is cst.Attribute and func.attr.value == "requires_grad_" and call.args and \
                dotted_name(call.args[0].value) == "False":
            key = ctx.models.key(func.value, ctx.index.enclosing_function(call))
            if key:
                frozen.add(key)
    for loop in ctx.index.of_type(cst.For):
        iterable = loop.iter
        if type(iterable) is cst.Call and type(iterable.func) is cst.Attribute and \
                iterable.func.attr.value in ("parameters", "named_parameters"):
            body = ctx.module.code_for_node(loop.body)
            if "requires_grad = False" in body or "requires_grad=False" in body or "requires_grad_(False)" in body:
                key = ctx.models.key(iterable.func.value, ctx.index.enclosing_function(loop))
                if key:
                    frozen.add(key)
    return frozen
