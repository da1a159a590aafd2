"""Configuration: `[tool.trainlint]` in pyproject.toml, merged with command-line options.

Everything here is validated up front so that a mistake in the user's config is one clear
line naming the file and the key, never a traceback halfway through a run.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Callable, Dict, List, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib


class ConfigError(Exception):
    """A user-facing configuration problem; the message is one line."""


DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".trainlint_cache",
    ".ipynb_checkpoints",
)


@dataclass(frozen=True)
class Config:
    select: Tuple[str, ...] = ("TL",)
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    force_exclude: bool = False
    # Files over this size are skipped with a TL004 rather than read (megabytes).
    max_file_size_mb: float = 20.0
    # Files whose Python code is larger than this (kilobytes) are not analysed (TL004) when
    # they contain training code: libcst's parse alone takes about a second per 200 KB, and
    # an editor must not stall for seconds on a generated file. 0 disables.
    max_analysis_size_kb: float = 400.0
    # Analysis of one file is interrupted after this many seconds (TL004); 0 disables.
    per_file_timeout: float = 60.0
    output_format: str = "text"  # text, json, sarif, github (see trainlint.report)
    # Name patterns that give data its role (see analysis/roles.py); empty = the defaults.
    train_names: Tuple[str, ...] = ()
    validation_names: Tuple[str, ...] = ()
    test_names: Tuple[str, ...] = ()
    # Where relative globs (per-file-ignores, exclude) are anchored: the config file's folder.
    root: str = "."
    # Follow calls into other modules of the project (run.summaries); --no-project-index.
    project_index: bool = True
    config_path: Optional[str] = None

    def fingerprint(self) -> str:
        """A stable text that changes whenever the effective configuration changes. The root
        counts: per-file-ignores globs are anchored there, so the same table in another
        project may ignore other files."""
        return repr(replace(self, root=os.path.abspath(self.root), config_path=None, output_format="text"))

    def ignored_for_path(self, path: str) -> Tuple[str, ...]:
        codes: List[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            if path_matches(path, pattern, self.root):
                codes.extend(pattern_codes)
        return tuple(codes)

    def all_excludes(self) -> Tuple[str, ...]:
        return self.exclude + self.extend_exclude


def path_matches(path: str, pattern: str, root: str = ".") -> bool:
    """Match a path against a glob the way ruff and flake8 users expect.

    A pattern without a slash matches any path component or the file name (`build`,
    `*_test.py`); a pattern with a slash is matched against the path relative to `root`.
    """
    return path_matches_any(path, (pattern,), root)


def path_matches_any(path: str, patterns: Tuple[str, ...], root: str = ".") -> bool:
    """`path_matches` for several patterns at once: they are compiled once per run (one
    regular expression per kind), and the path made relative once, not once per pattern."""
    if not patterns:
        return False
    components, relative_globs, posix_globs = _compiled_patterns(patterns)
    pure = PurePath(path)
    if components is not None and any(components.match(part) for part in pure.parts):
        return True
    if relative_globs is None:
        return False
    try:
        # abspath, not resolve(): a symlink loop must not break matching
        relative = PurePath(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()
    except ValueError:  # another drive on Windows
        relative = pure.as_posix()
    return bool(relative_globs.match(relative) or posix_globs.match(pure.as_posix()))  # type: ignore[union-attr]


@functools.lru_cache(maxsize=64)
def _compiled_patterns(patterns: Tuple[str, ...]) -> Tuple[Optional["re.Pattern[str]"], ...]:
    """(any component matches, the relative path matches, the path as given matches), each
    one alternation of fnmatch's translations (what fnmatchcase matches, pattern by pattern)."""
    components, relative, posix = [], [], []
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" not in pattern:
            components.append(fnmatch.translate(pattern))
            continue
        pattern = pattern.lstrip("./") if pattern.startswith("./") else pattern
        relative += [fnmatch.translate(pattern), fnmatch.translate(pattern + "/*")]
        posix.append(fnmatch.translate(pattern))
    compile_all = lambda parts: re.compile("|".join(parts)) if parts else None  # noqa: E731
    return compile_all(components), compile_all(relative), compile_all(posix)


# -- loading ------------------------------------------------------------------------------

# Whether a rule selector or an output format exists is known to the rule registry and the
# reporters, which core must not import. So the front ends pass a check, called as
# `check(key, value, where)` for the selector lists (select, extend-select, ignore, each list
# of per-file-ignores) and output-format, in file order (the first mistake in the file is the
# one reported); it raises ConfigError.
ValueCheck = Callable[[str, object, str], None]


def _no_check(key: str, value: object, where: str) -> None:
    pass


