"""The rule registry: every `tlNNN_*.py` module in this package holds exactly one rule."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple, Type

from trainlint.rules.base import Finding, Rule

__all__ = ["Finding", "Rule", "all_rules", "get_rule", "resolve_selectors", "unknown_selectors"]

_RULE_MODULE = re.compile(r"^tl\d{3}_[a-z0-9_]+$")


@lru_cache(maxsize=None)
def all_rules() -> Tuple[Type[Rule], ...]:
    rules: List[Type[Rule]] = []
    for info in pkgutil.iter_modules(__path__):
        if not _RULE_MODULE.match(info.name):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, Rule) and obj is not Rule
            and obj.__module__ == module.__name__
        ]
        if len(found) != 1:
            raise RuntimeError(f"{module.__name__} must define exactly one Rule, found {len(found)}")
        rules.append(found[0])
    return tuple(sorted(rules, key=lambda rule: rule.code))


@lru_cache(maxsize=None)
def _by_key() -> Dict[str, Type[Rule]]:
    table: Dict[str, Type[Rule]] = {}
    for rule in all_rules():
        table[rule.code] = rule
        table[rule.name] = rule
    return table


def get_rule(code_or_name: str) -> Optional[Type[Rule]]:
    return _by_key().get(code_or_name.strip()) or _by_key().get(code_or_name.strip().upper())


def _match(selector: str) -> FrozenSet[str]:
    selector = selector.strip()
    if selector.upper() == "ALL":
        return frozenset(rule.code for rule in all_rules())
    rule = _by_key().get(selector)
    if rule is not None:
        return frozenset({rule.code})
    prefix = selector.upper()
    return frozenset(rule.code for rule in all_rules() if rule.code.startswith(prefix))


def resolve_selectors(selectors: Iterable[str]) -> FrozenSet[str]:
    """Codes matched by selectors that are codes (`TL301`), prefixes (`TL3`) or names."""
    codes: set = set()
    for selector in selectors:
        codes |= _match(selector)
    return frozenset(codes)


def unknown_selectors(selectors: Iterable[str]) -> List[str]:
    return [s for s in selectors if s.strip() and not _match(s)]
