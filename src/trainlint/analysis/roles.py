"""Roles of data from names: train / validation / test.

`val_loader`, `X_valid`, `dev_ds`, `testloader`, `holdout_df` and `y_test` all carry their role
in the name. Name patterns are configurable (`train-names`, `validation-names`, `test-names`).
A name that mentions two roles (`train_val_split`) or none has no role. Roles that come from
the producing call or from use (a loop with `backward()`) are added by the analyses that see them.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"

DEFAULT_TRAIN_NAMES: Tuple[str, ...] = ("train", "training", "trn", "tr")
DEFAULT_VALIDATION_NAMES: Tuple[str, ...] = ("val", "valid", "validation", "dev", "eval", "vl")
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
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    found = set()
    for role, patterns in ((TRAIN, train), (VALIDATION, validation), (TEST, test)):
        if any(_token_matches(token, tuple(patterns)) for token in tokens):
            found.add(role)
    return found.pop() if len(found) == 1 else None
