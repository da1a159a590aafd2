"""The prefilter: which enabled rules could report anything on a text, decided before libcst
parses it.

Two looks, cheapest first:

1. **Words.** A rule declares `triggers` (one of them must occur) and `requires` (groups of
   words; one word of every group must occur). Both are substrings of the raw text, comments
   and strings included, and necessary conditions of the rule's own check: a text that lacks
   them cannot be reported on. A group made with `caseless(...)` ignores case. Each word is
   looked up at most once per text, however many rules name it.
2. **Structure.** A rule may declare `anchors` (gate/anchors/): coarse structural conditions
   one of which must hold. When every rule still left declares anchors, the stdlib `ast` scan
   decides; otherwise the file is parsed anyway and the rules' own facts decide. Anchors that
   look for data with a role read the configuration's role names.

A rule with no triggers never runs: only engine diagnostics (TL0xx) are like that. The gate
imports nothing of trainlint but the vocabulary and the core, so it never loads libcst.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

from trainlint.core.config import Config
from trainlint.gate import anchors as structural
from trainlint.gate.roles import RoleNames
from trainlint.vocab.words import Caseless

Rule = Any  # a rule class of trainlint.rules (the gate does not import them): triggers, requires, anchors


class Words:
    """Which words occur in one text, each looked up once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: Optional[str] = None
        self._found: Dict[str, bool] = {}
        self._found_caseless: Dict[str, bool] = {}

    def has(self, word: str) -> bool:
        found = self._found.get(word)
        if found is None:
            found = self._found[word] = word in self.text
        return found

    def has_caseless(self, word: str) -> bool:
        found = self._found_caseless.get(word)
        if found is None:
            if self._lower is None:
                self._lower = self.text.lower()
            found = self._found_caseless[word] = word.lower() in self._lower
        return found

    def any_of(self, group: Sequence[str]) -> bool:
        has = self.has_caseless if isinstance(group, Caseless) else self.has
        return any(has(word) for word in group)


def words_allow(rule: Rule, words: Words) -> bool:
    if not rule.triggers or not words.any_of(rule.triggers):
        return False
    return all(words.any_of(group) for group in rule.requires)


@lru_cache(maxsize=16)
def _role_names(names: Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]) -> RoleNames:
    train, validation, test = names
    return RoleNames(Config(train_names=train, validation_names=validation, test_names=test))


def role_names(config: Optional[Config]) -> RoleNames:
    """The role words of a configuration, built once per distinct configuration."""
    config = config or Config()
    return _role_names((config.train_names, config.validation_names, config.test_names))


def triggered_rules(rules: Sequence[Rule], text: str, config: Optional[Config] = None) -> List[Rule]:
    """The rules of `rules` that could report on `text`, in their order."""
    words = Words(text)
    candidates = [rule for rule in rules if rule.is_triggered_by(text, words)]
    if candidates and all(rule.anchors for rule in candidates):
        found = structural.scan(text, role_names(config))
        if found is not None:
            try:
                candidates = [rule for rule in candidates if found.holds(rule.anchors)]
            finally:
                found.release()
    return candidates
