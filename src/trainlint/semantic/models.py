"""Which expressions hold a PyTorch model, and whether that model has mode-dependent layers.

`ctx.models` answers three questions for the loop and mode analyses:

- `key(expr, scope)`: the canonical key of the model an expression refers to, or None.
  Wrappers are looked through: `DataParallel(model)`, `DDP(model)`, `torch.compile(model)`,
  `model.to(device)`, `model.cuda()`, `model.module`, so all of them share one key (`model`,
  `self.model`). Keys are per scope: a name in one function is not the same model as the
  same name in another (the mode analysis maps arguments to parameters).
- `forward_calls`: the calls that run a model's forward pass (`model(x)`, `model(**batch)`,
  `self.net(x)`, `model.module(x)`, `model.forward(x)`), each with its key.
- `mode_dependent(key, scope)`: True when the model has dropout, batch/instance norm or a
  `self.training` branch (or comes from a library constructor that has them), False when
  its class is defined in this file, or in a project module the index summarised
  (`project_index.ClassSummary`), and has none, None when the analysis cannot see.

Evidence that a name holds a model: built by a module class of this file or of a project
module, by a known
constructor (torch.nn, torchvision, timm, transformers, torch.hub), loaded or wrapped, or
used as one (`.eval()` / `.train(False)` called on it, `.parameters()` handed to an
optimizer, a model-like parameter name that is called).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import argument, assigned_targets, bool_value, dotted_name, keyword_value, last_name, positional_args
from trainlint.vocab.models import LIBRARY_MODEL_PREFIXES, is_library_model, looks_like_model_name, strip_module
from trainlint.vocab.models import SELF_RETURNING as _SELF_RETURNING

_DEPENDENT_LAYERS = re.compile(
    r"^(Dropout\w*|AlphaDropout|FeatureAlphaDropout|BatchNorm\w*|SyncBatchNorm|InstanceNorm\w*"
    r"|LazyBatchNorm\w*|LazyInstanceNorm\w*|Transformer\w*|MultiheadAttention)$"
)
_RECURRENT = {"LSTM", "GRU", "RNN"}
_DEPENDENT_FUNCTIONS = re.compile(r"^(dropout\w*|alpha_dropout|feature_alpha_dropout|batch_norm|instance_norm)$")
_NOT_MODULES = re.compile(r"Loss$|^(Parameter|ParameterList|ParameterDict|init|functional|utils|Module)$")
_WRAPPERS = {
    "torch.nn.DataParallel", "torch.nn.parallel.DataParallel",
    "torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel.distributed.DistributedDataParallel",
    "torch.compile", "torch.jit.script", "torch.jit.trace", "torch.nn.SyncBatchNorm.convert_sync_batchnorm",
    "torch.optim.swa_utils.AveragedModel", "torch.ao.quantization.quantize_dynamic",
}
_MODULE_BASES = {
    "torch.nn.Module", "pytorch_lightning.LightningModule", "lightning.pytorch.LightningModule",
    "pytorch_lightning.core.LightningModule", "lightning.LightningModule",
}


@dataclass
class ModuleClass:
    """An nn.Module (or LightningModule) subclass defined in this file."""

    name: str
    node: cst.ClassDef
    lightning: bool
    mode_dependent: Optional[bool]


@dataclass(frozen=True)
class ForwardCall:
    call: cst.Call
    key: str
    scope: Optional[cst.CSTNode]


Scope = Optional[cst.CSTNode]  # a FunctionDef, or None for module level


class ModelTable:
    def __init__(self, index: ModuleIndex, imports: ImportTable, project=None) -> None:
        self.index = index
        self.imports = imports
        self.project = project  # `project_index.HelperLookup`, or None: one file on its own
        self.classes: Dict[str, ModuleClass] = {}
        # (scope, key) -> the expression that produced the model (for mode dependence)
        self.producers: Dict[Tuple[Scope, str], List[cst.BaseExpression]] = {}
        self._aliases: Dict[Tuple[Scope, str], str] = {}
        self._calls_by_name: Optional[Dict[str, List[cst.Call]]] = None
        self._known: Set[Tuple[Scope, str]] = set()
        self._class_attrs: Dict[Tuple[cst.ClassDef, str], List[cst.BaseExpression]] = {}
        self._assigned_cache: Dict[cst.CSTNode, Set[str]] = {}
        self._function_of: Dict[int, Scope] = {}  # id(node): libcst nodes hash in Python
        self._class_bodies: Dict[str, Tuple[bool, List[cst.Call]]] = {}
        self._added: Optional[Dict[Tuple[Scope, str], List[cst.BaseExpression]]] = None
        # `model.predict(loader)`: a forward call that runs a method of the model's class
        self.part_methods: Dict[cst.Call, cst.FunctionDef] = {}
        self._find_classes()
        self._find_models()
        self.forward_calls: List[ForwardCall] = self._find_forward_calls()
        self._forward_by_call = {f.call: f for f in self.forward_calls}

    # -- classes ------------------------------------------------------------------------

    def _find_classes(self) -> None:
        classes = self.index.of_type(cst.ClassDef)
        pending = {}
        for node in classes:
            bases = [b.value for b in node.bases]
            in_file_bases = [dotted_name(b) for b in bases]
            is_module = any(self.imports.matches(b, _MODULE_BASES) for b in bases)
            lightning = any("Lightning" in c for b in bases for c in self.imports.candidates(b))
            has_forward = any(
                type(s) is cst.FunctionDef and s.name.value in ("forward", "training_step")
                for s in node.body.body
            )
            pending[node.name.value] = (node, in_file_bases, is_module or has_forward, lightning)
        # Subclasses of module classes of this file are modules too.
        changed = True
        while changed:
            changed = False
            for name, (node, bases, is_module, lightning) in pending.items():
                if not is_module and any(b in pending and pending[b][2] for b in bases):
                    pending[name] = (node, bases, True, lightning or any(
                        b in pending and pending[b][3] for b in bases))
                    changed = True
        for name, (node, bases, is_module, lightning) in pending.items():
            if is_module:
                self.classes[name] = ModuleClass(name, node, lightning, None)
        # Mode dependence, resolving classes that use other classes of the file, to a fixed
        # point (a pass that changes nothing would change nothing again).
        for _ in range(len(self.classes) + 1):
            changed = False
            for cls in self.classes.values():
                dependent = self._class_mode_dependent(cls)
                changed |= dependent != cls.mode_dependent
                cls.mode_dependent = dependent
            if not changed:
                break

    def _class_mode_dependent(self, cls: ModuleClass) -> Optional[bool]:
        unknown = False
        for base in cls.node.bases:
            base_name = dotted_name(base.value)
            if base_name in self.classes and base_name != cls.name:
                dependent = self.classes[base_name].mode_dependent
                if dependent:
                    return True
                unknown |= dependent is None
        reads_training, calls = self._class_body(cls)
        if reads_training:
            return True
        for node in calls:
            dependent = self.constructor_mode_dependent(node)
            if dependent:
                return True
            if dependent is None and self._is_submodule_construction(node):
                unknown = True
        return None if unknown else False

    def _class_body(self, cls: ModuleClass) -> Tuple[bool, List[cst.Call]]:
        """Whether the class body reads `self.training`, and its calls in source order (walked
        once per class, not once per fixed-point pass)."""
        cached = self._class_bodies.get(cls.name)
        if cached is None:
            reads_training = False
            calls: List[cst.Call] = []
            for node in self.index.descendants(cls.node.body):
                if type(node) is cst.Call:
                    calls.append(node)
                elif type(node) is cst.Attribute and node.attr.value == "training" and \
                        dotted_name(node.value) == "self":
                    reads_training = True
                    break
            cached = self._class_bodies[cls.name] = (reads_training, calls)
        return cached

    def _is_submodule_construction(self, call: cst.Call) -> bool:
        """A call whose result is stored on `self` (or in a container of layers) and that
        we cannot classify."""
        name = last_name(call.func)
        if name is None or name in ("super", "Sequential", "ModuleList", "ModuleDict"):
            return False
        parent = self.index.parent(call)
        if type(parent) is cst.Arg:
            parent = self.index.parent(parent)
            return type(parent) is cst.Call and last_name(parent.func) in ("Sequential", "ModuleList")
        if type(parent) is cst.Element:
            return True
        if type(parent) is cst.Assign:
            return any(
                type(t.target) is cst.Attribute and dotted_name(t.target.value) == "self"
                for t in parent.targets
            )
        return False

    def _unwrap_producer(self, call: cst.Call) -> cst.BaseExpression:
        """`DataParallel(Net()).cuda()` -> `Net()`."""
        for _ in range(6):
            func = call.func
            if type(func) is cst.Attribute and func.attr.value in _SELF_RETURNING and type(func.value) is cst.Call:
                call = func.value
            elif (self.imports.matches(func, _WRAPPERS) or last_name(func) in (
                    "DataParallel", "DistributedDataParallel", "DDP")) and positional_args(call) and \
                    type(positional_args(call)[0].value) is cst.Call:
                call = positional_args(call)[0].value  # type: ignore[assignment]
            else:
                break
        return call

    def constructor_mode_dependent(self, call: cst.Call) -> Optional[bool]:
        """True/False for a call that builds a known layer or model, None otherwise."""
        call = self._unwrap_producer(call)  # type: ignore[assignment]
        if type(call) is not cst.Call:
            return None
        name = dotted_name(call.func)
        if name in self.classes:
            return self.classes[name].mode_dependent
        for qualified in self.imports.candidates(call.func):
            last = qualified.rsplit(".", 1)[-1]
            if qualified.startswith(LIBRARY_MODEL_PREFIXES):
                if is_library_model(qualified):
                    return True
                continue
            if qualified.startswith("torch_geometric.nn."):
                return _graph_layer_mode_dependent(call, last)
            if qualified.startswith("torch.nn.functional."):
                return True if _DEPENDENT_FUNCTIONS.match(last) else False
            if qualified.startswith("torch.nn.") and last[:1].isupper():
                if last.startswith(("InstanceNorm", "LazyInstanceNorm")):
                    # without running statistics (the default) train and eval mode compute the same
                    tracked = keyword_value(call, "track_running_stats")
                    return None if tracked is not None and bool_value(tracked) is None else bool_value(tracked) is True
                if _DEPENDENT_LAYERS.match(last):
                    return True
                if last in _RECURRENT:
                    dropout = _keyword_number(call, "dropout")
                    return bool(dropout) if dropout is not None else (
                        False if not any(a.keyword and a.keyword.value == "dropout" for a in call.args) else None)
                if last in ("Sequential", "ModuleList"):
                    return _combine(self._element_dependence(a.value) for a in call.args)
                return False
        return None

    def _project_class(self, call: cst.Call):
        """The summary of a model class of another project module that `call` constructs:
        asked of a capitalised callee that is not a class of this file (only the import
        statements lead to a module, and only one that defines the class is parsed). Asked
        by `mode_dependent` (a rule about to report) and for a name bound outside a class
        body (`asks_project`)."""
        name = last_name(call.func) or ""
        if self.project is None or not name[:1].isupper() or _NOT_MODULES.search(name) or \
                dotted_name(call.func) in self.classes:
            return None  # a loss module is no model, as for library classes
        return self.project.model_class(call.func)

    def asks_project(self, name: str, node: cst.CSTNode) -> bool:
        """Whether a model bound to `name` at `node` may be a class of another project module:
        not in a class body (a submodule, `self.block = Block()`, or a local of a library's
        model class: asking would read and summarise half the package for no finding)."""
        return self.project is not None and not name.startswith("self.") and self._class_of(node) is None

    def _dependence(self, value: cst.BaseExpression) -> Optional[bool]:
        """`constructor_mode_dependent`, and for a class of another project module what its
        summary says."""
        if type(value) is not cst.Call:
            return None
        known = self.constructor_mode_dependent(value)
        if known is None:
            inner = self._unwrap_producer(value)
            project_class = self._project_class(inner) if type(inner) is cst.Call else None
            if project_class is not None:
                return project_class.mode_dependent
        return known

    def _element_dependence(self, value: cst.BaseExpression) -> Optional[bool]:
        if type(value) is cst.Call:
            return self.constructor_mode_dependent(value)
        if type(value) in (cst.List, cst.Tuple):
            return _combine(self._element_dependence(e.value) for e in value.elements)
        return None

    # -- model variables ----------------------------------------------------------------

    def _scope_of(self, node: cst.CSTNode) -> Scope:
        key = id(node)
        if key not in self._function_of:
            self._function_of[key] = self.index.enclosing_function(node)
        return self._function_of[key]

    def _class_of(self, node: cst.CSTNode) -> Optional[cst.ClassDef]:
        return self.index.enclosing(node, cst.ClassDef)  # type: ignore[return-value]

    def is_model_producer(self, value: cst.BaseExpression, scope: Scope,
                          ask_project: bool = False) -> Tuple[bool, Optional[str]]:
        """(is a model, the key it wraps when it is a wrapper of a known model). `ask_project`:
        a constructor of a model class of another project module counts too."""
        if type(value) is cst.Call:
            inner_key = self._wrapped_key(value, scope)
            if inner_key is not None:
                return True, inner_key
            func = value.func
            if type(func) is cst.Attribute and func.attr.value in _SELF_RETURNING and \
                    type(func.value) is cst.Call:
                return self.is_model_producer(func.value, scope, ask_project)  # `Net().to(device)`
            name = dotted_name(value.func)
            if name in self.classes:
                return True, None
            if self.constructor_mode_dependent(value) is not None and not any(
                _NOT_MODULES.search(q.rsplit(".", 1)[-1]) for q in self.imports.candidates(value.func)
            ):
                return True, None
            if ask_project and self._project_class(self._unwrap_producer(value)) is not None:
                return True, None
        return False, None

    def _wrapped_key(self, call: cst.Call, scope: Scope) -> Optional[str]:
        func = call.func
        if type(func) is cst.Attribute and func.attr.value in _SELF_RETURNING:
            return self.key(func.value, scope)
        if self.imports.matches(func, _WRAPPERS) or last_name(func) in ("DataParallel", "DistributedDataParallel", "DDP"):
            args = positional_args(call)
            if args:
                return self.key(args[0].value, scope)
        return None

    def _find_models(self) -> None:
        # Two passes so that `net = model.to(device)` after `model = Net()` resolves.
        for _ in range(2):
            for assign in self.index.of_type(cst.Assign):
                for target in assign.targets:
                    for element in assigned_targets(target.target):
                        self._consider_binding(element, assign.value, assign)
            for assign in self.index.of_type(cst.AnnAssign):
                if assign.value is not None:
                    self._consider_binding(assign.target, assign.value, assign)
        # Evidence from use: `.eval()` / `.train(False)` / `.parameters()` to an optimizer.
        for call in self.index.of_type(cst.Call):
            func = call.func
            if type(func) is not cst.Attribute:
                continue
            receiver = dotted_name(func.value)
            if receiver is None:
                continue
            scope = self._scope_of(call)
            method = func.attr.value
            used_as_model = (
                (method == "eval" and not call.args and self._torch_file())
                or (method == "train" and len(call.args) == 1 and self._torch_file())
                or (method in ("parameters", "named_parameters", "state_dict", "load_state_dict",
                               "zero_grad", "modules", "children") and self._torch_file()
                    and looks_like_model_name(receiver))
                or (method == "train" and not call.args and looks_like_model_name(receiver) and self._torch_file()
                    and not receiver.endswith(("trainer", "Trainer")))
            )
            if used_as_model:
                base = strip_module(receiver)
                self._mark(scope, base, call)
        # Parameters named like models that are called in their function.
        for function in self.index.of_type(cst.FunctionDef):
            for param in _params(function):
                if looks_like_model_name(param) and any(
                    type(c.func) is cst.Name and c.func.value == param for c in self._calls_in(function)
                ):
                    self._known.add((function, param))

    @property
    def is_torch_file(self) -> bool:
        """Whether the file imports PyTorch (or Lightning / torchvision) at all."""
        return self._torch_file()

    def _torch_file(self) -> bool:
        return any(v == "torch" or v.startswith(("torch.", "pytorch_lightning", "lightning", "torchvision"))
                   for v in self.imports.aliases.values())

    def _mark(self, scope: Scope, key: str, node: cst.CSTNode) -> None:
        if key.startswith("self."):
            cls = self._class_of(node)
            if cls is not None:
                self._class_attrs.setdefault((cls, key), [])
                return
        self._known.add((scope, key))

    def _consider_binding(self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        name = dotted_name(target)
        if name is None:
            return
        scope = self._scope_of(node)
        is_model, wrapped = self.is_model_producer(value, scope, ask_project=self.asks_project(name, node))
        if not is_model and type(value) in (cst.Name, cst.Attribute):
            # `self.model = model`, `net = model`: the same model under another name.
            source = dotted_name(value)
            if source is not None and (self.key(value, scope) is not None or (
                    looks_like_model_name(source) and source in _params(scope))):
                if name.startswith("self."):
                    is_model = True
                else:
                    self._aliases[(scope, name)] = strip_module(self.key(value, scope) or source)
                    self._known.add((scope, strip_module(self.key(value, scope) or source)))
                    return
        if not is_model:
            # `model = torch.load(...)`, `model = build_model(cfg)`: a model of unknown make
            # when the name says so.
            if type(value) is cst.Call and looks_like_model_name(name) and not name.endswith(
                    ("_name", "_path", "_dir", "_file", "_type", "_cfg", "_config")):
                callee = last_name(value.func) or ""
                if callee in ("load", "from_pretrained", "create_model", "get_model", "build_model") or \
                        "model" in callee.lower() or "net" in callee.lower():
                    is_model = True
            if not is_model:
                return
        if wrapped is not None and wrapped != name:
            self._aliases[(scope, name)] = wrapped
            return
        if name.startswith("self."):
            cls = self._class_of(node)
            if cls is not None:
                self._class_attrs.setdefault((cls, name), []).append(value)
                return
        self._known.add((scope, name))
        if wrapped is None:
            self.producers.setdefault((scope, name), []).append(value)

    # -- queries ------------------------------------------------------------------------

    def key(self, expr: Optional[cst.CSTNode], scope: Scope) -> Optional[str]:
        """The model key `expr` refers to within `scope`, or None when it is not a model."""
        if expr is None:
            return None
        if type(expr) is cst.Call:
            wrapped = self._wrapped_key(expr, scope)
            if wrapped is not None:
                return wrapped
            return None
        name = dotted_name(expr)
        if name is None:
            return None
        name = strip_module(name)
        seen = set()
        while (scope, name) in self._aliases and name not in seen:
            seen.add(name)
            name = self._aliases[(scope, name)]
        if (scope, name) in self._known:
            return name
        if scope is not None and (None, name) in self._known and name not in _params(scope) \
                and name not in self._assigned_names(scope):
            return name  # a module-level model read inside a function (notebook style)
        if name.startswith("self.") and scope is not None:
            cls = self.index.enclosing(scope, cst.ClassDef)
            if cls is not None and (cls, name) in self._class_attrs:
                return name
            if cls is not None and name.count(".") == 1 and cls.name.value in self.classes:
                return None
        return None

    def _calls_in(self, function: cst.CSTNode) -> List[cst.Call]:
        return [n for n in self.index.descendants(function) if type(n) is cst.Call]

    def _assigned_names(self, function: cst.CSTNode) -> Set[str]:
        cached = self._assigned_cache.get(function)
        if cached is None:
            cached = set()
            for node in self.index.descendants(function):
                if type(node) is cst.Assign:
                    for target in node.targets:
                        cached.update(n for n in map(dotted_name, assigned_targets(target.target)) if n)
            self._assigned_cache[function] = cached
        return cached

    def is_lightning_method(self, function: Optional[cst.CSTNode]) -> bool:
        cls = self.index.enclosing(function, cst.ClassDef) if function is not None else None
        return cls is not None and cls.name.value in self.classes and self.classes[cls.name.value].lightning

    def _find_forward_calls(self) -> List[ForwardCall]:
        found = []
        for call in self.index.of_type(cst.Call):
            func = call.func
            scope = self._scope_of(call)
            if type(func) is cst.Attribute and func.attr.value == "forward":
                func = func.value
            if type(func) in (cst.Name, cst.Attribute):
                key = self.key(func, scope)
                cls = self._class_of(call)
                if key is not None and key.startswith("self.") and cls is not None and \
                        cls.name.value in self.classes and not self.classes[cls.name.value].lightning:
                    continue  # a layer called inside a model's own forward
                if key is None and type(func) is cst.Attribute:
                    key, method = self._part_of_model(func, scope)
                    if method is not None:
                        self.part_methods[call] = method
                if key is not None:
                    found.append(ForwardCall(call, key, scope))
        return found

    def _part_of_model(self, func: cst.Attribute, scope: Scope) -> Tuple[Optional[str], Optional[cst.FunctionDef]]:
        """`model.encoder(x)` runs part of the model: `model` is an instance of a model class
        of this file, and `encoder` is one of its methods that calls the model's own layers
        (`self.linear_1(x)`). The key is the model's, whose mode the part shares. Methods
        that run no layer (`model.init_hidden(n)`) and installed classes are not forwards. With
        the key, the method it runs (None for a submodule)."""
        receiver = func.value
        if type(receiver) is not cst.Name or (type(scope) is cst.FunctionDef and receiver.value == "self"):
            return None, None
        key = self.key(receiver, scope)
        if key is None:
            return None, None
        classes = self._classes_of(key, scope)
        if len(classes) != 1:
            return None, None
        cls = self.classes.get(classes.pop())
        if cls is None:
            return None, None
        part = func.attr.value
        if (cls.node, f"self.{part}") in self._class_attrs:
            return key, None  # a submodule: `self.encoder = nn.Sequential(...)`
        method = _method(cls.node, part)
        if method is None or method.name.value == "__init__":
            return None, None
        runs_layers = any(
            type(call.func) is cst.Attribute and type(call.func.value) is cst.Name
            and call.func.value.value == "self" and (cls.node, f"self.{call.func.attr.value}") in self._class_attrs
            for call in self._calls_in(method))
        return (key, method) if runs_layers else (None, None)

    def _classes_of(self, key: str, scope: Scope, depth: int = 0) -> Set[str]:
        """Names of the classes whose instances `key` holds in `scope`: its constructors, or
        for a parameter, what the function's callers in this file pass."""
        values = self.producers.get((scope, key)) or self.producers.get((None, key)) or []
        unwrapped = [self._unwrap_producer(v) for v in values if type(v) is cst.Call]
        classes = {last_name(v.func) or "" for v in unwrapped if type(v) is cst.Call}
        if len(unwrapped) < len(values):
            classes.add("")  # a value that is not a constructor call: unknown class
        if values or type(scope) is not cst.FunctionDef or key not in _params(scope) or depth > 2:
            return classes
        position = _params(scope).index(key)
        for call in self._calls_of_name().get(scope.name.value, ()):
            passed = argument(call, position, key)
            caller = self._scope_of(call)
            passed_key = self.key(passed, caller) if passed is not None else None
            if passed_key is None:
                return set()  # a caller passes something this table cannot see
            classes |= self._classes_of(passed_key, caller, depth + 1)
        return classes

    def _calls_of_name(self) -> Dict[str, List[cst.Call]]:
        """Calls of plain names (`train(model, ...)`), by name: the callers of a function."""
        if self._calls_by_name is None:
            self._calls_by_name = defaultdict(list)
            for call in self.index.of_type(cst.Call):
                if type(call.func) is cst.Name:
                    self._calls_by_name[call.func.value].append(call)
        return self._calls_by_name

    def forward_of(self, call: cst.Call) -> Optional[ForwardCall]:
        return self._forward_by_call.get(call)

    def mode_dependent(self, key: str, scope: Scope) -> Optional[bool]:
        """Whether the model under `key` has mode-dependent layers (None: cannot see)."""
        values: List[cst.BaseExpression] = []
        if key.startswith("self.") and scope is not None:
            cls = self.index.enclosing(scope, cst.ClassDef)
            if cls is not None:
                values = self._class_attrs.get((cls, key), [])
        else:
            values = self.producers.get((scope, key), [])
            if not values and key not in _params(scope):
                values = self.producers.get((None, key), [])
        if values:
            scope_of_values = scope if (scope, key) in self.producers else None
            added = self._added_layers(scope_of_values, key)
            return _combine(self._dependence(v) for v in values + added)
        return self.file_mode_dependent()

    def project_class_of(self, key: str, scope: Scope):
        """The summary of the one class of another project module that builds the model under
        `key` (`clf = Classifier()`, `from models import Classifier`), or None."""
        values = self.producers.get((scope, key)) or ([] if key in _params(scope) else self.producers.get((None, key), []))
        found = {self._project_class(v) if type(v) is cst.Call else None
                 for v in (self._unwrap_producer(v) if type(v) is cst.Call else v for v in values)}
        return found.pop() if len(found) == 1 else None

    def _added_layers(self, scope: Scope, key: str) -> List[cst.BaseExpression]:
        """Layers put into a container model after it was built: `model.add_module("drop",
        nn.Dropout(0.5))`, `model.append(nn.BatchNorm1d(64))` (an empty `nn.Sequential()` is
        not a model without layers)."""
        if self._added is None:
            self._added = {}
            for call in self.index.of_type(cst.Call):
                func = call.func
                if type(func) is not cst.Attribute or func.attr.value not in (
                        "add_module", "append", "extend", "insert", "register_module"):
                    continue
                receiver = dotted_name(func.value)
                args = positional_args(call)
                if receiver is None or not args:
                    continue
                layer = args[-1].value
                layers = [e.value for e in layer.elements] if type(layer) in (cst.List, cst.Tuple) else [layer]
                self._added.setdefault((self._scope_of(call), receiver), []).extend(layers)
        return self._added.get((scope, key), [])

    def file_mode_dependent(self) -> Optional[bool]:
        """False when every model built in the file is known to have no mode-dependent layer."""
        values = [v for (scope, key), vs in self.producers.items() for v in vs + self._added_layers(scope, key)]
        values += [v for vs in self._class_attrs.values() for v in vs]
        if not values:
            return None
        return _combine(self._dependence(v) for v in values)

    def known_keys(self, scope: Scope) -> Set[str]:
        keys = {key for (s, key) in self._known if s is scope}
        if scope is not None:
            cls = self.index.enclosing(scope, cst.ClassDef)
            keys |= {key for (c, key) in self._class_attrs if c is cls}
        return keys


