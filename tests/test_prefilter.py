"""The prefilter is sound: skipping files without a rule's triggers never loses a finding.

Generic over the registry and fixtures/, so rules and fixtures added later are covered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import FIXTURES
from trainlint.gate import prefilter
from trainlint.core.config import Config
from trainlint.run.engine import lint_source
from trainlint.rules import Rule, all_rules, get_rule

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>TL\d{3}(?:\s*,\s*TL\d{3})*)")


def fixture_files():
    return sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file())


def source_text(path: Path) -> str:
    """The code the engine looks at: the file, or a notebook's cells joined."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        text = "\n".join(
            "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"] for cell in cells
        )
    return text


def expected_codes(path: Path):
    codes = set()
    for line in source_text(path).splitlines():
        match = EXPECT.search(line)
        if match:
            codes.update(re.split(r"\s*,\s*", match.group("codes")))
    return codes


def checked_rules():
    return [rule for rule in all_rules() if not rule.reported_by_engine]


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_flagged_fixture_contains_the_rules_triggers(path):
    text = source_text(path)
    for code in sorted(expected_codes(path)):
        rule = get_rule(code)
        assert rule is not None, f"{code} is expected but is not a registered rule"
        if rule.reported_by_engine:
            continue
        assert rule.is_triggered_by(text), (
            f"{path.name} expects {code} but contains none of its triggers {rule.triggers}: "
            "the prefilter would skip the file"
        )


@pytest.mark.parametrize("rule", checked_rules(), ids=lambda r: r.code)
def test_rule_declares_triggers_found_in_its_invalid_examples(rule):
    # A rule without triggers never runs (the engine only parses for triggered rules).
    assert rule.triggers, f"{rule.code} declares no triggers"
    for snippet in rule.invalid_snippets() + (rule.example,):
        assert rule.is_triggered_by(snippet), f"{rule.code}: an INVALID example lacks every trigger"


def _all_sources():
    sources = [(str(p.relative_to(FIXTURES)), p.read_text(encoding="utf-8")) for p in fixture_files() if p.suffix == ".py"]
    for rule in checked_rules():
        for number, snippet in enumerate(rule.VALID + rule.invalid_snippets()):
            sources.append((f"{rule.code}-example-{number}", snippet))
    return sources


def switch_prefilter_off(monkeypatch):
    monkeypatch.setattr(Rule, "is_triggered_by", classmethod(lambda cls, text, words=None: True))
    monkeypatch.setattr(prefilter, "triggered_rules", lambda rules, text, config=None: list(rules))


@pytest.mark.slow  # lints every fixture and example twice
def test_prefilter_changes_no_result(monkeypatch):
    """Linting every fixture and example with the prefilter switched off finds exactly
    what the normal run finds: no rule reports anything in a file without its triggers."""
    sources = _all_sources()
    with_prefilter = {name: lint_source(text, name) for name, text in sources}
    switch_prefilter_off(monkeypatch)
    without = {name: lint_source(text, name) for name, text in sources}
    assert with_prefilter == without


def test_file_without_triggers_is_not_parsed(monkeypatch):
    import libcst

    calls = []
    real_parse = libcst.parse_module
    monkeypatch.setattr(libcst, "parse_module", lambda text: calls.append(1) or real_parse(text))
    assert lint_source("import torch\n\nclass Net(torch.nn.Module):\n    pass\n", "model.py") == []
    assert calls == []


def every_word() -> str:
    """A text holding every trigger and required word of every rule, as comments."""
    words = {w for rule in checked_rules() for group in (rule.triggers, *rule.requires) for w in group}
    return "".join(f"# {word}\n" for word in sorted(words))


def count_parses(monkeypatch):
    import libcst

    calls = []
    real_parse = libcst.parse_module
    monkeypatch.setattr(libcst, "parse_module", lambda text: calls.append(1) or real_parse(text))
    return calls


def test_select_of_no_checked_rule_parses_nothing(monkeypatch):
    calls = count_parses(monkeypatch)
    assert lint_source(every_word(), "a.py", Config(select=("TL001",))) == []
    assert calls == []
    lint_source(every_word() + checked_rules()[0].invalid_snippets()[0], "a.py", Config())
    assert calls == [1]


def test_words_without_structure_parse_nothing(monkeypatch):
    """Every checked rule declares anchors: comments holding every trigger word have none of
    the structure (a forward pass, a split, a selection, ...) the rules need."""
    assert all(rule.anchors for rule in checked_rules())
    calls = count_parses(monkeypatch)
    assert lint_source(every_word(), "a.py", Config()) == []
    assert calls == []


def test_select_narrows_the_triggers(monkeypatch):
    """A file that only another rule's words reach is not parsed when that rule is not selected."""
    pairs = [
        (first, second, snippet)
        for second in checked_rules() for snippet in second.invalid_snippets()
        for first in checked_rules() if first is not second and not first.is_triggered_by(snippet)
    ]
    assert pairs, "every rule triggers on every other rule's examples"
    first, second, snippet = pairs[0]
    calls = count_parses(monkeypatch)
    lint_source(snippet, "a.py", Config(select=(first.code,)))
    assert calls == [], "a file holding only another rule's words was parsed"
    lint_source(snippet, "a.py", Config(select=(second.code,)))
    assert calls == [1]


def test_required_words_are_checked(monkeypatch):
    """A trigger alone does not run a rule that also requires other words."""
    rule = next(rule for rule in checked_rules() if rule.requires)
    text = f"# {rule.triggers[0]}\n"
    if all(any(word in text for word in group) for group in rule.requires):
        pytest.skip("the trigger already holds the required words")
    assert not rule.is_triggered_by(text)
    assert rule.is_triggered_by(every_word())
