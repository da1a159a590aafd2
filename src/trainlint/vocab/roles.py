"""Role words: which names say that data is training, validation or test data.

`val_loader`, `X_valid`, `dev_ds`, `testloader`, `holdout_df` and `y_test` carry their role in
the name. The patterns are configurable (`train-names`, `validation-names`, `test-names` in
`[tool.trainlint]`; a configured list replaces the default one). A name that mentions two roles
(`train_val_split`) or none has no role.

Plain Python, no libcst: the semantic model (semantic/roles.py) and the gate read the same
words and the same matching rule; `RoleWords` is the configured set of patterns.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
EVAL = "eval"  # validation or test: the side of a split that is not trained on
HELD_OUT = (VALIDATION, TEST)

DEFAULT_TRAIN_NAMES: Tuple[str, ...] = ("train", "training", "trn", "tr")
DEFAULT_VALIDATION_NAMES: Tuple[str, ...] = ("val", "valid", "validation", "dev", "eval", "vl", "va")
DEFAULT_TEST_NAMES: Tuple[str, ...] = ("test", "testing", "holdout", "tst", "te")

# Short patterns (`tr`, `te`, `vl`) only count as a whole token, `X_te`; longer ones may
# also be glued to a data word: `trainloader`, `valset`, `testds`, `Xtest`.
DATA_WORDS = frozenset((
    "set", "sets", "loader", "loaders", "data", "dataset", "datasets", "ds", "dl", "gen",
    "generator", "iter", "df", "frame", "split", "x", "y", "xs", "ys", "images", "labels",
    "features", "targets", "batch", "batches", "samples", "inputs", "texts", "seqs", "idx",
    "indices", "ids", "files", "paths", "acc", "loss", "losses", "accs", "score", "scores",
    "metrics", "preds", "predictions", "results", "step", "steps", "epoch", "size",
))

# Tokens that say what kind of object holds the data, not which data: dropped from the key
# that tells two held-out sets apart (`x_test`, `test_loader` → "test").
KEY_NOISE_WORDS = frozenset((
    "x", "y", "xs", "ys", "set", "sets", "loader", "loaders", "data", "dataset", "datasets",
    "ds", "dl", "gen", "generator", "iter", "df", "frame", "split", "images", "labels",
    "features", "targets", "batch", "batches", "samples", "inputs", "texts", "seqs", "idx",
    "indices", "ids", "files", "paths", "acc", "loss", "losses", "accs", "score", "scores",
    "metrics", "preds", "predictions", "results", "scaled", "norm", "normalized", "tokenized",
    "encoded", "processed", "tensor", "tensors", "np", "arr", "array", "tf", "torch", "pad",
    "padded", "seq", "img", "imgs", "image", "label", "input", "target", "text", "enc", "t",
    "final", "dataloader", "dataloaders", "tokens", "encodings", "tfds", "pd", "raw", "clean",
    "sequences", "iterator", "iterators",
))
# Spellings of one role word in keys: `va_loss` and `valid_iter` are about the same set.
KEY_SYNONYMS = {"va": "val", "vl": "val", "valid": "val", "validation": "val",
                "te": "test", "tst": "test", "testing": "test"}
# Held-out words unglued from a noise word in keys (`testloader` → `test`): the default
# validation and test words of three or more letters.
KEY_ROLE_WORDS = ("test", "testing", "holdout", "val", "valid", "validation", "dev", "eval")

# Calls that pass their data argument through: the loader of `val_ds` is validation data.
PASS_THROUGH_CALLS = frozenset((
    "DataLoader", "tqdm", "enumerate", "iter", "Subset", "tqdm_notebook", "trange", "islice",
    "cycle", "DistributedSampler", "prefetch", "auto", "to", "map", "batch", "shuffle",
    "prefetch_to_device", "DeviceDataLoader", "ConcatDataset", "TensorDataset", "list", "next",
))
# Keywords under which a call receives its data (`DataLoader(dataset=val_ds)`).
DATA_KEYWORDS = ("dataset", "data", "iterable", "split", "train")
# The role of each output of a splitter, by its last name.
SPLITTER_OUTPUT_ROLES = {"train_test_split": (TRAIN, TEST), "random_split": (TRAIN, VALIDATION)}

# Words that mark a text (a printed label, a path) as about evaluation or training data.
EVAL_TEXT_PATTERN = r"\b(test|testing|val|valid|validation|holdout|dev|eval)\b"
TRAIN_TEXT_PATTERN = r"train"

_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_tokens(name: str) -> List[str]:
    """`valLoader2` → ['val', 'loader', '2']; `X_test` → ['x', 'test']."""
    return [token.lower() for token in _TOKEN.findall(name)]


def is_eval(role: Optional[str]) -> bool:
    """Validation, test, or the evaluation side of a split."""
    return role in (EVAL, VALIDATION, TEST)


def name_role(
    name: Optional[str],
    train: Iterable[str] = DEFAULT_TRAIN_NAMES,
    validation: Iterable[str] = DEFAULT_VALIDATION_NAMES,
    test: Iterable[str] = DEFAULT_TEST_NAMES,
) -> Optional[str]:
    """The single role a name (its last dotted part) states, or None (none, or several)."""
    if not name:
        return None
    return _cached_name_role(name, tuple(train), tuple(validation), tuple(test))


def _token_matches(token: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if token == pattern:
            return True
        if len(pattern) < 3:
            continue
        if token.startswith(pattern) and token[len(pattern):] in DATA_WORDS:
            return True
        if token.endswith(pattern) and token[: -len(pattern)] in DATA_WORDS:
            return True
    return False


@lru_cache(maxsize=8192)
def _cached_name_role(name: str, train: Tuple[str, ...], validation: Tuple[str, ...],
                      test: Tuple[str, ...]) -> Optional[str]:
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    found = set()
    for role, patterns in ((TRAIN, train), (VALIDATION, validation), (TEST, test)):
        if any(_token_matches(token, patterns) for token in tokens):
            found.add(role)
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class RoleWords:
    """The configured role patterns: a configured list replaces the default one."""

    train: Tuple[str, ...] = DEFAULT_TRAIN_NAMES
    validation: Tuple[str, ...] = DEFAULT_VALIDATION_NAMES
    test: Tuple[str, ...] = DEFAULT_TEST_NAMES

    @classmethod
    def from_config(cls, config: object) -> "RoleWords":
        return cls(
            tuple(getattr(config, "train_names", ()) or DEFAULT_TRAIN_NAMES),
            tuple(getattr(config, "validation_names", ()) or DEFAULT_VALIDATION_NAMES),
            tuple(getattr(config, "test_names", ()) or DEFAULT_TEST_NAMES),
        )

    def name_role(self, name: Optional[str]) -> Optional[str]:
        return name_role(name, self.train, self.validation, self.test)
