"""How the batch sources built in this file batch their data.

A *batch source* is what a batch loop iterates over: a PyTorch `DataLoader` (also PyTorch
Geometric's, which takes the same arguments), a legacy torchtext iterator (`Iterator`,
`BucketIterator`, `BPTTIterator`, or one of the tuple that their `.splits(...)` returns), or a
Ray Data `ds.iter_torch_batches(...)`. For each one assigned to a name (or `self.<name>`, or
one name of a tuple target): the dataset expression, whether the last batch can be smaller
(`drop_last=True` says no; torchtext iterators have no such option and always yield the
remainder), and whether a sampler draws a subset of the dataset (`SubsetRandomSampler`,
`DistributedSampler`, a `WeightedRandomSampler` whose `num_samples` is not the dataset
length), in which case `len(loader.dataset)` is not the number of samples the loop sees.
A `**kwargs` argument may hold `drop_last`: whether the last batch is ragged is then unknown.
When the code states the dataset length and the batch size and one divides the other
(semantic/dataset_sizes.py), every batch has the same size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.dataset_sizes import SizeTable
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import argument, bool_value, dotted_name, keyword_value, last_name

DATALOADER = {
    "torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader",
    # PyTorch Geometric's loader collates graphs; its batching arguments are DataLoader's
    "torch_geometric.loader.DataLoader", "torch_geometric.data.DataLoader",
    "torch_geometric.loader.dataloader.DataLoader",
}
# legacy torchtext (`torchtext.data` before 0.9, `torchtext.legacy.data` after)
_TORCHTEXT_ITERATORS = {f"{package}.{name}" for package in ("torchtext.data", "torchtext.legacy.data")
                        for name in ("Iterator", "BucketIterator", "BPTTIterator")}
_TORCHTEXT_SPLITS = {f"{name}.splits" for name in _TORCHTEXT_ITERATORS}
# Ray Data's `Dataset.iter_torch_batches(batch_size=256, drop_last=False)`
_RAY_BATCH_METHODS = {"iter_torch_batches"}
_SUBSET_SAMPLERS = {"SubsetRandomSampler", "DistributedSampler"}


@dataclass(frozen=True)
class LoaderFacts:
    call: cst.Call
    dataset: Optional[cst.BaseExpression]
    drop_last: Optional[bool]  # None: not a literal, or possibly inside **kwargs
    batch_sampler: bool  # a batch_sampler decides batch sizes: nothing known
    subset_sampler: Optional[str]  # name of a sampler that draws a subset, else None
    single_samples: bool = False  # batch_size=1 or None: a batch is one sample
    source: str = "DataLoader"  # "DataLoader" | "torchtext" | "ray"
    # the code states a dataset length that is a multiple of the batch size
    equal_batches: bool = False

    @property
    def uneven_last_batch(self) -> bool:
        """The last batch can be smaller than the others (as far as the code shows)."""
        return (self.drop_last is False and not self.batch_sampler and not self.single_samples
                and not self.equal_batches)

    @property
    def why_uneven(self) -> str:
        """Why the last batch can be smaller, in the words of the source's own API."""
        if self.source == "torchtext":
            return "a torchtext iterator yields the remainder as a smaller last batch"
        return "no drop_last=True"


