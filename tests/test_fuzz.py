"""Property-based robustness: generated programs and mutated fixtures never break the linter.

"Break" means an exception out of `lint_source`, or a TL003 internal error (a rule that
crashed). A few hundred examples run here; `bench/fuzz.py` runs the long version.
"""

from __future__ import annotations

import random

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from trainlint.run.engine import lint_source
from trainlint.rules import all_rules

pytestmark = pytest.mark.slow  # property-based fuzzing: generated and mutated programs

# Prepending every rule's triggers makes sure generated programs reach every rule's check
# instead of being skipped by the prefilter.
TRIGGERS = "".join(
    f"# {word}\n" for rule in all_rules() for group in (rule.triggers, *rule.requires) for word in group
)
FIXTURE_SOURCES = sorted(FIXTURES.rglob("*.py"))


def assert_no_internal_error(text: str, path: str = "fuzz.py") -> None:
    diagnostics = lint_source(text, path)
    crashes = [d for d in diagnostics if d.code == "TL003"]
    assert not crashes, crashes[0].detail


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(source):
    assert_no_internal_error(TRIGGERS + source)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_generated_syntax_trees(source):
    assert_no_internal_error(TRIGGERS + source)


def mutate(text: str, rng: random.Random, edits: int) -> str:
    """Delete, duplicate or swap random lines: half-written and mangled training code."""
    lines = text.splitlines(keepends=True)
    for _ in range(edits):
        if not lines:
            break
        index = rng.randrange(len(lines))
        action = rng.random()
        if action < 0.45:
            del lines[index]
        elif action < 0.9:
            lines.insert(index, lines[index])
        else:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
    return "".join(lines)


@pytest.mark.parametrize("fixture", FIXTURE_SOURCES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_mutated_fixtures(fixture):
    text = fixture.read_text(encoding="utf-8")
    rng = random.Random(fixture.name)
    for round_number in range(8):
        assert_no_internal_error(mutate(text, rng, edits=1 + round_number), fixture.name)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_line_mutations(data):
    if not FIXTURE_SOURCES:
        pytest.skip("no fixtures")
    fixture = data.draw(st.sampled_from(FIXTURE_SOURCES))
    seed = data.draw(st.integers(0, 2**32 - 1))
    edits = data.draw(st.integers(1, 12))
    text = fixture.read_text(encoding="utf-8")
    assert_no_internal_error(mutate(text, random.Random(seed), edits))
