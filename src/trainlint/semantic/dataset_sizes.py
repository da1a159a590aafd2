"""Sizes the code states: how many samples a dataset expression holds and how large a batch
is, when they are literals or follow from literals. Used to see that a loader's batches all
have the same size (the dataset length is a multiple of the batch size), so that averaging
their means is exact.

Known: the standard torchvision image sets by `train=` (MNIST, Fashion-MNIST, KMNIST:
60,000 / 10,000; CIFAR-10 / CIFAR-100: 50,000 / 10,000), `Subset(ds, range(a, b))` and
index lists written out, `TensorDataset(x[a:b], ...)` slices with literal bounds, the
literal lengths of `random_split(ds, [n1, n2])`, and names bound once in the file to any
of these (or, for batch sizes, to an integer). Anything else is unknown (None): the caller
then keeps assuming the last batch may be smaller.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import argument, bool_value, dotted_name, last_name, positional_args

# torchvision dataset -> (length with train=True, length with train=False)
_TORCHVISION_SIZES = {
    "MNIST": (60_000, 10_000), "FashionMNIST": (60_000, 10_000), "KMNIST": (60_000, 10_000),
    "CIFAR10": (50_000, 10_000), "CIFAR100": (50_000, 10_000),
}
_TORCHVISION = {f"torchvision.datasets.{name}" for name in _TORCHVISION_SIZES}
_SUBSET = {"torch.utils.data.Subset", "torch.utils.data.dataset.Subset"}
_TENSOR_DATASET = {"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"}
_RANDOM_SPLIT = {"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"}
_MAX_DEPTH = 5


class SizeTable:
    def __init__(self, index: ModuleIndex, imports: ImportTable) -> None:
        self._imports = imports
        # name -> values bound to it anywhere in the file (whole target, or one element of a
        # tuple target: (call, position))
        self._values: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        self._unpacked: Dict[str, List[Tuple[cst.BaseExpression, int]]] = defaultdict(list)
        for assign in index.of_type(cst.Assign):
            for target in assign.targets:
                self._record(target.target, assign.value)
        for assign in index.of_type(cst.AnnAssign):
            if assign.value is not None:
                self._record(assign.target, assign.value)

    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        name = dotted_name(target)
        if name is not None:
            self._values[name].append(value)
        elif type(target) in (cst.Tuple, cst.List):
            for position, element in enumerate(target.elements):
                element_name = dotted_name(element.value)
                if element_name is not None:
                    self._unpacked[element_name].append((value, position))

    # -- public ---------------------------------------------------------------------------

    def integer(self, expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[int]:
        """A literal integer (`64`, `1_000`), or a name bound once in the file to one."""
        if expr is None or depth > _MAX_DEPTH:
            return None
        if type(expr) is cst.Integer:
            try:
                return int(expr.value.replace("_", ""), 0)
            except ValueError:
                return None
        value = self._single_value(expr)
        return self.integer(value, depth + 1) if value is not None else None

    def length(self, expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[int]:
        """How many samples the dataset expression holds, when the code states it."""
        if expr is None or depth > _MAX_DEPTH:
            return None
        if type(expr) is cst.Call:
            return self._call_length(expr, depth)
        name = dotted_name(expr)
        if name is None:
            return None
        value = self._single_value(expr)
        if value is not None:
            return self.length(value, depth + 1)
        unpacked = self._unpacked.get(name, [])
        if len(unpacked) == 1 and not self._values.get(name):
            call, position = unpacked[0]
            return self._split_length(call, position)
        return None

    # -- helpers --------------------------------------------------------------------------

    def _single_value(self, expr: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        name = dotted_name(expr)
        if name is None:
            return None
        values = self._values.get(name, [])
        return values[0] if len(values) == 1 and not self._unpacked.get(name) else None

    def _call_length(self, call: cst.Call, depth: int) -> Optional[int]:
        if self._imports.matches(call, _TORCHVISION):
            train = bool_value(argument(call, 1, "train")) if argument(call, 1, "train") is not None else True
            if train is None:
                return None
            sizes = _TORCHVISION_SIZES[last_name(call.func) or ""]
            return sizes[0] if train else sizes[1]
        if self._imports.matches(call, _SUBSET):
            return self._count(argument(call, 1, "indices"), depth + 1)
        if self._imports.matches(call, _TENSOR_DATASET):
            lengths = {self._rows(arg.value) for arg in positional_args(call)}
            return lengths.pop() if len(lengths) == 1 else None
        return None

    def _split_length(self, call: cst.BaseExpression, position: int) -> Optional[int]:
        """Element `position` of `random_split(ds, [n1, n2, ...])` with integer lengths."""
        if type(call) is not cst.Call or not self._imports.matches(call, _RANDOM_SPLIT):
            return None
        lengths = argument(call, 1, "lengths")
        if type(lengths) not in (cst.List, cst.Tuple) or position >= len(lengths.elements):
            return None
        return self.integer(lengths.elements[position].value)

    def _count(self, indices: Optional[cst.BaseExpression], depth: int) -> Optional[int]:
        """How many indices: `range(a, b)`, `range(n)`, a written-out list."""
        if indices is None or depth > _MAX_DEPTH:
            return None
        if type(indices) in (cst.List, cst.Tuple):
            if any(type(element) is cst.StarredElement for element in indices.elements):
                return None
            return len(indices.elements)
        if type(indices) is cst.Call and last_name(indices.func) == "range" and dotted_name(indices.func) == "range":
            args = positional_args(indices)
            bounds = [self.integer(arg.value) for arg in args]
            if len(args) == 1 and bounds[0] is not None:
                return max(bounds[0], 0)
            if len(args) == 2 and None not in bounds:
                return max(bounds[1] - bounds[0], 0)  # type: ignore[operator]
            return None
        value = self._single_value(indices)
        return self._count(value, depth + 1) if value is not None else None

    def _rows(self, expr: cst.BaseExpression) -> Optional[int]:
        """`x[a:b]` / `x[:b]` with integer bounds (and no step)."""
        if type(expr) is not cst.Subscript or len(expr.slice) < 1:
            return None
        first = expr.slice[0].slice
        if type(first) is not cst.Slice or first.step is not None or first.upper is None:
            return None
        lower = self.integer(first.lower) if first.lower is not None else 0
        upper = self.integer(first.upper)
        if lower is None or upper is None or lower < 0 or upper < 0:
            return None
        return max(upper - lower, 0)


__all__ = ["SizeTable"]
