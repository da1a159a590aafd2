"""The process pool: same results as one process, and a dying worker does not hang the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES
from trainlint.run import parallel
from trainlint.core.config import Config
from trainlint.frontends.cli import _check_parser, main
from trainlint.run.parallel import lint_paths

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)


def many_files(folder: Path, count: int = 40) -> list:
    files = []
    for number in range(count):
        path = folder / f"train_{number:02d}.py"
        text = FLAGGED if number % 3 else "import torch\n"
        if number % 7 == 0:
            text = FLAGGED + "def broken(:\n"
        path.write_text(text + f"\nrun = {number}\n" * (number % 5))
        files.append(path)
    return files + sorted(FIXTURES.rglob("*.py"))


@pytest.mark.slow  # lints 40 files and every fixture twice
def test_pool_gives_the_same_diagnostics_as_one_process(tmp_path):
    files = many_files(tmp_path)
    assert len(files) >= parallel.SMALL_RUN
    single = lint_paths(files, Config(), jobs=1)
    pooled = lint_paths(files, Config(), jobs=2)
    assert pooled == single
    assert {d.code for d in single} >= {"TL001", "TL301"}


def test_small_runs_stay_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "_lint_in_pool", lambda *args: pytest.fail("pool started for a small run"))
    files = many_files(tmp_path, count=3)[:3]
    assert [d.code for d in lint_paths(files, Config(), jobs=4)] == ["TL001", "TL301", "TL301"]


def test_chunks_cover_every_file_once():
    for count in (1, 15, 16, 17, 100, 1001):
        for jobs in (1, 2, 8):
            chunks = parallel._chunks(count, jobs)
            covered = [n for start, end in chunks for n in range(start, end)]
            assert covered == list(range(count))
            assert all(end - start <= parallel.MAX_CHUNK for start, end in chunks)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="relies on fork to inject the crash")
def test_a_dying_worker_does_not_hang_the_run(tmp_path):
    for number in range(30):
        (tmp_path / f"m{number:02d}.py").write_text(FLAGGED)
    (tmp_path / "m13.py").write_text(FLAGGED + "# the worker linting this file dies\n")
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from trainlint.run import engine, parallel
        from trainlint.core.config import Config

        real = engine.lint_bytes
        def lint_bytes(data, path, config):
            if Path(path).name == "m13.py":
                os._exit(9)  # as if killed: no exception, no result
            return real(data, path, config)
        engine.lint_bytes = lint_bytes

        files = sorted(Path({str(tmp_path)!r}).glob("*.py"))
        for d in parallel.lint_paths(files, Config(), jobs=2):
            print(Path(d.path).name, d.code)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "m13.py TL003" in lines
    assert sum(line.endswith("TL301") for line in lines) == 29
    assert "m13.py TL301" not in lines


@pytest.mark.slow  # several CLI subprocess runs
def test_cli_jobs_flag(tmp_path, run_trainlint):
    for number in range(20):
        (tmp_path / f"m{number:02d}.py").write_text(FLAGGED)
    one = run_trainlint("--no-cache", "-j", "1", ".", cwd=tmp_path)
    two = run_trainlint("--no-cache", "--jobs", "2", ".", cwd=tmp_path)
    assert (one.returncode, one.stdout) == (two.returncode, two.stdout)
    assert one.stdout.count("TL301") == 20
    for bad in ("", "-1", "many"):
        refused = run_trainlint("--jobs", bad, ".", cwd=tmp_path)
        assert refused.returncode == 2 and "jobs" in refused.stderr and refused.stderr.count("\n") == 1
    assert run_trainlint("--no-cache", "-j", "0", ".", cwd=tmp_path).stdout == one.stdout


@pytest.mark.parametrize("value", ["", "-1", "many", "1.5", " "])
def test_a_bad_jobs_value_is_one_line_without_the_usage_text(value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--no-cache", "-j", value, "."])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage" not in err
    assert err.startswith(f"trainlint: error: argument -j/--jobs: expected a number of worker processes"
                          f" (0: one per CPU), got {value!r}")


def test_jobs_zero_means_one_per_cpu_and_more_than_the_cpus_are_clamped(tmp_path, monkeypatch):
    parse = _check_parser().parse_args
    assert parse(["-j", "0"]).jobs is None and parse(["-j", "3"]).jobs == 3
    cpus = parallel.default_jobs()
    assert [parallel.worker_count(jobs) for jobs in (None, 1, 1000)] == [cpus, 1, cpus]
    started = []
    monkeypatch.setattr(parallel, "_lint_in_pool", lambda items, config, jobs: started.append(jobs) or {
        position: ([], []) for position in range(len(items))})
    lint_paths(many_files(tmp_path, count=parallel.SMALL_RUN), Config(), jobs=1000)
    assert started == [cpus]
