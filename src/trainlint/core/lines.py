"""Lines as libcst (and the Python tokenizer) count them: broken by \\n, \\r\\n and \\r only.

`str.splitlines()` also breaks on \\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029, so a form
feed above a statement would shift every line number below it. Whatever turns a libcst
position into an offset, or a line number into its text, uses these helpers instead.
"""

from __future__ import annotations

import re
from typing import List, Set

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, keepends: bool = False) -> List[str]:
    """Like `text.splitlines(keepends)`, with libcst's line breaks: no empty last line
    after a final line break."""
    if keepends:
        lines, start = [], 0
        for match in LINE_BREAK.finditer(text):
            lines.append(text[start:match.end()])
            start = match.end()
        if start < len(text):
            lines.append(text[start:])
        return lines
    lines = LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def line_starts(text: str) -> List[int]:
    """The offset where each line starts (the first is 0; after a final line break, the
    empty line there counts too)."""
    return [0, *(match.end() for match in LINE_BREAK.finditer(text))]


def default_newline(text: str) -> str:
    """The file's own line break: its first one, as libcst's `Module.default_newline`."""
    match = LINE_BREAK.search(text)
    return match.group() if match else "\n"


def line_breaks_of(text: str) -> Set[str]:
    return set(LINE_BREAK.findall(text))
