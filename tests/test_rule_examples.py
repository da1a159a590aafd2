"""Tests generated from every rule's own VALID and INVALID examples, plus registry meta-tests."""

from __future__ import annotations

import re

import pytest

from trainlint.run.engine import lint_file, lint_source
from trainlint.core.config import Config
from trainlint.rules import all_rules

EXAMPLES = [
    pytest.param(rule, kind, index, snippet, id=f"{rule.code}-{kind}-{index}")
    for rule in all_rules()
    for kind, snippets in (("INVALID", rule.INVALID), ("VALID", rule.VALID))
    for index, snippet in enumerate(snippets)
]


def _lint_example(snippet, tmp_path):
    if isinstance(snippet, bytes):  # bytes examples go through the file reader
        path = tmp_path / "example.py"
        path.write_bytes(snippet)
        return lint_file(path, Config())
    return lint_source(snippet, "example.py", Config())


@pytest.mark.parametrize("rule, kind, index, snippet", EXAMPLES)
def test_rule_example(rule, kind, index, snippet, tmp_path):
    codes = [d.code for d in _lint_example(snippet, tmp_path)]
    if kind == "INVALID":
        assert rule.code in codes, f"{rule.code} INVALID example {index} was not reported"
    else:
        assert rule.code not in codes, f"{rule.code} VALID example {index} was reported"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_documented_example_and_alternative(rule):
    """The docs' example is flagged and the docs' "use instead" is not."""
    if rule.reported_by_engine:
        pytest.skip("engine diagnostics are covered by their examples and tests/test_robustness.py")
    assert rule.code in [d.code for d in lint_source(rule.example, "doc.py")]
    assert rule.code not in [d.code for d in lint_source(rule.use_instead, "doc.py")]


def test_codes_are_unique_and_well_formed():
    codes = [rule.code for rule in all_rules()]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"TL\d{3}", code), code


def test_names_are_unique_kebab_case():
    names = [rule.name for rule in all_rules()]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_metadata_complete(rule):
    assert len(rule.VALID) >= 2, "at least two VALID examples"
    if not rule.reported_by_engine:  # crashes and timeouts cannot be written as snippets
        assert len(rule.INVALID) >= 2, "at least two INVALID examples"
    for section in ("summary", "message", "what_it_does", "why_it_matters", "example",
                    "use_instead", "fix_safety"):
        value = getattr(rule, section, "")
        assert isinstance(value, str) and value.strip(), f"{rule.code}: {section} is empty"
    assert "\n" not in rule.summary.strip()
    assert rule.severity.value in ("error", "warning", "info")
    if not rule.reported_by_engine:
        assert rule.triggers, f"{rule.code} declares no trigger tokens"
