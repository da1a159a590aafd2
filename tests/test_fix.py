"""Autofix: generated checks of every rule's FIX_EXAMPLES, the fix engine, and --fix/--diff."""

from __future__ import annotations

import os
import stat

import pytest

from test_cli import FLAGGED, write
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity
from trainlint.run.engine import lint_source
from trainlint.fix.apply import apply_once, fix_text, parses
from trainlint.rules import all_rules

FIX_CASES = [
    pytest.param(rule, before, after, id=f"{rule.code}-fix-{index}")
    for rule in all_rules()
    for index, (before, after) in enumerate(rule.FIX_EXAMPLES)
]


def lint(text):
    return lint_source(text, "example.py", Config())


@pytest.mark.parametrize("rule, before, after", FIX_CASES)
def test_fix_example(rule, before, after):
    result, remaining = fix_text(before, lint, unsafe=True)
    assert result.text == after
    assert parses(result.text)
    assert rule.code not in [d.code for d in remaining]
    again, _ = fix_text(result.text, lint, unsafe=True)
    assert again.text == result.text and not again.applied  # idempotent


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rules_that_fix_document_their_fixes(rule):
    fixes = [d.fix for snippet in rule.invalid_snippets() if isinstance(snippet, str)
             for d in lint(snippet) if d.code == rule.code and d.fix]
    if fixes:
        assert rule.FIX_EXAMPLES, f"{rule.code} offers fixes but has no FIX_EXAMPLES"
        assert "no automatic fix" not in rule.fix_safety.lower()


def _diagnostic(line, col, end_line, end_col, new_text, safe=True):
    return Diagnostic("TL999", "stub", "m", Severity.WARNING, line, col, line, col,
                      fix=Fix((Edit(line, col, end_line, end_col, new_text),), safe=safe), path="x.py")


def test_conflicting_edits_are_skipped_in_a_round():
    text = "a = 1\nb = 2\n"
    first = _diagnostic(1, 5, 1, 6, "10")
    overlapping = _diagnostic(1, 1, 1, 6, "c = 3")
    result = apply_once(text, [first, overlapping], unsafe=False)
    # Fixes are taken in position order; the later, overlapping one waits for the next round.
    assert result.applied == [overlapping]
    assert result.text == "c = 3\nb = 2\n"


def test_fix_that_breaks_the_code_is_dropped():
    text = "a = 1\nb = 2\n"
    good = _diagnostic(2, 5, 2, 6, "3")
    bad = _diagnostic(1, 1, 1, 2, "(")
    result = apply_once(text, [good, bad], unsafe=False)
    assert result.text == "a = 1\nb = 3\n"
    assert result.applied == [good]
    assert "would leave the code unparsable" in result.dropped[0]


def test_unsafe_fixes_need_the_flag():
    text = "a = 1\n"
    unsafe = _diagnostic(1, 5, 1, 6, "2", safe=False)
    assert apply_once(text, [unsafe], unsafe=False).text == text
    assert apply_once(text, [unsafe], unsafe=True).text == "a = 2\n"


# -- the command line ---------------------------------------------------------------------

FIXED = FLAGGED.replace("train_test_split(X, y)", "train_test_split(X, y, stratify=y)")


def test_fix_writes_the_file_and_reports_what_remains(tmp_path, run_trainlint):
    path = write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("--fix", "--show-fixes", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == FIXED
    assert "Fixed train.py:4:36: TL301 Pass stratify=y" in result.stderr
    assert "Fixed 1 problem. No problems left." in result.stderr
    assert not [p for p in tmp_path.iterdir() if "trainlint-tmp" in p.name]


def test_fix_keeps_permissions_crlf_bom_and_encoding(tmp_path, run_trainlint):
    crlf = write(tmp_path, "crlf.py", "")
    crlf.write_bytes(FLAGGED.replace("\n", "\r\n").encode())
    crlf.chmod(0o750)
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + FLAGGED.encode())
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + FLAGGED.encode())
    run_trainlint("--fix", ".", cwd=tmp_path)
    assert crlf.read_bytes() == FIXED.replace("\n", "\r\n").encode()
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o750
    assert bom.read_bytes() == b"\xef\xbb\xbf" + FIXED.encode()
    assert latin.read_bytes() == b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + FIXED.encode()


def test_fix_never_writes_unchanged_or_broken_files(tmp_path, run_trainlint):
    clean = write(tmp_path, "clean.py", FIXED)
    broken = write(tmp_path, "broken.py", FLAGGED + "def f(:\n")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (clean, broken)}
    result = run_trainlint("--fix", ".", cwd=tmp_path)
    assert result.returncode == 1  # the syntax error remains
    for path, (data, mtime) in before.items():
        assert (path.read_bytes(), path.stat().st_mtime_ns) == (data, mtime)


