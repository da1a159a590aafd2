"""IPython syntax in notebook cells, blanked so that the Python parser accepts the cell.

Every transformation keeps the cell's line count, so line numbers stay valid. Columns stay
valid too, except on the few lines whose code is moved left (a statement timed with
`%time stmt`, a cell IPython dedents); those lines carry a column shift to add back.

What is recognised, at the start of a logical line (not inside a string or brackets):
- line magics `%matplotlib inline`, shell escapes `!pip install x` / `!!ls`, help
  `?obj` / `obj?` / `obj??`, explicit auto-call `/f x`, `,f a b`, `;f a b`: replaced by
  `pass` at the same indentation (a magic can be the only statement of a block);
- `files = !ls`, `out = %sx ls`: the right-hand side becomes `...`, the name stays bound;
- `%time stmt`, `%timeit -n 3 stmt`, `%prun stmt`: the statement is kept, since it runs in
  the notebook's namespace;
- cell magics on the first line: `%%time`, `%%capture out`… run their body as Python, so
  only the magic line is blanked; any other cell magic (`%%bash`, `%%writefile`, `%%sql`,
  `%%html`…) is not Python in this namespace, and its whole body is blanked.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# Cell magics whose body is Python run in the notebook's own namespace.
PYTHON_CELL_MAGICS = frozenset(
    {"time", "timeit", "capture", "prun", "debug", "memit", "snakeviz", "scalene", "pyinstrument"}
)
# Line magics whose argument is a Python statement run in the notebook's namespace.
PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit"})

_ESCAPE_STARTS = ("%", "!", "?", "/", ",", ";")
_HELP = re.compile(r"^%{0,2}[\w.*\[\]]+\s*\?{1,2}$")
_ASSIGN_FROM_MAGIC = re.compile(
    r"^(?P<target>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)(?P<magic>!|%[A-Za-z])"
)
_LINE_MAGIC_NAME = re.compile(r"%(?P<name>[A-Za-z_]\w*)(?=\s)")
_OPTION = re.compile(r"\s+-(?P<flag>[A-Za-z]+)(?=\s|$)")
_VALUE = re.compile(r"\s+[^\s-][^\s]*")
# Options of %timeit (-n -r -p) and %prun (-s -l -r -T -D) that take a value.
_OPTIONS_WITH_VALUE = frozenset({"n", "r", "p", "s", "l", "T", "D"})
_CELL_MAGIC = re.compile(r"^%%(?P<name>[A-Za-z_][\w.]*)")


@dataclass
class BlankedCell:
    text: str
    # 1-based line in the cell -> columns removed at its start (add them back when reporting)
    column_shifts: Dict[int, int] = field(default_factory=dict)


@dataclass
class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a new statement:
    open strings (triple-quoted ones span lines), bracket depth, backslash continuations."""

    quote: Optional[str] = None  # the delimiter of an open triple-quoted string
    depth: int = 0
    continued: bool = False

    @property
    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.continued = False
        while i < n:
            if self.quote is not None:
                if line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            char = line[i]
            if char == "#":
                return
            if char in "\"'":
                triple = char * 3
                if line.startswith(triple, i):
                    self.quote = triple
                    i += 3
                    continue
                i = self._skip_short_string(line, i + 1, char)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(self.depth - 1, 0)
            elif char == "\\" and line[i + 1:].strip() == "":
                self.continued = True
                return
            i += 1

    @staticmethod
    def _skip_short_string(line: str, i: int, quote: str) -> int:
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] == quote:
                return i + 1
            i += 1
        return i  # unterminated: the parser will say so


