"""The project index: calls of helpers in sibling modules are judged by the helpers'
summaries (run.summaries, semantic.project_index). The fixture projects under
fixtures/projects are checked both ways by test_fixtures (the CLI), here through pre-commit
with only their callers staged and by test_lsp_project in the language server; here also:
the cache across files (an edit of each project's helper module makes its caller's finding
appear or disappear), --no-project-index, resolution."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, trainlint_command
from test_fixtures import FINDING, expected_findings

PROJECTS = FIXTURES / "projects"

ENGINE_WITHOUT_EVAL = textwrap.dedent(
    """\
    import torch


    def evaluate(model, loader):
        total = 0.0
        with torch.no_grad():
            for x, y in loader:
                total += (model(x).argmax(1) == y).sum().item()
        return total
    """
)
ENGINE_WITH_EVAL = ENGINE_WITHOUT_EVAL.replace("    total = 0.0\n", "    model.eval()\n    total = 0.0\n", 1)
TRAIN = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    from engine import evaluate

    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(3):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        accuracy = evaluate(model, val_loader)
    """
)


def run(*args: str, cwd: Path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*trainlint_command(), *args], cwd=str(cwd), capture_output=True, text=True, timeout=300,
                          env=env)


def project(tmp_path: Path, engine: str = ENGINE_WITHOUT_EVAL) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (tmp_path / "engine.py").write_text(engine, encoding="utf-8")
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    return tmp_path