@pytest.mark.slow  # several CLI subprocess runs
def test_diff_prints_and_writes_nothing(tmp_path, run_trainlint):
    path = write(tmp_path, "train.py", FLAGGED)
    result = run_trainlint("--diff", "train.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "--- a/train.py\n+++ b/train.py\n" in result.stdout
    assert "-X_train, X_test, y_train, y_test = train_test_split(X, y)\n" in result.stdout
    assert "+X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)\n" in result.stdout
    assert path.read_text() == FLAGGED
    write(tmp_path, "train.py", FIXED)
    assert run_trainlint("--diff", "train.py", cwd=tmp_path).returncode == 0


def test_fix_through_a_symlink_keeps_the_link(tmp_path, run_trainlint):
    target = write(tmp_path, "real/train.py", FLAGGED)
    os.symlink(target, tmp_path / "link.py")
    run_trainlint("--fix", "link.py", cwd=tmp_path)
    assert (tmp_path / "link.py").is_symlink()
    assert target.read_text() == FIXED


EVAL_LOOP_AT_END = (
    "import torch\n"
    "import torch.nn as nn\n"
    "net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))\n"
    "with torch.no_grad():\n"
    "    for x, y in val_loader:\n"
    "        print(net(x).argmax(1))"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_statement_insertions_at_end_of_file_keep_line_endings(newline):
    """TL101's fix inserts lines before and after a loop that ends the file without a newline."""
    text = EVAL_LOOP_AT_END.replace("\n", newline)
    result, remaining = fix_text(text, lint)
    assert [d.code for d in result.applied] == ["TL101"]
    assert "TL101" not in [d.code for d in remaining]
    lines = result.text.split(newline)
    assert lines[4:] == ["    net.eval()", "    for x, y in val_loader:", "        print(net(x).argmax(1))",
                         "    net.train()"]
    assert "\n" not in result.text.replace(newline, "") and parses(result.text)


# -- fixes converge, and "Fixed N" counts findings that are gone (issue 21) -----------------

def _tl102(index):
    return next(r for r in all_rules() if r.code == "TL102").INVALID[index].snippet


MID_EPOCH = _tl102(2)  # an evaluation called inside the batch loop (mid-epoch validation)


def test_tl102_mid_epoch_fix_converges_in_one_round():
    calls = []

    def counting_lint(text):
        calls.append(text)
        return lint(text)

    result, remaining = fix_text(MID_EPOCH, counting_lint)
    assert [d.code for d in result.applied] == ["TL102"]
    assert "TL102" not in [d.code for d in remaining]
    assert result.text.count("model.train()") == 2  # the one already there, one after the evaluation
    assert "            print(evaluate(model, val_loader))\n            model.train()\n" in result.text
    assert len(calls) == 2  # the original and one fixed round: nothing left to try after it
    assert not result.dropped


def test_tl102_mid_epoch_and_epoch_evaluation_fixed_together():
    text = (
        "import torch\nimport torch.nn as nn\n"
        "model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 3))\n"
        "opt = torch.optim.Adam(model.parameters())\n"
        "for epoch in range(10):\n"
        "    for step, (x, y) in enumerate(train_loader):\n"
        "        opt.zero_grad()\n"
        "        nn.functional.cross_entropy(model(x), y).backward()\n"
        "        opt.step()\n"
        "        if step % 100 == 0:\n"
        "            model.eval()\n"
        "            with torch.no_grad():\n"
        "                for xv, yv in val_loader:\n"
        "                    model(xv)\n"
        "            continue\n"
        "    model.eval()\n"
        "    print(model(xv))\n"
    )
    result, remaining = fix_text(text, lint)
    assert [d.code for d in result.applied] == ["TL102"]
    assert "TL102" not in [d.code for d in remaining]
    assert "                    model(xv)\n            model.train()\n            continue\n" in result.text
    assert "    model.train()\n    for step, (x, y)" in result.text


def _stub_lint(marker="bad()"):
    """Reports TL999 on every line holding `marker`, with a fix that inserts a line above it
    (which never removes the finding: it only moves it down)."""
    def stub(text):
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if marker in line:
                found.append(Diagnostic("TL999", "stub", "m", Severity.WARNING, number, 1, number, 1,
                                        fix=Fix((Edit(number, 1, number, 1, "pass\n"),), safe=True,
                                                description="insert pass"), path="x.py"))
            if "good()" in line:
                found.append(Diagnostic("TL998", "stub", "m", Severity.WARNING, number, 1, number, 7,
                                        fix=Fix((Edit(number, 1, number, 7, "fine()"),), safe=True,
                                                description="rename"), path="x.py"))
        return found
    return stub


def test_a_fix_that_does_not_remove_its_finding_is_undone_and_not_counted():
    text = "bad()\n"
    result, remaining = fix_text(text, _stub_lint())
    assert result.text == text and not result.applied
    assert [d.code for d in remaining] == ["TL999"]
    assert result.dropped == ["x.py:1:1: TL999 fix not applied: it does not remove the finding"]


def test_only_the_fixes_that_remove_their_findings_are_kept():
    text = "bad()\ngood()\n"
    result, remaining = fix_text(text, _stub_lint())
    assert result.text == "bad()\nfine()\n"
    assert [d.code for d in result.applied] == ["TL998"]
    assert [d.code for d in remaining] == ["TL999"]


def test_cli_mid_epoch_fix_reports_one_fixed_problem(tmp_path, run_trainlint):
    path = write(tmp_path, "train.py", MID_EPOCH)
    result = run_trainlint("--fix", "train.py", cwd=tmp_path)
    assert "Fixed 1 problem. No problems left." in result.stderr, result.stderr
    assert result.returncode == 0
    assert path.read_text().count("model.train()") == 2


def test_notebook_mid_epoch_fix_converges(tmp_path):
    import json

    from notebook_fixtures import script_to_notebook
    from trainlint.fix.notebook import fix_notebook_text

    text = script_to_notebook(MID_EPOCH, "mid-epoch")
    nb_lint = lambda source: lint_source(source, "train.ipynb", Config())  # noqa: E731
    result, remaining = fix_notebook_text(text, nb_lint)
    assert [d.code for d in result.applied] == ["TL102"]
    assert "TL102" not in [d.code for d in remaining]
    sources = ["".join(c["source"]) for c in json.loads(result.text)["cells"] if c["cell_type"] == "code"]
    assert sum(source.count("model.train()") for source in sources) == 2
