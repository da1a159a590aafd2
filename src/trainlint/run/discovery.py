"""Which files to lint: walk folders, skip excluded ones, honour .gitignore.

Only regular files are walked (a FIFO named `x.py` would block its reader). A folder that
cannot be listed is not a reason to stop: it is reported (`unreadable`) and the walk goes on.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from trainlint.core.config import Config, path_matches_any

if TYPE_CHECKING:  # pragma: no cover - imported when a .gitignore is met (a warm run's start-up)
    import pathspec

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
                    import pathspec

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
        if os.path.exists(folder / ".git"):  # os.path: False, not PermissionError, on a locked folder
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
# (path, why it could not be looked at), in the order met.
Unreadable = List[Tuple[str, str]]


def discover(
    paths: Sequence[str], config: Config, suffixes: Tuple[str, ...] = SOURCE_SUFFIXES,
    config_for: Optional[ConfigFor] = None, unreadable: Optional[Unreadable] = None,
) -> Tuple[List[str], List[str]]:
    """Files to lint, in a stable order, and the explicit paths that do not exist.

    `config_for(folder or file)` gives the configuration that applies there (the nearest
    pyproject.toml, per folder): its excludes decide inside each folder. Without it, `config`
    applies everywhere. Folders that could not be listed are added to `unreadable`."""
    if config_for is None:
        config_for = lambda _path: config  # noqa: E731
    found: List[str] = []
    missing: List[str] = []
    seen: set = set()
    ignores = _GitIgnores()
    skipped: Unreadable = unreadable if unreadable is not None else []
    for given in paths:
        path = Path(given)
        kind = _kind(given)
        if kind == "folder":
            candidates: Iterable[str] = _walk(path, config_for, suffixes, ignores, skipped)
        elif kind != "missing" or os.path.islink(given):
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


def _kind(path: str) -> str:
    """"folder", "missing", or "file" for anything else, unreadable or special files
    included: named explicitly, they are read, and the reader says what is wrong with them."""
    try:
        return "folder" if stat.S_ISDIR(os.stat(path).st_mode) else "file"
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError):
        return "file"


def _listed_on_walk(path: Path) -> bool:
    """Whether a walked name is linted: a regular file, or something whose kind cannot be
    seen (a dangling symlink, a locked folder's entry: its read error is reported)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return True


def _walk(top: Path, config_for: ConfigFor, suffixes: Tuple[str, ...], ignores: _GitIgnores,
          unreadable: Unreadable) -> Iterator[str]:
    absolute_top = top.resolve()
    repo = _repository_root(absolute_top)
    # A folder named explicitly is linted even when a .gitignore above it ignores it (as
    # `git add -f` would); then only the .gitignore files inside it apply.
    if repo is not None and absolute_top != repo:
        if ignores.ignored(absolute_top, True, _ignore_roots(absolute_top.parent, repo)):
            repo = absolute_top
    visited_real: set = set()

    def cannot_list(error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        folder = str(Path(error.filename)) if error.filename else str(top)  # as files are shown: no "./"
        unreadable.append((folder, f"folder not readable ({reason}): its files were not linted"))

    for folder, dirnames, filenames in os.walk(top, onerror=cannot_list, followlinks=False):
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
            if name in ALWAYS_SKIPPED_FOLDERS or is_excluded(str(child), config) or _is_virtualenv(child):
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
            if _listed_on_walk(child):
                yield str(child)


def _is_virtualenv(folder: Path) -> bool:
    # os.path.exists: a folder that cannot be looked into is not one (os.walk then reports it)
    return os.path.exists(folder / "pyvenv.cfg")
