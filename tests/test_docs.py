"""The rule reference under docs/rules/ and the README rules table are generated from the
rule modules; these tests fail when they are out of date (`python -m trainlint.frontends.docs` fixes it)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from trainlint.frontends.cli import main
from trainlint.frontends.docs import RULES_DIR, generated_files, rule_documentation, stale_files, write_docs
from trainlint.rules import all_rules


def test_generated_docs_are_up_to_date():
    problems = stale_files(REPO)
    assert not problems, "\n".join(problems) + "\nrun `python -m trainlint.frontends.docs` to regenerate"


def test_every_rule_has_a_page_listed_in_the_index():
    files = generated_files()
    index = files[RULES_DIR / "README.md"]
    for rule in all_rules():
        page = files[RULES_DIR / f"{rule.code}.md"]
        assert f"# {rule.code} {rule.name} ({rule.severity.value})" in page
        for section in ("## What it does", "## Why it matters", "## Example", "## Use instead", "## Fix safety"):
            assert section in page
        assert f"| [{rule.code}]({rule.code}.md) | {rule.name} |" in index


def test_rule_command_prints_the_page_body(capsys):
    for rule in all_rules():
        assert main(["rule", rule.code]) == 0
        printed = capsys.readouterr().out
        assert printed == rule_documentation(rule.code)
        assert printed in generated_files()[RULES_DIR / f"{rule.code}.md"]


def copy_docs(tmp_path):
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    return tmp_path


@pytest.mark.slow  # docs generator in subprocesses
def test_check_detects_edited_missing_and_leftover_pages(tmp_path):
    root = copy_docs(tmp_path)
    assert stale_files(root) == []
    first = all_rules()[0].code
    (root / RULES_DIR / f"{first}.md").write_text("edited by hand\n", encoding="utf-8")
    (root / RULES_DIR / "README.md").unlink()
    (root / RULES_DIR / "TL999.md").write_text("a removed rule\n", encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    (root / "README.md").write_text(readme.replace(f"| {first} |", "| TL000 |"), encoding="utf-8")
    assert sorted(stale_files(root)) == sorted([
        f"{RULES_DIR / (first + '.md')}: out of date",
        f"{RULES_DIR / 'README.md'}: missing",
        f"{RULES_DIR / 'TL999.md'}: no such rule any more",
        "README.md: rules table out of date",
    ])
    command = [sys.executable, "-m", "trainlint.frontends.docs", str(root)]
    check = subprocess.run(command + ["--check"], capture_output=True, text=True)
    assert check.returncode == 1 and "out of date" in check.stdout
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    assert stale_files(root) == []
    assert write_docs(root) == []  # a second run changes nothing
    assert subprocess.run(command + ["--check"], capture_output=True, text=True).returncode == 0
