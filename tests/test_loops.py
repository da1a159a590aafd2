"""The loop facts (analysis/loops.py) other rules build on."""

from __future__ import annotations

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.core.config import Config, ConfigError, parse_table

import pytest

SCRIPT = '''
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
    def forward(self, x):
        return self.fc(x)

train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
holdout = DataLoader(val_ds, batch_size=32)
model = nn.DataParallel(Net()).to("cuda")
opt = torch.optim.Adam(model.parameters())

def evaluate(net, loader):
    correct, total = 0, 0
    for x, y in loader:
        out = net(x)
        correct += (out.argmax(1) == y).sum().item()
        total += y.size(0)
    return correct / total

for epoch in range(10):
    running_loss = 0.0
    for i, (x, y) in enumerate(tqdm(train_loader)):
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        running_loss += loss.item()
    epoch_loss = running_loss / len(train_loader)
    val_acc = evaluate(model, holdout)
    print(f"loss {epoch_loss:.3f} val {val_acc:.3f}")

for phase in ["train", "val"]:
    it = iter(dataloaders[phase])
    while True:
        inputs, labels = next(it)
        loss = crit(model(inputs), labels)
        if phase == "train":
            loss.backward()
'''


def context(text: str, config: Config = Config()) -> FileContext:
    return FileContext(text, "x.py", cst.parse_module(text), config)


def test_loops_kinds_roles_accumulators_reports():
    ctx = context(SCRIPT)
    evaluate_loop, train_loop, phase_loop = ctx.loops.loops
    assert (evaluate_loop.kind, evaluate_loop.role, evaluate_loop.loader_name) == ("eval", "test", "loader")
    assert evaluate_loop.accumulator_names == ("correct", "total")
    assert [r.kind for r in evaluate_loop.reports] == ["return"]
    assert (train_loop.kind, train_loop.loader_name, train_loop.batch_names) == ("train", "train_loader", ("x", "y"))
    assert train_loop.epoch_loop is not None
    assert list(train_loop.figures) == ["epoch_loss"]
    assert [(r.kind, r.names) for r in train_loop.reports] == [("print", ("epoch_loss",))]
    assert phase_loop.kind == "mixed" and phase_loop.phase_values == ("train", "val")
    assert ctx.code(phase_loop.loader) == "dataloaders[phase]"
    assert ctx.roles.role_of(phase_loop.loader, None, {"phase": "val"}) == "validation"


def test_model_keys_look_through_wrappers():
    ctx = context(SCRIPT)
    keys = {ctx.code(f.call): f.key for f in ctx.models.forward_calls}
    assert keys == {"net(x)": "net", "model(x)": "model", "model(inputs)": "model"}
    assert ctx.models.classes["Net"].mode_dependent is False


def test_configured_role_names():
    config = Config(validation_names=("calib",))
    ctx = context(SCRIPT.replace("holdout", "calib_loader"), config)
    assert ctx.roles.role_of(cst.parse_expression("calib_loader")) == "validation"
    assert ctx.roles.role_of(cst.parse_expression("val_loader")) is None


@pytest.mark.parametrize("value", [[], "Val", ["v-al"], [3]])
def test_role_name_keys_are_validated(value):
    with pytest.raises(ConfigError):
        parse_table({"validation-names": value}, source="pyproject.toml")
    assert parse_table({"test-names": ["test", "holdout"]}, "p")["test_names"] == ("test", "holdout")
