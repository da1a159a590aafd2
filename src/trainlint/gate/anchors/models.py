"""Model anchors: a forward call on something model-like (`forward_call`), a loop around a
training step or a forward call (`batch_loop`), a Keras / TensorFlow import (`keras_import`).

Most files of a PyTorch repository are model definitions and utilities: they mention `torch`
everywhere but never call a model, only their own layers (`self.conv(x)` inside a module's
`forward`). A name is *model-like* here when the model vocabulary (vocab/models.py) names it
(`model`, `net`, `encoder` …), when it is assigned a class of the file, a model library's
model, a wrapper or `.to()` / `.cuda()` of something, another model-like name, or when it
receives `.eval()` / `.train(mode)` / `.parameters()`. Names are taken file-wide, whatever
function binds them, so this is looser than the semantic model's per-scope table.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Set

from trainlint.gate.anchors.tree import FUNCTIONS, Predicate, SyntaxTree, dotted, targets
from trainlint.vocab.models import (
    LIBRARY_MODEL_PREFIXES,
    MODEL_LIBRARIES,
    SELF_RETURNING,
    is_library_model,
    looks_like_model_name,
    strip_module,
)

# Methods only a model has; called on a name, they make it model-like.
_MODEL_METHODS = {"parameters", "named_parameters", "state_dict", "load_state_dict", "zero_grad",
                  "modules", "children", "train", "eval"}
# Calls that wrap a model and return something callable like it.
_WRAPPERS = {"DataParallel", "DistributedDataParallel", "DDP", "compile", "script", "trace",
             "convert_sync_batchnorm", "AveragedModel", "quantize_dynamic"}
_TRAINING_STEP = {"backward", "manual_backward", "step"}


def keras_import(tree: SyntaxTree) -> bool:
    """An import from keras / tensorflow."""
    for node in (*tree.of_type(ast.Import), *tree.of_type(ast.ImportFrom)):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        if any(module.startswith(("keras", "tensorflow", "tf")) for module in modules):
            return True
    return False


def forward_call(tree: SyntaxTree) -> bool:
    return bool(_forward_calls(tree))


def batch_loop(tree: SyntaxTree) -> bool:
    """A loop around `backward()` / `step()` or around a forward call."""
    forward = _forward_calls(tree)
    for call, _scope, in_loop, _cls in tree.calls:
        if in_loop and (call in forward or (isinstance(call.func, ast.Attribute) and call.func.attr in _TRAINING_STEP)):
            return True
    return False


def _forward_calls(tree: SyntaxTree) -> Set[ast.Call]:
    return tree.memo("models.forward_calls", lambda tree: _ModelNames(tree).forward_calls())


class _ModelNames:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.names: Set[str] = set()
        self.aliases: Set[str] = set()  # `self.x = model`-like names: another name for a model
        self.star_import = any(alias.name == "*" for node in tree.of_type(ast.ImportFrom) for alias in node.names)
        self.own_layers = _module_classes(tree)
        for _scope, name in tree.parameters:
            if looks_like_model_name(name):
                self.names.add(name)

    def add(self, name: Optional[str]) -> None:
        if name is not None:
            self.names.update((name, strip_module(name)))

    def known(self, name: str) -> bool:
        return name in self.names or strip_module(name) in self.names

    def forward_calls(self) -> Set[ast.Call]:
        self._collect()
        found = set()
        for call, _scope, _in_loop, cls in self.tree.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "forward":
                func = func.value
            name = dotted(func)
            if name is None or not self.known(name):
                continue
            if cls is not None and name.startswith("self.") and cls.name in self.own_layers \
                    and strip_module(name) not in self.aliases:
                continue  # a module calling its own layers
            found.add(call)
        return found

    def _collect(self) -> None:
        for call, _scope, _in_loop, _cls in self.tree.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in _MODEL_METHODS:
                receiver = dotted(func.value)
                given = len(call.args) + len(call.keywords)
                mode_set = (func.attr == "eval" and not given) or (func.attr == "train" and given == 1)
                if receiver is not None and (mode_set or looks_like_model_name(receiver)):
                    self.add(receiver)
        pending = list(self.tree.assignments)
        while pending:  # other names for a model may chain (`net = model`): to a fixed point
            unresolved = [item for item in pending if not self._binding(item[1], item[2])]
            if len(unresolved) == len(pending):
                break
            pending = unresolved

    def _binding(self, target: ast.AST, value: ast.AST) -> bool:
        """Note the targets of one assignment that may hold a model; False when nothing (yet)
        says they do."""
        names = [dotted(element) for element in targets(target)]
        if isinstance(value, (ast.Name, ast.Attribute)):
            source = dotted(value)
            if source is None or not (self.known(source) or looks_like_model_name(source)):
                return False
            self.add(source)
            for name in names:
                self.add(name)
                if name is not None and not name.startswith("self."):  # `self.x = model`: the class's own
                    self.aliases.add(strip_module(name))
            return True
        if isinstance(value, ast.Call) and self._may_build_model(value):
            wraps = _last(value.func) in SELF_RETURNING or _last(value.func) in _WRAPPERS
            for name in names:
                self.add(name)
                if name is not None and wraps:  # `self.net = model.to(device)`: a model, not a layer
                    self.aliases.add(strip_module(name))
            return True
        if isinstance(value, ast.Call):
            for name in names:  # `model = torch.load(...)`, `net = build_model(cfg)`
                if name is not None and looks_like_model_name(name):
                    self.add(name)
        return True

    def _may_build_model(self, value: ast.AST) -> bool:
        """A class of the file, a model library's model, a wrapper or `.to()` of something,
        along a call chain (`Net(...).cuda()`)."""
        while isinstance(value, ast.Call):
            func = value.func
            last = _last(func)
            if last in SELF_RETURNING or last in _WRAPPERS or last in self.tree.class_names:
                return True
            if self.star_import and isinstance(func, ast.Name):
                return True
            name = dotted(func)
            if name is not None and self._library_model(name):
                return True
            if not isinstance(func, ast.Attribute):
                return False
            value = func.value
        return False

    def _library_model(self, name: str) -> bool:
        """A model of a model zoo (`timm.create_model`, not `timm.layers.get_act_layer`) or a
        torch.nn layer, through any import of the name's head."""
        head, _, rest = name.partition(".")
        for target in self.tree.imported_as.get(head, ()):
            if target.split(".")[0] not in MODEL_LIBRARIES:
                continue
            qualified = target + ("." + rest if rest else "")
            if qualified.startswith(LIBRARY_MODEL_PREFIXES) and is_library_model(qualified):
                return True
            last = qualified.rsplit(".", 1)[-1]
            if qualified.startswith("torch.nn.functional.") or (qualified.startswith("torch.nn.") and last[:1].isupper()):
                return True
        return False


