"""Bad input never produces a traceback: every case has a defined result and the run goes on."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from test_cli import FLAGGED, write
from trainlint.frontends import cli
from trainlint.core.config import Config
from trainlint.run.engine import lint_file, lint_source
from trainlint.rules import Finding, Rule, all_rules

SPLIT_IMPORT = "from sklearn.model_selection import train_test_split\n"


def codes(diagnostics):
    return [d.code for d in diagnostics]


# -- sources that must lint without error -------------------------------------------------

CLEAN_SOURCES = {
    "empty": "",
    "only comments": "# train_test_split is used elsewhere\n# nothing else\n",
    "tabs": SPLIT_IMPORT + "if ready:\n\tX_a, X_b = train_test_split(X)\n",
    "crlf": (SPLIT_IMPORT + "X_a, X_b = train_test_split(X)\n").replace("\n", "\r\n"),
    "mixed line endings": SPLIT_IMPORT + "a = 1\r\nb = 2\nc = 3\r\n",
    "5000-element literal": SPLIT_IMPORT + "x = [" + ", ".join(map(str, range(5000))) + "]\n",
    "PEP 695 generics": SPLIT_IMPORT + "def first[T](xs: list[T]) -> T:\n    return xs[0]\n"
                        "type Pair[T] = tuple[T, T]\nclass Box[T]:\n    item: T\n",
    "PEP 701 f-strings": SPLIT_IMPORT + 'name = f"{"nested" + "quotes"}"\n'
                         "line = f\"{'\\n'.join(parts)}\"\nwidth = f\"{x!r:>{10}}\"\n",
    "except*": SPLIT_IMPORT + "try:\n    run()\nexcept* ValueError as group:\n    pass\n",
    "match": SPLIT_IMPORT + "match batch:\n    case {'x': x, 'y': y}:\n        pass\n"
             "    case [x, y, *_]:\n        pass\n    case _:\n        pass\n",
    # starred and keyword-only arguments leave no positional argument to index
    "starred and keyword-only calls": SPLIT_IMPORT + "import torch\nimport numpy as np\n"
        "best_val_acc = max(*val_accs)\nlow = min(*sizes[:2])\nidx = np.argmax(*test_scores)\n"
        "top = max(key=len)\nval_loss = criterion(*outputs)\nparts = train_test_split(*arrays)\n"
        "loader = torch.utils.data.DataLoader(**val_kwargs)\nmodel.fit(*train_xy, **fit_kwargs)\n",
    "walrus and async": SPLIT_IMPORT + "async def f():\n    async for b in loader:\n"
                        "        if (n := len(b)) > 2:\n            await g(n)\n",
}


# Each of these takes several seconds (deep recursion, very long expressions).
SLOW_SOURCES = ()


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_SOURCES else name for name in CLEAN_SOURCES
])
def test_valid_sources_lint_cleanly(name):
    assert lint_source(CLEAN_SOURCES[name], "x.py") == []


# CPython refuses more than 200 nested brackets; libcst's native parser would crash the
# process on 3,000 (100,000 here). The interpreter's message is the TL001.
@pytest.mark.parametrize("opening, closing", [("[", "]"), ("f(", ")"), ("(", ")")])
@pytest.mark.parametrize("depth", [1000, 100_000])
def test_what_python_rejects_is_tl001_and_never_reaches_libcst(opening, closing, depth):
    found = lint_source(SPLIT_IMPORT + "x = " + opening * depth + closing * depth + "\n", "x.py")
    assert codes(found) == ["TL001"] and "nested parentheses" in found[0].message


# Chains CPython accepts but libcst's native parser crashes on (7,000 terms, 8,000
# attributes) or takes many seconds for (4,000 attributes: 23 s, past any alarm): skipped
# before parsing, in one bounded line.
@pytest.mark.parametrize("expression", [
    " + ".join(["a"] * 5000), " + ".join(["a"] * 7000), "a" + ".b" * 4000, "a" + ".b" * 8000,
])
def test_chains_too_deep_for_the_parser_are_tl004(expression):
    found = lint_source(SPLIT_IMPORT + "parts = train_test_split(X)\nx = " + expression + "\n", "x.py")
    assert codes(found) == ["TL004"] and "too deep or long for the parser" in found[0].message


# Deep input that Python accepts and libcst parses reaches the rules: their analysis must
# be iterative or bounded (on Python 3.12, TL303 once raised RecursionError, a TL003, here).
LEAK_BEFORE_SPLIT = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    df = pd.read_csv("data.csv")
    X, y = df.drop(columns=["label"]), df["label"]
    Z = {expression}
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    """
)


@pytest.mark.parametrize("expression", [
    "(" * 190 + "X" + ")" * 190,
    "[" * 190 + "X" + "]" * 190,
    pytest.param(" + ".join(["X"] * 2000), marks=pytest.mark.slow),  # seconds of parsing
], ids=["190 nested parentheses", "190 nested lists", "2000-term sum"])
def test_deep_input_below_the_parser_limits_is_analysed(expression):
    assert codes(lint_source(LEAK_BEFORE_SPLIT.format(expression=expression), "x.py")) == ["TL303"]


