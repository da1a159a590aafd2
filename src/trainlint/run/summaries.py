"""The project index at run time: find the module a name comes from, read it, summarise it.

Lazy by design: nothing is read until the analysis of a linted file reaches a call that is
given a model and names a function imported from a module of the project, a constructor
of a class imported from one, or an imported name given to a dataset as its transform
(`semantic.project_index.CallTargets`). That module is found from the linted file's folder,
the project root (nearest `pyproject.toml` / `setup.cfg` / `.git`) and its `src/` folder,
or relative to the file's package; anything else (an installed library, a missing module)
is unknown. A module is parsed only when its text defines the name asked for (a package's
`__init__.py` that imports it from a submodule leads there); its summaries are kept for the process and, when a result cache is in use, on disk beside it
(keyed by the module's bytes, trainlint's code and the configuration), so other workers and
later runs read them. Every module read is recorded (`recording_uses`): the caller's cache
entry depends on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

from trainlint.core.config import Config
from trainlint.core.source import SourceError, decode_source

if TYPE_CHECKING:  # pragma: no cover - libcst is loaded only when something is linted
    import libcst as cst

    from trainlint.semantic.project_index import CallTargets, ClassSummary, HelperSummary, TransformSummary

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", ".git")
_MAX_MODULE_BYTES = 2 * 1024 * 1024  # a generated giant is not a helper module worth reading
Use = Tuple[str, str]  # (absolute path of a module read, blake2b of its bytes)

_texts: Dict[Tuple[str, int, int], Tuple[str, str]] = {}  # (path, mtime, size) -> (digest, text)
_summaries: Dict[Tuple[str, str, str], Dict[str, object]] = {}  # (path, digest, kind) -> by name
_parsed: Dict[Tuple[str, str], object] = {}  # the last module parsed for summaries: (path, digest) -> tree
_REEXPORT_DEPTH = 3  # `models/__init__.py` -> `models/net.py`, and a little beyond
_uses: Optional[Set[Use]] = None
_summary_folder: Optional[Path] = None


def use_summary_cache(folder: Optional[Path]) -> None:
    """Keep summaries on disk in `folder` (the result cache's), or not (None)."""
    global _summary_folder
    _summary_folder = None if folder is None else Path(folder) / "summaries"


@contextmanager
def recording_uses() -> Iterator[Set[Use]]:
    """The modules read for summaries while the block runs (one linted file)."""
    global _uses
    outer, _uses = _uses, set()
    try:
        yield _uses
    finally:
        _uses = outer


def digest_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def uses_unchanged(uses: List[Use]) -> bool:
    """Whether every module a cached result used still has the bytes it had."""
    for path, digest in uses:
        read = _read(path)
        if read is None or read[0] != digest:
            return False
    return True


@lru_cache(maxsize=1024)
def project_root(folder: str) -> Optional[str]:
    current = folder
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in ROOT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


class ProjectHelpers:
    """The project functions and classes one linted file can use (`FileContext.project`)."""

    def __init__(self, path: str, ctx) -> None:
        self.path = os.path.realpath(path)
        self.folder = os.path.dirname(self.path)
        self.root = project_root(self.folder)
        self.config = ctx.config
        self._ctx = ctx
        self._targets: Optional["CallTargets"] = None  # built on the first name asked about
        self._found: Dict[Tuple[int, str], object] = {}

    @classmethod
    def for_file(cls, path: str, ctx) -> Optional["ProjectHelpers"]:
        """The helpers of the file at `path`, or None: index off, or no file on disk."""
        if not ctx.config.project_index or not os.path.isfile(path):
            return None
        return cls(path, ctx)

    def helper(self, func: "cst.BaseExpression") -> Optional["HelperSummary"]:
        from trainlint.semantic.project_index import FUNCTION

        return self._asked(func, FUNCTION)

    def model_class(self, func: "cst.BaseExpression") -> Optional["ClassSummary"]:
        from trainlint.semantic.project_index import CLASS

        return self._asked(func, CLASS)

    def transform(self, expr: "cst.BaseExpression", called: bool) -> Optional["TransformSummary"]:
        from trainlint.semantic.project_index import TRANSFORM

        found = self._asked(expr, TRANSFORM)
        return found if found is not None and found.is_function == called else None

    def _asked(self, node: "cst.BaseExpression", kind: str):
        if (id(node), kind) not in self._found:
            self._found[(id(node), kind)] = self._lookup(node, kind)
        return self._found[(id(node), kind)]

    def _lookup(self, func: "cst.BaseExpression", kind: str):
        from trainlint.semantic.project_index import CallTargets

        if self._targets is None:
            self._targets = CallTargets(self._ctx.index)
        for level, module, name in self._targets.targets(func):
            file = self._module_file(self.folder, level, module)
            if file is None:
                continue  # not a module of the project (a star import of a library)
            found, known = self._in_module(file, kind, name, _REEXPORT_DEPTH)
            if known:
                return found
        return None

    def _in_module(self, file: str, kind: str, name: str, depth: int):
        """(summary or None, whether the module answered: it defines or re-exports `name`)."""
        from trainlint.semantic.project_index import defines, reexports

        read = _read(file)
        if read is None:
            return None, True
        digest, text = read
        if _uses is not None:
            _uses.add((file, digest))
        if defines(text, kind, name):
            summary = self._summaries(file, digest, text, kind).get(name)
            return (None if summary is None else dataclasses.replace(summary, file=self._shown(file, summary.file))), True
        if depth > 0:
            for level, module in reexports(text, name):
                source = self._module_file(os.path.dirname(file), level, module, importer=file)
                if source is not None:
                    found, known = self._in_module(source, kind, name, depth - 1)
                    if known:
                        return found, True
        return None, False

    def _shown(self, file: str, from_root: str) -> str:
        """How a message names the helper's file: from the caller's folder when it lies at or
        below it (`engine.py`, `utils/metrics.py`), else from the project root."""
        below = os.path.relpath(file, self.folder)
        return from_root if below.startswith("..") else below.replace(os.sep, "/")

    def _module_file(self, folder: str, level: int, module: str, importer: Optional[str] = None) -> Optional[str]:
        """The file of the project module an import in `folder` names (`importer`: the module
        that imports, when it is not the linted file)."""
        parts = module.split(".") if module else []
        if level > 0:
            base = folder
            for _ in range(level - 1):
                base = os.path.dirname(base)
            bases = [base]
        elif not parts:
            return None
        else:
            bases = [folder] + ([self.root, os.path.join(self.root, "src")] if self.root else [])
        inside = self.root or self.folder
        for base in bases:
            stem = os.path.join(base, *parts)
            for file in (stem + ".py", os.path.join(stem, "__init__.py")):
                if os.path.isfile(file):
                    real = os.path.realpath(file)
                    if real not in (self.path, importer) and (real + os.sep).startswith(inside + os.sep):
                        return real
                    return None
        return None

    def _summaries(self, file: str, digest: str, text: str, kind: str) -> Dict[str, object]:
        memo_key = (file, digest, kind)
        if memo_key not in _summaries:
            label = os.path.relpath(file, self.root or self.folder).replace(os.sep, "/")
            stored = _load(file, digest, kind, self.config)
            if stored is None:
                stored = _summarise(text, file, digest, label, self.config, kind)
                _store(file, digest, kind, self.config, stored)
            _summaries[memo_key] = stored
        return _summaries[memo_key]


def _summarise(text: str, file: str, digest: str, label: str, config: Config, kind: str) -> Dict[str, object]:
    """Parsed as a linted file is (CPython's parser first: a tree too deep for libcst's
    native parser would crash the process); a module that does not parse has none. The
    last tree is kept for another kind asked of the same module."""
    from trainlint.core.diagnostics import Diagnostic
    from trainlint.core.limits import AnalysisTimeout
    from trainlint.run.engine_diagnostics import parse
    from trainlint.semantic.project_index import summarise_module

    module = _parsed.get((file, digest))
    if module is None:
        module = parse(text, file)
        _parsed.clear()
        _parsed[(file, digest)] = module
    if isinstance(module, Diagnostic):
        return {}  # its TL001 / TL004 is reported when it is linted itself
    try:
        return summarise_module(text, module, file, label, config, kind)
    except AnalysisTimeout:
        raise  # the caller's time budget
    except Exception:  # noqa: BLE001 - a crash analysing the helper is the helper's, not the caller's
        return {}


def _read(path: str) -> Optional[Tuple[str, str]]:
    try:
        info = os.stat(path)
        memo_key = (path, info.st_mtime_ns, info.st_size)
        if memo_key not in _texts:
            if info.st_size > _MAX_MODULE_BYTES:
                return None
            data = Path(path).read_bytes()
            _texts[memo_key] = (digest_of(data), decode_source(data))
        return _texts[memo_key]
    except (OSError, SourceError):
        return None


# -- summaries on disk ---------------------------------------------------------------------

def _entry(file: str, digest: str, kind: str, config: Config) -> Optional[Path]:
    if _summary_folder is None:
        return None
    from trainlint.run.cache import code_fingerprint

    key = hashlib.blake2b(f"{code_fingerprint()}\0{config.fingerprint()}\0{file}\0{digest}\0{kind}".encode(
        "utf-8", "surrogatepass"), digest_size=20).hexdigest()
    return _summary_folder / key[:2] / f"{key[2:]}.json"


def _load(file: str, digest: str, kind: str, config: Config) -> Optional[Dict[str, object]]:
    from trainlint.run.cache import _read_entry
    from trainlint.semantic.project_index import KINDS
    from trainlint.run.cache_secret import cache_secret

    entry, secret = _entry(file, digest, kind, config), cache_secret()
    raw = _read_entry(entry) if entry is not None and secret is not None else None
    if raw is None:
        return None
    mac, _, body = raw.partition(b"\n")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        payload = json.loads(body.decode("utf-8"))
        return {str(name): KINDS[kind].from_json(data) for name, data in payload.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # not ours: summarise again


def _store(file: str, digest: str, kind: str, config: Config, summaries: Dict[str, object]) -> None:
    from trainlint.run.cache import _write_atomically
    from trainlint.run.cache_secret import cache_secret

    entry, secret = _entry(file, digest, kind, config), cache_secret()
    if entry is None or secret is None:
        return
    body = json.dumps({name: s.to_json() for name, s in summaries.items()}, separators=(",", ":"))
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(entry, _mac(secret, body.encode()).decode() + "\n" + body)
    except OSError:
        pass  # a read-only or full disk only costs speed


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).hexdigest().encode("ascii")