def _last(func: ast.AST) -> Optional[str]:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _module_classes(tree: SyntaxTree) -> Set[str]:
    """Classes of the file that only call their own layers: module classes (a `forward` /
    `training_step`, an `nn.Module` base, or a base that is such a class of the file) with no
    hint of Lightning (whose modules' own `self.net(x)` runs the model)."""
    bases: Dict[str, List[str]] = {}
    module: Dict[str, bool] = {}
    lightning: Dict[str, bool] = {}
    star_lightning = any("Lightning" in (node.module or "") for node in tree.of_type(ast.ImportFrom)
                         if any(alias.name == "*" for alias in node.names))
    for node in tree.of_type(ast.ClassDef):
        names = [dotted(base) for base in node.bases]
        plain = [name for name in names if name is not None]
        resolved = [qualified for name in plain for qualified in _resolved(tree, name)]
        bases[node.name] = plain
        module[node.name] = any(_resolved(tree, name, winning=True) == ["torch.nn.Module"] for name in plain) or any(
            isinstance(s, FUNCTIONS) and s.name in ("forward", "training_step") for s in node.body)
        lightning[node.name] = star_lightning or len(plain) < len(names) or node.name in tree.redefined_classes \
            or any("Lightning" in text for text in plain + resolved)
    changed = True
    while changed:  # subclasses of the file's module classes; Lightning inherited
        changed = False
        for name, own_bases in bases.items():
            in_file = [base for base in own_bases if base in bases]
            if not module[name] and any(module[base] for base in in_file):
                module[name] = changed = True
            if not lightning[name] and any(lightning[base] for base in in_file):
                lightning[name] = changed = True
    return {name for name in bases if module[name] and not lightning[name]}


def _resolved(tree: SyntaxTree, name: str, winning: bool = False) -> List[str]:
    """The qualified names a dotted name may resolve to through the imports (only the import
    that wins, as the semantic model reads it, when `winning`)."""
    head, _, rest = name.partition(".")
    if winning:
        heads = [tree.aliases[head]] if head in tree.aliases else []
    else:
        heads = sorted(tree.imported_as.get(head, ()))
    return [target + ("." + rest if rest else "") for target in heads]


PREDICATES: Dict[str, Predicate] = {
    "forward_call": forward_call,
    "batch_loop": batch_loop,
    "keras_import": keras_import,
}
