"""One distribution name and one project address, everywhere a user meets them (issue 21,
item 4): pyproject, README install lines and pre-commit snippet, the LSP rule links, SARIF."""

from __future__ import annotations

import json
import re
import sys

import pytest

from conftest import REPO
from trainlint.core import project
from trainlint.core.diagnostics import Diagnostic, Severity
from trainlint.report.sarif import sarif_log

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_pyproject_names_the_distribution_and_the_project_address():
    meta = pyproject()["project"]
    assert meta["name"] == project.DISTRIBUTION != "trainlint"
    assert meta["scripts"]["trainlint"]  # the command keeps its name
    assert meta["urls"] == {
        "Homepage": project.REPOSITORY,
        "Documentation": project.rule_index_url(),
        "Issues": project.ISSUES,
    }
    assert project.rule_url("TL301").endswith("/docs/rules/TL301.md")
    assert (REPO / "docs" / "rules" / "README.md").is_file()


def test_every_readme_install_line_installs_this_distribution():
    installs = re.findall(r"pip install ([^\n`]+)", readme())
    assert installs
    for line in installs:
        target = line.split("#")[0].split("&&")[0].strip()
        # from a checkout (`.`, `-e ".[test]"`) or by the distribution's name, with extras
        assert re.fullmatch(r'(-e )?"?\.(\[[a-z,]+\])?"?|"?' + re.escape(project.DISTRIBUTION)
                            + r'(\[[a-z,]+\])?"?', target), line


def test_precommit_snippet_points_at_the_project():
    repos = re.findall(r"- repo: (\S+)", readme())
    assert repos == [project.REPOSITORY]
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "- id: trainlint" in hooks and "- id: trainlint" in readme()


def test_lsp_rule_links_use_the_project_address(monkeypatch):
    pytest.importorskip("lsprotocol")
    from trainlint.frontends.lsp import INSTALL_HINT, convert

    monkeypatch.setattr(convert, "LOCAL_RULE_DOCS", REPO / "no-such-folder")  # an installed wheel
    assert convert.rule_docs_href("TL301") == project.rule_url("TL301")
    assert f'"{project.DISTRIBUTION}[lsp]"' in INSTALL_HINT


def test_sarif_help_and_information_uris_use_the_project_address():
    finding = Diagnostic("TL301", "unstratified-split", "m", Severity.WARNING, 1, 1, 1, 2, path="a.py")
    log = json.loads(json.dumps(sarif_log([finding])))
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == project.REPOSITORY
    for rule in driver["rules"]:
        assert rule["helpUri"] == project.rule_url(rule["id"])
