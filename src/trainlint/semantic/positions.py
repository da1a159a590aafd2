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
from itertools import accumulate
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from trainlint.core.lines import LINE_BREAK  # what libcst counts as a line break


class _SyntacticSpan:
    """The context record_syntactic_position returns: a plain class rather than a
    @contextmanager generator, since libcst enters one for nearly every node it generates."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state, node: cst.CSTNode, start_node: Optional[cst.CSTNode],
                 end_node: Optional[cst.CSTNode]) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = self.state.base + len(self.state.tokens)

    def __exit__(self, exc_type: object, *_exc: object) -> None:
        if exc_type is not None:
            # Interrupted (the time budget's AnalysisTimeout): the children's marks may be
            # missing, and a KeyError here would replace the interruption.
            return
        marks = self.state.marks
        start = self.start if self.start_node is None else marks[id(self.start_node)][0]
        end = self.state.base + len(self.state.tokens) if self.end_node is None else marks[id(self.end_node)][1]
        marks[id(self.node)] = (start, end)


def record_syntactic_position(
    self,
    node: cst.CSTNode,
    *,
    start_node: Optional[cst.CSTNode] = None,
    end_node: Optional[cst.CSTNode] = None,
) -> _SyntacticSpan:
    """CodegenState hook (as libcst's PositionProvidingCodegenState): some nodes narrow their
    range to the syntactic part, or take it from child nodes; `self.marks` holds token indices."""
    return _SyntacticSpan(self, node, start_node, end_node)


class PositionIndex:
    """Mapping node → CodeRange (1-based lines, 0-based columns), as PositionProvider's, but
    in `text` (the parsed source) where libcst's code differs from it (`TextOffsets`)."""

    def __init__(self, marks: Dict[int, Tuple[int, int]], tokens: List[str],
                 text: Optional[str] = None, bases: Sequence[Tuple[int, int]] = ((0, 0),)) -> None:
        # marks: id(node) -> virtual token indices (semantic.pieces); the ModuleIndex that
        # owns it keeps the nodes alive. bases: (virtual, real) index of each piece's first
        # token, ascending.
        self._marks = marks
        self._tokens = tokens
        self._virtual_bases = [virtual for virtual, _real in bases]
        self._real_bases = [real for _virtual, real in bases]
        self._text = text
        self._offsets: Optional[List[int]] = None
        self._to_text: Optional[TextOffsets] = None
        self._line_starts: List[int] = []
        self._on_text = True

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start, end = self._marks[id(node)]
        return CodeRange(self._position(start), self._position(end))

    def __contains__(self, node: object) -> bool:
        return id(node) in self._marks

    @property
    def on_text(self) -> bool:
        """Whether positions are those of the text (always, unless libcst changed more of it
        than `TextOffsets` accounts for)."""
        self._prepare()
        return self._on_text

    @property
    def is_the_text(self) -> bool:
        """Whether libcst's code is the text itself (but for the final line break the walk
        keeps), so that the tokens' lengths are spans of the text."""
        self._prepare()
        return self._text is not None and self._to_text is None

    def _prepare(self) -> None:
        if self._offsets is not None:
            return  # done at the first use in this file
        self._offsets = [0, *accumulate(map(len, self._tokens))]
        code = "".join(self._tokens)
        text = self._text
        # The walk keeps a final line break that a text may not have: nothing to map then.
        if text is not None and not (code.startswith(text) and LINE_BREAK.fullmatch(code[len(text):] or "\n")):
            self._to_text = TextOffsets.between(code, text)
            self._on_text = self._to_text is not None
            code = text if self._on_text else code
        self._line_starts = [0, *(match.end() for match in LINE_BREAK.finditer(code))]

    def _position(self, virtual_index: int) -> CodePosition:
        self._prepare()
        assert self._offsets is not None
        piece = max(bisect_right(self._virtual_bases, virtual_index) - 1, 0)
        offset = self._offsets[self._real_bases[piece] + virtual_index - self._virtual_bases[piece]]
        if self._to_text is not None:
            offset = self._to_text[offset]
        line = bisect_right(self._line_starts, offset) - 1
        return CodePosition(line + 1, offset - self._line_starts[line])


class TextOffsets:
    """Offsets of libcst's code → offsets of the text it was parsed from, where the code is
    the text without some whitespace: libcst drops a form feed that starts a statement line
    (and a form-feed line at the end), and the walk keeps a final line break."""

    DROPPED = " \t\x0c\r\n"

    def __init__(self, code_starts: List[int], text_starts: List[int], text_length: int) -> None:
        self._code_starts = code_starts  # where each stretch of equal characters starts
        self._text_starts = text_starts
        self._length = text_length

    @classmethod
    def between(cls, code: str, text: str) -> Optional["TextOffsets"]:
        """The offsets, or None when `code` differs from `text` in any other way."""
        code_starts, text_starts = [0], [0]
        i = j = 0
        while True:
            same = common_prefix(code, i, text, j)
            i, j = i + same, j + same
            if i == len(code) or (j == len(text) and LINE_BREAK.fullmatch(code[i:])):
                return cls(code_starts, text_starts, len(text))
            if j == len(text) or text[j] not in cls.DROPPED:
                return None
            j += 1  # a character of the text that the code does not have
            code_starts.append(i)
            text_starts.append(j)

    def __getitem__(self, offset: int) -> int:
        stretch = bisect_right(self._code_starts, offset) - 1
        return min(self._text_starts[stretch] + offset - self._code_starts[stretch], self._length)


def common_prefix(a: str, i: int, b: str, j: int) -> int:
    """The length of the common prefix of a[i:] and b[j:], comparing slices (done in C)."""
    limit = min(len(a) - i, len(b) - j)
    if a[i:i + limit] == b[j:j + limit]:
        return limit
    equal, step = 0, 64  # a prefix of `equal` characters is common; `limit` is not
    while equal + step < limit and a[i + equal:i + equal + step] == b[j + equal:j + equal + step]:
        equal, step = equal + step, step * 2
    unequal = min(equal + step, limit)
    while unequal - equal > 1:
        middle = (equal + unequal) // 2
        if a[i + equal:i + middle] == b[j + equal:j + middle]:
            equal = middle
        else:
            unequal = middle
    return equal
