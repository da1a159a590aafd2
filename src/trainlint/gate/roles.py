"""Role words as the gate reads them: the configured names and the default ones, together.

A rule may read a name's role under the configured `train-names` / `validation-names` /
`test-names` (semantic/roles.py) or, in a path or a printed label, under the default words.
The gate only has to be necessary, so a name counts when either reading gives it a role.
"""

from __future__ import annotations

from typing import Dict, Optional, Set

from trainlint.core.config import Config
from trainlint.vocab.roles import (
    DEFAULT_TEST_NAMES,
    DEFAULT_TRAIN_NAMES,
    DEFAULT_VALIDATION_NAMES,
    HELD_OUT,
    name_role,
    name_tokens,
)


class RoleNames:
    def __init__(self, config: Optional[Config] = None) -> None:
        config = config or Config()
        self.configured = (
            config.train_names or DEFAULT_TRAIN_NAMES,
            config.validation_names or DEFAULT_VALIDATION_NAMES,
            config.test_names or DEFAULT_TEST_NAMES,
        )
        self.default = self.configured == (DEFAULT_TRAIN_NAMES, DEFAULT_VALIDATION_NAMES, DEFAULT_TEST_NAMES)

        self._known: Dict[str, Set[str]] = {}

    def roles(self, text: Optional[str]) -> Set[str]:
        """Every role a token of `text` (a name, a dotted name, a string) has under the
        configured or the default words: `train_val_split` has two, `val_loss` one."""
        if not text:
            return set()
        found = self._known.get(text)
        if found is None:
            found = set()
            for token in name_tokens(text):
                found.add(name_role(token, *self.configured))
                if not self.default:
                    found.add(name_role(token))
            found.discard(None)
            self._known[text] = found
        return found

    def has_role(self, text: Optional[str]) -> bool:
        return bool(self.roles(text))

    def held_out(self, text: Optional[str]) -> bool:
        return any(role in HELD_OUT for role in self.roles(text))
