"""Model anchors: a PyTorch forward pass (`forward_call`), a batch loop (`batch_loop`) and a
Keras / TensorFlow import (`keras_import`).

Some rules can only report where a forward pass exists (TL101, TL104) or a *batch loop* — a
`for` / `while` around a forward pass, a `backward()` or an optimizer `step()` (TL102,
TL202–TL204). No substring tells those apart from model-definition and utility code, which
is most of a large repository.

A name may hold a model when the model vocabulary (vocab/models.py) says so: it is built by
a class of the file or a model library's constructor, wrapped or moved (`.to()`), named
like a model, another name for a model, or the receiver of `.eval()` / `.parameters()`.
Names count in the function that binds them and, from module level, everywhere; a forward
call is a call of such a name, except a module class calling its own layers
(`self.conv(x)` in a `forward`). Soundness: tests/test_anchors.py compares findings with the
gate on and off.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

from trainlint.gate.anchors.tree import FUNCTIONS, Predicate, Scope, SyntaxTree, dotted, named, targets
from trainlint.vocab.evaluation import EVAL_FUNCTION_PATTERN
from trainlint.vocab.models import (
    LIBRARY_MODEL_PREFIXES,
    MODEL_LIBRARIES as _MODEL_LIBRARIES,
    SELF_RETURNING as _SELF_RETURNING,
    is_library_model,
    looks_like_model_name,
    strip_module,
)

_MODEL_METHODS = {"parameters", "named_parameters", "state_dict", "load_state_dict", "zero_grad",
                  "modules", "children", "train"}
_WRAPPER_NAMES = {"DataParallel", "DistributedDataParallel", "DDP", "compile", "script", "trace",
                  "convert_sync_batchnorm", "AveragedModel", "quantize_dynamic"}
_BACKWARD = {"backward", "manual_backward"}
# Calls that put a model in eval mode or split off held-out data without naming it.
_EVAL_MODE_CALLS = ("eval", "from_pretrained", "random_split")
_EVAL_FUNCTION = re.compile(EVAL_FUNCTION_PATTERN, re.IGNORECASE)


@dataclass(frozen=True)
class ModelAnchors:
    forward_call: bool
    batch_loop: bool


def model_anchors(tree: SyntaxTree) -> ModelAnchors:
    return tree.memo("models", lambda tree: _ModelScan(tree).anchors())


def keras_import(tree: SyntaxTree) -> bool:
    """An import from keras / tensorflow (ImportTable's aliases)."""
    for node in (*tree.of_type(ast.Import), *tree.of_type(ast.ImportFrom)):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        if any(module.startswith(("keras", "tensorflow", "tf")) for module in modules):
            return True
    return False


def _callee(call: ast.Call) -> Tuple[Optional[str], Optional[str]]:
    """(dotted name, last name) of a call's callee."""
    func = call.func
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return dotted(func), last


class _ModelScan:
    """The names that may hold a model, per function scope; then the calls are judged
    against them."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.layer_owners = _module_classes(tree)
        self.model_names: Dict[Scope, Set[str]] = {}
        self.self_names: Set[str] = set()
        self.aliasable: Set[str] = set()
        self.library_roots: Set[str] = set()  # local names imported from a model library
        self.star_import = False
        self._imports()
        for scope, name in tree.parameters:
            if looks_like_model_name(name):
                self._name(scope, name)

    def _imports(self) -> None:
        for node in self.tree.of_type(ast.ImportFrom):
            if node.level or node.module is None:
                continue
            from_library = node.module.split(".")[0] in _MODEL_LIBRARIES
            for alias in node.names:
                if alias.name == "*":
                    self.star_import = True
                elif from_library:
                    self.library_roots.add(alias.asname or alias.name)
        for node in self.tree.of_type(ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _MODEL_LIBRARIES:
                    self.library_roots.add(alias.asname or alias.name.split(".")[0])

    # -- names that may hold a model ----------------------------------------------------

    def _name(self, scope: Scope, name: Optional[str]) -> None:
        if name is None:
            return
        for variant in (name, strip_module(name)):
            if variant.startswith("self."):
                self.self_names.add(variant)
            self.model_names.setdefault(scope, set()).add(variant)

    def _known(self, scope: Scope, name: str) -> bool:
        if name.startswith("self.") and name in self.self_names:
            return True
        return name in self.model_names.get(scope, ()) or name in self.model_names.get(None, ())

    def _may_build_model(self, value: ast.AST) -> bool:
        """ModelTable.is_model_producer, loosened: a class of the file, a model library's
        constructor, or a wrapper / `.to()` of something."""
        while isinstance(value, ast.Call):
            name, last = _callee(value)
            if last in _SELF_RETURNING or last in _WRAPPER_NAMES:
                return True
            if last in self.tree.class_names or (name is not None and self._library_model(name)):
                return True
            if self.star_import and isinstance(value.func, ast.Name):
                return True
            if isinstance(value.func, ast.Attribute):
                value = value.func.value  # `Net(...).cuda()`-like chains
            else:
                return False
        return False

    def _library_model(self, name: str) -> bool:
        """ModelTable.constructor_mode_dependent on a library callee: a model of a model zoo
        (`timm.create_model`, not `timm.layers.get_act_layer`), a torch.nn layer class or a
        torch.nn.functional function."""
        qualified = _qualified(self.tree, name)
        if qualified is None or name.partition(".")[0] not in self.library_roots:
            return False
        if qualified.startswith(LIBRARY_MODEL_PREFIXES):
            return is_library_model(qualified)
        last = qualified.rsplit(".", 1)[-1]
        return qualified.startswith("torch.nn.functional.") or (
            qualified.startswith("torch.nn.") and last[:1].isupper())

    def _collect_model_names(self) -> None:
        for call, scope, _in_loop, _cls in self.tree.calls:
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            receiver = dotted(func.value)
            if receiver is None:
                continue
            arguments = len(call.args) + len(call.keywords)  # libcst counts keywords as arguments
            if (func.attr == "eval" and not arguments) or (func.attr == "train" and arguments == 1) or (
                    func.attr in _MODEL_METHODS and looks_like_model_name(receiver)):
                self._name(scope, receiver)
        # Other names for a model (`net = model`, `self.model = model`) may chain: to a fixed point.
        pending = list(self.tree.assignments)
        while pending:
            unresolved = [item for item in pending if not self._binding(*item)]
            if len(unresolved) == len(pending):
                break
            pending = unresolved

    def _binding(self, scope: Scope, target: ast.AST, value: ast.AST) -> bool:
        """Note the targets of one assignment that may hold a model; False when nothing
        (yet) says they do."""
        names = [dotted(element) for element in targets(target)]
        source = dotted(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
        if source is not None:
            if not (self._known(scope, strip_module(source)) or looks_like_model_name(source)):
                return False
            self._name(scope, source)
            for name in names:
                self._name(scope, name)
                if name is not None and not name.startswith("self."):
                    # ModelTable keeps `self.x = model` as the class's own attribute, not an alias
                    self.aliasable.add(strip_module(name))
            return True
        if not isinstance(value, ast.Call):
            return True  # nothing to learn, now or later
        if self._may_build_model(value):
            _name, last = _callee(value)
            for name in names:
                self._name(scope, name)
                if name is not None and (last in _SELF_RETURNING or last in _WRAPPER_NAMES):
                    self.aliasable.add(strip_module(name))
            return True
        for name in names:  # `model = torch.load(...)`, `net = build_model(cfg)`
            if name is not None and looks_like_model_name(name):
                self._name(scope, name)
        return True

    # -- the calls ----------------------------------------------------------------------

    def anchors(self) -> ModelAnchors:
        self._collect_model_names()
        forward_call = batch_loop = False
        for call, scope, in_loop, cls in self.tree.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and (func.attr in _BACKWARD or func.attr == "step"):
                batch_loop |= in_loop
            if isinstance(func, ast.Attribute) and func.attr == "forward":
                func = func.value
            name = dotted(func)
            if name is None or not self._known(scope, strip_module(name)):
                continue
            if self._own_layer(strip_module(name), cls):
                continue
            forward_call = True
            batch_loop |= in_loop
            if batch_loop:
                break
        return ModelAnchors(forward_call=forward_call, batch_loop=batch_loop)

    def _own_layer(self, name: str, cls: Optional[ast.ClassDef]) -> bool:
        """`self.conv(x)` inside a module class's own methods: ModelTable skips those (a
        module class of the file that is not a LightningModule)."""
        if cls is None or not name.startswith("self.") or name in self.aliasable:
            return False
        return cls.name in self.layer_owners and cls.name not in self.tree.redefined_classes


def _module_classes(tree: SyntaxTree) -> Set[str]:
    """Classes of the file whose own `self.layer(x)` calls ModelTable skips: module classes
    (a `forward` / `training_step`, an `nn.Module` base, or a base that is such a class of
    the file) that are not LightningModules. Never more than ModelTable's: a base is only
    taken for `nn.Module` when its import says so, and any hint of Lightning (in a base's
    name or what it resolves to, a base that is not a plain name, a star import from a
    Lightning module, an in-file Lightning base) keeps the class out."""
    bases: Dict[str, List[str]] = {}
    module: Dict[str, bool] = {}
    lightning: Dict[str, bool] = {}
    star_lightning = any("Lightning" in (node.module or "") for node in tree.of_type(ast.ImportFrom)
                         if any(alias.name == "*" for alias in node.names))
    for node in tree.of_type(ast.ClassDef):
        names = [dotted(base) for base in node.bases]
        plain = [name for name in names if name is not None]
        resolved = [q for q in (_qualified(tree, name) for name in plain) if q is not None]
        bases[node.name] = plain
        module[node.name] = "torch.nn.Module" in resolved or any(
            isinstance(s, FUNCTIONS) and s.name in ("forward", "training_step") for s in node.body)
        lightning[node.name] = star_lightning or len(plain) < len(names) or any(
            "Lightning" in text for text in plain + resolved)
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


def _qualified(tree: SyntaxTree, name: str) -> Optional[str]:
    """What a dotted name resolves to through the file's imports; None when its head was not
    imported."""
    head, _, rest = name.partition(".")
    target = tree.aliases.get(head)
    if target is None:
        return None
    return target + ("." + rest if rest else "")


def evaluation_forward(tree: SyntaxTree) -> bool:
    """A forward call, and evidence somewhere in the file that some forward pass evaluates."""
    return model_anchors(tree).forward_call and tree.memo("models.evaluation_evidence", _evaluation_evidence)


def _evaluation_evidence(tree: SyntaxTree) -> bool:
    """What makes a forward pass an evaluation for TL101 / TL104 (semantic/modes.py's
    `evaluation_states`), each traced to words the file must hold: held-out data (a name,
    attribute, parameter, keyword or string with a held-out role word; torchvision's
    `train=...`; the second part of `random_split`), a function named like an evaluation
    with a loop in it (`evaluate`, `predict`: its loops evaluate), or a model put in eval
    mode (`.eval()`, `.train(False)`, `.train(flag)` of a loop, `from_pretrained`). A statement that is only a string (a docstring) is
    no evidence; model and utility code of a library usually has none of these."""
    if named(tree, _EVAL_MODE_CALLS) or any(_may_set_eval(tree, call) for call in named(tree, ("train",))):
        return True
    held_out = tree.roles.held_out
    for function in (node for kind in FUNCTIONS for node in tree.of_type(kind)):
        if _EVAL_FUNCTION.search(function.name) and _has_loop(function):
            return True
    for keyword in tree.of_type(ast.keyword):
        if keyword.arg == "train" or held_out(keyword.arg):
            return True
    if any(held_out(node.id) for node in tree.of_type(ast.Name)) or \
            any(held_out(node.attr) for node in tree.of_type(ast.Attribute)) or \
            any(held_out(node.arg) for node in tree.of_type(ast.arg)):
        return True
    statements = {id(node.value) for node in tree.of_type(ast.Expr)}
    return any(isinstance(node.value, str) and id(node) not in statements and held_out(node.value)
               for node in tree.of_type(ast.Constant))


def _may_set_eval(tree: SyntaxTree, call: ast.Call) -> bool:
    """`.train(False)`, or `.train(flag)` with a flag a loop over constants may decide
    (`for training in (True, False)`); not `.train(self.training)` of a module's own layers."""
    if not call.args:
        return False
    flag = call.args[0]
    if isinstance(flag, ast.Constant):
        return flag.value is False
    # The analysis decides a flag from the constants a loop binds (its env): through a name
    # the loop binds or one assigned from it (`is_train = phase == "train"`), never through
    # an attribute such as `self.training`.
    bound = tree.memo("models.loop_names", _loop_names)
    return any(isinstance(node, ast.Name) and (node.id in bound or node.id in tree.assigned_values)
               for node in ast.walk(flag))


def _loop_names(tree: SyntaxTree) -> Set[str]:
    return {node.id for loop in tree.of_type(ast.For) for node in ast.walk(loop.target) if isinstance(node, ast.Name)}


def _has_loop(function: ast.AST) -> bool:
    return any(isinstance(node, (ast.For, ast.AsyncFor, ast.While)) for node in ast.walk(function))


PREDICATES: Dict[str, Predicate] = {
    "forward_call": lambda tree: model_anchors(tree).forward_call,
    "evaluation_forward": evaluation_forward,
    "batch_loop": lambda tree: model_anchors(tree).batch_loop,
    "keras_import": keras_import,
}
