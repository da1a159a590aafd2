"""Documentation generated from the rule modules.

`python -m trainlint.docs` rewrites the generated parts of the repository's docs (the README
rules table) from the registry; tests fail when they are out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from trainlint.rules import all_rules

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def rules_table() -> str:
    lines = ["| code | name | severity | summary |", "|---|---|---|---|"]
    for rule in all_rules():
        lines.append(f"| {rule.code} | {rule.name} | {rule.severity.value} | {rule.summary} |")
    return "\n".join(lines)


def with_rules_table(readme: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    return pattern.sub(lambda _: f"{TABLE_START}\n{rules_table()}\n{TABLE_END}", readme)


def main(argv=None) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = with_rules_table(text)
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
        print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