def test_a_helper_without_eval_is_reported_at_the_call_naming_its_file_and_line(tmp_path):
    result = run("--no-cache", "train.py", cwd=project(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "train.py:13:16: TL101 `evaluate()` (engine.py:4) evaluates `model` without calling `.eval()`" in result.stdout


def test_no_project_index_keeps_each_file_on_its_own(tmp_path):
    result = run("--no-cache", "--no-project-index", "train.py", cwd=project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_callers_cache_entry_follows_the_helper(tmp_path):
    root = project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if k != "TRAINLINT_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")  # the cache's secret
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert "TL101" in run(*cache, "train.py", cwd=root, env=env).stdout
    assert list((tmp_path / "cache" / "summaries").rglob("*.json")), "summaries are kept on disk"
    (root / "engine.py").write_text(ENGINE_WITH_EVAL, encoding="utf-8")
    assert "TL101" not in run(*cache, "train.py", cwd=root, env=env).stdout  # train.py itself unchanged
    (root / "engine.py").write_text(ENGINE_WITHOUT_EVAL, encoding="utf-8")
    assert "TL101" in run(*cache, "train.py", cwd=root, env=env).stdout


def test_a_helper_of_an_installed_library_stays_unknown(tmp_path):
    root = project(tmp_path)
    (root / "train.py").write_text(TRAIN.replace("from engine import", "from torchmetrics_like import"),
                                   encoding="utf-8")
    assert run("--no-cache", "train.py", cwd=root).returncode == 0


def test_a_module_without_the_function_is_not_parsed(tmp_path, monkeypatch):
    from trainlint.core.config import Config
    from trainlint.run import summaries
    from trainlint.run.engine import lint_file

    root = project(tmp_path, engine="import torch\n\ndef other(model):\n    model.eval()\n")
    parsed = []
    real = summaries.ProjectHelpers._summaries
    monkeypatch.setattr(summaries.ProjectHelpers, "_summaries",
                        lambda self, *a: parsed.append(a) or real(self, *a))
    with summaries.recording_uses() as uses:
        assert lint_file(root / "train.py", Config()) == []
    assert parsed == []
    assert [Path(path).name for path, _digest in uses] == ["engine.py"]  # still a dependency


def test_targets_of_imports():
    import libcst as cst

    from trainlint.semantic.index import ModuleIndex
    from trainlint.semantic.project_index import CallTargets

    code = "from .utils import evaluate as ev\nimport helpers as H\nfrom pkg import engine\nfrom tools import *\n"
    targets = CallTargets(ModuleIndex(cst.parse_module(code), code))
    func = lambda text: cst.parse_expression(text)  # noqa: E731
    assert targets.targets(func("ev")) == [(1, "utils", "evaluate")]
    assert targets.targets(func("H.fit")) == [(0, "helpers", "fit")]
    assert targets.targets(func("engine.evaluate")) == [(0, "pkg.engine", "evaluate")]
    assert targets.targets(func("validate")) == [(0, "tools", "validate")]
    assert targets.targets(func("H")) == []


def test_the_fixture_projects_without_the_index():
    # Every finding but two needs the index, including star_imports/train.py:13, a forward
    # pass of the file itself: without the index, `train_one_epoch(model, ...)` leaves the
    # mode unknown. Found either way: models_package/train.py:20 (`clf.eval()` shows `clf` is
    # a model, and a model of unknown make may have dropout) and lightning_module/train.py:36
    # (the Trainer and its checkpoint are in the file). And one is found only without the
    # index: models_package/train.py:41, a `TinyNet` evaluated in train mode, which
    # models/net.py shows has no dropout or normalisation.
    result = run("--no-cache", "--no-project-index", str(FIXTURES / "projects"), cwd=FIXTURES)
    from test_fixtures import FINDING

    found = sorted((Path(m.group("path")).relative_to(FIXTURES / "projects").as_posix(), int(m.group("line")),
                    m.group("code")) for m in map(FINDING.match, result.stdout.splitlines()))
    assert found == [("lightning_module/train.py", 36, "TL401"), ("models_package/train.py", 20, "TL101"),
                     ("models_package/train.py", 41, "TL101")], result.stdout


def copied_project(name: str, destination: Path) -> Path:
    """A fixture project in a folder of its own, with a pyproject.toml as its root."""
    root = destination / name
    shutil.copytree(PROJECTS / name, root)
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text(f"[project]\nname = '{name}'\n", encoding="utf-8")
    return root


def findings_of(stdout: str, root: Path) -> Counter:
    """(path from root, [cell,] line, code) of each finding the CLI printed."""
    found = Counter()
    for line in stdout.splitlines():
        match = FINDING.match(line)
        assert match, f"unparsable output line: {line!r}"
        path = (root / match.group("path")).resolve().relative_to(root.resolve()).as_posix()
        cell = (int(match.group("cell")),) if match.group("cell") else ()
        found[(path, *cell, int(match.group("line")), match.group("code"))] += 1
    return found


def marked(root: Path, files) -> Counter:
    """The findings the markers of `files` (paths from root) expect."""
    found = Counter()
    for name in files:
        for key, count in expected_findings(root / name).items():
            line, code = key[-2:]
            found[(name, *key[:-2], line, code)] += count
    return found


# (project, helper module, its text -> the edited text, caller, line, code, appears or not)
HELPER_EDITS = [
    pytest.param("models_package", "models/net.py",
                 lambda text: text.replace("self.out = nn.Linear(128, num_classes)",
                                           "self.out = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes))"),
                 "train.py", 41, "TL101", True, id="tinynet-gains-dropout"),
    pytest.param("models_package", "models/__init__.py",
                 lambda text: text.replace("from .net import Classifier, TinyNet", "from .net import Classifier\n"
                                           "from .wide import TinyNet"), "train.py", 41, "TL101", True,
                 id="package-reexports-another-class"),
    pytest.param("data_transforms", "data.py",
                 lambda text: text.replace("T.RandomResizedCrop(size), T.ColorJitter(0.4, 0.4, 0.4)", "T.Resize(size)"),
                 "train.py", 10, "TL305", False, id="augmentation-function-made-deterministic"),
    pytest.param("data_transforms", "data.py",
                 lambda text: text.replace("    return eval_tf\n", "    return train_tf\n"),
                 "train.py", 12, "TL305", True, id="chosen-pipeline-now-random-on-every-path"),
    pytest.param("lightning_module", "model.py",
                 lambda text: text.replace("nn.Dropout(0.2), ", ""), "train.py", 12, "TL101", False,
                 id="lightning-module-loses-dropout"),
]


@pytest.mark.parametrize("name, helper, edit, caller, line, code, appears", HELPER_EDITS)
def test_an_edit_of_the_helper_module_changes_the_callers_cached_finding(tmp_path, name, helper, edit, caller, line,
                                                                           code, appears):
    root = copied_project(name, tmp_path / "project")
    if helper == "models/__init__.py":  # the class is now taken from a module of unknown layers
        (root / "models" / "wide.py").write_text("import torch.nn as nn\nfrom zoo import TinyNet\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "TRAINLINT_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")  # the cache's secret
    cache = ["--cache-dir", str(tmp_path / "cache")]
    expected = marked(root, [caller])
    assert findings_of(run(*cache, caller, cwd=root, env=env).stdout, root) == expected
    (root / helper).write_text(edit((root / helper).read_text(encoding="utf-8")), encoding="utf-8")
    after = findings_of(run(*cache, caller, cwd=root, env=env).stdout, root)  # the caller itself unchanged
    assert ((caller, line, code) in after) is appears
    assert after - Counter({(caller, line, code): 1}) == expected - Counter({(caller, line, code): 1})


@pytest.mark.slow  # real pre-commit and git in subprocesses
def test_pre_commit_with_only_the_caller_staged(tmp_path):
    import yaml

    from test_integrations_precommit import clean_env, git, snapshot_of_this_repository

    env = clean_env(tmp_path)
    hooks = tmp_path / "trainlint-hooks"
    rev = snapshot_of_this_repository(hooks, env)
    root = project(tmp_path / "project")
    config = {"repos": [{"repo": str(hooks), "rev": rev, "hooks": [{"id": "trainlint"}]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    git("init", "-q", cwd=root, env=env)
    git("add", "engine.py", "pyproject.toml", ".pre-commit-config.yaml", cwd=root, env=env)
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "helpers", cwd=root, env=env)
    git("add", "train.py", cwd=root, env=env)  # only the caller is staged
    result = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--color", "never"],
                            cwd=str(root), env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "train.py:13:16: TL101 `evaluate()` (engine.py:4)" in result.stdout


@pytest.mark.slow  # real pre-commit and git in subprocesses
def test_pre_commit_on_the_fixture_projects_with_only_their_callers_staged(tmp_path):
    """Every fixture project in one repository; the modules without markers (the helpers)
    are committed, then only the files with markers are staged: pre-commit passes only them,
    and their findings are their markers, both ways."""
    import yaml

    from test_integrations_precommit import clean_env, git, snapshot_of_this_repository

    env = clean_env(tmp_path)
    hooks = tmp_path / "trainlint-hooks"
    rev = snapshot_of_this_repository(hooks, env)
    root = tmp_path / "projects"
    shutil.copytree(PROJECTS, root)
    config = {"repos": [{"repo": str(hooks), "rev": rev, "hooks": [{"id": "trainlint"}]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in (".py", ".ipynb"))
    callers = [name for name in files if expected_findings(root / name)]
    helpers = [name for name in files if name not in callers]
    assert len(callers) >= 6 and helpers
    git("init", "-q", cwd=root, env=env)
    git("add", ".pre-commit-config.yaml", *helpers, *(p.relative_to(root).as_posix() for p in root.rglob("*.toml")),
        cwd=root, env=env)
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "helpers", cwd=root, env=env)
    git("add", *callers, cwd=root, env=env)
    result = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--color", "never"],
                            cwd=str(root), env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr
    output = "\n".join(line for line in result.stdout.splitlines() if FINDING.match(line))
    assert findings_of(output, root) == marked(root, callers), result.stdout


def test_a_crash_while_summarising_a_helper_leaves_it_unknown(tmp_path, monkeypatch):
    from trainlint.core.config import Config
    from trainlint.run.engine import lint_file
    from trainlint.semantic import project_index

    root = project(tmp_path)

    def crash(*args):
        raise ValueError("boom")

    monkeypatch.setattr(project_index, "summarise_module", crash)
    assert lint_file(root / "train.py", Config()) == []  # no TL003 for the caller, no finding


def test_the_gate_lets_the_callers_of_project_helpers_through():
    # fit.py has no evaluation of its own, only a call of engine.py's helper. The gate is
    # per file: a caller with no forward pass and no sign of evaluation at all is not
    # analysed (a gate clause for "a model handed to an imported function" cost 22-31% of
    # the cold run on the bench corpus for no finding on it or the realworld corpus)
    from trainlint.core.config import Config
    from trainlint.run.gate_check import gate_off
    from trainlint.run.parallel import lint_paths

    files = sorted((FIXTURES / "projects").rglob("*.py"))
    with_gate = lint_paths(files, Config(), jobs=1)
    with gate_off():
        without_gate = lint_paths(files, Config(), jobs=1)
    assert [d.code for d in with_gate if d.path.endswith("fit.py")] == ["TL101"]
    assert with_gate == without_gate


def test_a_module_without_the_class_is_not_parsed(tmp_path, monkeypatch):
    from trainlint.core.config import Config
    from trainlint.run import summaries
    from trainlint.run.engine import lint_file

    root = copied_project("models_package", tmp_path)
    (root / "models" / "net.py").write_text("import torch.nn as nn\n\nclass Other(nn.Module):\n    pass\n",
                                            encoding="utf-8")
    parsed = []
    real = summaries.ProjectHelpers._summaries
    monkeypatch.setattr(summaries.ProjectHelpers, "_summaries",
                        lambda self, *a: parsed.append(a) or real(self, *a))
    with summaries.recording_uses() as uses:
        found = lint_file(root / "train.py", Config())
    assert parsed == []  # neither models/__init__.py nor models/net.py defines Classifier or TinyNet
    assert sorted(Path(path).relative_to(root.resolve()).as_posix() for path, _digest in uses) == [
        "models/__init__.py", "models/net.py"]  # still dependencies of train.py's result
    assert [d.line for d in found] == [20, 41]  # `clf.eval()` and the name `net`: models of unknown make


def test_defines_and_reexports():
    from trainlint.semantic.project_index import CLASS, FUNCTION, TRANSFORM, defines, reexports

    module = "import torch.nn as nn\n\nclass Net(nn.Module):\n    pass\n\ndef build(x):\n    pass\n\ntrain_tf = T.Compose([])\n"
    assert defines(module, CLASS, "Net") and not defines(module, CLASS, "build")
    assert defines(module, FUNCTION, "build") and not defines(module, FUNCTION, "Net")
    assert defines(module, TRANSFORM, "train_tf") and defines(module, TRANSFORM, "build")
    assert not defines("class Adam(Optimizer):\n    pass\n", CLASS, "Adam")  # nothing of a model class
    package = "from .net import Net\nfrom .layers import *\nfrom .heads import Head as Net2\nfrom .zoo import *\n"
    assert reexports(package, "Net") == [(1, "net")]
    assert reexports(package, "Missing") == [(1, "zoo"), (1, "layers")]  # the last star import first
    assert reexports(package, "Net2") == []  # another name under this one: not followed


def test_transform_summaries(tmp_path):
    import libcst as cst

    from trainlint.core.config import Config
    from trainlint.semantic.project_index import TRANSFORM, summarise_module

    text = textwrap.dedent(
        """\
        from torchvision import transforms as T

        train_tf = T.Compose([T.RandomCrop(32), T.RandomHorizontalFlip(p=0.5), T.ToTensor()])
        eval_tf = T.Compose([T.ToTensor()])
        chosen = train_tf if AUGMENT else eval_tf
        flips = T.Compose([T.RandomHorizontalFlip(p=0.0)])
        twice = T.Compose([T.RandomCrop(32)])
        twice = T.Compose([T.ToTensor()])


        def augment(size):
            return T.Compose([T.RandomResizedCrop(size), T.ToTensor()])


        def for_split(train):
            if train:
                return train_tf
            return eval_tf


        def wrapped():
            return train_tf
        """
    )
    found = summarise_module(text, cst.parse_module(text), "data.py", "data.py", Config(), TRANSFORM)
    assert {name: (s.line, s.is_function, s.random_ops) for name, s in found.items()} == {
        "train_tf": (3, False, ("RandomCrop", "RandomHorizontalFlip")),
        "augment": (11, True, ("RandomResizedCrop",)),
        "wrapped": (21, True, ("RandomCrop",)),
    }


def test_a_model_of_a_project_class_names_the_class_in_the_message():
    from trainlint.core.config import Config
    from trainlint.run.engine import lint_file

    [finding] = lint_file(PROJECTS / "models_package" / "train.py", Config())
    assert finding.line == 20
    assert finding.explanation.startswith("`Classifier` (models/net.py:4) has layers that differ in train mode")
