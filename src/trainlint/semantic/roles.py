"""The one answer to "is this train, validation or test data?" (`ctx.roles`).

Every rule and fact asks this module, and every answer starts from the configured role
words (`train-names`, `validation-names`, `test-names`; vocab/roles.py matches them). The
question has three readings, each a method of `DataRoles`:

- `role_of(expr, scope, env)`: the data a loader, dataset or argument holds: its name
  (`val_loader`), a string key (`loaders['val']`), a loop variable bound to a constant
  (`dataloaders[phase]` with env {'phase': 'val'}), the producing call (`DataLoader(val_ds)`,
  the n-th output of `train_test_split`), and for a parameter the arguments at every call
  site of its function (when they agree).
- `computed_on(expr)`: the data a figure was computed on: any part of the expression
  (`evaluate(model, test_loader)`) and the values its names were given
  (`eval_dataset = tokenized["test"]` is test data whatever its name says).
- `along_flow(expr)`: through the data-flow graph and the split parts (`FlowRoles`, built by
  SplitFacts, which needs it while it recognises index splits).

`key(expr)` names the held-out set itself (`x_test`, `test_loader`, `ds["test"]` → "test"),
so that two evaluations can be told apart as "the same set" or "another one".
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.names import (
    assigned_targets,
    dotted_name,
    last_name,
    positional_args,
    string_value,
    subscript_string,
)
from trainlint.vocab.roles import (
    DATA_KEYWORDS,
    HELD_OUT,
    KEY_NOISE_WORDS,
    KEY_SYNONYMS,
    KEY_ROLE_WORDS,
    PASS_THROUGH_CALLS,
    SPLITTER_OUTPUT_ROLES,
    TEST,
    TRAIN,
    VALIDATION,
    RoleWords,
    is_eval,
    name_role,
    name_tokens,
)

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext
    from trainlint.semantic.dataflow import Binding, DataFlow
    from trainlint.semantic.imports import ImportTable

_MAX_DEPTH = 6


class DataRoles:
    def __init__(self, ctx: "FileContext") -> None:
        self._ctx = ctx
        self.index = ctx.index
        self.words = RoleWords.from_config(ctx.config)
        self._name_cache: Dict[Optional[str], Optional[str]] = {}
        # (name, depth) -> roles: a name's roles depend only on its assigned values, and a
        # long module assigns `x`, `y`, `net` hundreds of times, so following the values
        # of values unmemoized grows as (assignments per name) ** depth.
        self._computed_memo: Dict[Tuple[str, int], Set[str]] = {}

    def name_role(self, name: Optional[str]) -> Optional[str]:
        if name not in self._name_cache:
            self._name_cache[name] = self.words.name_role(name)
        return self._name_cache[name]

    def assigned_role(self, call: cst.Call) -> Optional[str]:
        """The role the receiver of a call's value states: `val_ds = ...`,
        `loaders["val"] = ...`, `self.val_loader = ...`, `fit(val_dataloaders=...)`."""
        parent = self.index.parent(call)
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            target = parent.targets[0].target
            if type(target) is cst.Subscript:
                key = subscript_string(target)
                return self.name_role(key) if key else None
            return self.name_role(self._ctx.code(target).replace(".", "_"))
        if type(parent) is cst.Arg and parent.keyword is not None:
            return self.name_role(parent.keyword.value)
        return None

    def along_flow(self, expr: Optional[cst.CSTNode]) -> Optional[str]:
        return self._ctx.splits.flow_roles.role(expr)

    # -- role_of: the data a loader, dataset or argument holds ---------------------------

    def role_of(self, expr, scope=None, env=None, _depth: int = 0) -> Optional[str]:
        if expr is None or _depth > _MAX_DEPTH:
            return None
        env = env or {}
        if type(expr) in (cst.SimpleString, cst.ConcatenatedString):
            value = expr.evaluated_value
            return self.name_role(value) if isinstance(value, str) else None
        if type(expr) is cst.Subscript:
            return self._subscript_role_of(expr, scope, env, _depth)
        if type(expr) is cst.Call:
            return self._call_role_of(expr, scope, env, _depth)
        name = dotted_name(expr)
        if name is None:
            return None
        if name in env:
            return self.name_role(env[name])
        role = self.name_role(name)
        if role:
            return role
        producers = self._producers
        for key in ((scope, name), (None, name)):
            if key in producers.split_roles:
                return producers.split_roles[key]
        values = producers.bindings.get((scope, name)) or (
            producers.bindings.get((None, name)) if scope is not None else None) or []
        value_scope = scope if (scope, name) in producers.bindings else None
        roles = {self.role_of(value, value_scope, env, _depth + 1) for value in values}
        if len(roles) == 1 and None not in roles:
            return roles.pop()
        if scope is not None and not values:
            return self._parameter_role(scope, name, _depth)
        return None

    def _subscript_role_of(self, expr: cst.Subscript, scope, env, depth: int) -> Optional[str]:
        if len(expr.slice) == 1 and type(expr.slice[0].slice) is cst.Index:
            index_value = expr.slice[0].slice.value
            if type(index_value) is cst.Name and index_value.value in env:
                return self.name_role(env[index_value.value])
            if type(index_value) in (cst.SimpleString, cst.ConcatenatedString):
                role = self.role_of(index_value, scope, env, depth + 1)
                if role:
                    return role
        return self.role_of(expr.value, scope, env, depth + 1)

    def _call_role_of(self, expr: cst.Call, scope, env, depth: int) -> Optional[str]:
        last = (dotted_name(expr.func) or "").rsplit(".", 1)[-1]
        passes_through = last in PASS_THROUGH_CALLS
        if type(expr.func) is cst.Attribute and passes_through:
            role = self.role_of(expr.func.value, scope, env, depth + 1)
            if role:
                return role
        role = None if passes_through else self.name_role(last)
        if role:
            return role
        for arg in expr.args:
            if arg.keyword is not None and arg.keyword.value not in DATA_KEYWORDS:
                continue
            if arg.keyword is not None and arg.keyword.value == "train":
                flag = _train_flag_role(arg)
                if flag is not None:
                    return flag
                continue
            role = self.role_of(arg.value, scope, env, depth + 1)
            if role:
                return role
            if not passes_through:
                break  # only the first argument of an unknown call carries its data
        return None

    def _parameter_role(self, function, name, depth) -> Optional[str]:
        """The role of a parameter from the arguments of every call of its function."""
        params = function.params
        ordered = [p.name.value for p in list(params.posonly_params) + list(params.params)]
        if name not in ordered and name not in [p.name.value for p in params.kwonly_params]:
            return None
        position = ordered.index(name) if name in ordered else None
        if ordered and ordered[0] == "self" and position is not None:
            position -= 1
        roles = set()
        for call in self._producers.calls_by_name.get(function.name.value, []):
            if self.index.is_inside(call, function):
                continue
            value = None
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == name:
                    value = arg.value
            if value is None and position is not None and position >= 0:
                positional = [a for a in call.args if a.keyword is None and not a.star]
                if position < len(positional):
                    value = positional[position].value
            if value is None:
                continue
            roles.add(self.role_of(value, self.index.enclosing_function(call), None, depth + 1))
        if len(roles) == 1 and None not in roles:
            return roles.pop()
        return None

    @cached_property
    def _producers(self) -> "_Producers":
        return _Producers(self.index)

    # -- computed_on: the data a figure was computed on -----------------------------------

    def computed_on(self, node: Optional[cst.CSTNode], depth: int = 0) -> Optional[str]:
        """VALIDATION / TEST / TRAIN when the expression shows one role, else None."""
        roles = self._computed_roles(node, depth)
        return roles.pop() if len(roles) == 1 else None

    def held_out(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """VALIDATION or TEST when the expression is computed on held-out data."""
        role = self.computed_on(node)
        return role if role in HELD_OUT else None

    def values(self, name: str) -> List[cst.BaseExpression]:
        """The values written to a plain name (assignments, `d[k] = v`, `lst.append(v)`)."""
        return self._written.get(name, [])

    def _computed_roles(self, node: Optional[cst.CSTNode], depth: int) -> Set[str]:
        # `depth` counts hops from a name to its assigned values; the walk down an
        # expression itself is bounded by the expression.
        if node is None:
            return set()
        if type(node) is cst.Name:
            memo_key = (node.value, depth)
            if memo_key not in self._computed_memo:
                self._computed_memo[memo_key] = self._name_computed_roles(node.value, depth)
            return set(self._computed_memo[memo_key])
        if type(node) is cst.Attribute:
            named = self.name_role(node.attr.value)
            return {named} if named else self._computed_roles(node.value, depth)
        if type(node) is cst.Subscript:
            return self._subscript_computed_roles(node, depth)
        if type(node) is cst.Call:
            named = self.name_role(last_name(node))
            if named:
                return {named}
            declared = self._declared_split(node)
            if declared is not None:
                return {declared}
            found: Set[str] = set()
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in NOT_DATA_KEYWORDS:
                    continue
                if type(arg.value) is cst.Name and _names_a_transform(arg.value.value):
                    continue  # `ImageFolder(valid_dir, test_transforms)`: how, not which data
                found |= self._computed_roles(arg.value, depth)
            if not found and type(node.func) is cst.Attribute:  # `x_test.mean()`
                found = self._computed_roles(node.func.value, depth)
            return found
        if type(node) is cst.DictElement:
            named = self.name_role(string_value(node.key))
            return {named} if named else self._computed_roles(node.value, depth)
        if type(node) in (cst.Lambda, cst.SimpleString, cst.FormattedString):
            return set()
        found = set()
        for child in self.index.child_nodes(node):
            found |= self._computed_roles(child, depth)
        return found

    def _subscript_computed_roles(self, node: cst.Subscript, depth: int) -> Set[str]:
        index = subscript_string(node)
        named = self.name_role(index) if index is not None else None
        if type(node.value) is cst.Attribute and node.value.attr.value == "cv_results_":
            return {VALIDATION}  # `search.cv_results_["mean_test_score"]`: the CV folds
        key_name = _index_name(node) if named is None and index is None else None
        if key_name is not None and self._holds_strings(key_name.value):
            by_key = self._computed_roles(key_name, depth)  # `encoded[validation_key]`
            if len(by_key) == 1:
                return by_key
        if named == TEST and self._is_split_output(node.value):
            # `splits["test"]` of `Dataset.train_test_split` is whatever part was held out;
            # the name the author binds it to (`val_ds`, `test_ds`) says which.
            return set()
        return {named} if named else self._computed_roles(node.value, depth)

    def _declared_split(self, call: cst.Call) -> Optional[str]:
        """The split a data set constructor asks for: `split="test"`, torchvision's
        `train=False` (the test set), or a folder path ending in `valid` / `test`."""
        for arg in call.args:
            if arg.keyword is None:
                text = string_value(arg.value)
                if text and "/" in text.strip("/"):
                    role = self.name_role(text.rstrip("/").rsplit("/", 1)[-1])
                    if role is not None:
                        return role
            elif arg.keyword.value == "split":
                role = self.name_role(string_value(arg.value))
                if role is not None:
                    return role
            else:
                flag = _train_flag_role(arg)
                if flag is not None:
                    return flag
        return None

    def _holds_strings(self, name: str) -> bool:
        """Every value assigned to `name` is a string (`key = "validation" if a else "dev"`)."""
        values = self.values(name)
        return bool(values) and all(_is_string_choice(value) for value in values)

    def _is_split_output(self, node: cst.BaseExpression) -> bool:
        """`splits` in `splits["test"]` holds the result of a `train_test_split` call."""
        return type(node) is cst.Name and any(
            type(value) is cst.Call and last_name(value) == "train_test_split"
            for value in self.values(node.value)
        )

    def _name_computed_roles(self, name: str, depth: int) -> Set[str]:
        from_values: Set[str] = set()
        if depth < 3:
            for value in self.values(name):
                from_values |= self._computed_roles(value, depth + 1)
        named = self.name_role(name)
        if from_values == {TRAIN} and named in HELD_OUT and all(_is_part_of(v) for v in self.values(name)):
            return {named}  # `X_valid = X_train_full[:5000]`: held out of the training data
        if len(from_values) == 1:
            return from_values
        return {named} if named else set()

    @cached_property
    def _written(self) -> Dict[str, List[cst.BaseExpression]]:
        written: Dict[str, List[cst.BaseExpression]] = defaultdict(list)
        for assign in self.index.of_type(cst.Assign):
            for target in assign.targets:
                for single in assigned_targets(target.target):
                    if type(single) is cst.Subscript and type(single.value) is cst.Name:
                        written[single.value.value].append(assign.value)
                    elif type(single) is cst.Name and single is target.target:
                        written[single.value].append(assign.value)
        for call in self.index.of_type(cst.Call):
            if last_name(call) in ("append", "extend", "add") and type(call.func) is cst.Attribute:
                container = call.func.value
                if type(container) is cst.Name and call.args:
                    written[container.value].append(call.args[0].value)
        return written

    # -- key: which held-out set ---------------------------------------------------------

    def key(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """Which data set: `x_test`, `y_test`, `test_loader`, `ds["test"]` → "test"."""
        if node is None:
            return None
        if type(node) is cst.Name:
            return _name_key(node.value)
        if type(node) is cst.Attribute:
            if self.name_role(node.attr.value) is None:  # `image.size`, `test_ds.data`: the owner's
                return self.key(node.value)
            return _name_key(node.attr.value)
        if type(node) is cst.Subscript:
            index = subscript_string(node)
            return _name_key(index) if index is not None else self.key(node.value)
        if type(node) in (cst.Tuple, cst.List) and node.elements:
            return self.key(node.elements[0].value)
        if type(node) is cst.Call:
            for arg in node.args:
                if arg.keyword is None and self.computed_on(arg.value) is not None:
                    return self.key(arg.value)
            return _name_key(last_name(node) or "")
        return None


class _Producers:
    """What `role_of` follows: the values bound to each (scope, name), the roles splitter
    outputs get from their position, and the calls of each function name."""

    def __init__(self, index) -> None:
        self.bindings: Dict[Tuple[object, str], List[cst.BaseExpression]] = {}
        self.split_roles: Dict[Tuple[object, str], str] = {}
        self.calls_by_name: Dict[str, List[cst.Call]] = {}
        for assign in index.of_type(cst.Assign):
            scope = index.enclosing_function(assign)
            for target in assign.targets:
                elements = list(assigned_targets(target.target))
                if len(elements) == 1:
                    name = dotted_name(elements[0])
                    if name:
                        self.bindings.setdefault((scope, name), []).append(assign.value)
                elif type(assign.value) is cst.Call:
                    callee = dotted_name(assign.value.func) or ""
                    roles = SPLITTER_OUTPUT_ROLES.get(callee.rsplit(".", 1)[-1])
                    if roles:
                        self._record_split(scope, elements, roles)
        for call in index.of_type(cst.Call):
            name = dotted_name(call.func)
            if name:
                self.calls_by_name.setdefault(name.rsplit(".", 1)[-1], []).append(call)

    def _record_split(self, scope, elements, roles) -> None:
        names = [dotted_name(e) for e in elements]
        if len(names) == 4:  # X_train, X_test, y_train, y_test
            order = (roles[0], roles[1], roles[0], roles[1])
        elif len(names) == 3:
            order = (TRAIN, VALIDATION, TEST)
        else:
            order = (roles[0], roles[1])[: len(names)]
        for name, role in zip(names, order):
            if name:
                self.split_roles[(scope, name)] = role


class FlowRoles:
    """TRAIN, VALIDATION, TEST or EVAL along the data flow: from names, dictionary keys,
    split parts and what a value was computed from; None when unknown or mixed."""

    def __init__(self, flow: "DataFlow", imports: "ImportTable", words: RoleWords,
                 subscript_parts: Dict[cst.Subscript, Tuple[object, Optional[str]]]) -> None:
        self.flow = flow
        self.imports = imports
        self.words = words
        self.subscript_parts = subscript_parts  # filled by SplitFacts as it recognises them

    def role(self, expr: Optional[cst.CSTNode], depth: int = 4) -> Optional[str]:
        if expr is None or depth < 0:
            return None
        if type(expr) is cst.Name:
            named = self.words.name_role(expr.value)
            if named is not None:
                return named
            roles = {self.binding_role(b, depth - 1) for b in self.flow.resolve_name(expr.value, expr)}
            return roles.pop() if len(roles) == 1 else None
        if type(expr) is cst.Subscript:
            if expr in self.subscript_parts:
                return self.subscript_parts[expr][1]
            key = subscript_string(expr)
            if key is not None:
                keyed = self.words.name_role(key)
                if keyed is not None:
                    return keyed
            return self.role(expr.value, depth - 1)
        if type(expr) is cst.Attribute:
            return self.role(expr.value, depth - 1)
        if type(expr) in (cst.Tuple, cst.List):
            roles = {self.role(e.value, depth - 1) for e in expr.elements}
            return roles.pop() if len(roles) == 1 else None
        if type(expr) is cst.Call:
            args = positional_args(expr)
            if type(expr.func) is cst.Attribute and not self.imports.candidates(expr):
                if last_name(expr) in ("transform", "predict", "predict_proba", "texts_to_sequences"):
                    return self.role(args[0].value, depth - 1) if args else None
                return self.role(expr.func.value, depth - 1)
            return self.role(args[0].value, depth - 1) if args else None
        return None

    def binding_role(self, binding: "Binding", depth: int = 3) -> Optional[str]:
        if binding.part_role is not None:
            return binding.part_role
        named = self.words.name_role(binding.name)
        if named is not None:
            return named
        if binding.how == "assign" and binding.value is not None and depth > 0:
            return self.role(binding.value, depth - 1)
        return None


NOT_DATA_KEYWORDS = {"transform", "transforms", "target_transform", "collate_fn"}
_TRANSFORM_TOKENS = {"transform", "transforms", "tfms", "tfm", "augment", "augmentation", "aug", "augs"}
SUBSET_CALLS = {"Subset", "take", "skip", "select", "shard", "sample", "head", "tail"}


def _train_flag_role(arg: cst.Arg) -> Optional[str]:
    """torchvision's `train=True` / `train=False` (the test set) keyword, else None."""
    if arg.keyword is None or arg.keyword.value != "train" or type(arg.value) is not cst.Name:
        return None
    return {"True": TRAIN, "False": TEST}.get(arg.value.value)


