"""Summaries of the functions and classes of a project module, for the files that import them.

`train.py` calls `evaluate(model, val_loader)` imported from `engine.py`: within train.py
the call is state the analysis cannot see, so the mode of `model` becomes unknown and the
rules stay silent. A `HelperSummary` says what the mode analysis of engine.py found about
`evaluate` (the same facts it uses for calls inside engine.py): the mode each model
parameter leaves with, which parameters it runs an evaluation forward pass on in the mode
they came in, and whether that pass relies on its caller to turn autograd off. A
`ClassSummary` says that a name is an `nn.Module` (or `LightningModule`) class and whether
it has mode-dependent layers; a `TransformSummary` that a module-level name, or what a
function returns, is a transform pipeline with random augmentation (which transforms).

Pure: `summarise_module` turns the text of a module into its summaries; `CallTargets`
maps a name of the linted file to (import level, module, name) through its import
statements; `reexports` follows a package's `from .net import Net`. Finding and reading the module, and caching its summaries, is `run.summaries`.
Only what the analysis is sure of is summarised; anything else is absent (unknown).
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Dict, List, Optional, Protocol, Tuple

import libcst as cst

from trainlint.semantic.names import dotted_name

ENTRY = "entry"  # as in semantic.modes: "the mode it had on entry"
Target = Tuple[int, str, str]  # (relative import level, module, function name)


@dataclass(frozen=True)
class HelperSummary:
    name: str
    file: str  # the module's file name, for messages ("engine.py")
    line: int
    params: Tuple[str, ...]  # positional parameters, in order
    # Model parameter -> the modes it may leave in ("entry": unchanged); a parameter not
    # listed leaves in a mode the analysis cannot tell.
    exits: Tuple[Tuple[str, Tuple[str, ...]], ...]
    # Model parameters run through an evaluation forward pass in the mode they came in.
    evaluates: Tuple[str, ...]
    # Those of them whose evaluation pass has autograd on unless the caller turned it off.
    grad_from_caller: Tuple[str, ...]

    @property
    def label(self) -> str:
        return f"`{self.name}()` ({self.file}:{self.line})"

    def exit_modes(self, param: str) -> Optional[frozenset]:
        for name, modes in self.exits:
            if name == param:
                return frozenset(modes)
        return None

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "line": self.line, "params": list(self.params),
                "exits": [[name, list(modes)] for name, modes in self.exits],
                "evaluates": list(self.evaluates), "grad_from_caller": list(self.grad_from_caller)}

    @classmethod
    def from_json(cls, data: dict) -> "HelperSummary":
        return cls(name=str(data["name"]), file=str(data["file"]), line=int(data["line"]),
                   params=tuple(str(p) for p in data["params"]),
                   exits=tuple((str(name), tuple(str(m) for m in modes)) for name, modes in data["exits"]),
                   evaluates=tuple(str(p) for p in data["evaluates"]),
                   grad_from_caller=tuple(str(p) for p in data["grad_from_caller"]))


@dataclass(frozen=True)
class ClassSummary:
    """A model class (an `nn.Module` or `LightningModule` subclass) of a project module."""

    name: str
    file: str
    line: int
    lightning: bool
    # True: dropout, batch/instance norm or a `self.training` branch; False: none of them;
    # None: the analysis of its module cannot tell (a layer of unknown make).
    mode_dependent: Optional[bool]

    @property
    def label(self) -> str:
        return f"`{self.name}` ({self.file}:{self.line})"

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "line": self.line, "lightning": self.lightning,
                "mode_dependent": self.mode_dependent}

    @classmethod
    def from_json(cls, data: dict) -> "ClassSummary":
        dependent = data["mode_dependent"]
        return cls(name=str(data["name"]), file=str(data["file"]), line=int(data["line"]),
                   lightning=bool(data["lightning"]), mode_dependent=None if dependent is None else bool(dependent))


@dataclass(frozen=True)
class TransformSummary:
    """A module-level name that holds, or a function that returns on every path, a transform
    pipeline with random augmentation."""

    name: str
    file: str
    line: int
    is_function: bool
    random_ops: Tuple[str, ...]  # the random transforms in it, in source order

    @property
    def label(self) -> str:
        return f"`{self.name}{'()' if self.is_function else ''}` ({self.file}:{self.line})"

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "line": self.line, "is_function": self.is_function,
                "random_ops": list(self.random_ops)}

    @classmethod
    def from_json(cls, data: dict) -> "TransformSummary":
        return cls(name=str(data["name"]), file=str(data["file"]), line=int(data["line"]),
                   is_function=bool(data["is_function"]), random_ops=tuple(str(o) for o in data["random_ops"]))


FUNCTION, CLASS, TRANSFORM = "functions", "classes", "transforms"  # the kinds of summaries
KINDS = {FUNCTION: HelperSummary, CLASS: ClassSummary, TRANSFORM: TransformSummary}


class HelperLookup(Protocol):
    """What the analysis asks of the project (`run.summaries.ProjectHelpers` answers); each
    answer is None when unknown."""

    def helper(self, func: cst.BaseExpression) -> Optional[HelperSummary]:
        """The summary of the project function a call's callee names."""

    def model_class(self, func: cst.BaseExpression) -> Optional[ClassSummary]:
        """The summary of the project model class a constructor call's callee names."""

    def transform(self, expr: cst.BaseExpression, called: bool) -> Optional[TransformSummary]:
        """The random pipeline an imported name holds, or (`called`) a called function returns."""


