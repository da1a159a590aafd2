"""Import aliases: map local names to qualified names, cheaply.

`import torch.nn as nn` makes `nn.Dropout` resolve to `torch.nn.Dropout`;
`from sklearn.model_selection import train_test_split as tts` makes `tts` resolve to
`sklearn.model_selection.train_test_split`. This is one pass over the import statements,
not libcst's QualifiedNameProvider (which costs several times the parse). Imports anywhere
in the file count — notebooks and scripts import inside functions and `try` blocks.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import dotted_name

# Modules that re-export the same objects under another path. Rules name the canonical
# path; a resolved name is also tried with these prefixes swapped.
EQUIVALENT_PREFIXES = (
    ("tensorflow.keras.", "keras."),
    ("tf.keras.", "keras."),
    ("sklearn.cross_validation.", "sklearn.model_selection."),
    ("pytorch_lightning.", "lightning.pytorch."),
    ("lightning.", "lightning.pytorch."),
)


class ImportTable:
    def __init__(self, index: ModuleIndex) -> None:
        self.aliases: Dict[str, str] = {}
        self.star_modules: List[str] = []
        self._candidates: Dict[Optional[cst.CSTNode], Tuple[str, ...]] = {}
        for node in index.of_type(cst.Import):
            self._add_import(node)
        for node in index.of_type(cst.ImportFrom):
            self._add_import_from(node)

    def _add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                self.aliases[alias.asname.name.value] = full
            else:
                # `import torch.nn` binds `torch`; attribute access resolves the rest.
                head = full.split(".")[0]
                self.aliases.setdefault(head, head)

    def _add_import_from(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            return  # relative imports point at the user's own package: nothing we know
        module = dotted_name(node.module)
        if module is None:
            return
        if type(node.names) is cst.ImportStar:
            self.star_modules.append(module)
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                local = alias.asname.name.value
            self.aliases[local] = f"{module}.{name}"

    # -- queries --------------------------------------------------------------------------

    @property
    def imports_test_framework(self) -> bool:
        """The module imports pytest or unittest: it holds unit tests, not a training run."""
        return any(full.split(".")[0] in ("pytest", "unittest") for full in self.aliases.values())

    def qualified_name(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """The qualified name of a Name/Attribute chain (or a call's callee) if its head was
        imported; None otherwise."""
        if type(node) is cst.Call:
            node = node.func
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def matches(self, node: Optional[cst.CSTNode], names: Iterable[str]) -> bool:
        """Whether the expression (or call) refers to one of the qualified `names`.

        A name brought in by `from module import *` matches when `module.name` is listed.
        """
        wanted = names if isinstance(names, (set, frozenset)) else set(names)
        for candidate in self.candidates(node):
            if candidate in wanted:
                return True
        return False

    def candidates(self, node: Optional[cst.CSTNode]) -> Tuple[str, ...]:
        """Every qualified name the expression may stand for (aliases and re-exports)."""
        if type(node) is cst.Call:
            node = node.func  # type: ignore[union-attr]
        known = self._candidates.get(node)  # facts ask about the same callees many times
        if known is None:
            known = self._candidates[node] = tuple(self._resolve(node))
        return known

    def _resolve(self, node: Optional[cst.CSTNode]) -> List[str]:
        found: List[str] = []
        qualified = self.qualified_name(node)
        if qualified is not None:
            found.append(qualified)
        elif type(node) is cst.Name and self.star_modules:
            found.extend(f"{module}.{node.value}" for module in self.star_modules)
        for name in list(found):
            for prefix, canonical in EQUIVALENT_PREFIXES:
                if name.startswith(prefix):
                    found.append(canonical + name[len(prefix):])
        return found

    def ends_with(self, node: Optional[cst.CSTNode], module_prefix: str, names: Iterable[str]) -> bool:
        """Whether the expression is `<module_prefix>...<name>` for one of `names`; e.g. any
        classifier under `sklearn.`. Matching by the last part keeps tables short."""
        wanted = set(names)
        for candidate in self.candidates(node):
            if candidate.startswith(module_prefix) and candidate.rsplit(".", 1)[-1] in wanted:
                return True
        return False
