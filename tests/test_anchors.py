"""The gate is sound: every finding a rule reports with the gate off, it reports with the
gate on, under the default configuration and under renamed role words.

`run/gate_check.gate_misses` lints a source twice (prefilter on and off) and names, for each
rule whose findings differ, the anchors that skipped it, so a failure blames the gate, not
the rule. Checked on every fixture, every rule example and generated programs;
tests/test_anchors_*.py add snippets per anchor, and bench/anchor_soundness.py runs the same
check on a corpus of real packages.
"""

from __future__ import annotations

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import FIXTURES
from trainlint.gate import anchors
from trainlint.semantic.context import FileContext
from trainlint.core.config import Config
from trainlint.rules import all_rules
from trainlint import lint_source
from trainlint.run.gate_check import RENAMED_ROLES, gate_misses, rename_roles


def _sources():
    for path in sorted(FIXTURES.rglob("*.py")):
        yield str(path.relative_to(FIXTURES)), path.read_text(encoding="utf-8")
    for path in sorted(FIXTURES.rglob("*.ipynb")):
        yield str(path.relative_to(FIXTURES)), path.read_text(encoding="utf-8")
    for rule in all_rules():
        examples = rule.VALID + rule.invalid_snippets() + (getattr(rule, "example", ""),)
        examples += tuple(text for pair in rule.FIX_EXAMPLES for text in pair)
        for number, text in enumerate(examples):
            if isinstance(text, str):  # engine examples may be bytes (an unreadable file)
                yield f"{rule.code}-{number}.py", text


SOURCES = list(_sources())


def assert_over_approximates(text: str, path: str = "t.py") -> None:
    """The gate skips no finding of `text`, with the default and with renamed role words."""
    assert gate_misses(text, path) == []
    if not path.endswith(".ipynb"):
        assert gate_misses(rename_roles(text), path, RENAMED_ROLES) == []


def holds(text: str, name: str) -> bool:
    """Whether anchor `name` holds on `text` (which `ast` must parse)."""
    found = anchors.scan(text)
    assert found is not None
    return found.get(name)


@pytest.mark.parametrize("name, text", SOURCES, ids=[name for name, _ in SOURCES])
def test_the_gate_skips_no_finding(name, text):
    assert_over_approximates(text, name)


def test_a_miss_names_the_rule_and_its_anchors(monkeypatch):
    monkeypatch.setitem(anchors.PREDICATES, "selection", lambda tree: False)
    text = dict(SOURCES)["tl1/cifar_globals_rewrite.py"]
    misses = gate_misses(text, "cifar.py")
    assert misses and "TL401" in misses[0] and "'selection': False" in misses[0]


def test_sources_exercise_both_anchors():
    scans = [anchors.scan(text) for name, text in SOURCES if name.endswith(".py")]
    assert any(s and s.forward_call for s in scans) and any(s and s.batch_loop for s in scans)
    assert any(s and not s.forward_call for s in scans)


MODEL_SNIPPETS = [
    # each holds a forward call ModelTable finds; variants of how the model is named
    "import torch.nn as nn\nnet = nn.Linear(2, 2)\nfor x in data:\n    net(x)\n",
    "from torch.nn import DataParallel as DP\nm = DP(Net())\nfor x in d:\n    m.module(x)\n",
    "def evaluate(model, loader):\n    for x in loader:\n        model(x)\n",
    "class Net(Base):\n    def forward(self, x):\n        return x\n\nmodel = Net()\nout = model.forward(1)\n",
    "import torch\nm = load()\nm.eval()\nfor b in val:\n    m(b)\n",
    "import torch\nencoder = torch.load('e.pt')\nalias = encoder\nalias2 = alias\nalias2(x)\n",
    "import lightning as L\nclass M(L.LightningModule):\n    def training_step(self, b, i):\n"
    "        return self.net(b)\n    def __init__(self):\n        self.net = make()\n",
    "from torchvision.models import *\nnet = resnet18()\nfor x in xs:\n    net(x)\n",
    "import torch\nmodel = Net().to('cuda')\nfor x, y in loader:\n    loss = crit(model(x), y)\n"
    "    loss.backward()\n    opt.step()\n",
]


@pytest.mark.parametrize("text", MODEL_SNIPPETS)
def test_named_model_evidence(text):
    assert holds(text, "forward_call")
    assert_over_approximates(text)


def test_model_definitions_have_no_anchor():
    text = (
        "import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.conv = nn.Conv2d(3, 3, 3)\n        self.blocks = nn.ModuleList()\n\n"
        "    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n"
        "        return self.conv(x)\n"
    )
    found = anchors.scan(text)
    assert not found.forward_call and not found.batch_loop and not found.keras_import