def test_engine_messages_are_one_bounded_line():
    from trainlint.run.engine_diagnostics import MESSAGE_LIMIT, engine_diagnostic

    message = engine_diagnostic("TL003", "x.py", "boom:\n" + "Module(\n    body=[...]\n" * 10_000).message
    assert "\n" not in message and len(message) <= MESSAGE_LIMIT


@pytest.mark.slow  # a generated 50,000-line program
def test_fifty_thousand_lines():
    text = SPLIT_IMPORT + "".join(f"value_{i} = {i} * 2\n" for i in range(50_000)) + FLAGGED
    assert codes(lint_source(text, "big.py")) == ["TL004"]  # 900 KB: over max-analysis-size
    assert codes(lint_source(text, "big.py", Config(max_analysis_size_kb=0))) == ["TL301"]


@pytest.mark.parametrize(
    "text",
    [
        SPLIT_IMPORT + "print 'python 2'\n",
        SPLIT_IMPORT + "exec 'code'\n",
        SPLIT_IMPORT + "except ValueError, e:\n",
        SPLIT_IMPORT + "def f(:\n",
        SPLIT_IMPORT + "x = (\n",
        SPLIT_IMPORT + "\tif x:\n  y = 1\n",
    ],
)
def test_python2_and_broken_syntax_is_tl001(text):
    found = lint_source(text, "old.py")
    assert codes(found) == ["TL001"]
    assert found[0].line >= 2 and found[0].message.startswith("syntax error")


# -- files on disk ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\xef\xbb\xbf" + FLAGGED.encode(), "TL301"),  # BOM
        (b"# -*- coding: latin-1 -*-\n" + FLAGGED.encode() + b"s = '\xe9'\n", "TL301"),
        (b"\x00\x01binary", "TL002"),
        (b"x = '\xe9'\n", "TL002"),  # latin-1 without a cookie
        (b"# -*- coding: klingon -*-\nx = 1\n", "TL002"),
    ],
)
def test_encodings(tmp_path, data, expected):
    path = tmp_path / "enc.py"
    path.write_bytes(data)
    assert codes(lint_file(path, Config())) == [expected]


def test_file_removed_between_discovery_and_reading(tmp_path):
    found = lint_file(tmp_path / "gone.py", Config())
    assert codes(found) == ["TL002"] and "file not found" in found[0].message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "secret.py", FLAGGED)
    path.chmod(0)
    try:
        assert "permission denied" in lint_file(path, Config())[0].message
    finally:
        path.chmod(0o644)


def test_directory_named_like_a_python_file(tmp_path, run_trainlint):
    write(tmp_path, "x.py/inner.py", FLAGGED)
    result = run_trainlint(".", cwd=tmp_path)
    assert result.stdout.startswith("x.py/inner.py:4:36: TL301")
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # CLI subprocess walking a symlink loop
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_do_not_hang(tmp_path, run_trainlint):
    write(tmp_path, "pkg/train.py", FLAGGED)
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "self.py", tmp_path / "self.py")
    result = run_trainlint(".", cwd=tmp_path)
    assert result.stdout.count("TL301") == 1
    result = run_trainlint("self.py", cwd=tmp_path)
    assert "TL002" in result.stdout and "Traceback" not in result.stderr


def test_paths_with_spaces_and_non_ascii(tmp_path, run_trainlint):
    write(tmp_path, "my experiments/entraînement données.py", FLAGGED)
    result = run_trainlint(".", cwd=tmp_path)
    assert result.stdout.startswith("my experiments/entraînement données.py:4:36: TL301")