_LIST_KEYS = {"select", "extend-select", "ignore", "exclude", "extend-exclude"}
_NUMBER_KEYS = {"max-file-size": "max_file_size_mb", "max-analysis-size": "max_analysis_size_kb",
                "per-file-timeout": "per_file_timeout"}
# Megabytes (a terabyte), kilobytes (a terabyte), seconds (a week): past these a limit is no
# limit, just an overflow.
_NUMBER_LIMITS = {"max-file-size": 1_000_000, "max-analysis-size": 1_000_000_000, "per-file-timeout": 604_800}
_ROLE_NAME_KEYS = {"train-names", "validation-names", "test-names"}
_KNOWN_KEYS = _LIST_KEYS | _ROLE_NAME_KEYS | {"per-file-ignores", "output-format"} | set(_NUMBER_KEYS)


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml with a [tool.trainlint] table, walking up from `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = pyproject_in(folder)
        if candidate is not None:
            return candidate
    return None


def pyproject_in(folder: Path) -> Optional[Path]:
    """`folder`'s pyproject.toml when it configures trainlint (or cannot be read: the error is
    reported rather than the file skipped), else None."""
    candidate = folder / "pyproject.toml"
    try:
        if not candidate.is_file():
            return None
    except OSError:  # cannot even be looked at (a locked folder): reading it will say so
        return candidate
    try:
        data = _read_toml(candidate)
    except ConfigError:
        return candidate
    tool = data.get("tool", {})
    return candidate if isinstance(tool, dict) and "trainlint" in tool else None


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def load_config(
    config_file: Optional[Path] = None, start: Optional[Path] = None, check: Optional[ValueCheck] = None
) -> Config:
    """Load the configuration from `config_file`, or the nearest pyproject.toml; `check`
    validates the values only the layers above know (see `ValueCheck`)."""
    if config_file is None:
        config_file = find_pyproject(start or Path.cwd())
        if config_file is None:
            return Config()
    elif not config_file.is_file():
        raise ConfigError(f"{config_file}: config file not found")
    data = _read_toml(config_file)
    if config_file.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("trainlint", {})
        prefix = "tool.trainlint."
    else:  # a dedicated trainlint.toml holds the keys at top level
        table = data
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file}: [tool.trainlint] must be a table")
    values = parse_table(table, source=str(config_file), prefix=prefix, check=check)
    return replace(Config(), root=str(config_file.parent), config_path=str(config_file), **values)


def parse_table(
    table: Mapping[str, object], source: str, prefix: str = "", check: Optional[ValueCheck] = None
) -> Dict[str, object]:
    check = check or _no_check
    values: Dict[str, object] = {}
    for key, value in table.items():
        where = f"{source}: {prefix}{key}"
        if key not in _KNOWN_KEYS:
            hint = ", ".join(sorted(_KNOWN_KEYS))
            raise ConfigError(f"{where}: unknown key (expected one of: {hint})")
        if key in _LIST_KEYS:
            items = _string_list(value, where)
            if key in ("select", "extend-select", "ignore"):
                check(key, items, where)
            values[key.replace("-", "_")] = tuple(items)
        elif key in _ROLE_NAME_KEYS:
            items = _string_list(value, where)
            bad = [item for item in items if not item.isidentifier() or not item.islower()]
            if not items or bad:
                raise ConfigError(
                    f"{where}: expected a non-empty list of lower-case name parts"
                    f" such as ['val', 'valid'], got {value!r}"
                )
            values[key.replace("-", "_")] = tuple(items)
        elif key in _NUMBER_KEYS:
            largest = _NUMBER_LIMITS[key]
            # `not 0 <= value <= largest` also refuses nan (which would disable the limit)
            # and inf or 1e300 (which overflow the timer).
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= largest:
                raise ConfigError(f"{where}: expected a number from 0 to {largest:g}, got {value!r}")
            values[_NUMBER_KEYS[key]] = float(value)
        elif key == "output-format":
            check(key, value, where)
            if not isinstance(value, str):
                raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
            values["output_format"] = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f'{where}: expected a table of glob = ["TL301", ...]')
            pairs = []
            for glob, codes in value.items():
                codes = _string_list(codes, f"{where}.{glob!r}")
                check(key, codes, f"{where}.{glob!r}")
                pairs.append((glob, tuple(codes)))
            values["per_file_ignores"] = tuple(pairs)
    return values


def _string_list(value: object, where: str) -> List[str]:
    if isinstance(value, str):
        raise ConfigError(f"{where}: expected a list of strings, got a string (write [{value!r}])")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"{where}: expected a list of strings, got {type(value).__name__}")
