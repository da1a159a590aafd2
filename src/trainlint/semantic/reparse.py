"""Re-parsing an edited document, keeping the top-level statements the edit did not touch.

libcst has no incremental parser, and its parse is a third of the cost of linting a
1,000-line script. An edit in the editor changes one place of the text: the statements
before and after it are the same text, and parse to the same trees. `EditedDocument` keeps
the last module of a document with the span of each top-level piece in its text; the next
text is compared with the last from both ends, and only the statements around the changed
stretch are parsed again (with one neighbour on each side, so that the lines between two
statements are assigned as a parse of the whole text would assign them). The module is the
old one with those statements replaced: the other statement nodes are the very same
objects, so the index reuses their records (`semantic.pieces`).

Where the answer could differ from a parse of the whole text, this does not guess: an edit
in the first or last statement or in the header or footer lines, a stretch indented
otherwise than the module's default (libcst takes the first indented block's), and a
stretch that does not parse on its own all fall back to the whole parse. tests/test_reparse.py compares the result with a parse of
the whole text, tree for tree, over many edits.
"""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.libcst_tuning import unvalidated_parse
from trainlint.semantic.names import nodes_in
from trainlint.semantic.positions import common_prefix


class EditedDocument:
    """One open document's last module and the spans of its top-level statements."""

    def __init__(self) -> None:
        self._text: Optional[str] = None
        self._module: Optional[cst.Module] = None
        self._starts: List[int] = []  # per body statement: its start and end in the text
        self._ends: List[int] = []
        self._first_block = 0  # the first body statement with an indented block
        self.pieces: Optional[dict] = None  # the last index's records (ModuleIndex.pieces)

    def forget(self) -> None:
        self._text, self._module, self.pieces = None, None, None

    def remember(self, text: str, module: cst.Module, index: ModuleIndex) -> None:
        """After linting `text`: what the next edit starts from."""
        self.forget()
        if not index.positions.is_the_text:
            return  # libcst's code differs from the text (a form feed): spans would be off
        offset = sum(len(token) for line in module.header for token in index.pieces[id(line)].tokens)
        starts, ends = [], []
        for statement in module.body:
            starts.append(offset)
            offset += sum(map(len, index.pieces[id(statement)].tokens))
            ends.append(offset)
        self._text, self._module, self.pieces = text, module, index.pieces
        self._starts, self._ends = starts, ends
        self._first_block = next(
            (number for number, statement in enumerate(module.body)
             if type(getattr(statement, "body", None)) is cst.IndentedBlock), len(module.body))

    def parse(self, text: str) -> Optional[cst.Module]:
        """The module of `text` with the untouched statements of the last one; None when
        only a parse of the whole text can tell."""
        old, module = self._text, self._module
        if old is None or module is None:
            return None
        if text == old:
            return module
        prefix = common_prefix(old, 0, text, 0)
        suffix = _common_suffix(old, text, limit=min(len(old), len(text)) - prefix)
        first = next((n for n, end in enumerate(self._ends) if end >= prefix), None)
        changed_end = len(old) - suffix
        last = next((n for n in range(len(self._starts) - 1, -1, -1) if self._starts[n] <= changed_end), None)
        if first is None or last is None:
            return None
        low, high = min(first, last) - 1, max(first, last) + 1  # a neighbour on each side
        if low < 0 or high > len(module.body) - 1:
            return None
        start, end = self._starts[low], self._ends[high] + len(text) - len(old)
        replaced = _parse_stretch(text[start:end], module, low <= self._first_block <= high)
        if replaced is None:
            return None
        return module.with_changes(body=[*module.body[:low], *replaced, *module.body[high + 1:]])


def _parse_stretch(code: str, module: cst.Module, held_first_block: bool) -> Optional[List[cst.BaseStatement]]:
    """The statements of a stretch of top-level code, as in the whole module, or None.
    `held_first_block`: the stretch held the module's first indented block, whose indent
    is the module's default (libcst takes the first INDENT of the text)."""
    config = cst.PartialParserConfig(default_indent=module.default_indent, default_newline=module.default_newline)
    try:
        with unvalidated_parse():
            stretch = cst.parse_module(code, config)
    except (cst.ParserSyntaxError, RecursionError):
        return None  # the whole parse says what is wrong
    if not stretch.body or stretch.footer or not stretch.has_trailing_newline:
        return None  # the lines after it belong to the next statement
    # The native parser takes the defaults from the stretch, not from the config. A block
    # indented otherwise than the module's default would lose its own indentation; without
    # a block in a stretch that held the first one, the next block of the text sets it.
    has_block = any(type(node) is cst.IndentedBlock for node in nodes_in(stretch))
    if has_block and stretch.default_indent != module.default_indent:
        return None
    if (not has_block and held_first_block) or stretch.default_newline != module.default_newline:
        return None
    statements = list(stretch.body)
    if stretch.header:  # leading comments: a module's header, a statement's leading lines here
        statements[0] = statements[0].with_changes(leading_lines=[*stretch.header, *statements[0].leading_lines])
    return statements


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, max(limit, 0)
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle:] == b[len(b) - middle:]:
            low = middle
        else:
            high = middle - 1
    return low
