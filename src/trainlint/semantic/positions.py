"""Line and column of nodes, without libcst's PositionProvider.

PositionProvider runs a metadata visit over the whole tree (which rebuilds every node) and
then generates the code, creating two position objects per node and splitting every token
on newlines as it goes: about twice the cost of parsing. The shared walk of
analysis/index.py already generates the code once and notes, per node, the indices of the
tokens where it starts and ends (plain ints). A node's line and column are worked out from
those indices only when asked for, which happens only for reported nodes.

The ranges are PositionProvider's (syntactic positions where a node records them,
whitespace-inclusive ones otherwise); tests/test_positions.py checks every node of the
fixtures against it. Where libcst's code is not the source text (it drops a form feed that
starts a statement line), positions are mapped onto the text, so that reported columns and
fix edits point at the text the user has.
"""

from __future__ import annotations

from bisect import bisect_right
from contextlib import contextmanager
from itertools import accumulate
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from trainlint.core.lines import LINE_BREAK  # what libcst counts as a line break


@contextmanager
def record_syntactic_position(
    self,
    node: cst.CSTNode,
    *,
    start_node: Optional[cst.CSTNode] = None,
    end_node: Optional[cst.CSTNode] = None,
) -> Iterator[None]:
    """CodegenState hook (as libcst's PositionProvidingCodegenState): some nodes narrow their
    range to the syntactic part, or take it from child nodes; `self.marks` holds token indices."""
    start = len(self.tokens)
    try:
        yield
    finally:
        end = len(self.tokens)
        if start_node is not None:
            start = self.marks[start_node][0]
        if end_node is not None:
            end = self.marks[end_node][1]
        self.marks[node] = (start, end)


class PositionIndex:
    """Mapping node → CodeRange (1-based lines, 0-based columns), as PositionProvider's, but
    in `text` (the parsed source) where libcst's code differs from it (`text_offsets`)."""

    def __init__(self, marks: Dict[cst.CSTNode, Tuple[int, int]], tokens: List[str],
                 text: Optional[str] = None) -> None:
        self._marks = marks
        self._tokens = tokens
        self._text = text
        self._offsets: Optional[List[int]] = None
        self._to_text: Optional[List[int]] = None
        self._line_starts: List[int] = []
        self._on_text = True

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start, end = self._marks[node]
        return CodeRange(self._position(start), self._position(end))

    def __contains__(self, node: object) -> bool:
        return node in self._marks

    @property
    def on_text(self) -> bool:
        """Whether positions are those of the text (always, unless libcst changed more of it
        than the characters `text_offsets` can account for)."""
        self._prepare()
        return self._on_text

    def _prepare(self) -> None:
        if self._offsets is not None:
            return  # done at the first use in this file
        self._offsets = [0, *accumulate(map(len, self._tokens))]
        code = "".join(self._tokens)
        if self._text is not None and code != self._text:
            self._to_text = text_offsets(code, self._text)
            self._on_text = self._to_text is not None
            code = self._text if self._on_text else code
        self._line_starts = [0, *(match.end() for match in LINE_BREAK.finditer(code))]

    def _position(self, token_index: int) -> CodePosition:
        self._prepare()
        assert self._offsets is not None
        offset = self._offsets[token_index]
        if self._to_text is not None:
            offset = self._to_text[offset]
        line = bisect_right(self._line_starts, offset) - 1
        return CodePosition(line + 1, offset - self._line_starts[line])


def text_offsets(code: str, text: str) -> Optional[List[int]]:
    """Offset in `text` of each offset of `code` (and of its end), when `code` is `text`
    without some whitespace: libcst drops a form feed that starts a statement line, and a
    form-feed line at the end. None when the two differ otherwise."""
    mapping: List[int] = []
    j = 0
    for char in code:
        while j < len(text) and text[j] != char and text[j] in " \t\x0c\r\n":
            j += 1
        if j == len(text) or text[j] != char:
            return None
        mapping.append(j)
        j += 1
    mapping.append(j)
    return mapping