def defines(text: str, kind: str, name: str) -> bool:
    """The cheap check before parsing a module: it has a `def name(` / `class name` / a
    module-level `name =`."""
    word = re.escape(name)
    if kind == CLASS:
        # and something that makes a model class: an nn.Module base or a forward method
        if not any(sign in text for sign in ("Module", "def forward", "def training_step")):
            return False
        pattern = r"\bclass\s+" + word + r"\b"
    elif kind == TRANSFORM:
        pattern = r"\bdef\s+" + word + r"\s*\(|^" + word + r"\s*(:[^=\n]*)?="
    else:
        pattern = r"\bdef\s+" + word + r"\s*\("
    return re.search(pattern, text, re.M) is not None


def reexports(text: str, name: str) -> List[Tuple[int, str]]:
    """Where a module that does not define `name` takes it from at its top level: `from .net
    import Net`, `from .layers import *` (a package's `__init__.py`), as (level, module), in
    the order Python would look. Empty when it does not, or its text does not parse."""
    if name not in text and "*" not in text:
        return []
    named, stars = _imports_of(text)
    found = named.get(name)
    if found is None:
        return list(stars)
    return [] if found[0] < 0 else [found]


@lru_cache(maxsize=256)
def _imports_of(text: str) -> Tuple[Dict[str, Tuple[int, str]], Tuple[Tuple[int, str], ...]]:
    """The top-level `from ... import` statements of a module (parsed once per text): name ->
    (level, module), the last import of a name winning ((-1, "") for `import Other as name`:
    not followed), and the star-imported modules, the last first."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}, ()
    named: Dict[str, Tuple[int, str]] = {}
    stars: List[Tuple[int, str]] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    stars.insert(0, (node.level, node.module or ""))
                else:
                    local = alias.asname or alias.name
                    named[local] = (node.level, node.module or "") if local == alias.name else (-1, "")
    return named, tuple(stars)


def summarise_module(text: str, module: cst.Module, path: str, file_label: str, config, kind: str) -> Dict[str, object]:
    """The summaries of one kind of one parsed module, by name: its module-level functions
    (`HelperSummary`), its model classes (`ClassSummary`) or its random pipelines
    (`TransformSummary`); each kind is computed only when asked for. A name defined twice,
    a decorated function or class (the decorator may wrap it) or a function with `*args` /
    `**kwargs`: no summary."""
    from trainlint.semantic.context import FileContext

    ctx = FileContext(text, path, module, config)  # no project: one file's facts only
    counts: Dict[str, int] = {}
    for statement in list(ctx.index.of_type(cst.FunctionDef)) + list(ctx.index.of_type(cst.ClassDef)):
        counts[statement.name.value] = counts.get(statement.name.value, 0) + 1
    summarise = {FUNCTION: _functions, CLASS: _classes, TRANSFORM: _transforms}[kind]
    return summarise(ctx, module, counts, file_label)


def _functions(ctx, module: cst.Module, counts: Dict[str, int], file_label: str) -> Dict[str, HelperSummary]:
    if not ctx.models.is_torch_file:
        return {}
    out = {}
    for function in module.body:
        if type(function) is not cst.FunctionDef:
            continue
        name = function.name.value
        params = function.params
        if counts[name] != 1 or function.decorators or params.star_arg not in (None, cst.MaybeSentinel.DEFAULT) \
                or params.star_kwarg is not None or function.asynchronous is not None:
            continue
        out[name] = _summarise(ctx, function, file_label)
    return out


def _classes(ctx, module: cst.Module, counts: Dict[str, int], file_label: str) -> Dict[str, ClassSummary]:
    """The model classes of the module's top level, as its own analysis sees them."""
    out = {}
    for node in module.body:
        if type(node) is cst.ClassDef and counts[node.name.value] == 1 and not node.decorators:
            cls = ctx.models.classes.get(node.name.value)
            if cls is not None:
                out[cls.name] = ClassSummary(cls.name, file_label, ctx.position(node.name).start.line,
                                             cls.lightning, cls.mode_dependent)
    return out


