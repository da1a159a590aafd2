"""The cache cannot lie: an entry is believed only if it is ours (its MAC), well formed (its
schema) and an ordinary file; whatever else is found in the cache folder is a miss, and the
result is the same as with --no-cache."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES
from test_cache import FLAGGED, entry_payload, project, rewrite_entry
from trainlint.core.config import Config
from trainlint.run.cache import ResultCache
from trainlint.run.parallel import lint_paths


@pytest.fixture(autouse=True)
def private_secret(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))


def sources(tmp_path: Path) -> list:
    (tmp_path / "src").mkdir()
    return project(tmp_path / "src")


def warm_cache(tmp_path: Path):
    """A project linted once with a cache: (files, the cold result, the entry of a.py)."""
    files = sources(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = lint_paths(files, Config(), cache=ResultCache(cache_dir, Config()))
    assert [d.code for d in cold] == ["TL301"] and lint_paths(files, Config()) == cold
    key = ResultCache(cache_dir, Config()).key(files[0].read_bytes(), str(files[0]))
    entry = cache_dir / key[:2] / f"{key[2:]}.json"
    assert entry_payload(entry)["diagnostics"], "a.py's entry holds its finding"
    return files, cold, entry


def again(files, tmp_path: Path):
    return lint_paths(files, Config(), cache=ResultCache(tmp_path / "cache", Config()))


def field(name, value):
    def change(payload):
        payload["diagnostics"][0][name] = value
        return payload

    return change


def fix(value):
    return field("fix", value)


EDIT = {"start_line": 4, "start_col": 1, "end_line": 4, "end_col": 2, "new_text": "X"}
WRONG_SHAPES = {
    "line as a string": field("line", "4"),
    "line null": field("line", None),
    "line a float": field("line", 4.0),
    "line true": field("line", True),
    "line negative": field("line", -4),
    "line zero": field("line", 0),
    "line past the file": field("line", 7),
    "line huge": field("line", 10 ** 12),
    "end before start": field("end_line", 3),
    "column negative": field("col", -1),
    "column past the file": field("col", 10 ** 6),
    "path an integer": field("path", 1),
    "path null": field("path", None),
    "path of another file": field("path", "elsewhere.py"),
    "message a list": field("message", ["unstratified"]),
    "message a dict": field("message", {"text": "unstratified"}),
    "code an integer": field("code", 301),
    "code not a code": field("code", "../../etc"),
    "severity unknown": field("severity", "fatal"),
    "cell a string": field("cell", "1"),
    "cell zero": field("cell", 0),
    "unknown field": field("bogus", 1),
    "fix a list": fix([EDIT]),
    "fix edits a string": fix({"edits": "X", "safe": True, "description": ""}),
    "fix edit a list": fix({"edits": [[4, 1, 4, 2, "X"]], "safe": True, "description": ""}),
    "fix edit line a string": fix({"edits": [dict(EDIT, start_line="4")], "safe": True, "description": ""}),
    "fix edit text an integer": fix({"edits": [dict(EDIT, new_text=1)], "safe": True, "description": ""}),
    "fix edit extra field": fix({"edits": [dict(EDIT, extra=1)], "safe": True, "description": ""}),
    "fix safe a string": fix({"edits": [EDIT], "safe": "yes", "description": ""}),
    "diagnostics a dict": lambda payload: dict(payload, diagnostics={}),
    "diagnostic a list": lambda payload: dict(payload, diagnostics=[[]]),
    "missing field": lambda payload: dict(payload, diagnostics=[
        {k: v for k, v in payload["diagnostics"][0].items() if k != "message"}]),
    "body a list": lambda payload: [payload],
    "deeply nested": lambda payload: (
        '{"key": "%s", "diagnostics": %s%s}' % (payload["key"], "[" * 100_000, "]" * 100_000)).encode(),
}


@pytest.mark.parametrize("change", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_an_entry_of_the_wrong_shape_is_a_miss_and_rewritten(tmp_path, change, linted):
    files, cold, entry = warm_cache(tmp_path)
    original = entry_payload(entry)
    rewrite_entry(entry, change)
    linted.clear()
    assert again(files, tmp_path) == cold
    assert linted == ["a.py"]
    assert entry_payload(entry) == original


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")
def test_an_entry_that_is_a_symlink_to_dev_zero_a_fifo_or_huge_is_a_prompt_miss(tmp_path):
    """Run apart, with a memory limit and a deadline: reading /dev/zero to the end must not
    be how the run finds out."""
    script = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from trainlint.core.config import Config
        from trainlint.run.cache import MAX_ENTRY_BYTES, ResultCache
        from trainlint.run.parallel import lint_paths

        files, cache_dir = [Path(p) for p in sys.argv[2:]], Path(sys.argv[1])
        cold = lint_paths(files, Config(), cache=ResultCache(cache_dir, Config()))
        entries = sorted(cache_dir.rglob("*.json"))
        assert len(entries) == 3, entries
        for entry in entries:
            entry.unlink()
        os.symlink("/dev/zero", entries[0])
        os.mkfifo(entries[1])
        with open(entries[2], "wb") as handle:
            handle.truncate(MAX_ENTRY_BYTES + 1)
        warm = lint_paths(files, Config(), cache=ResultCache(cache_dir, Config()))
        print(warm == cold, [d.code for d in warm], all(e.is_file() and not e.is_symlink() for e in entries))
        """
    )
    files = sources(tmp_path)

    def limit_memory():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache"), *map(str, files)],
        capture_output=True, text=True, timeout=60, preexec_fn=limit_memory, env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True ['TL301'] True"


