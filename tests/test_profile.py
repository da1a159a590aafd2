"""--profile: the same findings as a normal run, and time charged per stage, fact and rule."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from trainlint.core.config import Config
from trainlint.run.parallel import lint_paths
from trainlint.run.profile import STAGES, profiled_lint_paths


@pytest.mark.slow  # lints every fixture twice
def test_profiled_run_finds_what_a_normal_run_finds():
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb"))
    found, profile = profiled_lint_paths(files, Config(), cache=None)
    assert found == lint_paths(files, Config())
    report = profile.finish()
    for stage in STAGES:
        assert f"\n  {stage} " in report
    assert profile.counts["files"] == len(files)
    assert profile.rules, "no rule was timed"
    assert "index" in profile.facts
    # Every moment is charged once: stage times add up to (about) the wall time.
    assert sum(profile.stages.values()) > 0


def test_a_fact_no_rule_needs_is_not_built(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("from sklearn.model_selection import train_test_split\n")
    _, profile = profiled_lint_paths([path], Config(select=("TL301",)), cache=None)
    assert "imbalance" not in profile.facts


def test_cli_profile_goes_to_stderr(tmp_path, run_trainlint):
    (tmp_path / "a.py").write_text("import torch\n")
    result = run_trainlint("--profile", "a.py", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert "trainlint profile: 1 files" in result.stderr and "skipped by the prefilter" in result.stderr
