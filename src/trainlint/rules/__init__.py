"""The rule registry: every `tlNNN_*.py` module in this package holds exactly one rule."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple, Type

from trainlint.core.config import Config, ConfigError
from trainlint.rules.base import Finding, Rule

__all__ = [
    "Finding", "Rule", "all_rules", "check_selectors", "enabled_codes", "enabled_rules", "get_rule",
    "resolve_selectors", "unknown_selectors",
]

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


def check_selectors(selectors: Iterable[str], where: str) -> None:
    """Raise a one-line ConfigError naming `where` when a selector matches no rule."""
    unknown = unknown_selectors(selectors)
    if unknown:
        raise ConfigError(
            f"{where}: unknown rule code or name {', '.join(map(repr, unknown))}"
            " (run `trainlint rules` for the list)"
        )


def enabled_codes(config: Config, path: Optional[str] = None) -> FrozenSet[str]:
    """The codes `config` enables: selected and not ignored (for `path`, its per-file-ignores too)."""
    selected = resolve_selectors(config.select + config.extend_select)
    ignored = resolve_selectors(config.ignore)
    if path is not None:
        ignored |= resolve_selectors(config.ignored_for_path(path))
    return frozenset(r.code for r in all_rules() if r.code in selected and r.code not in ignored)


def enabled_rules(config: Config, path: Optional[str] = None) -> List[Type[Rule]]:
    """The rules `config` enables for `path`, in code order."""
    enabled = enabled_codes(config, path)
    return [rule for rule in all_rules() if rule.code in enabled]
