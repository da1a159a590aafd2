"""The shared walk, one top-level piece of the module at a time.

A module's code is its header lines, its top-level statements and its footer lines, in that
order. Each piece is walked on its own (by generating its code, see `semantic.index`) into a
`PieceRecord`: its nodes in source order, by type, their parents and children, and the
token indices where each starts and ends. The index of the module is the records put end to
end.

The language server re-parses an edited document with the statements it did not touch kept
as they were (`semantic.reparse`): their records are reused, and only the edited pieces are
walked again. So that a reused record's token indices stay valid, they are *virtual*: each
piece owns a range of indices that starts at its `base`, with room left between pieces for
new ones. Order and containment compare virtual indices; positions map them back to the
real tokens (`PositionIndex`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from trainlint.semantic.positions import record_syntactic_position

# Virtual token indices left free after each piece of a fresh walk; a piece walked again
# after an edit takes its indices from the room before the next reused piece.
ROOM = 1 << 20
EDITED_ROOM = 1 << 10


class PieceRecord:
    """What the walk found in one top-level piece (a statement or a header/footer line)."""

    __slots__ = ("node", "base", "preorder", "by_type", "parents", "children", "marks", "tokens", "length")

    def __init__(self, node: cst.CSTNode, base: int, into: Optional["PieceRecord"] = None) -> None:
        """`into`: record into that record's tables (and token list) rather than new ones,
        when no piece will be reused (a command-line run): no tables to put end to end."""
        self.node = node
        self.base = base  # the virtual index of the piece's first token
        if into is None:
            self.preorder: List[cst.CSTNode] = []  # the piece itself first
            self.by_type: Dict[type, List[cst.CSTNode]] = defaultdict(list)
            self.parents: Dict[int, cst.CSTNode] = {}  # inside the piece; the piece's own is the module's
            self.children: Dict[int, List[cst.CSTNode]] = {}
            self.marks: Dict[int, Tuple[int, int]] = {}  # id(node) -> virtual token indices
            self.tokens: List[str] = []
        else:
            self.preorder, self.by_type, self.parents = into.preorder, into.by_type, into.parents
            self.children, self.marks, self.tokens = into.children, into.marks, into.tokens
        self.length = 0  # tokens, once walked

    @property
    def end(self) -> int:
        return self.base + self.length


class _Recorder(CodegenState):
    """Walks a piece by generating its code: libcst's visitor rebuilds every node on the
    way (dataclass construction and validation), generating code does not, and visits the
    same nodes in source order with the same parents at under half the cost. The token
    indices where each node starts and ends are noted too, so positions need no second pass
    (see semantic/positions.py)."""

    def __init__(self, record: PieceRecord, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.tokens = record.tokens
        self.base = record.base - len(self.tokens)  # virtual index = base + len(tokens)
        self.marks = record.marks
        self._parents = record.parents
        self._preorder = record.preorder
        self._by_type = record.by_type
        self._children = record.children
        self._stack: List[cst.CSTNode] = [module]
        self._child_lists: List[List[cst.CSTNode]] = [[]]
        self._starts: List[int] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._parents[id(node)] = self._stack[-1]
        self._preorder.append(node)
        self._child_lists[-1].append(node)
        self._by_type[type(node)].append(node)
        self._stack.append(node)
        self._child_lists.append([])
        self._starts.append(self.base + len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        self._stack.pop()
        children = self._child_lists.pop()
        if children:
            self._children[id(node)] = children
        start = self._starts.pop()
        key = id(node)
        if key not in self.marks:  # a syntactic position recorded inside wins
            self.marks[key] = (start, self.base + len(self.tokens))

    record_syntactic_position = record_syntactic_position

    def pop_trailing_newline(self) -> None:
        pass  # keep the module's last newline: positions count it, as PositionProvider does


def pieces_of(module: cst.Module) -> List[cst.CSTNode]:
    """The module's direct children in the order its code is generated."""
    return [*module.header, *module.body, *module.footer]


def record_piece(piece: cst.CSTNode, module: cst.Module, base: int,
                 into: Optional[PieceRecord] = None) -> PieceRecord:
    record = PieceRecord(piece, base, into)
    before = len(record.tokens)
    piece._codegen(_Recorder(record, module))
    record.length = len(record.tokens) - before
    return record


def shifted(record: PieceRecord, base: int) -> PieceRecord:
    """The record with its virtual indices moved to start at `base` (no walk again)."""
    delta = base - record.base
    moved = PieceRecord(record.node, base)
    moved.preorder, moved.by_type, moved.parents = record.preorder, record.by_type, record.parents
    moved.children, moved.tokens, moved.length = record.children, record.tokens, record.length
    moved.marks = {key: (start + delta, end + delta) for key, (start, end) in record.marks.items()}
    return moved


def records_for(module: cst.Module, previous: Optional[Dict[int, PieceRecord]] = None,
                keep: bool = False) -> List[PieceRecord]:
    """A record per piece, in order: the previous index's record of a piece that is the very
    same node, else a fresh walk of it. Virtual indices ascend from piece to piece. Without
    `keep` (and nothing previous), the pieces are recorded into one set of tables, with
    virtual indices that are the real ones."""
    if not keep and not previous:
        shared = PieceRecord(module, 0)
        records = []
        for piece in pieces_of(module):
            records.append(record_piece(piece, module, len(shared.tokens), shared))
        return records
    previous = previous or {}
    room = EDITED_ROOM if previous else ROOM
    records = []
    end = -room  # the first piece of a fresh walk starts at 0
    for piece in pieces_of(module):
        known = previous.get(id(piece))
        if known is not None and known.node is piece:
            if known.base < end:  # the edited pieces before it took its room
                known = shifted(known, end + EDITED_ROOM)
            records.append(known)
        else:
            records.append(record_piece(piece, module, end + room))
        end = records[-1].end
    return records