def test_a_planted_entry_without_our_mac_is_ignored(tmp_path, linted):
    """A repository that ships `.trainlint_cache/` cannot hide its findings from CI: an
    entry claiming "no findings" that this user's runs did not sign is a miss."""
    files, cold, entry = warm_cache(tmp_path)
    key = entry_payload(entry)["key"]
    unsigned = json.dumps({"key": key, "diagnostics": []}).encode()
    planted = {
        "plain JSON (no MAC)": unsigned,
        "a MAC under another secret": b"TL2 " + b"0" * 64 + b"\n" + unsigned,
        "a MAC line without a body": b"TL2 " + b"0" * 64,
    }
    for content in planted.values():
        entry.write_bytes(content)
        linted.clear()
        assert again(files, tmp_path) == cold
        assert linted == ["a.py"]


def test_a_signed_entry_moved_to_another_key_is_ignored(tmp_path, linted):
    files, cold, entry = warm_cache(tmp_path)
    clean = next(e for e in (tmp_path / "cache").rglob("*.json") if not entry_payload(e)["diagnostics"])
    entry.write_bytes(clean.read_bytes())  # ours, whole, well formed: for c.py, not a.py
    linted.clear()
    assert again(files, tmp_path) == cold
    assert linted == ["a.py"]


def test_the_secret_lives_outside_the_tree_readable_only_by_its_owner(tmp_path, linted):
    from trainlint.run.cache_secret import secret_path

    files, cold, _ = warm_cache(tmp_path)
    secret = secret_path()
    assert secret.is_file() and tmp_path not in secret.parents
    if os.name == "posix":
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    linted.clear()
    assert again(files, tmp_path) == cold and linted == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_secret_others_can_read_turns_the_cache_off(tmp_path, linted, monkeypatch):
    from trainlint.run import cache_secret

    files, cold, _ = warm_cache(tmp_path)
    cache_secret.secret_path().chmod(0o644)
    monkeypatch.setattr(cache_secret, "_loaded", {})  # a new run reads it afresh
    linted.clear()
    assert again(files, tmp_path) == cold
    assert sorted(linted) == ["a.py", "b.py", "c.py"]


def test_every_fixture_result_is_believed_when_read_back(tmp_path, linted):
    """The schema check accepts whatever the engine really produces (scripts, notebooks,
    syntax errors, fixes): a warm run over every fixture lints nothing."""
    files = sorted(FIXTURES.rglob("*.py")) + sorted(FIXTURES.rglob("*.ipynb"))
    cold = lint_paths(files, Config(), cache=ResultCache(tmp_path / "cache", Config()))
    assert any(d.fix is not None for d in cold) and any(d.cell is not None for d in cold)
    linted.clear()
    assert lint_paths(files, Config(), cache=ResultCache(tmp_path / "cache", Config())) == cold
    assert linted == []