class LoaderTable:
    def __init__(self, index: ModuleIndex, imports: ImportTable) -> None:
        self._index = index
        self._imports = imports
        self._by_name: Dict[str, List[LoaderFacts]] = defaultdict(list)
        # (enclosing function or None, name): the same, per scope
        self._by_scope: Dict[Tuple[Optional[cst.CSTNode], str], List[LoaderFacts]] = defaultdict(list)
        self._by_call: Dict[cst.Call, LoaderFacts] = {}
        self._sizes = SizeTable(index, imports)
        self._sampler_values: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        for assign in index.of_type(cst.Assign):
            for target in assign.targets:
                name = dotted_name(target.target)
                if name is not None:
                    self._sampler_values[name].append(assign.value)
        for call in index.of_type(cst.Call):
            for name, facts in self._named_sources(call):
                self._by_call.setdefault(call, facts)
                if name is not None:
                    self._by_name[name].append(facts)
                    self._by_scope[(index.enclosing_function(call), name)].append(facts)

    def of_call(self, call: cst.Call) -> Optional[LoaderFacts]:
        return self._by_call.get(call)

    def named(self, name: Optional[str], function: Optional[cst.CSTNode] = None) -> Optional[LoaderFacts]:
        """The loader a name (`val_loader`, `self.train_dl`) holds, when all of its
        definitions agree on how they batch: the definitions in `function` when it binds the
        name itself (a local shadows the others), else all definitions in the file."""
        if not name:
            return None
        found = self._by_scope.get((function, name), []) if function is not None else []
        if not found:
            found = self._by_name.get(name, [])
        if not found:
            return None
        first = found[0]
        same = all((f.drop_last, f.batch_sampler, f.subset_sampler) ==
                   (first.drop_last, first.batch_sampler, first.subset_sampler) for f in found)
        return first if same else None

    # -- which calls make batch sources, and the names they are bound to --------------------

    def _named_sources(self, call: cst.Call) -> Iterator[Tuple[Optional[str], LoaderFacts]]:
        if self._imports.matches(call, DATALOADER):
            yield from self._bound(call, self._dataloader(call))
        elif self._imports.matches(call, _TORCHTEXT_ITERATORS):
            yield from self._bound(call, self._torchtext(call, argument(call, 0, "dataset"),
                                                         argument(call, 1, "batch_size")))
        elif self._imports.matches(call, _TORCHTEXT_SPLITS):
            yield from self._torchtext_splits(call)
        elif type(call.func) is cst.Attribute and call.func.attr.value in _RAY_BATCH_METHODS:
            yield from self._bound(call, self._ray(call))

    def _bound(self, call: cst.Call, facts: LoaderFacts) -> Iterator[Tuple[Optional[str], LoaderFacts]]:
        """`loader = DataLoader(...)`, or one element of `a, b = DataLoader(x), DataLoader(y)`."""
        parent = self._index.parent(call)
        if type(parent) is cst.Assign:
            names = [dotted_name(target.target) for target in parent.targets]
        elif type(parent) is cst.Element:
            names = [self._tuple_target_name(parent)]
        else:
            names = []
        found = [name for name in names if name is not None]
        if not found:
            yield None, facts
        for name in found:
            yield name, facts

    def _tuple_target_name(self, element: cst.Element) -> Optional[str]:
        values = self._index.parent(element)
        assign = self._index.parent(values) if type(values) is cst.Tuple else None
        if type(assign) is not cst.Assign or assign.value is not values or len(assign.targets) != 1:
            return None
        names = _tuple_names(assign.targets[0].target, len(values.elements))
        position = list(values.elements).index(element)
        return names[position] if names is not None else None

    # -- each kind of source ----------------------------------------------------------------

    def _dataloader(self, call: cst.Call) -> LoaderFacts:
        dataset = argument(call, 0, "dataset")
        return LoaderFacts(
            call=call,
            dataset=dataset,
            drop_last=_drop_last(call),
            batch_sampler=keyword_value(call, "batch_sampler") is not None,
            subset_sampler=self._subset_sampler(keyword_value(call, "sampler")),
            single_samples=_single_samples(call),
            equal_batches=self._equal_batches(call, dataset),
        )

    def _equal_batches(self, call: cst.Call, dataset: Optional[cst.BaseExpression]) -> bool:
        """The dataset length is a multiple of the batch size (both stated in the code), and
        no sampler picks another number of samples."""
        if keyword_value(call, "sampler") is not None or keyword_value(call, "batch_sampler") is not None:
            return False
        batch = self._sizes.integer(argument(call, 1, "batch_size"))
        length = self._sizes.length(dataset)
        return bool(batch) and length is not None and length % batch == 0  # type: ignore[operator]

    @staticmethod
    def _torchtext(call: cst.Call, dataset: Optional[cst.BaseExpression],
                   batch_size: Optional[cst.BaseExpression]) -> LoaderFacts:
        """A legacy torchtext iterator always yields the remainder as a last, smaller batch;
        with `batch_size_fn` it batches by tokens, so every batch differs anyway."""
        opaque = _has_double_star(call)
        return LoaderFacts(
            call=call,
            dataset=dataset,
            drop_last=None if opaque else False,
            batch_sampler=False,
            subset_sampler=None,
            single_samples=_is_one(batch_size) and keyword_value(call, "batch_size_fn") is None,
            source="torchtext",
        )

    def _torchtext_splits(self, call: cst.Call) -> Iterator[Tuple[Optional[str], LoaderFacts]]:
        """`train_it, val_it, test_it = BucketIterator.splits((tr, va, te), batch_size=64)`."""
        parent = self._index.parent(call)
        datasets = argument(call, 0, "datasets")
        parts = list(datasets.elements) if type(datasets) in (cst.Tuple, cst.List) else None
        sizes = keyword_value(call, "batch_sizes")
        size_parts = list(sizes.elements) if type(sizes) in (cst.Tuple, cst.List) else None
        if type(parent) is not cst.Assign or len(parent.targets) != 1 or parts is None:
            return
        names = _tuple_names(parent.targets[0].target, len(parts))
        if names is None:
            return
        for position, name in enumerate(names):
            if name is None:
                continue
            size = keyword_value(call, "batch_size")
            if size_parts is not None and position < len(size_parts):
                size = size_parts[position].value
            yield name, self._torchtext(call, parts[position].value, size)

    @staticmethod
    def _ray(call: cst.Call) -> LoaderFacts:
        receiver = call.func.value if type(call.func) is cst.Attribute else None
        return LoaderFacts(
            call=call,
            dataset=receiver,
            drop_last=_drop_last(call),
            batch_sampler=False,
            subset_sampler=None,
            single_samples=_is_one(keyword_value(call, "batch_size")),
            source="ray",
        )

    def _subset_sampler(self, sampler: Optional[cst.BaseExpression]) -> Optional[str]:
        if type(sampler) in (cst.Name, cst.Attribute):
            values = self._sampler_values.get(dotted_name(sampler) or "", [])
            sampler = values[0] if len(values) == 1 else None
        if type(sampler) is not cst.Call:
            return None
        name = last_name(sampler)
        if name in _SUBSET_SAMPLERS:
            return name
        if name == "WeightedRandomSampler":
            count = argument(sampler, 1, "num_samples")
            # `num_samples=len(weights)` draws as many samples as there are: not a subset.
            if count is not None and not (type(count) is cst.Call and last_name(count) == "len"):
                return name
        return None


