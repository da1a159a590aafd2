"""The shared walk (analysis/index.py) and the positions derived from it agree with libcst's
own visitor and PositionProvider, node for node."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from conftest import FIXTURES
from trainlint.semantic.index import ModuleIndex

WHITESPACE = (cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.Newline,
              cst.EmptyLine, cst.Comment)

EDGE_CASES = {
    "crlf": "import torch\r\nx = torch.zeros(3)\r\nif x:\r\n    y = (x +\r\n         1)\r\n",
    "cr": "a = 1\rb = f(a,\r      2)\r",
    "no-final-newline": "def f(a, *, b=2):\n    return a  # done",
    "empty": "",
    "comments-only": "# one\n\n# two\n",
    "decorated": "@dec(1)\n@other\nclass A(Base, metaclass=M):\n    @property\n    def f(self) -> int:\n        return 1\n",
    "strings": 's = f"{a!r:>{w}}" + """x\ny""" + rb"\\n"\nz = [i for i in range(3) if i]\n',
    "nested": "x = {k: (lambda v: [v, {v}])(k) for k in d if k}\nwith a as b, c:\n    pass\n",
    "tabs-unicode": "if True:\n\tname = 'ünïcode ✓'\n\tprint(name)\n",
    "match": "match p:\n    case [x, *rest] if x:\n        pass\n    case {'k': v}:\n        pass\n",
}


def sources():
    cases = [(name, text) for name, text in EDGE_CASES.items()]
    cases += [(str(p.relative_to(FIXTURES)), p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.rglob("*.py"))]
    return cases


class _VisitorRecorder(cst.CSTVisitor):
    """The straightforward walk the index replaces: the reference for order and parents."""

    def __init__(self):
        self.parents, self.by_type, self.stack = {}, defaultdict(list), []

    def on_visit(self, node):
        if self.stack:
            self.parents[node] = self.stack[-1]
        self.by_type[type(node)].append(node)
        self.stack.append(node)
        return True

    def on_leave(self, original_node):
        self.stack.pop()


@pytest.mark.parametrize("name, text", sources(), ids=[name for name, _ in sources()])
def test_positions_match_position_provider(name, text):
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = ModuleIndex(module).positions
    mismatches = [(type(node).__name__, want, positions[node]) for node, want in expected.items()
                  if positions[node] != want]
    assert not mismatches[:5]


@pytest.mark.parametrize("name, text", sources(), ids=[name for name, _ in sources()])
def test_walk_matches_the_visitor(name, text):
    module = cst.parse_module(text)
    index = ModuleIndex(module)
    reference = _VisitorRecorder()
    module.visit(reference)
    # Whitespace nodes aside (a few are empty and never generated, or come in another
    # order; no rule asks for them), the same nodes, parents and source order.
    assert {n: index.parent(n) for n in index._preorder if not isinstance(n, WHITESPACE)} == {
        n: p for n, p in reference.parents.items() if not isinstance(n, WHITESPACE)
    }
    for node_type in set(reference.by_type) | set(index._by_type):
        if not issubclass(node_type, WHITESPACE):
            assert index.of_type(node_type) == reference.by_type[node_type], node_type.__name__


def test_an_interrupted_walk_stays_interrupted(monkeypatch):
    """The time budget's AnalysisTimeout can land at any token of the walk; it must reach the
    engine as itself (a TL004), not as a KeyError of a half-recorded span (a TL003 for the
    rule that asked for the index, after which the file runs on without a budget)."""
    from trainlint.core.limits import AnalysisTimeout
    from trainlint.semantic import pieces

    text = EDGE_CASES["decorated"] + EDGE_CASES["nested"] + "for x in y:\n    if x:\n        f(x)\n"
    module = cst.parse_module(text)
    tokens = len(ModuleIndex(module).positions._tokens)
    real = pieces._Recorder.add_token
    for interrupt_at in range(tokens):
        # Tokens of the whole module: each piece (semantic.pieces) has a recorder of its own.
        walked = {"recorder": None, "before": 0, "last": 0}

        def add_token(self, value, interrupt_at=interrupt_at, walked=walked):
            if self is not walked["recorder"]:
                walked["recorder"], walked["before"] = self, walked["before"] + walked["last"]
            if walked["before"] + len(self.tokens) >= interrupt_at:  # the first token at or after it
                raise AnalysisTimeout()
            real(self, value)
            walked["last"] = len(self.tokens)

        monkeypatch.setattr(pieces._Recorder, "add_token", add_token)
        with pytest.raises(AnalysisTimeout):
            ModuleIndex(module)
