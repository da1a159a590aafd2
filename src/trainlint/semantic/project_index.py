"""Summaries of the functions of a project module, for the files that import them.

`train.py` calls `evaluate(model, val_loader)` imported from `engine.py`: within train.py
the call is state the analysis cannot see, so the mode of `model` becomes unknown and the
rules stay silent. A `HelperSummary` says what the mode analysis of engine.py found about
`evaluate` (the same facts it uses for calls inside engine.py): the mode each model
parameter leaves with, which parameters it runs an evaluation forward pass on in the mode
they came in, and whether that pass relies on its caller to turn autograd off.

Pure: `summarise_module` turns the text of a module into its summaries; `CallTargets`
maps a call of the linted file to (import level, module, function) through its import
statements. Finding and reading the module, and caching its summaries, is `run.summaries`.
Only what the analysis is sure of is summarised; anything else is absent (unknown).
"""

from __future__ import annotations

import re
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


class HelperLookup(Protocol):
    """What the analysis asks of the project (`run.summaries.ProjectHelpers` answers)."""

    def helper(self, func: cst.BaseExpression) -> Optional[HelperSummary]:
        """The summary of the project function a call's callee names, or None: unknown."""


def defines_function(text: str, name: str) -> bool:
    """The cheap check before parsing a module: it has a `def name(`."""
    return re.search(r"\bdef\s+" + re.escape(name) + r"\s*\(", text) is not None


def summarise_module(text: str, module: cst.Module, path: str, file_label: str, config) -> Dict[str, HelperSummary]:
    """The summaries of the module-level functions of one parsed module, by name. A name
    defined twice, a decorated function (the decorator may wrap it) or one with `*args` /
    `**kwargs`: no summary."""
    from trainlint.semantic.context import FileContext

    ctx = FileContext(text, path, module, config)  # no project: one file's facts only
    if not ctx.models.is_torch_file:
        return {}
    top = [s for s in module.body if type(s) is cst.FunctionDef]
    counts: Dict[str, int] = {}
    for statement in ctx.index.of_type(cst.FunctionDef):
        counts[statement.name.value] = counts.get(statement.name.value, 0) + 1
    out = {}
    for function in top:
        name = function.name.value
        params = function.params
        if counts[name] != 1 or function.decorators or params.star_arg not in (None, cst.MaybeSentinel.DEFAULT) \
                or params.star_kwarg is not None or function.asynchronous is not None:
            continue
        out[name] = _summarise(ctx, function, file_label)
    return out


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
    """Which project function a call of the linted file names, by its import statements:
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

