"""The flake8 plugin, run inside the real flake8 (installed by the `test` extra)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from trainlint import __version__

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    def split(X, y):
        X_train, X_test, y_train, y_test = train_test_split(X, y)
        RandomForestClassifier().fit(X_train, y_train)
        return X_train, X_test
    """
)
FINDING = re.compile(r"^(?P<where>.+?:\d+:\d+): (?P<code>TL\d{3}) (?:\[\*\] )?(?P<message>.*)$")


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # --isolated: no setup.cfg / tox.ini / .flake8 of the surroundings changes the result
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", *args],
                          cwd=str(cwd), capture_output=True, text=True, timeout=300)


def findings(output: str) -> list:
    return [(m["where"], m["code"], m["message"]) for m in map(FINDING.match, output.splitlines()) if m]


def test_plugin_is_registered():
    result = flake8("--version", cwd=REPO)
    assert f"trainlint: {__version__}" in result.stdout


@pytest.mark.slow  # real flake8 in a subprocess
def test_same_lines_and_columns_as_the_native_cli(run_trainlint):
    """Over every fixture script: flake8's TL findings are exactly the CLI's, position and text."""
    native = run_trainlint("fixtures", cwd=REPO)
    plugin = flake8("--select", "TL", "fixtures", cwd=REPO)
    expected = [f for f in findings(native.stdout) if ":cell " not in f[0]]  # flake8 reads no notebooks
    assert expected, "the fixtures have findings"
    assert sorted(findings(plugin.stdout)) == sorted(expected)
    assert plugin.returncode == 1


@pytest.mark.slow  # real flake8 in a subprocess
def test_indented_finding_column(tmp_path, run_trainlint):
    (tmp_path / "train.py").write_text(FLAGGED, encoding="utf-8")
    plugin = flake8("--select", "TL", "train.py", cwd=tmp_path)
    assert plugin.stdout.startswith("train.py:5:40: TL301 classification target split")
    assert findings(plugin.stdout) == findings(run_trainlint("train.py", cwd=tmp_path).stdout)


@pytest.mark.slow  # real flake8 in a subprocess
def test_noqa(tmp_path):
    suppressed = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y)  # noqa: TL301")
    (tmp_path / "train.py").write_text(suppressed, encoding="utf-8")
    result = flake8("--select", "TL", "train.py", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    other_code = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y)  # noqa: E501")
    (tmp_path / "train.py").write_text(other_code, encoding="utf-8")
    assert "TL301" in flake8("--select", "TL", "train.py", cwd=tmp_path).stdout


@pytest.mark.slow  # real flake8 in a subprocess
def test_select_and_extend_ignore(tmp_path):
    (tmp_path / "train.py").write_text(FLAGGED + "print(undefined_name)\n", encoding="utf-8")
    everything = flake8("train.py", cwd=tmp_path).stdout
    assert "TL301" in everything and "F821" in everything
    selected = flake8("--select", "TL", "train.py", cwd=tmp_path).stdout
    assert [code for _, code, _ in findings(selected)] == ["TL301"] and "F821" not in selected
    ignored = flake8("--extend-ignore", "TL3", "train.py", cwd=tmp_path).stdout
    assert "TL301" not in ignored and "F821" in ignored
    exact = flake8("--select", "TL301", "train.py", cwd=tmp_path).stdout
    assert exact.startswith("train.py:5:40: TL301 ")
