"""The flow-sensitive model mode analysis (analysis/modes.py)."""

from __future__ import annotations

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.core.config import Config

HEAD = "import torch\nimport torchvision\nmodel = torchvision.models.resnet18()\n"


def states_at_forwards(body: str):
    text = HEAD + body
    ctx = FileContext(text, "x.py", cst.parse_module(text), Config())
    out = []
    for forward in ctx.models.forward_calls:
        seen = set()
        for _env, modes in ctx.modes.forward_states(forward.call):
            seen |= modes
        out.append(sorted(seen))
    return out


def test_fresh_model_is_in_train_mode_and_eval_switches():
    assert states_at_forwards("model(x)\nmodel.eval()\nmodel(x)\nmodel.train(False)\nmodel(x)\n") == [
        ["train"], ["eval"], ["eval"]]


def test_branches_join_and_loops_reach_a_fixed_point():
    body = (
        "for epoch in range(3):\n"
        "    model(x)\n"
        "    if epoch % 2:\n"
        "        model.eval()\n"
    )
    assert states_at_forwards(body) == [["eval", "train"]]


def test_helpers_of_the_file_are_summarised():
    body = (
        "def to_eval(m):\n"
        "    m.eval()\n"
        "    return m\n"
        "def untouched(m):\n"
        "    return 1\n"
        "to_eval(model)\n"
        "untouched(model)\n"
        "model(x)\n"
    )
    assert states_at_forwards(body) == [["eval"]]


def test_unseen_call_makes_the_mode_unknown():
    assert states_at_forwards("from lib import run\nrun(model)\nmodel(x)\n") == [["unknown"]]


def test_phase_loop_is_unrolled_with_decided_conditions():
    body = (
        "for phase in ['train', 'val']:\n"
        "    if phase == 'train':\n"
        "        model.train()\n"
        "    else:\n"
        "        model.eval()\n"
        "    model(x)\n"
    )
    text = HEAD + body
    ctx = FileContext(text, "x.py", cst.parse_module(text), Config())
    (forward,) = ctx.models.forward_calls
    assert sorted((env["phase"], sorted(m)) for env, m in ctx.modes.forward_states(forward.call)) == [
        ("train", ["train"]), ("val", ["eval"])]


def test_entry_state_of_a_helper_comes_from_its_call_sites():
    body = (
        "def evaluate(net, loader):\n"
        "    for x, y in loader:\n"
        "        net(x)\n"
        "model.eval()\n"
        "evaluate(model, val_loader)\n"
    )
    assert states_at_forwards(body) == [["eval"]]
