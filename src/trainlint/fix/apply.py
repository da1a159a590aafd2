"""Applying fixes: text edits from diagnostics to sources, and writing files safely.

Pure functions compute the fixed text (`fix_text`); `write_atomically` is the only writer,
used by the CLI for `--fix` (temporary file in the same folder, then rename; permissions,
encoding, BOM and line endings kept).
"""

from __future__ import annotations

import codecs
import io
import os
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

import libcst as cst

from trainlint.core.diagnostics import Diagnostic, Edit, Fix, applicable  # noqa: F401 - applicable: fixers import it here

MAX_ROUNDS = 10


@dataclass
class FixResult:
    text: str
    applied: List[Diagnostic] = field(default_factory=list)
    # Fixes dropped because they would break the code (message for the user).
    dropped: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


class _Offsets:
    """1-based (line, column) → offset in text. Columns count code points, as libcst does."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.length = len(text)

    def offset(self, line: int, col: int) -> int:
        if line - 1 >= len(self.starts):
            return self.length
        return min(self.starts[line - 1] + col - 1, self.length)


def _line_ending(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _edit_spans(text: str, fix: Fix) -> List[Tuple[int, int, str]]:
    offsets = _Offsets(text)
    newline = _line_ending(text)
    spans = []
    for edit in fix.edits:
        new_text = edit.new_text.replace("\r\n", "\n")
        if newline != "\n":
            new_text = new_text.replace("\n", newline)
        spans.append((offsets.offset(edit.start_line, edit.start_col),
                      offsets.offset(edit.end_line, edit.end_col), new_text))
    return spans


def _overlaps(a: Tuple[int, int, str], b: Tuple[int, int, str]) -> bool:
    (a_start, a_end, _), (b_start, b_end, _) = a, b
    if a_start == a_end and b_start == b_end:
        return a_start == b_start  # two insertions at one point: their order is arbitrary
    if a_start == a_end:
        return b_start < a_start < b_end
    if b_start == b_end:
        return a_start < b_start < a_end
    return a_start < b_end and b_start < a_end


def _apply_spans(text: str, spans: Sequence[Tuple[int, int, str]]) -> str:
    for start, end, new_text in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True


def apply_once(text: str, diagnostics: Sequence[Diagnostic], unsafe: bool) -> FixResult:
    """Apply every non-conflicting applicable fix once; drop fixes that break parsing."""
    accepted: List[Tuple[Diagnostic, List[Tuple[int, int, str]]]] = []
    taken: List[Tuple[int, int, str]] = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if not applicable(diagnostic.fix, unsafe):
            continue
        spans = _edit_spans(text, diagnostic.fix)
        if any(_overlaps(span, other) for span in spans for other in taken):
            continue  # conflicting: the next round, on the fixed text, may take it
        accepted.append((diagnostic, spans))
        taken.extend(spans)
    result = FixResult(text)
    if not accepted:
        return result
    candidate = _apply_spans(text, [span for _, spans in accepted for span in spans])
    if parses(candidate):
        return FixResult(candidate, [d for d, _ in accepted])
    # Some fix breaks the code: apply them one by one and keep the ones that do not.
    current = text
    for diagnostic, spans in sorted(accepted, key=lambda item: item[1][0][0], reverse=True):
        attempt = _apply_spans(current, spans)
        if parses(attempt):
            current = attempt
            result.applied.append(diagnostic)
        else:
            result.dropped.append(
                f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}: {diagnostic.code} "
                "fix not applied: it would leave the code unparsable"
            )
    result.text = current
    return result


def fix_text(
    text: str, lint: Callable[[str], List[Diagnostic]], unsafe: bool = False
) -> Tuple[FixResult, List[Diagnostic]]:
    """Fix repeatedly until nothing applicable is left (or MAX_ROUNDS). Returns the result
    and the diagnostics of the final text."""
    total = FixResult(text)
    diagnostics = lint(text)
    if any(d.code == "TL001" for d in diagnostics):
        return total, diagnostics  # never touch a file that does not parse
    for _ in range(MAX_ROUNDS):
        step = apply_once(total.text, diagnostics, unsafe)
        total.dropped.extend(step.dropped)
        if not step.changed or step.text == total.text:
            break
        total.text = step.text
        total.applied.extend(step.applied)
        diagnostics = lint(total.text)
    return total, diagnostics


# -- writing ------------------------------------------------------------------------------

def source_encoding(data: bytes) -> Tuple[str, bool]:
    """The encoding a Python file declares (or UTF-8) and whether it starts with a BOM."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    return encoding, has_bom


def encode_like(original: bytes, text: str) -> bytes:
    encoding, has_bom = source_encoding(original)
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if has_bom else data


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` through a temporary file in the same folder, keeping its
    permissions; the original stays intact if anything fails before the rename."""
    real = Path(os.path.realpath(path))  # write through a symlink, not over it
    mode = real.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".trainlint-tmp", dir=real.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


__all__ = ["Edit", "Fix", "FixResult", "applicable", "apply_once", "encode_like", "fix_text",
           "parses", "write_atomically"]