def test_max_file_size(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", "[tool.trainlint]\nmax-file-size = 0.001\n")
    write(tmp_path, "big.py", FLAGGED + "#" * 2000 + "\n")
    write(tmp_path, "small.py", FLAGGED)
    lines = run_trainlint(".", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith("big.py:1:1: TL004 file skipped: larger than max-file-size")
    assert lines[1].startswith("small.py:4:36: TL301")


def test_max_analysis_size(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", "[tool.trainlint]\nmax-analysis-size = 1\n")
    padding = "# " + "x" * 1200 + "\n"
    write(tmp_path, "big.py", FLAGGED + padding)
    write(tmp_path, "big_but_no_training.py", "total = 1\n" + padding)
    write(tmp_path, "big_and_broken.py", FLAGGED + "def broken(:\n" + padding)
    write(tmp_path, "small.py", FLAGGED)
    lines = run_trainlint(".", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith("big.py:1:1: TL004 file not analysed: 1 KB of code is over max-analysis-size (1 KB)")
    assert "raise it in [tool.trainlint]" in lines[0]
    # CPython's SyntaxError is final from 3.12 on; before, only libcst could tell (see
    # engine_diagnostics.refused_by_python), and it is not run on a file over the budget.
    assert lines[1].startswith("big_and_broken.py:6:" if sys.version_info >= (3, 12) else "big_and_broken.py:1:1: TL004")
    assert lines[2].startswith("small.py:4:36: TL301")
    assert not any(line.startswith("big_but_no_training.py") for line in lines)


def test_max_analysis_size_zero_analyses_every_size(tmp_path, run_trainlint):
    write(tmp_path, "pyproject.toml", "[tool.trainlint]\nmax-analysis-size = 0\n")
    write(tmp_path, "big.py", FLAGGED + "# " + "x" * 1200 + "\n")
    assert run_trainlint(".", cwd=tmp_path).stdout.startswith("big.py:4:36: TL301")


def test_the_default_analysis_budget_skips_a_450_kb_training_file_at_once():
    big = FLAGGED + ("# " + "x" * 98 + "\n") * 4_600  # 460 KB
    (skipped,) = lint_source(big, "generated_test.py")
    assert skipped.code == "TL004" and "over max-analysis-size (400 KB)" in skipped.message
    assert [d.code for d in lint_source(big, "generated_test.py", Config(max_analysis_size_kb=500))] == ["TL301"]


def test_per_file_timeout(tmp_path, monkeypatch):
    import time

    class SlowRule(_StubRule):
        code, name = "TL998", "slow-stub"

        def check(self, ctx):
            time.sleep(5)
            return iter(())

    monkeypatch.setattr("trainlint.run.engine.enabled_rules", lambda config, path: [SlowRule])
    path = write(tmp_path, "train.py", FLAGGED)
    started = time.monotonic()
    found = lint_file(path, Config(per_file_timeout=0.2))
    assert time.monotonic() - started < 3
    assert codes(found) == ["TL004"] and "per-file-timeout" in found[0].message


# -- isolation of a failing rule ---------------------------------------------------------

class _StubRule(Rule):
    code, name = "TL999", "crashing-stub"
    severity = all_rules()[0].severity
    summary = message = what_it_does = why_it_matters = example = use_instead = "stub"
    triggers = ("train_test_split",)


class CrashingRule(_StubRule):
    def check(self, ctx):
        yield from ()
        raise ZeroDivisionError("boom")


def test_rule_crash_is_isolated(monkeypatch, tmp_path, capsys):
    real = [r for r in all_rules() if r.code == "TL301"]
    monkeypatch.setattr("trainlint.run.engine.enabled_rules", lambda config, path: [CrashingRule, *real])
    write(tmp_path, "a.py", FLAGGED)
    write(tmp_path, "b.py", FLAGGED)
    monkeypatch.chdir(tmp_path)
    exit_code = cli.main(["--verbose", "a.py", "b.py"])
    out, err = capsys.readouterr()
    assert exit_code == 2
    lines = out.splitlines()
    assert lines[0].startswith("a.py:1:1: TL003 internal error in TL999 (crashing-stub): ZeroDivisionError: boom")
    assert lines[1].startswith("a.py:4:36: TL301")
    assert lines[3].startswith("b.py:4:36: TL301")
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError: boom" in err


def test_rule_crash_without_verbose_has_no_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("trainlint.run.engine.enabled_rules", lambda config, path: [CrashingRule])
    write(tmp_path, "a.py", FLAGGED)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["a.py"]) == 2
    assert "Traceback" not in capsys.readouterr().err


# -- never executes the code it reads ----------------------------------------------------

def test_linted_code_is_never_executed(tmp_path, run_trainlint):
    marker = tmp_path / "executed.txt"
    source = textwrap.dedent(
        f"""\
        import sys
        open({str(marker)!r}, "w").write("ran")
        from sklearn.model_selection import train_test_split
        from sklearn.svm import SVC
        X_train, X_test, y_train, y_test = train_test_split(X, y)
        SVC().fit(X_train, y_train)
        raise SystemExit("this module must never run")
        """
    )
    write(tmp_path, "dangerous.py", source)
    write(tmp_path, "conftest.py", source)
    write(tmp_path, "setup.py", source)
    result = run_trainlint(".", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout.count("TL301") == 3
    assert not marker.exists()


def test_permission_error_is_one_line(tmp_path, monkeypatch):
    # Root (as in CI) can read anything, so simulate the error the OS would raise.
    path = write(tmp_path, "secret.py", FLAGGED)

    real_open = os.open

    def denied(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    found = lint_file(path, Config())
    assert codes(found) == ["TL002"] and found[0].message == "permission denied"


def test_deeply_nested_code_is_written_back_on_this_python():
    """libcst writes code (and trainlint builds its index) by recursion through the tree; on
    CPython 3.12 calls through C count against a fixed limit of 1,500, which 800 nested
    brackets exceed unless the engine keeps code generation in Python frames."""
    import libcst as cst

    from trainlint.core.limits import deeper_recursion
    from trainlint.semantic.libcst_tuning import codegen_within_python_frames

    text = "x = " + "[" * 800 + "]" * 800 + "\n"
    codegen_within_python_frames()
    with deeper_recursion():
        assert cst.parse_module(text).code == text
