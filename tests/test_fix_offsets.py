"""Fixes land where libcst saw the node (issue 23.1): lines are counted as libcst counts them
(\\n, \\r\\n, \\r only, not str.splitlines()'s form feeds and Unicode separators), and a fix
that does not remove its finding is refused, whatever the positions say."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from test_cli import CLEAN, FLAGGED
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity
from trainlint.core.lines import line_starts, split_lines
from trainlint.fix.apply import fix_text
from trainlint.run.engine import lint_source

SEPARATORS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def lint(text):
    return lint_source(text, "example.py", Config())


def _above_split(text: str, inserted: str) -> str:
    return text.replace("X_train, X_test", inserted + "X_train, X_test")


@pytest.mark.parametrize("inserted", [
    "\x0c\n",  # a form feed on its own line, as editors write page breaks
    "\x0c\n\x0c\n",
    f"# page {SEPARATORS} break\n",  # every character splitlines() breaks on, in a comment
    f"note = 'a{SEPARATORS}b'\n",  # and in a string
])
def test_fix_after_form_feeds_and_separators_lands_on_the_finding(inserted):
    text = _above_split(FLAGGED, inserted)
    result, remaining = fix_text(text, lint)
    assert result.text == _above_split(CLEAN, inserted)
    assert [d.code for d in result.applied] == ["TL301"] and not remaining


@pytest.mark.parametrize("text", [
    _above_split(FLAGGED, "\x0c"),  # a form feed starting the statement line
    "\x0c\x0c" + FLAGGED,  # ... the first line (editors' page break at the top)
    FLAGGED + "\x0c\n\x0c\n",  # a form-feed line at the end
])
def test_positions_are_the_texts_where_libcst_drops_form_feeds(text):
    """libcst drops a form feed that starts a statement line (and a last form-feed line), so
    its own columns there are off the text: positions are mapped back onto the text."""
    assert cst.parse_module(text).code != text  # the libcst behaviour this guards against
    [found] = lint(text)
    line = split_lines(text)[found.line - 1]
    assert line[found.col - 1:].startswith("train_test_split(X, y)")
    result, remaining = fix_text(text, lint)
    assert result.text == text.replace("split(X, y)", "split(X, y, stratify=y)") and not remaining


def test_no_fix_is_offered_when_positions_cannot_be_mapped_onto_the_text(monkeypatch):
    from trainlint.semantic.positions import PositionIndex, TextOffsets

    offsets = TextOffsets.between("a = 1\n", "\x0ca = 1\n")
    assert offsets is not None and [offsets[i] for i in range(7)] == [1, 2, 3, 4, 5, 6, 7]
    assert TextOffsets.between("a = 1\n", "a = 2\n") is None
    monkeypatch.setattr(PositionIndex, "on_text", property(lambda self: False))
    [found] = lint(FLAGGED)
    assert found.code == "TL301" and found.fix is None


def test_split_lines_counts_lines_as_libcst_positions_do():
    text = f"a = 1\r\nb = 2\rc = 3  # {SEPARATORS}\nd = '{SEPARATORS}'\n\x0c\ne = 4"
    wrapper = MetadataWrapper(cst.parse_module(text))
    positions = wrapper.resolve(PositionProvider)
    names = {n.value: positions[n].start for n in positions if isinstance(n, cst.Name)}
    lines = split_lines(text)
    starts = line_starts(text)
    for name, position in names.items():
        assert lines[position.line - 1][position.column:].startswith(name)
        assert text[starts[position.line - 1] + position.column] == name
    assert len(lines) == 6 and split_lines(text, keepends=True)[1] == "b = 2\r"
    assert split_lines("x\n") == "x\n".splitlines() == ["x"]


def _stub_finding(number: int, end_col: int, replacement: str, description: str) -> Diagnostic:
    """A TL999 on line `number` whose fix replaces columns 1..end_col with `replacement`."""
    return Diagnostic("TL999", "stub", "m", Severity.WARNING, number, 1, number, end_col,
                      fix=Fix((Edit(number, 1, number, end_col, replacement),), safe=True,
                              description=description), path="x.py")


def _moving_lint(text):
    """TL999 on the line holding `bad()`, with a fix that replaces `bad()` by a line above
    it plus `bad()`: the finding is not where it was, but it is not gone either."""
    found = []
    for number, line in enumerate(split_lines(text), start=1):
        if line == "bad()":
            found.append(_stub_finding(number, 6, "ok()\nbad()", "move"))
    return found


def test_a_fix_that_only_moves_its_finding_counts_nothing():
    result, remaining = fix_text("bad()\n", _moving_lint)
    assert result.text == "bad()\n" and not result.applied
    assert [d.code for d in remaining] == ["TL999"]
    assert result.dropped == ["x.py:1:1: TL999 fix not applied: it does not remove the finding"]


def _some_moving_lint(text):
    """Two TL999 findings; the fix of `bad()` moves it, the fix of `fine()` removes it."""
    found = _moving_lint(text)
    for number, line in enumerate(split_lines(text), start=1):
        if line == "fine()":
            found.append(_stub_finding(number, 7, "done()", "rename"))
    return found


def test_fixes_of_one_code_are_retried_one_by_one_when_the_count_does_not_drop():
    result, remaining = fix_text("bad()\nfine()\n", _some_moving_lint)
    assert result.text == "bad()\ndone()\n"
    assert [(d.code, d.line) for d in result.applied] == [("TL999", 2)]
    assert [(d.code, d.line) for d in remaining] == [("TL999", 1)]


def test_text_offsets_match_a_character_by_character_alignment():
    import random

    from trainlint.semantic.positions import TextOffsets

    generator = random.Random(23)
    for _ in range(200):
        text = "".join(generator.choice("ab \n\x0c") for _ in range(generator.randrange(0, 300)))
        dropped = {i for i, char in enumerate(text) if char == "\x0c" and generator.random() < 0.7}
        code = "".join(char for i, char in enumerate(text) if i not in dropped)
        offsets = TextOffsets.between(code, text)
        mapped = [offsets[n] for n in range(len(code) + 1)]
        assert all(text[mapped[n]] == code[n] for n in range(len(code)))  # same character
        assert mapped == sorted(set(mapped)) and mapped[-1] <= len(text)  # in order
    assert TextOffsets.between("ab\n", "ab") is not None  # the final line break the walk adds
