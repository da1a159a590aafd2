"""TL104 eval-without-no-grad."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.names import bool_value, dotted_name, keyword_value, last_name
from trainlint.semantic.reports import mentioned_keys, target_keys
from trainlint.core.diagnostics import Fix, Severity
from trainlint.core.lines import split_lines
from trainlint.rules.base import Finding, Invalid, Rule


class EvalWithoutNoGrad(Rule):
    code = "TL104"
    name = "eval-without-no-grad"
    severity = Severity.INFO
    summary = "Evaluation forward passes run with autograd on."
    message = (
        "evaluation forward pass with autograd on: every activation is kept for a backward pass "
        "that never comes; wrap the evaluation loop in `with torch.no_grad():` (or "
        "`torch.inference_mode()`)"
    )
    triggers = ("torch", "lightning")  # ModelTable.is_torch_file; the forward-pass anchor does the rest
    anchors = ("evaluation_forward",)

    what_it_does = (
        "Flags evaluation forward passes that run outside `torch.no_grad()` / "
        "`torch.inference_mode()` / `torch.set_grad_enabled(False)` — as a `with` block, as a "
        "decorator, or around every call of the evaluation helper in the same file (or in the "
        "model's own method: `model.predict(loader)` whose body has `with torch.no_grad():` "
        "is not flagged; a helper of another project module that relies on its caller is "
        "reported at the call, naming the helper). A forward "
        "pass is an evaluation when it runs on validation or test data (by name, by where the "
        "data came from: `model(test_ds.data / 255.)`, a loop variable of a test loader even "
        "after the loop, `np.load(\"x_test.npy\")`), when its helper is called with such data "
        "somewhere in the file (`compute_accuracy(model, valid_loader)`), in an evaluation loop "
        "over a loader of a function named like one, or when the model was put in eval mode "
        "and runs on real data whose result is not trained on. Periodic evaluations inside "
        "the training loop (`if step % 50 == 0: model(test_x)`) count. Must not flag: inputs "
        "typed by hand (`torch.zeros(...)`, `encode(\"hello\")`, a tokenizer on a literal) or "
        "a name such as `test()` alone; results that reach a `backward()`; input gradients on "
        "purpose (`requires_grad_()`, `.backward()` without an optimizer step); pre-0.4 code "
        "with `Variable(..., volatile=True)` (unless `.item()` shows a later PyTorch)."
    )
    why_it_matters = (
        "With autograd on, PyTorch records the graph of every evaluation batch and keeps its "
        "activations alive until the outputs are dropped: evaluation uses several times the "
        "memory and runs slower, and accumulating a tensor (not `.item()`) keeps the graphs of "
        "all batches alive."
    )
    example = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
model.eval()
for x, y in val_loader:
    outputs = model(x)
    correct += (outputs.argmax(1) == y).sum().item()
"""
    use_instead = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)
model.eval()
with torch.no_grad():
    for x, y in val_loader:
        outputs = model(x)
        correct += (outputs.argmax(1) == y).sum().item()
"""
    fix_safety = (
        "Safe: when the forward pass sits in an evaluation `for` loop and `torch` is imported "
        "by name, the fix wraps that loop in `with torch.no_grad():` (one more indentation "
        "level, comments and layout kept). Nothing in such a loop asks for gradients (loops "
        "with `backward()`, `requires_grad` or `autograd.grad` are not reported), so only "
        "memory and time change. No fix for a forward pass outside a loop, or for a loop "
        "holding a multi-line string (re-indenting would change the string)."
    )
    references = (
        "https://pytorch.org/docs/stable/generated/torch.no_grad.html",
        "https://pytorch.org/docs/stable/generated/torch.inference_mode.html",
    )

    INVALID = (
        Invalid(
            """\
import torch

def validate(model, loader):
    model.eval()
    correct = 0
    for images, labels in loader:
        outputs = model(images)
        correct += (outputs.argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)

model = torch.hub.load("pytorch/vision", "resnet18")
print(validate(model, val_loader))
""",
            line=7,
            message="evaluation forward pass with autograd on",
        ),
        Invalid(
            """\
import torch
import torchvision

model = torchvision.models.mobilenet_v2(num_classes=3)
model.eval()
test_loss = 0.0
for batch in test_loader:
    logits = model(batch["pixel_values"])
    test_loss += criterion(logits, batch["labels"]).item()
""",
            line=8,
            message="evaluation forward pass with autograd on",
        ),
    )
    VALID = (
        """\
import torch

@torch.no_grad()
def validate(model, loader):
    model.eval()
    return [model(images).argmax(1) for images, _ in loader]

def evaluate(model, loader):
    model.eval()
    hits = 0
    for images, labels in loader:
        hits += (model(images).argmax(1) == labels).sum().item()
    return hits

with torch.inference_mode():
    acc = evaluate(model, val_loader)
