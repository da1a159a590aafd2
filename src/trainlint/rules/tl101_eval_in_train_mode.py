"""TL101 eval-in-train-mode."""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Tuple

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.edits import insert_line_after, insert_line_before, mode_call_in_scope
from trainlint.semantic.modes import TRAIN
from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule


class EvalInTrainMode(Rule):
    code = "TL101"
    name = "eval-in-train-mode"
    severity = Severity.WARNING
    summary = "A validation or test forward pass runs while the model is in train mode."
    message = (
        "evaluation forward pass while the model may still be in train mode: dropout is active "
        "and BatchNorm uses and updates batch statistics; call model.eval() before the "
        "evaluation loop"
    )
    triggers = ("torch", "lightning")  # ModelTable.is_torch_file; the forward-pass anchor does the rest
    anchors = ("evaluation_forward",)

    what_it_does = (
        "Follows the mode of each PyTorch model through the code (`.train()`, `.eval()`, "
        "`.train(False)`, helper functions of the same file, branches and loops) and flags a "
        "forward pass over validation or test data that some path reaches in train mode: after "
        "a training loop, or on a freshly built model, with no `.eval()` in between. Across "
        "files (the project index): a call of a helper of another project module that evaluates "
        "the model it is given without `.eval()` is reported at the call, naming the helper; a "
        "model built from a class of another project module is known as a model, and is not "
        "flagged when that class has no dropout, normalisation or `self.training` branch."
    )
    why_it_matters = (
        "In train mode dropout drops activations at random and BatchNorm normalises each batch "
        "with its own statistics and folds the validation batches into its running statistics. "
        "The validation figure becomes noisy and biased, and the model itself is changed by "
        "evaluating it."
    )
    example = """\
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
    with torch.no_grad():
        for x, y in val_loader:
            val_loss += criterion(model(x), y).item()
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
        for x, y in val_loader:
            val_loss += criterion(model(x), y).item()
"""
    fix_safety = (
        "Safe, where offered: when the model is certainly in train mode at an evaluation loop "
        "(no path reaches it in eval mode), the fix inserts `model.eval()` on its own line "
        "before the loop and `model.train()` after it. The evaluation then runs in eval mode "
        "and everything after the loop runs in the mode it ran in before. Not offered when the "
        "loop can return or yield (the mode would not be restored), when the forward pass is "
        "outside a loop, or when the model is only possibly in train mode."
    )
    references = (
        "https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval",
        "https://discuss.pytorch.org/t/model-eval-vs-with-torch-no-grad/19615",
    )

    INVALID = (
        Invalid(
            """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    correct = 0
    with torch.no_grad():
        for images, labels in val_loader:
            correct += (model(images).argmax(1) == labels).sum().item()
""",
            line=16,
            message="forward pass over validation data while `model` may still be in train mode",
        ),
        Invalid(
            """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(20, 64), nn.Dropout(0.3), nn.Linear(64, 2))

    def forward(self, x):
        return self.body(x)

def evaluate(net, loader):
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += loss_fn(net(x), y).item()
    return total

net = Net()
print(evaluate(net, test_loader))
""",
            line=16,
            message="forward pass over test data while `net` may still be in train mode",
        ),
    )
    VALID = (
        """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
for epoch in range(10):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        criterion(model(images), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for images, labels in val_loader:
            outputs = model(images)
""",
        """\
import torch
import torch.nn as nn

class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 2)

    def forward(self, x):
        return self.fc(x)

model = Linear()
for x, y in train_loader:
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
with torch.no_grad():
    for x, y in val_loader:
        out = model(x)
""",
        """\
import torch

def run_validation(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x, _ in loader]

def fit(model, train_loader, val_loader):
    for epoch in range(5):
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()
        preds = run_validation(model, val_loader)
""",
    )

    FIX_EXAMPLES = (
        (INVALID[0].snippet, """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    correct = 0
    with torch.no_grad():
        model.eval()
        for images, labels in val_loader:
            correct += (model(images).argmax(1) == labels).sum().item()
        model.train()
"""),
        (INVALID[1].snippet, """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(20, 64), nn.Dropout(0.3), nn.Linear(64, 2))

    def forward(self, x):
        return self.body(x)

def evaluate(net, loader):
    total = 0.0
    with torch.no_grad():
        net.eval()
        for x, y in loader:
            total += loss_fn(net(x), y).item()
        net.train()
    return total

net = Net()
print(evaluate(net, test_loader))
"""),
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        if not ctx.models.is_torch_file or not ctx.models.forward_calls:
            return  # no forward pass: the mode analysis is not needed
        modes = ctx.modes
        # Both answers depend on the function and the model only: asked once per pair, not
        # once per forward pass (a long function holds hundreds).
        not_judged: Dict[Tuple[object, str], bool] = {}
        for forward in ctx.models.forward_calls:
            pair = (forward.scope, forward.key)
            if pair not in not_judged:
                not_judged[pair] = _deliberate_train_mode(ctx, forward) or _eval_in_uncalled_handler(ctx, forward)
            if not_judged[pair]:
                continue
            for env, states, role in modes.evaluation_states(forward.call):
                if TRAIN in states and ctx.models.mode_dependent(forward.key, forward.scope) is not False:
                    what = {"test": "test data", "validation": "validation data"}.get(role, "evaluation data")
                    yield self.report(forward.call, fix=_eval_around_loop(ctx, forward), message=(
                        f"forward pass over {what} while `{forward.key}` may still be in train mode: "
                        f"{_layers_of(ctx, forward)}; call {forward.key}.eval() before evaluating"
                    ))
                    break
        yield from self._helper_findings(ctx)

    def _helper_findings(self, ctx: FileContext) -> Iterator[Finding]:
        """A helper of another project module evaluates the model it is given in the mode it
        gets it, and this call may give it in train mode: reported here, at the call."""
        for call, key, param, helper, states in ctx.modes.helper_evaluations():
            scope = ctx.loops.function_of(call)
            if param in helper.evaluates and TRAIN in states and ctx.models.mode_dependent(key, scope) is not False:
                yield self.report(call, message=(
                    f"{helper.label} evaluates `{key}` without calling `.eval()`; `{key}` may still be "
                    "in train mode here, where dropout is active and BatchNorm uses and updates batch "
                    f"statistics: call {key}.eval() before calling it"
                ))


def _layers_of(ctx: FileContext, forward) -> str:
    """Why train mode matters here; naming the model's class when another project module
    defines it and shows its mode-dependent layers (the project index)."""
    project_class = ctx.models.project_class_of(forward.key, forward.scope)
    if project_class is not None and project_class.mode_dependent:
        return (f"{project_class.label} has layers that differ in train mode, where dropout is active "
                "and BatchNorm uses and updates batch statistics")
    return "dropout is active and BatchNorm uses and updates batch statistics"


def _eval_around_loop(ctx: FileContext, forward) -> Optional[Fix]:
    """`model.eval()` before the evaluation loop and `model.train()` after it, offered only when
    the model is certainly in train mode there: the code after the loop then runs in the same
    mode as before, and only the evaluation changes."""
    loop = ctx.loops.loop_of(forward.call)
    if loop is None or loop.kind != "eval" or loop.backward_calls:
        return None
    if any(states != frozenset({TRAIN}) for _env, states, _role in ctx.modes.evaluation_states(forward.call)):
        return None
    if any(type(node) in (cst.Return, cst.Yield) for node in ctx.index.descendants(loop.node)):
        return None  # the loop may leave the function before the mode is restored
    to_eval = mode_call_in_scope(ctx, loop.node, forward.key, "eval")
    if to_eval is None:
        return None
    return Fix(
        edits=(insert_line_before(ctx, loop.node, to_eval),
               insert_line_after(ctx, loop.node, f"{forward.key}.train()")),
        safe=True,
        description=f"call {to_eval} before the evaluation loop and {forward.key}.train() after it",
    )


def _deliberate_train_mode(ctx: FileContext, forward) -> bool:
    """`model.train()` called on purpose in a function that does not train (Monte Carlo
    dropout, BatchNorm re-estimation): the evaluation in train mode is intended."""
    function = forward.scope
    if function is None:
        return False
    explicit = False
    for node in ctx.index.within(function, cst.Call):
        if type(node.func) is cst.Attribute:
            if node.func.attr.value in ("backward", "manual_backward", "step"):
                return False
            if node.func.attr.value == "train" and ctx.models.key(node.func.value, function) == forward.key:
                explicit = True
    return explicit


def _eval_in_uncalled_handler(ctx: FileContext, forward) -> bool:
    """A global model put in eval mode by a function this file never calls (an event
    handler registered with a framework, `@trainer.on(...)`): when it ran cannot be seen, so
    the mode at a module-level forward pass is unknown."""
    if forward.scope is not None:
        return False
    for call in ctx.index.of_type(cst.Call):  # from each `.eval()` up to its functions
        if type(call.func) is not cst.Attribute or call.func.attr.value != "eval":
            continue
        for function in ctx.index.ancestors(call):
            if type(function) is cst.FunctionDef and not ctx.modes.call_sites(function) and \
                    ctx.models.key(call.func.value, function) == forward.key:
                return True
    return False