def _parses(statement: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(statement)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _timed_statement(code: str) -> Optional[int]:
    """Where the statement starts in `%time stmt` / `%timeit -n 10 stmt` / `%prun -s t stmt`."""
    match = _LINE_MAGIC_NAME.match(code)
    if not match or match.group("name") not in PYTHON_LINE_MAGICS:
        return None
    position = match.end()
    while True:
        option = _OPTION.match(code, position)
        if not option:
            break
        position = option.end()
        if option.group("flag") in _OPTIONS_WITH_VALUE:
            value = _VALUE.match(code, position)
            if value:
                position = value.end()
    statement_start = len(code) - len(code[position:].lstrip())
    return statement_start if statement_start < len(code) else None


def _escape_replacement(code: str, logical_line: str) -> Optional[Tuple[str, int]]:
    """For a logical line starting with IPython syntax: the Python that stands for it, and
    how many columns its first line's code moves left (0: the whole line is replaced and
    its continuation lines blanked). None when the line is plain Python."""
    assignment = _ASSIGN_FROM_MAGIC.match(code)
    if assignment:
        return assignment.group("target") + "...", 0
    if code.startswith("%") and not code.startswith("%%"):
        statement_start = _timed_statement(code)
        if statement_start is not None:
            offset = len(logical_line) - len(logical_line.lstrip()) + statement_start
            if _parses(logical_line[offset:]):
                return code[statement_start:], statement_start
    if code.startswith(_ESCAPE_STARTS) or _HELP.match(code):
        return "pass", 0
    if code.endswith("?") and logical_line.count("\n") == 0:
        # `df.groupby("a").mean()?`: help on an expression that is Python without the `?`
        if not _parses(code) and _parses(code.rstrip("?")):
            return "pass", 0
    return None


def _may_be_ipython(code: str) -> bool:
    """A cheap look at a statement's first line: could it be IPython syntax at all?"""
    return bool(code) and (
        code.startswith(_ESCAPE_STARTS) or code.endswith("?") or ("=" in code and ("!" in code or "%" in code))
    )


def _logical_end(lines: List[str], first: int) -> int:
    """The index just past the last physical line of the logical line starting at `first`."""
    scanner = _Scanner()
    number = first
    while number < len(lines):
        scanner.feed(lines[number])
        number += 1
        if scanner.at_statement_start:
            break
    return number


def blank_ipython(source: str) -> BlankedCell:
    """`source` (lines separated by "\\n") with its IPython syntax made into Python."""
    lines = source.split("\n")
    shifts: Dict[int, int] = {}
    start = _cell_magic(lines)
    if start is None:
        return BlankedCell("\n".join("" for _ in lines))  # a non-Python cell magic
    dedent = _leading_indent(lines, start)
    if dedent:
        for number in range(start, len(lines)):
            if lines[number].startswith(dedent):
                lines[number] = lines[number][len(dedent):]
                shifts[number + 1] = len(dedent)
    scanner = _Scanner()
    number = start
    while number < len(lines):
        line = lines[number]
        code = line.strip()
        if not scanner.at_statement_start or not _may_be_ipython(code):
            scanner.feed(line)
            number += 1
            continue
        end = _logical_end(lines, number)
        replacement = _escape_replacement(code, "\n".join(lines[number:end]))
        if replacement is None:
            scanner.feed(line)
            number += 1
            continue
        new_code, moved = replacement
        indent = line[: len(line) - len(line.lstrip())]
        lines[number] = indent + new_code
        if moved:
            shifts[number + 1] = shifts.get(number + 1, 0) + moved
        else:
            for continuation in range(number + 1, end):
                lines[continuation] = ""
        number = end
    return BlankedCell("\n".join(lines), shifts)


def _cell_magic(lines: List[str]) -> Optional[int]:
    """The index of the first line to read as Python: 0, or past a `%%time`-like magic line
    (blanked here); None for a cell magic whose body is not Python."""
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        match = _CELL_MAGIC.match(line.lstrip())
        if not match:
            return 0
        if match.group("name") not in PYTHON_CELL_MAGICS:
            return None
        lines[number] = ""
        return number + 1
    return 0


def _leading_indent(lines: List[str], start: int) -> str:
    """IPython dedents a cell whose first line is indented (pasted code); so do we."""
    for line in lines[start:]:
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""
