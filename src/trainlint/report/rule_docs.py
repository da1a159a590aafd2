"""One rule's documentation in Markdown, from the attributes of its class: the text of
`trainlint rule CODE`, of the docs pages and of the SARIF rule help alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Type

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.rules import Rule


def rule_markdown(rule: Type[Rule]) -> str:
    """The full documentation of one rule, in Markdown (`trainlint rule CODE`, docs pages)."""
    parts = [
        f"# {rule.code} {rule.name} ({rule.severity.value})",
        "",
        rule.summary,
        "",
        "## What it does",
        "",
        rule.what_it_does,
        "",
        "## Why it matters",
        "",
        rule.why_it_matters,
        "",
        "## Example",
        "",
        "```python",
        rule.example.rstrip("\n"),
        "```",
        "",
        "## Use instead",
        "",
        "```python",
        rule.use_instead.rstrip("\n"),
        "```",
        "",
        "## Fix safety",
        "",
        rule.fix_safety,
    ]
    if rule.references:
        parts += ["", "## References", ""] + [f"- {ref}" for ref in rule.references]
    return "\n".join(parts) + "\n"