def _names_a_transform(name: str) -> bool:
    return bool(_TRANSFORM_TOKENS & set(name_tokens(name)))


def _is_part_of(value: cst.BaseExpression) -> bool:
    """A slice or subset of the data it reads (`data[:n]`, `data.iloc[idx]`, `Subset(ds, idx)`)."""
    if type(value) is cst.Subscript:
        return subscript_string(value) is None
    return type(value) is cst.Call and last_name(value) in SUBSET_CALLS


def _is_string_choice(node: cst.BaseExpression) -> bool:
    if type(node) is cst.IfExp:
        return _is_string_choice(node.body) and _is_string_choice(node.orelse)
    return type(node) in (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def _index_name(node: cst.Subscript) -> Optional[cst.Name]:
    """`idx` in `data[idx]` (one plain name as the index), else None."""
    if len(node.slice) == 1 and type(node.slice[0].slice) is cst.Index \
            and type(node.slice[0].slice.value) is cst.Name:
        return node.slice[0].slice.value
    return None


def _strip_glued(token: str) -> str:
    """`testloader` → `test`, `valset` → `val`."""
    for word in KEY_ROLE_WORDS:
        if token.startswith(word) and token[len(word):] in KEY_NOISE_WORDS:
            return word
        if token.endswith(word) and token[: -len(word)] in KEY_NOISE_WORDS:
            return word
    return token


def _name_key(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    tokens = [_strip_glued(token) for token in name_tokens(name)]
    tokens = [KEY_SYNONYMS.get(token, token) for token in tokens]
    kept = [token for token in tokens if token not in KEY_NOISE_WORDS and not token.isdigit()]
    return "_".join(kept) or None


# `name_role` / `name_tokens` (default words) stay importable here for gate/anchors, which
# reads them from this module until its rewrite takes them from vocab/roles.py.
__all__ = [
    "DataRoles", "FlowRoles", "RoleWords", "HELD_OUT", "TRAIN", "VALIDATION", "TEST",
    "is_eval", "name_role", "name_tokens",
]
