"""Tests generated from every rule's own VALID and INVALID examples, plus registry meta-tests.

A pinned INVALID example (`rules.base.Invalid`) must be reported on its line, with a message
containing its `message` (in the short message or in its explanation, shown by
`--output-format full`); a plain string only has to be reported somewhere."""

from __future__ import annotations

import re

import pytest

from trainlint.run.engine import lint_file, lint_source
from trainlint.core.config import Config
from trainlint.rules import all_rules
from trainlint.rules.base import Invalid

EXAMPLES = [
    pytest.param(rule, kind, index, example, id=f"{rule.code}-{kind}-{index}")
    for rule in all_rules()
    for kind, examples in (("INVALID", rule.INVALID), ("VALID", rule.VALID))
    for index, example in enumerate(examples)
]

def _lint_example(snippet, tmp_path):
    if isinstance(snippet, bytes):  # bytes examples go through the file reader
        path = tmp_path / "example.py"
        path.write_bytes(snippet)
        return lint_file(path, Config())
    return lint_source(snippet, "example.py", Config())


def _texts(diagnostic):
    """The short message, and it joined to its explanation as the message was one sentence."""
    yield diagnostic.message
    for separator in (": ", "; ", ", "):
        yield diagnostic.message + separator + diagnostic.explanation


def _reported(diagnostics) -> str:
    return "; ".join(f"line {d.line}: {d.code} {d.message}" for d in diagnostics) or "nothing"


@pytest.mark.parametrize("rule, kind, index, example", EXAMPLES)
def test_rule_example(rule, kind, index, example, tmp_path):
    pinned = example if isinstance(example, Invalid) else None
    diagnostics = _lint_example(pinned.snippet if pinned else example, tmp_path)
    codes = [d.code for d in diagnostics]
    if kind == "VALID":
        assert not pinned, f"{rule.code} VALID example {index} is an Invalid(...)"
        assert rule.code not in codes, f"{rule.code} VALID example {index} was reported"
        return
    assert rule.code in codes, f"{rule.code} INVALID example {index} was not reported"
    if pinned:
        own = [d for d in diagnostics if d.code == rule.code]
        assert any(d.line == pinned.line and any(pinned.message in text for text in _texts(d)) for d in own), (
            f"{rule.code} INVALID example {index}: expected a finding on line {pinned.line} "
            f"with a message containing {pinned.message!r}; reported {_reported(own)}"
        )


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_every_invalid_example_is_pinned(rule):
    """Every INVALID example says where the rule reports and what it says (`Invalid(...)`)."""
    unpinned = [index for index, example in enumerate(rule.INVALID) if not isinstance(example, Invalid)]
    assert not unpinned, f"{rule.code} INVALID examples {unpinned} are plain snippets, not Invalid(...)"


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
