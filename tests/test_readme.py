"""README promises: the rules table matches the registry, the quick-start commands are the
ones CI runs."""

from __future__ import annotations

import re

from conftest import REPO
from trainlint.frontends.docs import with_rules_table
from trainlint.vocab.roles import DEFAULT_TEST_NAMES, DEFAULT_TRAIN_NAMES, DEFAULT_VALIDATION_NAMES


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_rules_table_matches_registry():
    assert with_rules_table(readme()) == readme(), (
        "README rules table is out of date: run `python -m trainlint.frontends.docs`"
    )


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```sh\n(.+?)\n```", readme())
    test_command = next(c for c in commands if "pytest" in c)
    ci_script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci_script


def test_role_name_defaults_match_the_vocabulary():
    for key, defaults in (("train-names", DEFAULT_TRAIN_NAMES), ("validation-names", DEFAULT_VALIDATION_NAMES),
                          ("test-names", DEFAULT_TEST_NAMES)):
        listed = ", ".join(f"`{name}`" for name in defaults)
        assert f"  - `{key}`: {listed}\n" in readme(), f"README's default {key} differ from vocab/roles.py"
