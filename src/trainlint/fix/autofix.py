"""`--fix` and `--diff`: fix the files that have applicable fixes, write or show the result.

Only files with at least one applicable fix are read again; each is fixed round after round
(`fix.fix_text`; notebooks: `notebook_fix.fix_notebook_text`, cell sources only) and then
written (`fix.write`: atomically, or not at all; `--fix`) or shown as a unified diff
(`--diff`, per cell for notebooks). A fix counts as done only once its file is written.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic
from trainlint.core.lines import split_lines
from trainlint.run.engine import lint_source
from trainlint.fix.apply import applicable, fix_text
from trainlint.fix.write import WriteRefused, encode_like, write_atomically
from trainlint.run.notebook import is_notebook
from trainlint.fix.notebook import cell_diff, fix_notebook_text
from trainlint.core.source import SourceError, decode_source


@dataclass
class FixOutcome:
    diagnostics: List[Diagnostic]  # what remains after fixing (or all, with --diff)
    fixed: List[Diagnostic] = field(default_factory=list)
    diff: str = ""
    messages: List[str] = field(default_factory=list)


def fix_files(
    diagnostics: Sequence[Diagnostic], config: Union[Config, Callable[[Path], Config]], unsafe: bool,
    write: bool,
) -> FixOutcome:
    """`config`: one for every file, or the function giving each file's (per-file config)."""
    config_for = (lambda _path: config) if isinstance(config, Config) else config
    by_path: Dict[str, List[Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        by_path[diagnostic.path].append(diagnostic)
    outcome = FixOutcome(diagnostics=[])
    for path, found in by_path.items():
        if not any(applicable(d.fix, unsafe) for d in found):
            outcome.diagnostics.extend(found)
            continue
        try:
            raw = Path(path).read_bytes()
            text = decode_source(raw)
        except (OSError, SourceError) as error:
            outcome.messages.append(f"{path}: not fixed: {error}")
            outcome.diagnostics.extend(found)
            continue
        fixer = fix_notebook_text if is_notebook(path) else fix_text
        own = config_for(Path(path))
        result, remaining = fixer(text, lambda source: lint_source(source, path, own), unsafe)
        outcome.messages.extend(result.dropped)
        if not result.changed:
            outcome.diagnostics.extend(found)
            continue
        if write:
            problem = _write(Path(path), raw, result.text)
            if problem is not None:
                outcome.messages.append(f"{path}: not written: {problem}")
                outcome.diagnostics.extend(found)
                continue
            outcome.fixed.extend(result.applied)  # counted once written
            outcome.diagnostics.extend(remaining)
        else:
            outcome.fixed.extend(result.applied)
            outcome.diagnostics.extend(found)
            if is_notebook(path):
                outcome.diff += cell_diff(text, result.text, path)
                continue
            outcome.diff += "".join(
                difflib.unified_diff(
                    split_lines(text, keepends=True), split_lines(result.text, keepends=True),
                    fromfile=f"a/{path}", tofile=f"b/{path}",
                )
            )
    outcome.diagnostics.sort(key=Diagnostic.sort_key)
    return outcome


def _write(path: Path, raw: bytes, text: str) -> Optional[str]:
    """Write the fixed `text` of `path` (read as `raw`); None, or why it was not written."""
    try:
        write_atomically(path, encode_like(raw, text, notebook=is_notebook(str(path))), expected=raw)
    except WriteRefused as error:
        return str(error)
    except UnicodeEncodeError as error:
        return f"the fixed text cannot be encoded as {error.encoding}: {error.reason}"
    except OSError as error:
        return error.strerror or str(error)
    return None
