"""Where evaluation data goes after it is built (`ctx.data_uses`).

A dataset or loader named "valid" or "test" is only evidence of a misleading figure when a
figure is computed on it. `reaches_evaluation(bindings)` follows the data forward from the
bindings that hold it, reading each place a name is read:

- assigned again, also through a call that builds a dataset or loader from it
  (`loader = DataLoader(part)`, `batch = next(iter(loader))`): the new bindings are followed;
- a pass over all of it (`for xb, yb in loader:` without an immediate `break`), or handed to
  any other call (`evaluate(model, loader)`, `trainer.fit(model, train, loader)`,
  `model.fit(..., validation_data=ds)`): an evaluation, unless the call only inspects it
  (`len`, `print`, `type`, plotting);
- one batch taken for display (`next(iter(loader))`, a loop that breaks at once): an
  evaluation only if a metric function reads what is computed from it.

Data that is never read, or read only by such inspections, reaches no evaluation. Anything
the walk cannot follow (an attribute or subscript target, a read outside a statement it
understands) counts as reaching one: the default is the finding, not silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.dataflow import Binding
from trainlint.semantic.names import last_name
from trainlint.vocab.evaluation import METRIC_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

# Calls that look at data without computing a figure from it.
_INSPECTIONS = frozenset({"len", "print", "type", "repr", "str", "id", "isinstance", "display",
                          "imshow", "show", "make_grid", "plot", "set_title", "set_xlabel"})
# Calls whose result is (part of) the data itself: followed, not a use.
_WRAPPERS = frozenset({"iter", "next", "enumerate", "tqdm", "islice", "list", "zip"})

# Libraries whose calls build datasets and loaders out of their arguments.
_DATA_BUILDERS = ("torch.utils.data.", "torchvision.datasets.", "tensorflow.data.", "tf.data.")

WHOLE, BATCH = "whole", "batch"  # the data followed: all of it, or one batch for display


class DataUses:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx
        self._reads: Optional[Dict[int, List[cst.Name]]] = None

    def reaches_evaluation(self, bindings: Iterable[Binding]) -> bool:
        start = [(b, WHOLE) for b in bindings]
        if not start:
            return True  # nothing to follow: the data is used where it is built
        seen: Set[Tuple[int, str]] = set()
        while start:
            binding, mode = start.pop()
            if (id(binding), mode) in seen:
                continue
            seen.add((id(binding), mode))
            for name in self.reads(binding):
                verdict, followed = self._read(name, mode)
                if verdict:
                    return True
                start.extend(followed)
        return False

    def reads(self, binding: Binding) -> List[cst.Name]:
        """The names, anywhere in the file, that read this binding."""
        if self._reads is None:
            self._reads = self._all_reads()
        return self._reads.get(id(binding), [])

    # -- one read ----------------------------------------------------------------------------

    def _read(self, name: cst.Name, mode: str) -> Tuple[bool, List[Tuple[Binding, str]]]:
        """(reaches an evaluation here, the bindings to follow on)."""
        ctx = self._ctx
        node: cst.CSTNode = name
        for parent in ctx.index.ancestors(name):
            if type(parent) is cst.Call and node is not parent.func:
                callee = last_name(parent) or ""
                if mode == BATCH or callee in _WRAPPERS or self._builds_data(parent):
                    if self._is_metric(parent):
                        return True, []
                    if callee in _INSPECTIONS:
                        return False, []
                    node = parent
                    continue
                if callee in _INSPECTIONS:
                    return False, []
                return True, []
            if type(parent) is cst.For and node is parent.iter:
                taken = BATCH if mode == BATCH or _breaks_at_once(parent) else WHOLE
                if taken == WHOLE:
                    return True, []
                return False, [(b, BATCH) for b in self._loop_targets(parent)]
            if type(parent) in (cst.Assign, cst.AnnAssign) and node is parent.value:
                followed = ctx.dataflow.bindings_assigned_from(parent)
                if not followed or any(b.how == "mutate" for b in followed):
                    return True, []  # an attribute or item target: not followed
                after_next = mode == BATCH or _takes_one(parent.value)
                return False, [(b, BATCH if after_next else mode) for b in followed]
            if isinstance(parent, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                # an expression statement, return, if ...: a use, unless it is one batch
                return mode != BATCH, []
            node = parent
        return mode != BATCH, []

    def _builds_data(self, call: cst.Call) -> bool:
        """`DataLoader(part)`, `Subset(ds, idx)`: the result is the data, followed on."""
        return any(c.startswith(_DATA_BUILDERS) for c in self._ctx.imports.candidates(call))

    def _is_metric(self, call: cst.Call) -> bool:
        return any(c.startswith(METRIC_PREFIX) for c in self._ctx.imports.candidates(call))

    def _loop_targets(self, loop: cst.For) -> List[Binding]:
        flow = self._ctx.dataflow
        return [flow.binding_of_target[n] for n in _names(loop.target) if n in flow.binding_of_target]

    def _all_reads(self) -> Dict[int, List[cst.Name]]:
        ctx = self._ctx
        flow = ctx.dataflow
        reads: Dict[int, List[cst.Name]] = {}
        for name in ctx.index.of_type(cst.Name):
            if name in flow.binding_of_target or not _is_load(ctx, name):
                continue
            for binding in flow.resolve_name(name.value, name):
                reads.setdefault(id(binding), []).append(name)
        return reads


def _is_load(ctx: "FileContext", name: cst.Name) -> bool:
    parent = ctx.index.parent(name)
    if type(parent) is cst.Attribute and parent.attr is name:
        return False
    if type(parent) is cst.Arg and parent.keyword is name:
        return False
    if type(parent) in (cst.FunctionDef, cst.ClassDef, cst.Param, cst.ImportAlias):
        return False
    return True


def _takes_one(value: cst.BaseExpression) -> bool:
    """`next(iter(loader))`, `next(loader_iter)`: one batch."""
    return type(value) is cst.Call and last_name(value) == "next"


def _breaks_at_once(loop: cst.For) -> bool:
    """`for xb, yb in loader: break`: the loop takes the first batch only."""
    body = loop.body.body if type(loop.body) is cst.IndentedBlock else []
    for statement in body:
        if type(statement) is cst.SimpleStatementLine and any(type(s) is cst.Break for s in statement.body):
            return True
    return False


def _names(target: cst.BaseExpression) -> List[cst.Name]:
    if type(target) is cst.Name:
        return [target]
    if type(target) in (cst.Tuple, cst.List):
        return [n for e in target.elements for n in _names(e.value)]
    return []

