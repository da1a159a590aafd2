"""The result cache: warm runs reuse results, anything that changes the answer misses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from trainlint.run.cache import DEFAULT_DIR, ResultCache, default_cache_dir
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity
from trainlint.run.engine_diagnostics import engine_diagnostic
from trainlint.run.parallel import lint_paths

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)


@pytest.fixture(autouse=True)
def private_secret(tmp_path_factory, monkeypatch):
    """Each test signs entries with a secret of its own, outside the linted tree."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))


def entry_payload(entry: Path) -> dict:
    """The JSON body of an entry (after its MAC line)."""
    return json.loads(entry.read_bytes().partition(b"\n")[2])


def rewrite_entry(entry: Path, change) -> None:
    """Replace an entry's body with `change(body)` (JSON, or bytes as they are), signed as the cache signs it: a valid MAC,
    so what is tested is the check of the body itself."""
    from trainlint.run.cache_entry import _MAGIC, _mac
    from trainlint.run.cache_secret import cache_secret

    body = change(entry_payload(entry))
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    entry.write_bytes(_MAGIC + _mac(cache_secret(), body).encode() + b"\n" + body)


def project(tmp_path: Path) -> list:
    (tmp_path / "a.py").write_text(FLAGGED)
    (tmp_path / "b.py").write_text(FLAGGED.replace("(X, y)", "(X, y, stratify=y)"))
    (tmp_path / "c.py").write_text("import torch\n")
    return sorted(tmp_path.glob("*.py"))


def test_warm_run_lints_nothing_and_gives_the_same_result(tmp_path, linted):
    files = project(tmp_path)
    config = Config()
    cache = ResultCache(tmp_path / "cache", config)
    cold = lint_paths(files, config, cache=cache)
    assert sorted(linted) == ["a.py", "b.py", "c.py"]
    linted.clear()
    warm = lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config))
    assert linted == []
    assert warm == cold and [d.code for d in warm] == ["TL301"]


def test_changed_content_and_changed_config_miss(tmp_path, linted):
    files = project(tmp_path)
    config = Config()
    lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config))
    linted.clear()
    (tmp_path / "b.py").write_text(FLAGGED)
    again = lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config))
    assert linted == ["b.py"]
    assert len(again) == 2
    linted.clear()
    narrowed = replace(config, ignore=("TL301",))
    assert lint_paths(files, narrowed, cache=ResultCache(tmp_path / "cache", narrowed)) == []
    assert sorted(linted) == ["a.py", "b.py", "c.py"]


def test_folder_carries_its_own_gitignore(tmp_path):
    files = project(tmp_path)
    lint_paths(files, Config(), cache=ResultCache(tmp_path / "cache", Config()))
    assert (tmp_path / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_corrupt_entry_is_ignored_and_rewritten(tmp_path, linted):
    files = project(tmp_path)
    config = Config()
    cold = lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config))
    entries = [p for p in (tmp_path / "cache").rglob("*.json")]
    assert len(entries) == 3
    garbage = [b"", b"{not json", b'{"key": "someone else", "diagnostics": []}']
    for entry, junk in zip(entries, garbage):
        entry.write_bytes(junk)
    linted.clear()
    assert lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config)) == cold
    assert len(linted) == 3
    for entry in entries:
        assert entry_payload(entry)["key"] == entry.parent.name + entry.stem
    linted.clear()
    assert lint_paths(files, config, cache=ResultCache(tmp_path / "cache", config)) == cold
    assert linted == []


def test_entry_with_wrong_fields_is_a_miss(tmp_path):
    cache = ResultCache(tmp_path, Config())
    key = cache.key(b"x = 1\n", "a.py")
    cache.put(key, [])
    entry = next(tmp_path.rglob("*.json"))
    rewrite_entry(entry, lambda payload: {"key": key, "diagnostics": [{"code": "TL301", "bogus": 1}]})
    assert cache.get(key, b"x = 1\n", "a.py") is None


def test_diagnostics_round_trip_with_fixes(tmp_path):
    cache = ResultCache(tmp_path, Config())
    fix = Fix(edits=(Edit(1, 2, 1, 5, "new"),), safe=False, description="d")
    diagnostic = Diagnostic("TL301", "unstratified-split", "m", Severity.WARNING, 3, 4, 3, 9, fix=fix, cell=2,
                            path="nb.ipynb", detail="traceback")
    data = b"{}\n" * 10
    key = cache.key(data, "nb.ipynb")
    cache.put(key, [diagnostic])
    assert cache.get(key, data, "nb.ipynb") == [diagnostic]
    assert cache.get(key, data, "nb.ipynb")[0].detail == "traceback"


def test_key_depends_on_content_path_and_config(tmp_path):
    cache = ResultCache(tmp_path, Config())
    key = cache.key(b"x", "a.py")
    assert key == cache.key(b"x", "a.py")
    assert len({key, cache.key(b"y", "a.py"), cache.key(b"x", "b.py")}) == 3
    assert key != ResultCache(tmp_path, Config(ignore=("TL301",))).key(b"x", "a.py")


def test_timeouts_and_read_errors_are_not_cached(tmp_path):
    cache = ResultCache(tmp_path, Config())
    skipped = engine_diagnostic("TL004", "a.py", "file skipped")
    cache.put(cache.key(b"x", "a.py"), [skipped])
    assert cache.get(cache.key(b"x", "a.py"), b"x", "a.py") is None


