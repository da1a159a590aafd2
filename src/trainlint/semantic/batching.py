"""How PyTorch DataLoaders built in this file batch their data.

For each `DataLoader(...)` assigned to a name (or `self.<name>`): the dataset expression,
whether the last batch can be smaller (`drop_last=True` says no), and whether a sampler
draws a subset of the dataset (`SubsetRandomSampler`, `DistributedSampler`, a
`WeightedRandomSampler` whose `num_samples` is not the dataset length), in which case
`len(loader.dataset)` is not the number of samples the loop sees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import argument, bool_value, dotted_name, keyword_value, last_name

DATALOADER = {"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"}
_SUBSET_SAMPLERS = {"SubsetRandomSampler", "DistributedSampler"}


@dataclass(frozen=True)
class LoaderFacts:
    call: cst.Call
    dataset: Optional[cst.BaseExpression]
    drop_last: Optional[bool]  # None: not a literal
    batch_sampler: bool  # a batch_sampler decides batch sizes: nothing known
    subset_sampler: Optional[str]  # name of a sampler that draws a subset, else None
    single_samples: bool = False  # batch_size=1 or None: a batch is one sample

    @property
    def uneven_last_batch(self) -> bool:
        """The last batch can be smaller than the others (as far as the code shows)."""
        return self.drop_last is False and not self.batch_sampler and not self.single_samples


class LoaderTable:
    def __init__(self, index: ModuleIndex, imports: ImportTable) -> None:
        self._index = index
        self._imports = imports
        self._by_name: Dict[str, List[LoaderFacts]] = defaultdict(list)
        self._by_call: Dict[cst.Call, LoaderFacts] = {}
        self._sampler_values: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        for assign in index.of_type(cst.Assign):
            for target in assign.targets:
                name = dotted_name(target.target)
                if name is not None:
                    self._sampler_values[name].append(assign.value)
        for call in index.of_type(cst.Call):
            if imports.matches(call, DATALOADER):
                facts = self._read(call)
                self._by_call[call] = facts
                parent = index.parent(call)
                if isinstance(parent, cst.Assign):
                    for target in parent.targets:
                        name = dotted_name(target.target)
                        if name is not None:
                            self._by_name[name].append(facts)

    def of_call(self, call: cst.Call) -> Optional[LoaderFacts]:
        return self._by_call.get(call)

    def named(self, name: Optional[str]) -> Optional[LoaderFacts]:
        """The loader a name (`val_loader`, `self.train_dl`) holds, when all of its
        definitions in the file agree on how they batch."""
        if not name:
            return None
        found = self._by_name.get(name, [])
        if not found:
            return None
        first = found[0]
        same = all((f.drop_last, f.batch_sampler, f.subset_sampler) ==
                   (first.drop_last, first.batch_sampler, first.subset_sampler) for f in found)
        return first if same else None

    def _read(self, call: cst.Call) -> LoaderFacts:
        drop_last_value = keyword_value(call, "drop_last")
        drop_last = False if drop_last_value is None else bool_value(drop_last_value)
        return LoaderFacts(
            call=call,
            dataset=argument(call, 0, "dataset"),
            drop_last=drop_last,
            batch_sampler=keyword_value(call, "batch_sampler") is not None,
            subset_sampler=self._subset_sampler(keyword_value(call, "sampler")),
            single_samples=_single_samples(call),
        )

    def _subset_sampler(self, sampler: Optional[cst.BaseExpression]) -> Optional[str]:
        if isinstance(sampler, (cst.Name, cst.Attribute)):
            values = self._sampler_values.get(dotted_name(sampler) or "", [])
            sampler = values[0] if len(values) == 1 else None
        if not isinstance(sampler, cst.Call):
            return None
        name = last_name(sampler)
        if name in _SUBSET_SAMPLERS:
            return name
        if name == "WeightedRandomSampler":
            count = argument(sampler, 1, "num_samples")
            # `num_samples=len(weights)` draws as many samples as there are: not a subset.
            if count is not None and not (isinstance(count, cst.Call) and last_name(count) == "len"):
                return name
        return None


def _single_samples(call: cst.Call) -> bool:
    """`batch_size=1` or `batch_size=None`; the default (1) when no batch size is given."""
    size = argument(call, 1, "batch_size")
    if size is None:
        return keyword_value(call, "batch_sampler") is None
    if isinstance(size, cst.Integer):
        return size.value == "1"
    return isinstance(size, cst.Name) and size.value == "None"