""",
        """\
import torch

model.eval()
for images, labels in test_loader:
    images = images.clone().requires_grad_(True)
    loss = criterion(model(images), labels)
    loss.backward()
    adversarial = images + 0.03 * images.grad.sign()
    adv_logits = model(adversarial)
""",
    )

    FIX_EXAMPLES = (
        (
            """\
import torch

def evaluate(net, loader, device):
    net.eval()
    hits = 0
    for epoch_batch in loader:
        # one batch of the held-out set
        images, labels = epoch_batch
        logits = net(images.to(device))

        hits += (logits.argmax(1).cpu() == labels).sum().item()
    return hits / len(loader.dataset)

net = torch.hub.load("pytorch/vision", "resnet18")
print(evaluate(net, val_loader, "cuda"))
""",
            """\
import torch

def evaluate(net, loader, device):
    net.eval()
    hits = 0
    with torch.no_grad():
        for epoch_batch in loader:
            # one batch of the held-out set
            images, labels = epoch_batch
            logits = net(images.to(device))

            hits += (logits.argmax(1).cpu() == labels).sum().item()
    return hits / len(loader.dataset)

net = torch.hub.load("pytorch/vision", "resnet18")
print(evaluate(net, val_loader, "cuda"))
""",
        ),
        (
            """\
import torch as T
import torchvision

model = torchvision.models.mobilenet_v2(num_classes=3)
model.eval()
test_loss = 0.0
for batch in test_loader:
    logits = model(batch["pixel_values"])
    test_loss += criterion(logits,
                           batch["labels"]).item()
print(test_loss / len(test_loader))
""",
            """\
import torch as T
import torchvision

model = torchvision.models.mobilenet_v2(num_classes=3)
model.eval()
test_loss = 0.0
with T.no_grad():
    for batch in test_loader:
        logits = model(batch["pixel_values"])
        test_loss += criterion(logits,
                               batch["labels"]).item()
print(test_loss / len(test_loader))
""",
        ),
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        if not ctx.models.is_torch_file or not ctx.models.forward_calls:
            return  # no forward pass: the mode analysis is not needed
        modes = ctx.modes
        for forward in ctx.models.forward_calls:
            for env, _states, _role in modes.evaluation_states(forward.call):
                if modes.runs_without_grad(forward.call, env) is not False:
                    continue
                if _needs_gradients(ctx, forward.call) or _volatile_inputs(ctx, forward.call) or \
                        _method_turns_grad_off(ctx, forward.call):
                    continue
                yield self.report(forward.call, fix=_wrap_in_no_grad(ctx, forward.call))
                break
        yield from self._helper_findings(ctx)

    def _helper_findings(self, ctx: FileContext) -> Iterator[Finding]:
        """A helper of another project module evaluates the model it is given with autograd
        on unless its caller turned it off, and this call does not: reported at the call."""
        reported = set()
        for call, _key, param, helper, _states in ctx.modes.helper_evaluations():
            if call in reported or param not in helper.grad_from_caller or ctx.modes.runs_without_grad(call) is not False:
                continue
            reported.add(call)
            yield self.report(call, message=(
                f"{helper.label} evaluates with autograd on; this call does not turn it off, so "
                "every activation is kept for a backward pass that never comes: call it under "
                "`with torch.no_grad():` (or `torch.inference_mode()`)"
            ))


def _wrap_in_no_grad(ctx: FileContext, call: cst.Call) -> Optional[Fix]:
    loop = ctx.loops.loop_of(call)
    torch_name = next((local for local, full in ctx.imports.aliases.items() if full == "torch"), None)
    if loop is None or torch_name is None:
        return None
    node = loop.node
    if type(node) is not cst.For or node.asynchronous is not None:
        return None
    if any(last_name(c.func) in ("backward", "step") for c in ctx.index.within(node, cst.Call)):
        return None  # an epoch loop around a training loop: no_grad would stop the training
    span = ctx.position(node)
    lines = ctx.lines_with_ends
    first, last = span.start.line - 1, span.end.line - 1
    if last >= len(lines):
        return None
    if first == last:
        original = lines[first][span.start.column:span.end.column]
    else:
        original = lines[first][span.start.column:] + "".join(lines[first + 1:last]) + lines[last][:span.end.column]
    if '"""' in original or "'''" in original:
        return None
    newline = ctx.module.default_newline
    unit = ctx.module.default_indent
    body = split_lines(original, keepends=True)
    indented = body[0] + "".join(unit + line if line.strip() else line for line in body[1:])
    text = f"with {torch_name}.no_grad():{newline}{ctx.indentation_of(node)}{unit}{indented}"
    return Fix(edits=(ctx.replace_edit(node, text),), safe=True,
               description="wrap the evaluation loop in `with torch.no_grad():`")


_NO_GRAD = ("no_grad", "inference_mode")


