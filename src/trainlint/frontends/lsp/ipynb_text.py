"""A notebook opened as plain text (its JSON): where a cell's line and column sit in the file.

The engine reports notebook findings as (cell, line, column) of the cell's source; an editor
showing the `.ipynb` file as JSON needs the offset of that character inside the JSON string
that holds the line (escapes such as `\\"` or `\\u00e9` make it move). A small scanner reads
the JSON keeping the raw offsets of every string; only code-cell sources are ever mapped.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_LITERALS = {"true": True, "false": False, "null": None}


class RawString(str):
    """A decoded JSON string that remembers where its literal starts in the file."""

    raw: str  # the literal's text without its quotes
    start: int  # offset of the first character after the opening quote

    def offset(self, index: int) -> int:
        """File offset of decoded character `index` (len(self) gives the closing quote)."""
        position, seen = self.start, 0
        raw = self.raw
        i = 0
        while seen < index and i < len(raw):
            if raw[i] != "\\":
                i += 1
            elif raw[i + 1] != "u":
                i += 2
            else:
                code = int(raw[i + 2:i + 6], 16)
                low = raw[i + 6:i + 12]
                # a surrogate pair written as two escapes is one character of the source
                i += 12 if 0xD800 <= code < 0xDC00 and low.startswith("\\u") else 6
            seen += 1
        return position + i


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text

    def value(self, i: int):
        i = _SPACE.match(self.text, i).end()
        char = self.text[i:i + 1]
        if char == "{":
            return self.object(i + 1)
        if char == "[":
            return self.array(i + 1)
        if char == '"':
            return self.string(i)
        for word, value in _LITERALS.items():
            if self.text.startswith(word, i):
                return value, i + len(word)
        match = _NUMBER.match(self.text, i)
        if not match:
            raise ValueError(f"unexpected character at {i}")
        return json.loads(match.group()), match.end()

    def string(self, i: int):
        match = _STRING.match(self.text, i)
        if not match:
            raise ValueError(f"unterminated string at {i}")
        result = RawString(json.loads(match.group()))
        result.raw, result.start = match.group()[1:-1], i + 1
        return result, match.end()

    def object(self, i: int):
        result: Dict[str, object] = {}
        i = _SPACE.match(self.text, i).end()
        if self.text.startswith("}", i):
            return result, i + 1
        while True:
            key, i = self.string(_SPACE.match(self.text, i).end())
            i = _SPACE.match(self.text, i).end() + 1  # the colon
            result[str(key)], i = self.value(i)
            i = _SPACE.match(self.text, i).end()
            if self.text.startswith("}", i):
                return result, i + 1
            i += 1  # the comma

    def array(self, i: int):
        result: List[object] = []
        i = _SPACE.match(self.text, i).end()
        if self.text.startswith("]", i):
            return result, i + 1
        while True:
            item, i = self.value(i)
            result.append(item)
            i = _SPACE.match(self.text, i).end()
            if self.text.startswith("]", i):
                return result, i + 1
            i += 1


def cell_sources(text: str) -> Optional[Dict[int, List[RawString]]]:
    """Cell number (1-based among all cells, as the engine counts) -> its source strings;
    None when the text is not a notebook this scanner can read."""
    try:
        data, _ = _Scanner(text).value(0)
    except (ValueError, IndexError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    cells = data.get("cells")
    if not isinstance(cells, list):  # nbformat 3: cells inside worksheets
        sheets = data.get("worksheets")
        if not isinstance(sheets, list):
            return None
        cells = [c for sheet in sheets if isinstance(sheet, dict) for c in sheet.get("cells") or []]
    found: Dict[int, List[RawString]] = {}
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input"))
        if isinstance(source, RawString):
            found[number] = [source]
        elif isinstance(source, list) and all(isinstance(part, RawString) for part in source):
            found[number] = source
    return found


def locate(parts: List[RawString], line: int, col: int) -> Optional[int]:
    """File offset of the 1-based (line, column) of a cell whose source is `parts`."""
    current = 1
    for part in parts:
        start = 0
        while current < line:
            newline = part.find("\n", start)
            if newline < 0:
                break
            start, current = newline + 1, current + 1
        if current == line and (start < len(part) or part is parts[-1]):
            end_of_line = part.find("\n", start)
            end_of_line = len(part) if end_of_line < 0 else end_of_line
            return part.offset(min(start + col - 1, end_of_line))
    return None


def offset_to_line_col(text: str, offset: int) -> Tuple[int, int]:
    """1-based line and code-point column of a file offset (lines end at \\n, \\r\\n or \\r)."""
    before = text[:offset]
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
    return line, offset - line_start + 1
