"""The pre-commit hook, run by the real pre-commit (installed by the `test` extra).

pre-commit clones the hook repository at a commit and pip-installs it into an environment
of its own. So that the test checks the code as it is now (a worktree with uncommitted
changes, or a fresh CI clone alike), the repository's files are committed into a temporary
repository first, and the project's `.pre-commit-config.yaml` points at that local path and
commit. PRE_COMMIT_HOME is a temporary folder: nothing is shared with the user's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml  # comes with pre-commit

from conftest import REPO

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)
FIXED = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y, stratify=y)")


def notebook(code: str) -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Exploration"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": code.splitlines(keepends=True)},
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def clean_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    env.pop("PYTHONWARNINGS", None)
    return env


def git(*args: str, cwd: Path, env: dict) -> str:
    result = subprocess.run(["git", *args], cwd=str(cwd), env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def snapshot_of_this_repository(destination: Path, env: dict) -> str:
    """Commit the repository's current files (tracked and new, minus ignored) into a new
    repository; returns the commit."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=str(REPO), capture_output=True, text=True,
    )
    if listing.returncode != 0:
        pytest.skip("not a git checkout: pre-commit needs the hook repository in git")
    for name in filter(None, listing.stdout.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", cwd=destination, env=env)
    git("add", "-A", cwd=destination, env=env)
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "snapshot", cwd=destination, env=env)
    return git("rev-parse", "HEAD", cwd=destination, env=env).strip()


def test_hook_definition():
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "trainlint"
    assert hook["types_or"] == ["python", "jupyter"]
    assert hook["require_serial"] is True
    # In the entry, so that a user's `args:` cannot drop it.
    assert "--force-exclude" in hook["entry"].split() + hook.get("args", [])


@pytest.mark.slow  # real pre-commit and git in subprocesses
def test_pre_commit_run_fails_on_a_finding_then_passes_after_the_fix(tmp_path):
    env = clean_env(tmp_path)
    hooks = tmp_path / "trainlint-hooks"
    rev = snapshot_of_this_repository(hooks, env)

    project = tmp_path / "project"
    (project / "generated").mkdir(parents=True)
    (project / "train.py").write_text(FLAGGED, encoding="utf-8")
    (project / "clean.py").write_text(FIXED, encoding="utf-8")
    (project / "explore.ipynb").write_text(notebook(FLAGGED), encoding="utf-8")  # types_or: jupyter
    # Excluded in the config: pre-commit passes the name, --force-exclude keeps it out.
    (project / "generated" / "old.py").write_text(FLAGGED, encoding="utf-8")
    (project / "pyproject.toml").write_text('[tool.trainlint]\nextend-exclude = ["generated"]\n',
                                            encoding="utf-8")
    config = {"repos": [{"repo": str(hooks), "rev": rev, "hooks": [{"id": "trainlint"}]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    git("init", "-q", cwd=project, env=env)
    git("add", "-A", cwd=project, env=env)
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "training script", cwd=project, env=env)

    def pre_commit_run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
            cwd=str(project), env=env, capture_output=True, text=True, timeout=900,
        )

    failing = pre_commit_run()
    print(failing.stdout, failing.stderr)  # shown by pytest -s / on failure
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "trainlint" in failing.stdout and "Failed" in failing.stdout
    assert "train.py:4:36: TL301 [*] classification target split without stratification" in failing.stdout
    assert "explore.ipynb:cell 2:4:36: TL301" in failing.stdout
    assert "clean.py" not in failing.stdout
    assert "generated/old.py" not in failing.stdout

    (project / "train.py").write_text(FIXED, encoding="utf-8")
    (project / "explore.ipynb").write_text(notebook(FIXED), encoding="utf-8")
    passing = pre_commit_run()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout and "TL301" not in passing.stdout