def test_concurrent_writers_leave_whole_entries(tmp_path):
    cache = ResultCache(tmp_path, Config())
    key = cache.key(b"x", "a.py")
    diagnostic = engine_diagnostic("TL001", "a.py", "syntax error: " + "x" * 5000)
    errors = []

    def writer():
        try:
            for _ in range(50):
                cache.put(key, [diagnostic])
                found = cache.get(key, b"x", "a.py")
                assert found is None or found == [diagnostic]
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get(key, b"x", "a.py") == [diagnostic]
    assert not list(tmp_path.rglob(".tmp-*")), "temporary files left behind"


def test_unwritable_cache_folder_costs_only_speed(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    files = project(tmp_path)
    assert [d.code for d in lint_paths(files, Config(), cache=ResultCache(blocker / "cache", Config()))] == ["TL301"]


def test_default_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINLINT_CACHE_DIR", raising=False)
    assert default_cache_dir(Config()) == Path(DEFAULT_DIR)
    configured = Config(root=str(tmp_path), config_path=str(tmp_path / "pyproject.toml"))
    assert default_cache_dir(configured) == tmp_path / DEFAULT_DIR
    monkeypatch.setenv("TRAINLINT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir(Config()) == tmp_path / "elsewhere"


# -- through the command line ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def cache_enabled(monkeypatch):
    monkeypatch.delenv("TRAINLINT_NO_CACHE", raising=False)
    monkeypatch.delenv("TRAINLINT_CACHE_DIR", raising=False)


def test_cli_creates_the_cache_beside_the_project(tmp_path, run_trainlint):
    project(tmp_path)
    first = run_trainlint(".", cwd=tmp_path)
    assert (tmp_path / DEFAULT_DIR / ".gitignore").is_file()
    second = run_trainlint(".", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (second.returncode, second.stdout) == (1, first.stdout)
    assert first.stdout.count("TL301") == 1


@pytest.mark.slow  # several CLI subprocess runs
def test_cli_no_cache_and_cache_dir(tmp_path, run_trainlint, monkeypatch):
    project(tmp_path)
    assert run_trainlint("--no-cache", ".", cwd=tmp_path).returncode == 1
    assert not (tmp_path / DEFAULT_DIR).exists()
    assert run_trainlint("--cache-dir", str(tmp_path / "elsewhere"), "a.py", cwd=tmp_path).returncode == 1
    assert not (tmp_path / DEFAULT_DIR).exists()
    assert list((tmp_path / "elsewhere").rglob("*.json"))
    monkeypatch.setenv("TRAINLINT_NO_CACHE", "1")
    run_trainlint("--cache-dir", str(tmp_path / "third"), "a.py", cwd=tmp_path)
    assert not (tmp_path / "third").exists()


@pytest.mark.slow  # several CLI subprocess runs
def test_cli_warm_run_reads_the_cache(tmp_path, run_trainlint):
    project(tmp_path)
    cache = str(tmp_path / "cache")
    run_trainlint("--cache-dir", cache, ".", cwd=tmp_path)
    profiled = run_trainlint("--cache-dir", cache, "--profile", ".", cwd=tmp_path)
    assert "3 from cache" in profiled.stderr
    assert profiled.stdout.count("TL301") == 1


@pytest.mark.slow  # concurrent CLI subprocesses
def test_concurrent_cli_runs_share_a_cache(tmp_path):
    from conftest import trainlint_command

    for number in range(30):
        (tmp_path / f"m{number}.py").write_text(FLAGGED + f"\nvalue = {number}\n")
    command = [*trainlint_command(), "--cache-dir", str(tmp_path / "cache"), "-j", "2", "."]
    env = dict(os.environ)
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 1 for run in runs), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert outputs[0][0].count("TL301") == 30
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def test_a_fully_cached_run_loads_neither_libcst_nor_the_rules(tmp_path):
    """A warm run answers from the cache: importing libcst and every rule would be most of its
    time, so the CLI does it only when a file must be linted."""
    (tmp_path / "train.py").write_text(FLAGGED)
    probe = textwrap.dedent(
        """\
        import sys
        from trainlint.frontends.cli import main
        code = main(["--cache-dir", sys.argv[1], "--exit-zero", "-q", sys.argv[2]])
        print(code, "libcst" in sys.modules, "trainlint.rules.tl301_unstratified_split" in sys.modules)
        """
    )

    def run() -> str:
        completed = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / "cache"), str(tmp_path / "train.py")],
            capture_output=True, text=True, check=True,
        )
        return completed.stdout.split("\n")[-2]

    assert run() == "0 True True"  # cold: the file is linted
    assert run() == "0 False False"  # warm: every answer comes from the cache


def test_code_fingerprint_covers_every_package_of_trainlint(tmp_path, monkeypatch):
    """An edit to a rule or a semantic module must invalidate cached results, not only an
    edit next to the cache module (run/)."""
    import trainlint
    from trainlint.run import cache

    package = tmp_path / "trainlint"
    for module in ("run/cache.py", "semantic/roles.py", "rules/tl301_unstratified_split.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("x = 1\n")
    (package / "__init__.py").write_text("")
    monkeypatch.setattr(trainlint, "__file__", str(package / "__init__.py"))
    fingerprints = []
    for edit in (None, "semantic/roles.py", "rules/tl301_unstratified_split.py"):
        if edit:
            (package / edit).write_text("x = 22\n")
        cache.code_fingerprint.cache_clear()
        fingerprints.append(cache.code_fingerprint())
    cache.code_fingerprint.cache_clear()
    assert len(set(fingerprints)) == 3
