"""Roles and identities of the data an expression is computed on.

`DataRoles.role(expr)` says whether an expression is computed on validation or test data:
from names (`val_acc`, `x_test`), subscripts (`ds["validation"]`), the data a call receives
(`evaluate(model, test_loader)`, `DataLoader(val_ds)`), and the values a name was assigned
(`eval_dataset = tokenized["test"]` is test data whatever its name says). `DataRoles.key(expr)`
names the data set itself (`x_test`, `y_test`, `test_loader`, `ds["test"]` → "test"), so that
two evaluations can be told apart as "the same held-out set" or "another one".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import assigned_targets, dotted_name, last_name, string_value
from trainlint.semantic.roles import TEST, TRAIN, VALIDATION, name_role, name_tokens

HELD_OUT = (VALIDATION, TEST)

# Tokens that say what kind of object holds the data, not which data: dropped from keys.
_NOISE_TOKENS = {
    "x", "y", "xs", "ys", "set", "sets", "loader", "loaders", "data", "dataset", "datasets",
    "ds", "dl", "gen", "generator", "iter", "df", "frame", "split", "images", "labels",
    "features", "targets", "batch", "batches", "samples", "inputs", "texts", "seqs", "idx",
    "indices", "ids", "files", "paths", "acc", "loss", "losses", "accs", "score", "scores",
    "metrics", "preds", "predictions", "results", "scaled", "norm", "normalized", "tokenized",
    "encoded", "processed", "tensor", "tensors", "np", "arr", "array", "tf", "torch", "pad",
    "padded", "seq", "img", "imgs", "image", "label", "input", "target", "text", "enc", "t",
    "final", "dataloader", "dataloaders", "tokens", "encodings", "tfds", "pd", "raw", "clean",
    "sequences", "iterator", "iterators",
}
_ROLE_WORDS = ("test", "testing", "holdout", "val", "valid", "validation", "dev", "eval")


class DataRoles:
    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        # plain name -> values written to it (assignments, `d[k] = v`, `lst.append(v)`)
        self._values: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        # (name, depth) -> roles: a name's roles depend only on its assigned values, and a
        # long module assigns `x`, `y`, `net` hundreds of times, so following the values
        # of values unmemoized grows as (assignments per name) ** depth.
        self._name_roles: Dict[Tuple[str, int], Set[str]] = {}
        self._collect()

    def _collect(self) -> None:
        for assign in self.index.of_type(cst.Assign):
            for target in assign.targets:
                for single in assigned_targets(target.target):
                    if isinstance(single, cst.Subscript) and isinstance(single.value, cst.Name):
                        self._values[single.value.value].append(assign.value)
                    elif isinstance(single, cst.Name) and single is target.target:
                        self._values[single.value].append(assign.value)
        for call in self.index.of_type(cst.Call):
            if last_name(call) in ("append", "extend", "add") and isinstance(call.func, cst.Attribute):
                container = call.func.value
                if isinstance(container, cst.Name) and call.args:
                    self._values[container.value].append(call.args[0].value)

    def values(self, name: str) -> List[cst.BaseExpression]:
        return self._values.get(name, [])

    # -- roles ----------------------------------------------------------------------------

    def role(self, node: Optional[cst.CSTNode], depth: int = 0) -> Optional[str]:
        """VALIDATION / TEST / TRAIN when the expression shows one role, else None."""
        roles = self._roles(node, depth)
        return roles.pop() if len(roles) == 1 else None

    def _roles(self, node: Optional[cst.CSTNode], depth: int) -> Set[str]:
        # `depth` counts hops from a name to its assigned values; the walk down an
        # expression itself is bounded by the expression.
        if node is None:
            return set()
        if isinstance(node, cst.Name):
            memo_key = (node.value, depth)
            if memo_key not in self._name_roles:
                self._name_roles[memo_key] = self._name_roles_uncached(node.value, depth)
            return set(self._name_roles[memo_key])
        if isinstance(node, cst.Attribute):
            named = name_role(node.attr.value)
            return {named} if named else self._roles(node.value, depth)
        if isinstance(node, cst.Subscript):
            index = _subscript_string(node)
            named = name_role(index) if index is not None else None
            if isinstance(node.value, cst.Attribute) and node.value.attr.value == "cv_results_":
                return {VALIDATION}  # `search.cv_results_["mean_test_score"]`: CV folds
            key_name = _index_name(node) if named is None and index is None else None
            if key_name is not None and self._holds_strings(key_name.value):
                by_key = self._roles(key_name, depth)  # `encoded[validation_key]`
                if len(by_key) == 1:
                    return by_key
            if named == TEST and self._is_split_output(node.value):
                # `splits["test"]` of `Dataset.train_test_split` is whatever part was held out;
                # the name the author binds it to (`val_ds`, `test_ds`) says which.
                return set()
            return {named} if named else self._roles(node.value, depth)
        if isinstance(node, cst.Call):
            named = name_role(last_name(node))
            if named:
                return {named}
            declared = _declared_split(node)
            if declared is not None:
                return {declared}
            found: Set[str] = set()
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in NOT_DATA_KEYWORDS:
                    continue
                if isinstance(arg.value, cst.Name) and _names_a_transform(arg.value.value):
                    continue  # `ImageFolder(valid_dir, test_transforms)`: how, not which data
                found |= self._roles(arg.value, depth)
            if not found and isinstance(node.func, cst.Attribute):  # `x_test.mean()`
                found = self._roles(node.func.value, depth)
            return found
        if isinstance(node, cst.DictElement):
            named = name_role(string_value(node.key))
            return {named} if named else self._roles(node.value, depth)
        if isinstance(node, (cst.Lambda, cst.SimpleString, cst.FormattedString)):
            return set()
        found = set()
        for child in node.children:
            found |= self._roles(child, depth)
        return found

    def _name_roles_uncached(self, name: str, depth: int) -> Set[str]:
        from_values: Set[str] = set()
        if depth < 3:
            for value in self.values(name):
                from_values |= self._roles(value, depth + 1)
        named = name_role(name)
        if from_values == {TRAIN} and named in HELD_OUT and all(_is_part_of(v) for v in self.values(name)):
            return {named}  # `X_valid = X_train_full[:5000]`: held out of the training data
        if len(from_values) == 1:
            return from_values
        return {named} if named else set()

    def _holds_strings(self, name: str) -> bool:
        """Every value assigned to `name` is a string (`key = "validation" if a else "dev"`)."""
        values = self.values(name)
        return bool(values) and all(_is_string_choice(value) for value in values)

    def _is_split_output(self, node: cst.BaseExpression) -> bool:
        """`splits` in `splits["test"]` holds the result of a `train_test_split` call."""
        return isinstance(node, cst.Name) and any(
            isinstance(value, cst.Call) and last_name(value) == "train_test_split"
            for value in self.values(node.value)
        )

    def held_out_role(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        role = self.role(node)
        return role if role in HELD_OUT else None

    # -- identities -----------------------------------------------------------------------

    def key(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """Which data set: `x_test`, `y_test`, `test_loader`, `ds["test"]` → "test"."""
        if node is None:
            return None
        if isinstance(node, cst.Name):
            return _name_key(node.value)
        if isinstance(node, cst.Attribute):
            if name_role(node.attr.value) is None:  # `image.size`, `test_ds.data`: the owner's
                return self.key(node.value)
            return _name_key(node.attr.value)
        if isinstance(node, cst.Subscript):
            index = _subscript_string(node)
            return _name_key(index) if index is not None else self.key(node.value)
        if isinstance(node, (cst.Tuple, cst.List)) and node.elements:
            return self.key(node.elements[0].value)
        if isinstance(node, cst.Call):
            for arg in node.args:
                if arg.keyword is None and self.role(arg.value) is not None:
                    return self.key(arg.value)
            return _name_key(last_name(node) or "")
        return None


NOT_DATA_KEYWORDS = {"transform", "transforms", "target_transform", "collate_fn", "sampler_kwargs"}
_TRANSFORM_TOKENS = {"transform", "transforms", "tfms", "tfm", "augment", "augmentation", "aug", "augs"}


def _names_a_transform(name: str) -> bool:
    return bool(_TRANSFORM_TOKENS & set(name_tokens(name)))


def _declared_split(call: cst.Call) -> Optional[str]:
    """The split a data set constructor asks for: `split="test"`, torchvision's `train=False`
    (the test set), or a folder path ending in `valid` / `test`."""
    for arg in call.args:
        if arg.keyword is None:
            text = string_value(arg.value)
            if text and "/" in text.strip("/"):
                role = name_role(text.rstrip("/").rsplit("/", 1)[-1])
                if role is not None:
                    return role
            continue
        if arg.keyword.value == "split":
            role = name_role(string_value(arg.value))
            if role is not None:
                return role
        if arg.keyword.value == "train" and isinstance(arg.value, cst.Name) \
                and arg.value.value in ("True", "False"):
            return TRAIN if arg.value.value == "True" else TEST
    return None


SUBSET_CALLS = {"Subset", "take", "skip", "select", "shard", "sample", "head", "tail"}


def _is_part_of(value: cst.BaseExpression) -> bool:
    """A slice or subset of the data it reads (`data[:n]`, `data.iloc[idx]`, `Subset(ds, idx)`)."""
    if isinstance(value, cst.Subscript):
        return _subscript_string(value) is None
    return isinstance(value, cst.Call) and last_name(value) in SUBSET_CALLS


def _is_string_choice(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.IfExp):
        return _is_string_choice(node.body) and _is_string_choice(node.orelse)
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


def _index_name(node: cst.Subscript) -> Optional[cst.Name]:
    """`idx` in `data[idx]` (one plain name as the index), else None."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) \
            and isinstance(node.slice[0].slice.value, cst.Name):
        return node.slice[0].slice.value
    return None


def _subscript_string(node: cst.Subscript) -> Optional[str]:
    if len(node.slice) != 1:
        return None
    element = node.slice[0].slice
    if isinstance(element, cst.Index):
        return string_value(element.value)
    return None


def _strip_glued(token: str) -> str:
    """`testloader` → `test`, `valset` → `val`."""
    for word in _ROLE_WORDS:
        if token.startswith(word) and token[len(word):] in _NOISE_TOKENS:
            return word
        if token.endswith(word) and token[: -len(word)] in _NOISE_TOKENS:
            return word
    return token


# Spellings of one role word: `va_loss` and `valid_iter` are about the same set.
_SYNONYMS = {"va": "val", "vl": "val", "valid": "val", "validation": "val",
             "te": "test", "tst": "test", "testing": "test"}


def _name_key(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    tokens = [_strip_glued(token) for token in name_tokens(name)]
    tokens = [_SYNONYMS.get(token, token) for token in tokens]
    kept = [token for token in tokens if token not in _NOISE_TOKENS and not token.isdigit()]
    return "_".join(kept) or None


__all__ = ["DataRoles", "HELD_OUT", "TRAIN", "VALIDATION", "TEST", "dotted_name"]
