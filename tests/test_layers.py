"""The direction of the code, checked by import-linter's contracts (.importlinter), and the
gate's promise: importing it loads no libcst (it reads only vocab/ and core/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    # this interpreter's own import-linter first: another one on PATH would read another checkout
    own = Path(sys.executable).parent / "lint-imports"
    lint_imports = str(own) if own.exists() else (shutil.which("lint-imports") or str(own))
    if not Path(lint_imports).exists():
        pytest.fail("import-linter is a test dependency: install the project with `.[test]`")
    done = subprocess.run([lint_imports, "--config", str(REPO / ".importlinter")], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_gate_loads_no_libcst():
    code = "import sys, trainlint.gate.prefilter; assert 'libcst' not in sys.modules, sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