def test_rules_name_known_anchors():
    for rule in all_rules():
        assert set(rule.anchors) <= set(anchors.ANCHORS), rule.code


def test_unparsable_text_has_no_scan():
    assert anchors.scan("def f(:\n") is None


@pytest.mark.slow  # hypothesmith-generated programs
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node(auto_target=False))  # breadth, not ever larger programs
def test_generated_programs(source):
    assert_over_approximates(source)


# Evaluations whose only evidence carries no role word: TL101 reports each of them.
EVALUATIONS_WITHOUT_ROLE_WORDS = [
    # the second part of random_split is validation data
    "import torch\nfrom torch.utils.data import DataLoader, random_split\n"
    "model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5))\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfirst, second = random_split(data, [800, 200])\n"
    "for x, y in DataLoader(first):\n    opt.zero_grad()\n    loss_fn(model(x), y).backward()\n    opt.step()\n"
    "correct = 0\nwith torch.no_grad():\n    for x, y in DataLoader(second):\n"
    "        correct += (model(x).argmax(1) == y).sum().item()\n",
    # a loop in a function named like an evaluation
    "import torch\nimport torchvision\nmodel = torchvision.models.resnet18()\n"
    "def run_inference(net, loader):\n    outs = []\n    for x in loader:\n        outs.append(net(x))\n"
    "    return outs\nrun_inference(model, loader)\n",
]


@pytest.mark.parametrize("text", EVALUATIONS_WITHOUT_ROLE_WORDS)
def test_evaluation_evidence_without_role_words(text):
    assert {d.code for d in lint_source(text, "t.py")} & {"TL101", "TL104"}
    assert holds(text, "evaluation_forward")
    assert_over_approximates(text)


# Model code of a library: forward calls, but nothing that makes one an evaluation.
MODEL_CODE_WITHOUT_EVALUATION = [
    # a wrapper keeps its backbone in its own mode; a registry function named test_*
    "import torch.nn as nn\n\nclass Wrapper(nn.Module):\n    def __init__(self, backbone):\n"
    "        super().__init__()\n        self.backbone = backbone\n\n    def train(self, mode=True):\n"
    "        super().train(mode)\n        self.backbone.train(self.training)\n        return self\n\n"
    "def test_tiny(pretrained=False, **kwargs):\n    return Wrapper(Net(**kwargs))\n\n"
    "def features(model, x):\n    return model(x)\n",
    # a forward call in a helper with a training-only vocabulary
    "import torch\n\ndef step(model, batch, optimizer):\n    loss = model(batch).mean()\n"
    "    loss.backward()\n    optimizer.step()\n    return loss.item()\n",
]


@pytest.mark.parametrize("text", MODEL_CODE_WITHOUT_EVALUATION)
def test_model_code_without_evaluation(text):
    assert holds(text, "forward_call")
    assert not holds(text, "evaluation_forward")
    assert_over_approximates(text)


LIBRARY_CODE_WITHOUT_FORWARD_PASS = [
    # a layer factory from a model library is not a model (ModelTable: timm.create_model only)
    "import torch.nn as nn\nfrom timm.layers import get_act_layer\n\nclass Block(nn.Module):\n"
    "    def __init__(self, act_layer='gelu'):\n        super().__init__()\n"
    "        act_layer = get_act_layer(act_layer)\n        self.act = act_layer()\n\n"
    "    def forward(self, x):\n        return self.act(x)\n",
    # a subclass of an in-file module class calls its own layers in a helper method
    "import torch.nn as nn\n\nclass Base(nn.Module):\n    def forward(self, x):\n        return x\n\n"
    "class Head(Base):\n    def forward_head(self, x):\n        return self.fc(self.drop(x))\n",
    # an nn.Module without forward of its own, in a file that mentions Lightning elsewhere
    "import torch.nn as nn\n\n# works with LightningModule too\nclass Features(nn.Module):\n"
    "    def forward_features(self, x):\n        self.proj = proj\n        return self.proj(x)\n",
]


@pytest.mark.parametrize("text", LIBRARY_CODE_WITHOUT_FORWARD_PASS)
def test_library_code_has_no_forward_call(text):
    assert_over_approximates(text)
    assert not anchors.scan(text).forward_call


def test_a_lightning_modules_own_layers_are_forward_calls():
    # ModelTable keeps self.layer(x) inside a LightningModule: so must the anchor
    text = (
        "import torch.nn as nn\nimport lightning as L\n\nclass M(L.LightningModule):\n"
        "    def __init__(self):\n        super().__init__()\n        self.net = nn.Linear(2, 2)\n\n"
        "    def forward(self, x):\n        return self.net(x)\n"
    )
    ctx = FileContext(text, "t.py", cst.parse_module(text), Config())
    assert ctx.models.forward_calls
    assert anchors.scan(text).forward_call
