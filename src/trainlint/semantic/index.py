"""One walk over the tree that every rule shares.

The walk records each node's parent and groups nodes by type, so that rules and fact
builders ask "all calls", "the statement around this node" or "the enclosing function"
without walking the tree again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar

import libcst as cst

from trainlint.semantic.kinds import kinds
from trainlint.semantic.libcst_tuning import plain_parenthesize
from trainlint.semantic.names import walk
from trainlint.semantic.pieces import PieceRecord, records_for
from trainlint.semantic.positions import PositionIndex

N = TypeVar("N", bound=cst.CSTNode)

SCOPE_TYPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


class ModuleIndex:
    """Lookups keyed by `id(node)`: libcst nodes hash by identity through a Python-level
    `__hash__`, which the hundreds of thousands of lookups per file would pay for. The index
    holds the module, so every node's id stays its own while the index lives."""

    def __init__(self, module: cst.Module, text: Optional[str] = None,
                 previous: Optional[Dict[int, PieceRecord]] = None, keep: bool = False) -> None:
        """`text`: the source `module` was parsed from, so that positions are its own.
        `previous`: the `pieces` of an earlier index, whose records are reused for the
        top-level statements that are the very same nodes (semantic.reparse). `keep`: keep
        a record per piece for a later index to reuse (the language server)."""
        self.module = module
        plain_parenthesize()
        records = records_for(module, previous, keep)
        self.pieces: Dict[int, PieceRecord] = (
            {id(record.node): record for record in records} if keep or previous else {})
        self._by_type: Dict[type, List[cst.CSTNode]] = defaultdict(list)
        self._by_type[type(module)].append(module)
        if records and not self.pieces:  # one set of tables, recorded into by every piece
            tables = records[0]
            self._parents: Dict[int, cst.CSTNode] = tables.parents
            self._preorder: List[cst.CSTNode] = tables.preorder  # every node but the module, in source order
            self._children: Dict[int, List[cst.CSTNode]] = tables.children  # id(node) -> its children, in order
            self._marks: Dict[int, Tuple[int, int]] = tables.marks
            for node_type, nodes in tables.by_type.items():
                self._by_type[node_type].extend(nodes)
            tokens, bases = tables.tokens, [(0, 0)]
        else:
            tokens, bases = self._put_end_to_end(records)
        for record in records:
            self._parents[id(record.node)] = module
        if records:
            self._children[id(module)] = [record.node for record in records]
            self._marks[id(module)] = (records[0].base, records[-1].end)
        else:  # libcst writes a lone line break for an empty module that has one
            tokens = [module.default_newline] if module.has_trailing_newline else []
            self._marks[id(module)] = (0, len(tokens))
        self.positions = PositionIndex(self._marks, tokens, text, bases or ((0, 0),))
        self._order: Optional[Dict[int, int]] = None
        self._starts: Dict[type, Optional[List[int]]] = {}
        # types -> {node: its innermost ancestor of those types}; facts ask the same
        # question of neighbouring nodes over and over, so answers are shared along the path.
        self._enclosing: Dict[Tuple[type, ...], Dict[int, Optional[cst.CSTNode]]] = {}

    def _put_end_to_end(self, records: List[PieceRecord]) -> Tuple[List[str], List[Tuple[int, int]]]:
        """The module's tables from one record per piece; its tokens, and each piece's
        (virtual, real) index of its first token."""
        self._parents, self._preorder, self._children, self._marks = {}, [], {}, {}
        tokens: List[str] = []
        bases: List[Tuple[int, int]] = []
        for record in records:
            bases.append((record.base, len(tokens)))
            tokens.extend(record.tokens)
            self._parents.update(record.parents)
            self._preorder.extend(record.preorder)
            for node_type, nodes in record.by_type.items():
                self._by_type[node_type].extend(nodes)
            self._children.update(record.children)
            self._marks.update(record.marks)
        return tokens, bases

    # -- lookups ------------------------------------------------------------------------

    def of_type(self, node_type: Type[N]) -> List[N]:
        """All nodes of exactly this type, in source order."""
        return self._by_type.get(node_type, [])  # type: ignore[return-value]

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self._parents.get(id(node))

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parents = self._parents
        current = parents.get(id(node))
        while current is not None:
            yield current
            current = parents.get(id(current))

    def enclosing(self, node: cst.CSTNode, *types: type) -> Optional[cst.CSTNode]:
        """The innermost strict ancestor of `node` of one of `types` (memoized)."""
        known = self._enclosing.get(types)
        if known is None:
            known = self._enclosing[types] = {}
        key = id(node)
        if key in known:
            return known[key]
        wanted = kinds(*types)
        parents = self._parents
        path = [key]
        found: Optional[cst.CSTNode] = None
        current = parents.get(key)
        while current is not None:
            if type(current) in wanted:
                found = current
                break
            key = id(current)
            if key in known:
                found = known[key]
                break
            path.append(key)
            current = parents.get(key)
        for walked in path:
            known[walked] = found
        return found

    def enclosing_scope(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The function, class or lambda around `node`; None at module level."""
        return self.enclosing(node, *SCOPE_TYPES)

    def enclosing_function(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        return self.enclosing(node, cst.FunctionDef)  # type: ignore[return-value]

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost statement containing `node` (a simple statement, or a compound
        statement when `node` sits in its header)."""
        candidate: cst.CSTNode = node
        for ancestor in [node, *self.ancestors(node)]:
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return ancestor
            candidate = ancestor
        return candidate

    def order(self, node: cst.CSTNode) -> int:
        """The node's position in a preorder walk: source order across node types."""
        if self._order is None:
            self._order = {id(self.module): 0}
            for number, recorded in enumerate(self._preorder, start=1):
                self._order[id(recorded)] = number
        return self._order.get(id(node), -1)

    def span(self, node: cst.CSTNode) -> Tuple[int, int]:
        """Token indices where `node` starts and ends: source order, and containment
        (`a` inside `b` when b.start <= a.start and a.end <= b.end), without walking."""
        return self._marks.get(id(node), (0, 0))

    def within(self, container: cst.CSTNode, node_type: Type[N]) -> List[N]:
        """Nodes of a type inside `container` (itself included), in source order, found by
        token span: no walk, no ancestor chains."""
        start, end = self.span(container)
        nodes = self.of_type(node_type)
        starts = self._sorted_starts(node_type)
        # Source order makes the starts ascending: begin at the container's start (a bisect,
        # not a scan from the top of the file, which made many calls quadratic).
        first = bisect_left(starts, start) if starts is not None else 0
        found = []
        for node in nodes[first:] if first else nodes:
            node_start, node_end = self._marks.get(id(node), (0, 0))
            if node_start > end:
                break
            if start <= node_start and node_end <= end and (node_start, node_end) != (0, 0):
                found.append(node)
        return found

    def in_function(self, function: Optional[cst.CSTNode], node_type: Type[N]) -> List[N]:
        """`within` a function; the whole file at module level (None), or for a node
        without a recorded span."""
        if function is None or self.span(function) == (0, 0):
            return self.of_type(node_type)
        return self.within(function, node_type)

    def inside(self, region: cst.CSTNode, node_type: Type[N]) -> List[N]:
        """`within` a loop, function or class, its decorators included (a function's span
        starts at `def`); for a node without a recorded span, by its ancestors."""
        if self.span(region) == (0, 0):
            return [n for n in self.of_type(node_type) if self.is_inside(n, region)]
        found = self.within(region, node_type)
        for decorator in getattr(region, "decorators", ()):
            found = found + self.within(decorator, node_type)
        return found

    def _sorted_starts(self, node_type: type) -> Optional[List[int]]:
        """The start tokens of the nodes of a type, when ascending (else None: scan all)."""
        if node_type not in self._starts:
            marks = self._marks
            starts = [marks.get(id(node), (0, 0))[0] for node in self.of_type(node_type)]
            ascending = all(a <= b for a, b in zip(starts, starts[1:]))
            self._starts[node_type] = starts if ascending else None
        return self._starts[node_type]

    def is_inside(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return node is container or any(a is container for a in self.ancestors(node))

    def children(self, node: cst.CSTNode) -> List[cst.CSTNode]:
        """The node's children in source order (recorded by the walk; no libcst `children`
        property, which rebuilds them at every access)."""
        return self._children.get(id(node), [])

    def child_nodes(self, node: cst.CSTNode) -> Sequence[cst.CSTNode]:
        """`children`, for any node: the recorded ones for a node of this tree, libcst's
        (which rebuilds the node) for one that is not."""
        known = self._children.get(id(node))
        if known is not None:
            return known
        if id(node) in self._parents or node is self.module:
            return ()  # a leaf of this tree
        return node.children

    def descendants(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """`node` and everything below it, in source order, from the recorded children (a
        node of another tree is walked through libcst's own `children`)."""
        if id(node) not in self._parents and node is not self.module:
            yield from walk(node)
            return
        children = self._children.get
        stack = [node]
        while stack:
            current = stack.pop()
            yield current
            below = children(id(current))
            if below:
                stack.extend(reversed(below))
