"""Structural anchors: the prefilter's second, structural look, with the standard library's
`ast` (written in C, about six times faster than libcst's parse).

Some rules can only report where a PyTorch forward pass exists (TL101, TL104) or a *batch
loop* — a `for` / `while` around a forward pass, a `backward()` or an optimizer `step()`
(TL102, TL202–TL204). No substring tells those apart from model-definition and utility code,
which is most of a large repository, so these rules declare `anchors` and a file is parsed
with libcst for them only when this scan finds a candidate.

The scan over-approximates `analysis/models.py` and `analysis/loops.py`: every forward call
that `ModelTable` finds and every batch loop that `LoopTable` finds is a candidate here
(tests/test_anchors.py checks it on every fixture, rule example and generated program). It
follows ModelTable's evidence for "this name holds a model" — built by a class of the file
or by a model library's constructor, another name for a model, a receiver of `.eval()` /
`.parameters()`, a parameter named like a model — per function, as ModelTable does, but
looser everywhere, so it may let a file through that has no forward pass, never the reverse.
Where `ast` cannot parse a file (newer syntax, IPython left in a cell), there is no scan and
nothing is skipped.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

from trainlint.analysis.models import looks_like_model_name, strip_module

ANCHORS = ("forward_call", "batch_loop", "keras_import")  # what a rule may name in `anchors`

# Modules whose constructors ModelTable knows (torch.nn layers and the model zoos).
_MODEL_LIBRARIES = ("torch", "torchvision", "timm", "transformers", "segmentation_models_pytorch",
                    "efficientnet_pytorch", "pretrainedmodels")
_MODEL_METHODS = {"parameters", "named_parameters", "state_dict", "load_state_dict", "zero_grad",
                  "modules", "children", "train"}
# Calls whose result ModelTable takes for the model they wrap.
_SELF_RETURNING = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval",
                   "requires_grad_", "to_empty", "share_memory"}
_WRAPPER_NAMES = {"DataParallel", "DistributedDataParallel", "DDP", "compile", "script", "trace",
                  "convert_sync_batchnorm", "AveragedModel", "quantize_dynamic"}
_BACKWARD = {"backward", "manual_backward"}
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)

Scope = Optional[ast.AST]  # the innermost function, None at module level


@dataclass(frozen=True)
class Anchors:
    forward_call: bool
    batch_loop: bool
    keras_import: bool = False  # an import from keras / tensorflow (ImportTable's aliases)

    def holds(self, names: Iterable[str]) -> bool:
        return any(getattr(self, name) for name in names)


def scan(text: str) -> Optional[Anchors]:
    """The anchors of a Python source, or None when `ast` cannot parse it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            tree = ast.parse(text)
        return _Scan(tree, lightning="Lightning" in text).anchors()
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _targets(target: ast.AST) -> Iterable[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _targets(element.value if isinstance(element, ast.Starred) else element)
    else:
        yield target


def _callee(call: ast.Call) -> Tuple[Optional[str], Optional[str]]:
    """(dotted name, last name) of a call's callee."""
    func = call.func
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return dotted(func), last


class _Scan:
    """One walk over the tree noting bindings, imports, classes and calls, each with its
    function scope, whether a loop of that scope encloses it, and its class; then the calls
    are judged against the names that may hold a model."""

    def __init__(self, tree: ast.AST, lightning: bool) -> None:
        self.lightning = lightning
        self.assignments: List[Tuple[Scope, ast.AST, ast.AST]] = []  # (scope, target, value)
        self.calls: List[Tuple[ast.Call, Scope, bool, Optional[ast.ClassDef]]] = []
        self.model_names: Dict[Scope, Set[str]] = {}
        self.self_names: Set[str] = set()
        self.aliasable: Set[str] = set()
        self.library_roots: Set[str] = set()  # local names imported from a model library
        self.star_import = False
        self.keras_import = False
        self.classes: Set[str] = set()
        self.redefined: Set[str] = set()
        self._walk(tree)

    # -- the walk -----------------------------------------------------------------------

    def _walk(self, tree: ast.AST) -> None:
        stack: List[Tuple[ast.AST, Scope, bool, Optional[ast.ClassDef]]] = [(tree, None, False, None)]
        while stack:
            node, scope, in_loop, cls = stack.pop()
            if isinstance(node, ast.Call):
                self.calls.append((node, scope, in_loop, cls))
            elif isinstance(node, ast.Assign):
                self.assignments.extend((scope, target, node.value) for target in node.targets)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                self.assignments.append((scope, node.target, node.value))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
            if isinstance(node, _FUNCTIONS):
                scope, in_loop = node, False
                arguments = node.args
                for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                    if looks_like_model_name(arg.arg):
                        self._name(scope, arg.arg)
            elif isinstance(node, ast.Lambda):
                in_loop = False
            elif isinstance(node, ast.ClassDef):
                cls, in_loop = node, False
                if node.name in self.classes:
                    self.redefined.add(node.name)
                self.classes.add(node.name)
            elif isinstance(node, _LOOPS):
                in_loop = True
            for child in ast.iter_child_nodes(node):
                stack.append((child, scope, in_loop, cls))

    def _import(self, node: ast.AST) -> None:
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        self.keras_import |= any(module.startswith(("keras", "tensorflow", "tf")) for module in modules)
        if isinstance(node, ast.ImportFrom):
            if node.level or node.module is None:
                return
            from_library = node.module.split(".")[0] in _MODEL_LIBRARIES
            for alias in node.names:
                if alias.name == "*":
                    self.star_import = True
                elif from_library:
                    self.library_roots.add(alias.asname or alias.name)
            return
        for alias in node.names:  # type: ignore[attr-defined]
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

    def _may_build_model(self, value: ast.AST, scope: Scope) -> bool:
        """ModelTable.is_model_producer, loosened: a class of the file, a model library's
        constructor, or a wrapper / `.to()` of something."""
        while isinstance(value, ast.Call):
            name, last = _callee(value)
            if last in _SELF_RETURNING or last in _WRAPPER_NAMES:
                return True
            if last in self.classes or (name is not None and name.split(".")[0] in self.library_roots):
                return True
            if self.star_import and isinstance(value.func, ast.Name):
                return True
            if isinstance(value.func, ast.Attribute):
                value = value.func.value  # `Net(...).cuda()`-like chains
            else:
                return False
        return False

    def _collect_model_names(self) -> None:
        for call, scope, _in_loop, _cls in self.calls:
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
        pending = list(self.assignments)
        while pending:
            unresolved = []
            for scope, target, value in pending:
                if not self._binding(scope, target, value):
                    unresolved.append((scope, target, value))
            if len(unresolved) == len(pending):
                break
            pending = unresolved

    def _binding(self, scope: Scope, target: ast.AST, value: ast.AST) -> bool:
        """Note the targets of one assignment that may hold a model; False when nothing
        (yet) says they do."""
        names = [dotted(element) for element in _targets(target)]
        source = dotted(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
        if source is not None:
            if not (self._known(scope, strip_module(source)) or looks_like_model_name(source)):
                return False
            self._name(scope, source)
            for name in names:
                self._name(scope, name)
                if name is not None:
                    self.aliasable.add(strip_module(name))
            return True
        if not isinstance(value, ast.Call):
            return True  # nothing to learn, now or later
        if self._may_build_model(value, scope):
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

    def anchors(self) -> Anchors:
        self._collect_model_names()
        forward_call = batch_loop = False
        for call, scope, in_loop, cls in self.calls:
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
        return Anchors(forward_call=forward_call, batch_loop=batch_loop, keras_import=self.keras_import)

    def _own_layer(self, name: str, cls: Optional[ast.ClassDef]) -> bool:
        """`self.conv(x)` inside a module class's own methods: ModelTable skips those (a
        class it knows by name, with its own forward, not a LightningModule)."""
        if cls is None or not name.startswith("self.") or self.lightning or name in self.aliasable:
            return False
        if cls.name in self.redefined:
            return False
        return any(isinstance(statement, _FUNCTIONS) and statement.name in ("forward", "training_step")
                   for statement in cls.body)
