"""Shared fixtures of the test suite.

Fast subset (no fuzzing, external tools or multi-run subprocess tests): `python -m pytest -m "not slow"`.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def pytest_report_header(config):
    """Which interpreter the session runs on (version and path)."""
    return f"python: {sys.version.split()[0]} ({platform.python_implementation()}) at {sys.executable}"


# No test run leaves a result cache in the repository or reuses results across monkeypatched
# runs; tests of the cache itself unset this.
os.environ["TRAINLINT_NO_CACHE"] = "1"


def trainlint_command() -> list:
    """The installed console script, as a user runs it (falls back to `python -m`)."""
    script = shutil.which("trainlint", path=str(Path(sys.executable).parent)) or shutil.which("trainlint")
    return [script] if script else [sys.executable, "-m", "trainlint"]


@pytest.fixture
def run_trainlint():
    def run(*args: str, cwd: Path = REPO, input: str = None) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop("PYTHONWARNINGS", None)
        return subprocess.run(
            [*trainlint_command(), *args],
            cwd=str(cwd),
            capture_output=True,
            text=True,
            input=input,
            env=env,
            timeout=300,
        )

    return run


@pytest.fixture
def linted(monkeypatch):
    """The names of the files actually linted in this process (cache misses), in order."""
    from trainlint.run import engine

    names = []
    real = engine.lint_bytes

    def lint_bytes(data, path, config, *hooks):
        names.append(Path(path).name)
        return real(data, path, config, *hooks)

    monkeypatch.setattr(engine, "lint_bytes", lint_bytes)
    return names
