"""The direction of the code, checked by import-linter's layer contracts (.importlinter).

The gate's own contract (it reads only vocab/ and core/, never libcst) joins when the gate
rewrite lands (issue 18)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint_imports).exists():
        pytest.fail("import-linter is a test dependency: install the project with `.[test]`")
    done = subprocess.run([lint_imports, "--config", str(REPO / ".importlinter")], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