def _drop_last(call: cst.Call) -> Optional[bool]:
    """False when absent (the default), the literal when given, None when unknown."""
    value = keyword_value(call, "drop_last")
    if value is not None:
        return bool_value(value)
    return None if _has_double_star(call) else False


def _has_double_star(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def _single_samples(call: cst.Call) -> bool:
    """`batch_size=1` or `batch_size=None`; the default (1) when no batch size is given."""
    size = argument(call, 1, "batch_size")
    if size is None:
        return keyword_value(call, "batch_sampler") is None
    if type(size) is cst.Integer:
        return size.value == "1"
    return type(size) is cst.Name and size.value == "None"


def _is_one(node: Optional[cst.BaseExpression]) -> bool:
    return type(node) is cst.Integer and node.value == "1"


def _tuple_names(target: cst.BaseExpression, count: int) -> Optional[List[Optional[str]]]:
    """The dotted names of a flat tuple/list target of `count` elements (None where an
    element is not a name), or None when the target is not such a tuple."""
    if type(target) not in (cst.Tuple, cst.List) or len(target.elements) != count:
        return None
    if any(type(element) is cst.StarredElement for element in target.elements):
        return None
    return [dotted_name(element.value) for element in target.elements]


__all__ = ["DATALOADER", "LoaderFacts", "LoaderTable"]