def _method_turns_grad_off(ctx: FileContext, call: cst.Call) -> bool:
    """`model.predict(loader)` runs a method of the model's class that evaluates under its
    own `with torch.no_grad():`: the caller need not turn autograd off."""
    method = ctx.models.part_methods.get(call)
    return method is not None and any(
        type(item.item) is cst.Call and last_name(item.item.func) in _NO_GRAD
        for node in ctx.index.descendants(method) if type(node) is cst.With for item in node.items)


def _needs_gradients(ctx: FileContext, call: cst.CSTNode) -> bool:
    """Gradients wanted on purpose: the forward's result reaches a `backward()`, or the loop
    (or function) around it asks for input gradients. The `backward()` of a training step
    (a loop with an optimizer step, such as the training loop that a periodic evaluation
    sits in, or a training loop nested in the epoch loop around the evaluation) is not."""
    if ctx.forward_data.feeds_backward(call):
        return True
    loop = ctx.loops.loop_of(call)
    region = loop.node if loop is not None else ctx.index.enclosing_function(call)
    if region is None:
        return _input_requires_grad(ctx, call)
    if loop is not None and loop.backward_calls and not _steps_optimizer(ctx, loop):
        return True
    for node in ctx.index.inside(region, cst.Call):
        if _in_training_step(ctx, node):
            continue
        name = last_name(node.func)
        if name in ("backward", "requires_grad_", "grad", "enable_grad") or \
                dotted_name(node.func) in ("torch.autograd.grad", "autograd.grad"):
            return True
    for node in ctx.index.inside(region, cst.Attribute):
        if node.attr.value == "requires_grad":
            parent = ctx.index.parent(node)
            if type(parent) is cst.AssignTarget and not _in_training_step(ctx, node):
                return True
    return False


def _in_training_step(ctx: FileContext, node: cst.CSTNode) -> bool:
    """Inside a batch loop that steps an optimizer: its `backward()` trains the model."""
    loop = ctx.loops.loop_of(node)
    return loop is not None and _steps_optimizer(ctx, loop)


def _steps_optimizer(ctx: FileContext, loop) -> bool:
    """The loop steps an optimizer: a recognised `optimizer.step()`, or `.step()` on an
    object that also has `.zero_grad()` called or is built by `torch.optim` (`adam.step()`)."""
    if loop.step_calls:
        return True
    calls = ctx.index.within(loop.node, cst.Call)
    zeroed = {dotted_name(c.func.value) for c in calls
              if type(c.func) is cst.Attribute and c.func.attr.value == "zero_grad"}
    for call in calls:
        if type(call.func) is cst.Attribute and call.func.attr.value == "step":
            receiver = dotted_name(call.func.value)
            if receiver is not None and (receiver in zeroed or _built_by_torch_optim(ctx, receiver)):
                return True
    return False


def _built_by_torch_optim(ctx: FileContext, name: str) -> bool:
    for assign in ctx.index.of_type(cst.Assign):
        if type(assign.value) is cst.Call and any(dotted_name(t.target) == name for t in assign.targets):
            if any(q.startswith("torch.optim.") for q in ctx.imports.candidates(assign.value.func)):
                return True
    return False


def _input_requires_grad(ctx: FileContext, call: cst.Call) -> bool:
    """Module level: the input was made to require gradients (`x.requires_grad_()`,
    `requires_grad=True`), as for a saliency map."""
    data = ctx.forward_data.data_argument(call)
    names = mentioned_keys(data) if data is not None else set()
    for node in ctx.index.of_type(cst.Call):
        if ctx.index.enclosing_function(node) is not None:
            continue
        if last_name(node.func) == "requires_grad_" and type(node.func) is cst.Attribute and \
                dotted_name(node.func.value) in names:
            return True
        if keyword_value(node, "requires_grad") is not None and bool_value(keyword_value(node, "requires_grad")):
            statement = ctx.index.statement_of(node)
            if any(type(t) is cst.Assign and any(target_keys(a.target) & names for a in t.targets)
                   for t in getattr(statement, "body", [])):
                return True
    return False


def _volatile_inputs(ctx: FileContext, call: cst.Call) -> bool:
    """Pre-0.4 PyTorch: `Variable(x, volatile=True)` in the same loop or function turned
    graph building off for everything computed from it (the file must not show a later
    PyTorch, where the flag does nothing)."""
    if any(last_name(node.func) == "item" for node in ctx.index.of_type(cst.Call)):
        return False  # `.item()` exists from 0.4 on, where `volatile` is ignored
    loop = ctx.loops.loop_of(call)
    region = loop.node if loop is not None else ctx.index.enclosing_function(call)
    if region is None:
        return False
    for node in ctx.index.within(region, cst.Call):
        if last_name(node.func) == "Variable" and bool_value(keyword_value(node, "volatile")):
            return True
    return False
