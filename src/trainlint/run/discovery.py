"""Which files to lint: walk folders, skip excluded ones, honour .gitignore."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import pathspec

from trainlint.core.config import Config, path_matches_any

SOURCE_SUFFIXES = (".py", ".ipynb")
# Jupyter's autosave copies: linting them would repeat every finding of the notebook.
ALWAYS_SKIPPED_FOLDERS = (".ipynb_checkpoints",)


@dataclass
class _GitIgnores:
    """The .gitignore files met on the way down, each applying below its own folder."""

    specs: Dict[Path, Optional[pathspec.GitIgnoreSpec]] = field(default_factory=dict)

    def spec_for(self, folder: Path) -> Optional[pathspec.GitIgnoreSpec]:
        if folder not in self.specs:
            spec = None
            ignore_file = folder / ".gitignore"
            try:
                if ignore_file.is_file():
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                spec = None
            self.specs[folder] = spec
        return self.specs[folder]

    def ignored(self, path: Path, is_dir: bool, roots: Sequence[Path]) -> bool:
        for folder in roots:
            spec = self.spec_for(folder)
            if spec is None:
                continue
            try:
                relative = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + ("/" if is_dir else "")):
                return True
        return False


def _repository_root(start: Path) -> Optional[Path]:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _ignore_roots(folder: Path, stop: Optional[Path]) -> List[Path]:
    """Folders whose .gitignore applies to `folder`: itself and its parents up to the repo root."""
    roots = [folder]
    if stop is None or folder == stop:
        return roots
    for parent in folder.parents:
        roots.append(parent)
        if parent == stop:
            break
    return roots


def is_excluded(path: str, config: Config) -> bool:
    return path_matches_any(path, config.all_excludes(), config.root)


ConfigFor = Callable[[Path], Config]


def discover(
    paths: Sequence[str], config: Config, suffixes: Tuple[str, ...] = SOURCE_SUFFIXES,
    config_for: Optional[ConfigFor] = None,
) -> Tuple[List[str], List[str]]:
    """Files to lint, in a stable order, and the explicit paths that do not exist.

    `config_for(folder or file)` gives the configuration that applies there (the nearest
    pyproject.toml, per folder): its excludes decide inside each folder. Without it, `config`
    applies everywhere."""
    if config_for is None:
        config_for = lambda _path: config  # noqa: E731
    found: List[str] = []
    missing: List[str] = []
    seen: set = set()
    ignores = _GitIgnores()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates: Iterable[str] = _walk(path, config_for, suffixes, ignores)
        elif path.exists() or path.is_symlink():
            own = config_for(path)
            if own.force_exclude and is_excluded(given, own):
                continue
            candidates = [given]  # an explicit file is linted whatever its suffix
        else:
            missing.append(given)
            continue
        for candidate in candidates:
            key = os.path.normcase(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found, missing


def _walk(top: Path, config_for: ConfigFor, suffixes: Tuple[str, ...], ignores: _GitIgnores) -> Iterator[str]:
    absolute_top = top.resolve()
    repo = _repository_root(absolute_top)
    # A folder named explicitly is linted even when a .gitignore above it ignores it (as
    # `git add -f` would); then only the .gitignore files inside it apply.
    if repo is not None and absolute_top != repo:
        if ignores.ignored(absolute_top, True, _ignore_roots(absolute_top.parent, repo)):
            repo = absolute_top
    visited_real: set = set()
    for folder, dirnames, filenames in os.walk(top, followlinks=False):
        folder_path = Path(folder)
        real = os.path.realpath(folder)
        if real in visited_real:
            dirnames[:] = []
            continue
        visited_real.add(real)
        absolute = folder_path.resolve()
        roots = _ignore_roots(absolute, repo)
        config = config_for(folder_path)
        kept = []
        for name in sorted(dirnames):
            child = folder_path / name
            if name in ALWAYS_SKIPPED_FOLDERS or is_excluded(str(child), config) or (child / "pyvenv.cfg").exists():
                continue
            if ignores.ignored(absolute / name, True, roots):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(suffixes):
                continue
            child = folder_path / name
            if is_excluded(str(child), config) or ignores.ignored(absolute / name, False, roots):
                continue
            if child.is_dir():
                continue
            yield str(child)
