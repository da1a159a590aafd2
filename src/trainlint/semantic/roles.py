"""Roles of data from names: train / validation / test.

`val_loader`, `X_valid`, `dev_ds`, `testloader`, `holdout_df` and `y_test` all carry their role
in the name. Name patterns are configurable (`train-names`, `validation-names`, `test-names`).
A name that mentions two roles (`train_val_split`) or none has no role. Roles that come from
the producing call or from use (a loop with `backward()`) are added by the analyses that see them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, List, Optional, Tuple

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"

DEFAULT_TRAIN_NAMES: Tuple[str, ...] = ("train", "training", "trn", "tr")
DEFAULT_VALIDATION_NAMES: Tuple[str, ...] = ("val", "valid", "validation", "dev", "eval", "vl", "va")
DEFAULT_TEST_NAMES: Tuple[str, ...] = ("test", "testing", "holdout", "tst", "te")

# Short patterns (`tr`, `te`, `vl`) only count as a whole token, `X_te`; longer ones may
# also be glued to a data word: `trainloader`, `valset`, `testds`, `Xtest`.
_DATA_WORDS = (
    "set", "sets", "loader", "loaders", "data", "dataset", "datasets", "ds", "dl", "gen",
    "generator", "iter", "df", "frame", "split", "x", "y", "xs", "ys", "images", "labels",
    "features", "targets", "batch", "batches", "samples", "inputs", "texts", "seqs", "idx",
    "indices", "ids", "files", "paths", "acc", "loss", "losses", "accs", "score", "scores",
    "metrics", "preds", "predictions", "results", "step", "steps", "epoch", "size",
)
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_tokens(name: str) -> List[str]:
    """`valLoader2` → ['val', 'loader', '2']; `X_test` → ['x', 'test']."""
    return [token.lower() for token in _TOKEN.findall(name)]


def _token_matches(token: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if token == pattern:
            return True
        if len(pattern) < 3:
            continue
        if token.startswith(pattern) and token[len(pattern):] in _DATA_WORDS:
            return True
        if token.endswith(pattern) and token[: -len(pattern)] in _DATA_WORDS:
            return True
    return False


def name_role(
    name: Optional[str],
    train: Iterable[str] = DEFAULT_TRAIN_NAMES,
    validation: Iterable[str] = DEFAULT_VALIDATION_NAMES,
    test: Iterable[str] = DEFAULT_TEST_NAMES,
) -> Optional[str]:
    """The single role a name states, or None (no role, or more than one)."""
    if not name:
        return None
    return _cached_name_role(name, tuple(train), tuple(validation), tuple(test))


@lru_cache(maxsize=8192)
def _cached_name_role(name: str, train: Tuple[str, ...], validation: Tuple[str, ...], test: Tuple[str, ...]) -> Optional[str]:
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    found = set()
    for role, patterns in ((TRAIN, train), (VALIDATION, validation), (TEST, test)):
        if any(_token_matches(token, tuple(patterns)) for token in tokens):
            found.add(role)
    return found.pop() if len(found) == 1 else None


# -- roles from the producing call and from call sites ---------------------------------------

def configured_patterns(config) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
    """The (train, validation, test) name patterns of a Config (defaults where unset)."""
    return (
        tuple(getattr(config, "train_names", ()) or DEFAULT_TRAIN_NAMES),
        tuple(getattr(config, "validation_names", ()) or DEFAULT_VALIDATION_NAMES),
        tuple(getattr(config, "test_names", ()) or DEFAULT_TEST_NAMES),
    )


# Calls that pass their data argument through: the loader of `val_ds` is validation data.
_PASS_THROUGH = {
    "DataLoader", "tqdm", "enumerate", "iter", "Subset", "tqdm_notebook", "trange", "islice",
    "cycle", "DistributedSampler", "prefetch", "auto", "to", "map", "batch", "shuffle",
    "prefetch_to_device", "DeviceDataLoader", "ConcatDataset", "TensorDataset", "list", "next",
}
_SPLITTERS = {"train_test_split": (TRAIN, TEST), "random_split": (TRAIN, VALIDATION)}


class DataRoles:
    """`role_of(expr, scope, env)`: train / validation / test / None for a data expression.

    In order: the name itself (`val_loader`), a string key (`loaders['val']`), a loop
    variable bound to a constant (`dataloaders[phase]` with env {'phase': 'val'}), the
    producing call (`DataLoader(val_ds)`, the n-th output of `train_test_split` /
    `random_split`), and for a function parameter the arguments at every call site of the
    function in this file (when they agree).
    """

    def __init__(self, module, index, config=None) -> None:
        import libcst as cst

        from trainlint.semantic.names import assigned_targets, dotted_name

        self._cst = cst
        self._dotted = dotted_name
        self.index = index
        self.train, self.validation, self.test = configured_patterns(config)
        self._name_cache = {}
        # (scope, name) -> produced values; (scope, name) -> role from a splitter's output order
        self._bindings = {}
        self._split_roles = {}
        for assign in index.of_type(cst.Assign):
            scope = index.enclosing_function(assign)
            for target in assign.targets:
                elements = list(assigned_targets(target.target))
                if len(elements) == 1:
                    name = dotted_name(elements[0])
                    if name:
                        self._bindings.setdefault((scope, name), []).append(assign.value)
                elif isinstance(assign.value, cst.Call):
                    callee = dotted_name(assign.value.func) or ""
                    roles = _SPLITTERS.get(callee.rsplit(".", 1)[-1])
                    if roles:
                        self._record_split(scope, elements, roles)
        self._functions = {}
        for function in index.of_type(cst.FunctionDef):
            self._functions.setdefault(function.name.value, []).append(function)
        self._calls_by_name = {}
        for call in index.of_type(cst.Call):
            name = dotted_name(call.func)
            if name:
                self._calls_by_name.setdefault(name.rsplit(".", 1)[-1], []).append(call)

    def _record_split(self, scope, elements, roles) -> None:
        names = [self._dotted(e) for e in elements]
        if len(names) == 4:  # X_train, X_test, y_train, y_test
            order = (roles[0], roles[1], roles[0], roles[1])
        elif len(names) == 3:
            order = (TRAIN, VALIDATION, TEST)
        else:
            order = (roles[0], roles[1])[: len(names)]
        for name, role in zip(names, order):
            if name:
                self._split_roles[(scope, name)] = role

    def name_role(self, name: Optional[str]) -> Optional[str]:
        if name not in self._name_cache:
            self._name_cache[name] = name_role(name, self.train, self.validation, self.test)
        return self._name_cache[name]

    def role_of(self, expr, scope=None, env=None, _depth: int = 0) -> Optional[str]:
        cst = self._cst
        if expr is None or _depth > 6:
            return None
        env = env or {}
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            value = expr.evaluated_value
            return self.name_role(value) if isinstance(value, str) else None
        if isinstance(expr, cst.Subscript):
            if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
                index_value = expr.slice[0].slice.value
                if isinstance(index_value, cst.Name) and index_value.value in env:
                    return self.name_role(env[index_value.value])
                role = self.role_of(index_value, scope, env, _depth + 1) if isinstance(
                    index_value, (cst.SimpleString, cst.ConcatenatedString)) else None
                if role:
                    return role
            return self.role_of(expr.value, scope, env, _depth + 1)
        if isinstance(expr, cst.Call):
            callee = self._dotted(expr.func) or ""
            last = callee.rsplit(".", 1)[-1]
            if isinstance(expr.func, cst.Attribute) and last in _PASS_THROUGH:
                role = self.role_of(expr.func.value, scope, env, _depth + 1)
                if role:
                    return role
            role = self.name_role(last) if last not in _PASS_THROUGH else None
            if role:
                return role
            for arg in expr.args:
                if arg.keyword is None or arg.keyword.value in ("dataset", "data", "iterable", "split", "train"):
                    if arg.keyword is not None and arg.keyword.value == "train":
                        if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
                            return TRAIN if arg.value.value == "True" else TEST
                        continue
                    role = self.role_of(arg.value, scope, env, _depth + 1)
                    if role:
                        return role
                    if last not in _PASS_THROUGH:
                        break  # only the first argument of an unknown call carries its data
            return None
        name = self._dotted(expr)
        if name is None:
            return None
        if name in env:
            return self.name_role(env[name])
        role = self.name_role(name)
        if role:
            return role
        for key in ((scope, name), (None, name)):
            if key in self._split_roles:
                return self._split_roles[key]
        values = self._bindings.get((scope, name)) or (
            self._bindings.get((None, name)) if scope is not None else None) or []
        roles = {self.role_of(v, scope if (scope, name) in self._bindings else None, env, _depth + 1)
                 for v in values}
        if len(roles) == 1 and None not in roles:
            return roles.pop()
        if scope is not None and not values:
            return self._parameter_role(scope, name, _depth)
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
        for call in self._calls_by_name.get(function.name.value, []):
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