def _transforms(ctx, module: cst.Module, counts: Dict[str, int], file_label: str) -> Dict[str, TransformSummary]:
    """Module-level names bound once to a random pipeline, and functions whose every `return`
    gives one (a pipeline chosen by a condition, `A if train else B`, is not summarised)."""
    if not any(word in ctx.text for word in ("Random", "random_", "albumentations", "Jitter", "Augment", "Flip")):
        return {}
    out = {}
    assigned: Dict[str, int] = {}
    for node in ctx.index.of_type(cst.Assign):
        for target in node.targets:
            if type(target.target) is cst.Name:
                assigned[target.target.value] = assigned.get(target.target.value, 0) + 1
    for statement in module.body:
        if type(statement) is cst.SimpleStatementLine and len(statement.body) == 1 and \
                type(statement.body[0]) is cst.Assign and len(statement.body[0].targets) == 1:
            assign = statement.body[0]
            target = assign.targets[0].target
            if type(target) is not cst.Name or assigned.get(target.value) != 1 or counts.get(target.value) \
                    or re.search(r"\b" + re.escape(target.value) + r"\.transforms?\s*=", ctx.text):
                continue
            ops = _random_ops(ctx, assign.value)
            if ops:
                out[target.value] = TransformSummary(target.value, file_label, ctx.position(target).start.line,
                                                     False, ops)
        elif type(statement) is cst.FunctionDef and counts[statement.name.value] == 1 and \
                not statement.decorators and statement.asynchronous is None:
            returns = [n for n in ctx.index.in_function(statement, cst.Return)
                       if ctx.index.enclosing_function(n) is statement]
            found = [_random_ops(ctx, r.value) if r.value is not None else () for r in returns]
            if found and all(found):
                ops = tuple(dict.fromkeys(op for ops in found for op in ops))
                out[statement.name.value] = TransformSummary(
                    statement.name.value, file_label, ctx.position(statement.name).start.line, True, ops)
    return out


def _random_ops(ctx, value: cst.BaseExpression) -> Tuple[str, ...]:
    """The random transforms of a pipeline expression; none for one chosen by a condition."""
    from trainlint.semantic.names import last_name

    augmentation = ctx.augmentation
    nodes = list(ctx.index.descendants(value))
    if any(type(node) is cst.IfExp for node in nodes):
        return ()
    ops = [last_name(node) or "" for node in nodes if type(node) is cst.Call and augmentation.is_random_op(node)]
    if not ops:
        first = augmentation.random_transform(value)
        ops = [first] if first else []
    return tuple(dict.fromkeys(ops))


