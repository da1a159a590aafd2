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
from trainlint.core.project import DISTRIBUTION

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
    # flake8 names a plugin by its distribution
    assert f"{DISTRIBUTION}: {__version__}" in " ".join(result.stdout.split())


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


@pytest.mark.slow  # real flake8 in a subprocess
def test_disable_noqa_shows_what_noqa_hides(tmp_path):
    """`# noqa` is flake8's to apply: `--disable-noqa` shows the finding again."""
    suppressed = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y)  # noqa: TL301")
    (tmp_path / "train.py").write_text(suppressed, encoding="utf-8")
    assert flake8("--select", "TL", "train.py", cwd=tmp_path).stdout == ""
    shown = flake8("--select", "TL", "--disable-noqa", "train.py", cwd=tmp_path)
    assert [code for _, code, _ in findings(shown.stdout)] == ["TL301"]


@pytest.mark.slow  # real flake8 in a subprocess
def test_file_level_exemption_unless_disable_noqa(tmp_path):
    (tmp_path / "train.py").write_text("# trainlint: noqa: TL301\n" + FLAGGED, encoding="utf-8")
    assert flake8("--select", "TL", "train.py", cwd=tmp_path).stdout == ""
    shown = flake8("--select", "TL", "--disable-noqa", "train.py", cwd=tmp_path).stdout
    assert [code for _, code, _ in findings(shown)] == ["TL301"]


# TL401: a checkpoint kept by a test figure; with `test-names = ["holdin"]`, `test` is no
# longer a test word and the choice is not flagged.
SELECTED_ON_TEST = textwrap.dedent(
    """\
    best_acc = 0.0
    for epoch in range(epochs):
        train_one_epoch(model, train_loader, optimizer)
        test_acc = evaluate(model, test_loader)
        if test_acc > best_acc:
            best_acc = test_acc
            torch.save(model.state_dict(), "best.pt")
    print(f"test accuracy: {best_acc:.3f}")
    """
)


@pytest.mark.slow  # real flake8 in a subprocess
def test_reads_tool_trainlint_of_the_nearest_pyproject(tmp_path):
    plain, configured = tmp_path / "plain", tmp_path / "configured"
    for project in (plain, configured):
        (project / "src").mkdir(parents=True)
        (project / "src" / "train.py").write_text(SELECTED_ON_TEST, encoding="utf-8")
    (configured / "pyproject.toml").write_text(
        '[tool.trainlint]\ntest-names = ["holdin"]\nignore = ["TL401"]\n', encoding="utf-8")
    result = flake8("--select", "TL", "plain/src/train.py", "configured/src/train.py", cwd=tmp_path)
    # role names come from the nearest pyproject; `ignore` is flake8's job, so not applied
    assert [where.split(":")[0] for where, _, _ in findings(result.stdout)] == ["plain/src/train.py"]
    (configured / "pyproject.toml").write_text('[tool.trainlint]\nignore = ["TL401"]\n', encoding="utf-8")
    both = flake8("--select", "TL", "plain/src/train.py", "configured/src/train.py", cwd=tmp_path)
    assert len(findings(both.stdout)) == 2


@pytest.mark.slow  # real flake8 in a subprocess
def test_broken_config_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\ntest-names = "holdin"\n', encoding="utf-8")
    (tmp_path / "train.py").write_text(FLAGGED, encoding="utf-8")
    result = flake8("--select", "TL", "train.py", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert "tool.trainlint.test-names" in result.stderr and len(result.stderr.splitlines()) == 1
    assert "TL301" in result.stdout  # linted with the defaults
