"""Documentation generated from the rule modules.

One source for every place a rule is described: `trainlint rule CODE`, the pages under
`docs/rules/`, their index, the README rules table and the SARIF rule metadata all come from
the rule classes. `python -m trainlint.frontends.docs` rewrites the generated files of the repository;
`python -m trainlint.frontends.docs --check` only reports what is out of date (exit 1), and the tests
fail the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Type

from trainlint.report.rule_docs import rule_markdown
from trainlint.rules import Rule, all_rules, get_rule

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"
RULES_DIR = Path("docs") / "rules"
GENERATED_NOTE = "<!-- Generated from src/trainlint/rules by `python -m trainlint.frontends.docs`; do not edit. -->"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table(link_prefix: Optional[str] = None) -> str:
    """The Markdown table of every rule; codes link to their pages when `link_prefix` is given."""
    lines = ["| code | name | severity | summary |", "|---|---|---|---|"]
    for rule in all_rules():
        code = f"[{rule.code}]({link_prefix}{rule.code}.md)" if link_prefix is not None else rule.code
        lines.append(f"| {code} | {rule.name} | {rule.severity.value} | {_cell(rule.summary)} |")
    return "\n".join(lines)


def with_rules_table(readme: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    return pattern.sub(lambda _: f"{TABLE_START}\n{rules_table()}\n{TABLE_END}", readme)


def rule_documentation(code_or_name: str) -> Optional[str]:
    rule = get_rule(code_or_name)
    return None if rule is None else rule_markdown(rule)


def _suppression_note(rule: Type[Rule]) -> str:
    if rule.suppressible:
        return f"Suppress one finding with `# noqa: {rule.code}` on the reported line."
    return "This diagnostic cannot be suppressed."


def rule_page(rule: Type[Rule]) -> str:
    return (
        f"{GENERATED_NOTE}\n\n{rule_markdown(rule)}\n"
        f"## Suppressing\n\n{_suppression_note(rule)} "
        "See the [rule index](README.md) for every rule.\n"
    )


def rules_index() -> str:
    return (
        f"{GENERATED_NOTE}\n\n# Rules\n\n"
        "Every rule trainlint checks. `trainlint rules` prints this list, `trainlint rule CODE` "
        "one page.\n\n"
        f"{rules_table(link_prefix='')}\n"
    )


def generated_files() -> Dict[Path, str]:
    """Every generated file under docs/rules/, relative to the repository root."""
    files = {RULES_DIR / "README.md": rules_index()}
    for rule in all_rules():
        files[RULES_DIR / f"{rule.code}.md"] = rule_page(rule)
    return files


def stale_files(root: Path) -> List[str]:
    """Generated files that are missing, out of date, or left over from a removed rule."""
    problems: List[str] = []
    expected = generated_files()
    for relative, text in expected.items():
        path = root / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{relative}: out of date")
    folder = root / RULES_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.md")):
            if path.relative_to(root) not in expected:
                problems.append(f"{path.relative_to(root)}: no such rule any more")
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if with_rules_table(text) != text:
            problems.append("README.md: rules table out of date")
    return problems


def _write_lf(path: Path, text: str) -> None:
    """Write with "\n" line endings on every platform (`Path.write_text(newline=)` is 3.10+)."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def write_docs(root: Path) -> List[str]:
    """Rewrite the generated files under `root`; returns the paths it changed."""
    changed: List[str] = []
    expected = generated_files()
    for relative, text in expected.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_lf(path, text)
            changed.append(str(relative))
    for path in sorted((root / RULES_DIR).glob("TL*.md")):
        if path.relative_to(root) not in expected:  # the rule was removed or renumbered
            path.unlink()
            changed.append(f"{path.relative_to(root)} (removed)")
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        updated = with_rules_table(text)
        if updated != text:
            _write_lf(readme, updated)
            changed.append("README.md")
    return changed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainlint.frontends.docs",
        description="Regenerate docs/rules/ and the README rules table from the rule modules.",
    )
    parser.add_argument("root", nargs="?", type=Path, default=Path.cwd(),
                        help="repository root (default: current folder)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_files(args.root)
        for problem in problems:
            print(problem)
        if problems:
            print("run `python -m trainlint.frontends.docs` to regenerate")
        return 1 if problems else 0
    for changed in write_docs(args.root):
        print(f"updated {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
