"""Bindings that reach a read together: the two arms of an `if`.

The data-flow (`dataflow.py`) resolves a name to its latest binding in source order. After

    if scaling:
        series = scaler.fit_transform(raw)
    else:
        series = raw
    train, test = series[:n], series[n:]

the read of `series` sees only the `else` binding, though either arm may have run. For a
binding made inside an arm and read after the `if`, `BranchArms.alternatives` gives the
bindings of the same name that the *other* arm leaves behind (its last one), or, when the
other arm does not bind the name (or there is no `else`), the binding in force before the
`if`. Questions such as "did the fit reach the split?" are then asked of every path, without
changing how the data-flow itself resolves names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.dataflow import Binding, DataFlow
    from trainlint.semantic.index import ModuleIndex

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class BranchArms:
    def __init__(self, flow: "DataFlow", index: "ModuleIndex") -> None:
        self.flow = flow
        self.index = index
        self._by_name: Dict[Tuple[int, str], List["Binding"]] = {}
        for binding in flow.all_bindings:
            self._by_name.setdefault((id(binding.scope), binding.name), []).append(binding)
        for bindings in self._by_name.values():
            bindings.sort(key=lambda b: b.order)
        self._arms: Dict[int, List[Tuple[cst.If, str]]] = {}

    def alternatives(self, binding: "Binding", reader: Optional[cst.CSTNode]) -> List["Binding"]:
        """Bindings of `binding.name` that reach `reader` along the other arm of every `if`
        that holds `binding` but not `reader`."""
        if reader is None or binding.how not in ("assign", "mutate"):
            return []
        found: List["Binding"] = []
        for statement, arm in self._enclosing_arms(binding):
            if self.index.is_inside(reader, statement):
                break  # the read is inside this `if` too: the arm decides, no alternative
            other = statement.orelse if arm == "body" else statement.body
            found.extend(self._leaving(binding, statement, other))
        return [b for b in found if b is not binding]

    # -- helpers ------------------------------------------------------------------------

    def _enclosing_arms(self, binding: "Binding") -> List[Tuple[cst.If, str]]:
        """The `if` statements around the binding (innermost first, within its scope), each
        with the arm ("body" / "orelse") that holds it."""
        cached = self._arms.get(id(binding))
        if cached is not None:
            return cached
        arms: List[Tuple[cst.If, str]] = []
        child: cst.CSTNode = binding.node
        for ancestor in self.index.ancestors(binding.node):
            if type(ancestor) in _SCOPES:
                break
            if type(ancestor) is cst.If:
                if child is ancestor.body:
                    arms.append((ancestor, "body"))
                elif child is ancestor.orelse:
                    arms.append((ancestor, "orelse"))
            child = ancestor
        self._arms[id(binding)] = arms
        return arms

    def _leaving(self, binding: "Binding", statement: cst.If, arm: Optional[cst.CSTNode]) -> List["Binding"]:
        """What the name holds when `arm` of `statement` (a block, an `else`, or an `elif`
        with arms of its own) has run."""
        if type(arm) is cst.If:  # elif
            return self._leaving(binding, statement, arm.body) + self._leaving(binding, statement, arm.orelse)
        same = self._by_name.get((id(binding.scope), binding.name), [])
        inside = [b for b in same if arm is not None and self.index.is_inside(b.node, arm)]
        if inside:
            return [inside[-1]]
        before = [b for b in same if b.order < self.flow.order_of(statement)]
        return [before[-1]] if before else []


__all__ = ["BranchArms"]