# -- the key: the same bytes and settings under another root are another file ---------------

PER_FILE_IGNORES = '[tool.trainlint]\nper-file-ignores = {"{glob}" = ["TL301"]}\n'


def cli(monkeypatch, capsys, folder: Path, *args: str) -> str:
    from trainlint.frontends.cli import main

    monkeypatch.chdir(folder)
    main(["-q", *args])
    return capsys.readouterr().out


def test_identical_configs_in_two_projects_do_not_share_results(tmp_path, monkeypatch, capsys):
    """Two projects with the same pyproject.toml text, one --cache-dir, and the same bytes
    shown under the same path (`train.py`, run from its folder): the glob `pkg/*` matches
    the file in one project and not in the other (its root is one level further up)."""
    shared = str(tmp_path / "shared-cache")
    places = {"one": tmp_path / "one" / "pkg", "two": tmp_path / "two" / "deeper" / "pkg"}
    for name, folder in places.items():
        folder.mkdir(parents=True)
        (tmp_path / name / "pyproject.toml").write_text(PER_FILE_IGNORES.replace("{glob}", "pkg/*"))
        (folder / "train.py").write_text(FLAGGED)
    monkeypatch.delenv("TRAINLINT_NO_CACHE", raising=False)
    assert cli(monkeypatch, capsys, places["one"], "--cache-dir", shared, "train.py") == ""
    assert "TL301" in cli(monkeypatch, capsys, places["two"], "--cache-dir", shared, "train.py")
    assert cli(monkeypatch, capsys, places["one"], "--cache-dir", shared, "train.py") == ""


def test_one_config_file_for_two_working_folders_does_not_share_results(tmp_path, monkeypatch, capsys):
    """`--config` names one file (one root) for runs from two folders: the same relative path,
    the same bytes, but per-file-ignores match one of the two files only."""
    config = tmp_path / "trainlint.toml"
    config.write_text('per-file-ignores = {"one/*" = ["TL301"]}\n')
    shared = str(tmp_path / "shared-cache")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.py").write_text(FLAGGED)
    monkeypatch.delenv("TRAINLINT_NO_CACHE", raising=False)
    args = ("--config", str(config), "--cache-dir", shared, "train.py")
    assert cli(monkeypatch, capsys, tmp_path / "one", *args) == ""
    assert "TL301" in cli(monkeypatch, capsys, tmp_path / "two", *args)


def test_a_cache_shipped_inside_the_linted_tree_hides_nothing_from_another_user(
        tmp_path, tmp_path_factory, monkeypatch, capsys):
    """The trust boundary end to end: a pull request ships `.trainlint_cache/` (where the CLI
    keeps its cache: beside the pyproject.toml) with entries claiming "no findings", signed
    by their author's own secret. On the author's machine they would be believed; CI, whose
    secret differs, lints the file and reports the finding."""
    from trainlint.run import cache_secret

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "churn"\n')
    (tmp_path / "train.py").write_text(FLAGGED)
    monkeypatch.delenv("TRAINLINT_NO_CACHE", raising=False)
    monkeypatch.delenv("TRAINLINT_CACHE_DIR", raising=False)

    homes = tmp_path_factory.mktemp("users")

    def as_user(name: str) -> str:
        (homes / name).mkdir(exist_ok=True)
        monkeypatch.setenv("XDG_CACHE_HOME", str(homes / name))
        monkeypatch.setattr(cache_secret, "_loaded", {})  # a new run reads its user's secret
        return cli(monkeypatch, capsys, tmp_path, ".")

    assert "TL301" in as_user("author")
    planted = sorted((tmp_path / ".trainlint_cache").rglob("*.json"))
    assert len(planted) == 1
    rewrite_entry(planted[0], lambda payload: dict(payload, diagnostics=[]))  # signed as the author
    assert as_user("author") == ""  # well formed and keyed right: the author's runs believe it
    assert "TL301" in as_user("ci")
    assert "TL301" in as_user("author")  # CI's rewrite is CI's: the author no longer believes it