def _summarise(ctx, function: cst.FunctionDef, file_label: str) -> HelperSummary:
    modes = ctx.modes
    params = function.params
    positional = tuple(p.name.value for p in list(params.posonly_params) + list(params.params))
    every = positional + tuple(p.name.value for p in params.kwonly_params)
    models = [p for p in every if p in ctx.models.known_keys(function)]
    exit_state = modes.summary_exit(function)
    exits = []
    if exit_state is not None:
        for param in models:
            exits.append((param, tuple(sorted(exit_state.get(param, frozenset({ENTRY}))))))
    evaluates, grad_from_caller = [], []
    body = ctx.code(function)
    deliberate = re.search(r"\.train\s*\(|backward|requires_grad", body) is not None
    for call, entry_modes in modes.entry_mode_forwards(function).items():
        forward = ctx.models.forward_of(call)
        if forward is None or forward.key not in models or deliberate or not modes.evaluation_states(call):
            continue
        if ENTRY in entry_modes and forward.key not in evaluates:
            evaluates.append(forward.key)
        if modes.runs_without_grad(call) is None and forward.key not in grad_from_caller:
            grad_from_caller.append(forward.key)
    line = ctx.position(function.name).start.line
    return HelperSummary(function.name.value, file_label, line, positional, tuple(exits),
                         tuple(evaluates), tuple(grad_from_caller))


class CallTargets:
    """Which project function or class a name of the linted file names, by its import statements:
    `from engine import evaluate [as ev]`, `from .utils import evaluate`, `import utils as U`
    (`U.evaluate`), `from utils import *` (a name this file neither defines nor imports)."""

    def __init__(self, index) -> None:
        self._names: Dict[str, Target] = {}
        self._modules: Dict[str, Tuple[int, str]] = {}
        self._stars: List[Tuple[int, str]] = []
        self._bound = set()
        for node in index.of_type(cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and type(alias.asname.name) is cst.Name:
                    self._modules[alias.asname.name.value] = (0, full)
                    self._bound.add(alias.asname.name.value)
                else:
                    self._modules.setdefault(full, (0, full))
                    self._bound.add(full.split(".")[0])
        for node in index.of_type(cst.ImportFrom):
            self._add_from(node)
        for node in index.of_type(cst.FunctionDef):
            self._bound.add(node.name.value)
        for node in index.of_type(cst.ClassDef):
            self._bound.add(node.name.value)

    def _add_from(self, node: cst.ImportFrom) -> None:
        level = len(node.relative)
        module = dotted_name(node.module) if node.module is not None else ""
        if module is None:
            return
        if type(node.names) is cst.ImportStar:
            self._stars.append((level, module))
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname is not None and type(alias.asname.name) is cst.Name else name
            if local in self._names:
                self._names[local] = (-1, "", "")  # imported twice: which one is unknown
            else:
                self._names[local] = (level, module, name)
            self._bound.add(local)

    def targets(self, func: cst.BaseExpression) -> List[Target]:
        """The candidates, in the order Python would look them up; empty when none."""
        if type(func) is cst.Name:
            target = self._names.get(func.value)
            if target is not None:
                return [] if target[0] < 0 else [target]
            if func.value in self._bound:
                return []
            return [(level, module, func.value) for level, module in reversed(self._stars)]
        if type(func) is cst.Attribute:
            receiver = dotted_name(func.value)
            if receiver is not None and receiver in self._modules:
                level, module = self._modules[receiver]
                return [(level, module, func.attr.value)]
            if receiver is not None and receiver in self._names:
                # `from pkg import utils; utils.evaluate(...)`: a submodule or a name in it
                level, module, name = self._names[receiver]
                if level >= 0:
                    return [(level, f"{module}.{name}" if module else name, func.attr.value)]
        return []

