"""Code actions: quick fixes that rules provide, and "Disable TLxxx for this line" (`# noqa`).

Everything here works on text and engine diagnostics and returns plain edits; the server
turns them into LSP objects.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

from trainlint.core.diagnostics import Edit

# The codes list of an existing `# noqa: ...` comment (same grammar as suppression.py).
_NOQA_CODES = re.compile(r"#\s*noqa:\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*)", re.I)
_BARE_NOQA = re.compile(r"#\s*noqa(?!\s*:)", re.I)


@dataclass(frozen=True)
class LineLayout:
    """Where comments are on each line, and which lines cannot take one (the line ends
    inside a multi-line string, or with a backslash continuation)."""

    comments: Dict[int, Tuple[int, str]]  # line (1-based) -> (column 0-based, comment text)
    closed: Set[int]

    @classmethod
    def of(cls, text: str) -> "LineLayout":
        comments: Dict[int, Tuple[int, str]] = {}
        closed: Set[int] = set()
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type == tokenize.COMMENT:
                    comments[token.start[0]] = (token.start[1], token.string)
                elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
                    closed.update(range(token.start[0], token.end[0]))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            pass  # half-typed code: what was read so far is all we know
        return cls(comments, closed)


def noqa_edit(lines: List[str], layout: LineLayout, line: int, code: str) -> Optional[Edit]:
    """The edit that adds `code` to the `# noqa` of a 1-based `line`, or None if it cannot."""
    if not 0 < line <= len(lines) or line in layout.closed:
        return None
    text = lines[line - 1]
    if text.rstrip().endswith("\\"):
        return None
    comment = layout.comments.get(line)
    if comment is not None:
        column, comment_text = comment
        match = _NOQA_CODES.search(comment_text)
        if match:
            codes = re.split(r"[\s,]+", match.group("codes").strip())
            if code.upper() in (c.upper() for c in codes):
                return None
            start, end = column + match.start("codes"), column + match.end("codes")
            return Edit(line, start + 1, line, end + 1, ", ".join(codes + [code]))
        if _BARE_NOQA.search(comment_text):
            return None  # already silences every code on the line
    # A new `# noqa` after the code or after an existing comment (flake8 finds it there too).
    end = len(text.rstrip())
    return Edit(line, end + 1, line, len(text) + 1, f"  # noqa: {code}")
