"""Where the report goes cannot be written (issue 23.9): a full disk or a closed stdout is one
line on stderr and exit 2; a reader that stops early (`| head`) ends the run quietly; a
message quoting code stays one line of text output."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import trainlint_command
from trainlint.core.diagnostics import Diagnostic, Severity
from trainlint.frontends.cli import main
from trainlint.report.text import MAX_MESSAGE, format_text, one_line

FLAGGED = textwrap.dedent(
    """\
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y)
    RandomForestClassifier().fit(X_train, y_train)
    """
)


def run_into(tmp_path, stdout, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "train.py").write_text(FLAGGED)
    return subprocess.run([*trainlint_command(), "--no-cache", *args, "train.py"], cwd=tmp_path,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("output_format", ["concise", "json"])
def test_a_full_disk_is_one_line_and_exit_2(tmp_path, output_format):
    with open("/dev/full", "w") as full:
        result = run_into(tmp_path, full, "--output-format", output_format)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "trainlint: error: standard output: cannot write the report: No space left on device")
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="closes a POSIX file descriptor")
def test_a_closed_stdout_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "train.py").write_text(FLAGGED)
    command = " ".join(f"'{part}'" for part in trainlint_command())
    result = subprocess.run(f"{command} --no-cache train.py >&-", shell=True, cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["trainlint: error: standard output: cannot write the report: it is closed"]


class _ClosedPipe(io.StringIO):
    """stdout whose reader went away (`| head -1`); a real pipe's timing varies by kernel."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no descriptor")


def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path, monkeypatch, capsys):
    (tmp_path / "train.py").write_text(FLAGGED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["--no-cache", "train.py"]) == 0
    assert capsys.readouterr().err == ""


def test_a_message_quoting_code_is_one_bounded_line():
    quoted = "`compute(\n    x,\n\ty)` is reported\u2028twice"
    assert one_line(quoted) == "`compute( x, y)` is reported twice"
    assert one_line("plain  message") == "plain  message"  # nothing to collapse
    assert len(one_line("x" * 5000)) == MAX_MESSAGE and one_line("x" * 5000).endswith("\u2026")
    finding = Diagnostic(code="TL303", name="leak", message=quoted, severity=Severity.ERROR, line=1, col=1,
                         end_line=1, end_col=2, path="a.py")
    assert format_text([finding]).count("\n") == 1


def test_show_fixes_is_one_line_per_fix_when_it_quotes_a_multi_line_target(tmp_path, monkeypatch, capsys):
    """TL301's fix description quotes the target (`Pass stratify=df[...]`), here on three lines."""
    split = "train_test_split(X, y)"
    (tmp_path / "train.py").write_text(FLAGGED.replace(split, split.replace("y)", 'df[\n    "label"\n])')))
    monkeypatch.chdir(tmp_path)
    assert main(["--no-cache", "--fix", "--show-fixes", "train.py"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == ['Fixed train.py:4:36: TL301 Pass stratify=df[ "label" ]',
                                "Fixed 1 problem. No problems left."]
