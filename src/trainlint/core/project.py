"""Where the project lives: its distribution name and addresses, in one place.

The command (`trainlint`), the import package, `[tool.trainlint]` and the rule codes keep the
short name; the distribution on the package index is `trainlint-ml`, because `trainlint` there
is an unrelated linter. pyproject.toml cannot import this module, so tests/test_project_urls.py
checks that it, the README, the pre-commit snippet, the LSP links and SARIF all agree.
"""

from __future__ import annotations

DISTRIBUTION = "trainlint-ml"
REPOSITORY = "https://github.com/trainlint-ml/trainlint"
ISSUES = REPOSITORY + "/issues"
RULE_DOCS = REPOSITORY + "/blob/main/docs/rules"


def rule_url(code: str) -> str:
    """The documentation page of one rule (docs/rules/<CODE>.md)."""
    return f"{RULE_DOCS}/{code}.md"


def rule_index_url() -> str:
    return f"{RULE_DOCS}/README.md"