def _graph_layer_mode_dependent(call: cst.Call, last: str) -> Optional[bool]:
    """PyTorch Geometric layers: message-passing convolutions (`GCNConv`, `NNConv`, `GATConv`)
    are mode-free unless built with a non-zero `dropout=` (a network they wrap, as in
    `NNConv(d, 32, edge_net)`, is a call of the class body and judged there); its BatchNorm /
    InstanceNorm / Dropout are mode-dependent; anything else is not known."""
    if _DEPENDENT_LAYERS.match(last):
        return True
    if last.endswith("Conv"):
        dropout = _keyword_number(call, "dropout")
        if dropout is not None:
            return dropout > 0
        return None if any(a.keyword and a.keyword.value == "dropout" for a in call.args) else False
    return None


def _combine(values) -> Optional[bool]:
    result: Optional[bool] = False
    for value in values:
        if value:
            return True
        if value is None:
            result = None
    return result


def _keyword_number(call: cst.Call, name: str) -> Optional[float]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            if type(arg.value) in (cst.Integer, cst.Float):
                return float(arg.value.evaluated_value)
    return None


def _params(function: cst.CSTNode) -> List[str]:
    if type(function) is not cst.FunctionDef:
        return []
    params = function.params
    every = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    return [p.name.value for p in every]


def _method(cls: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    for statement in cls.body.body:
        if type(statement) is cst.FunctionDef and statement.name.value == name:
            return statement
    return None
