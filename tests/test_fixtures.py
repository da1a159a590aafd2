"""Run the real `trainlint` command over fixtures/ and compare with the inline markers.

A fixture line that must be reported ends with `# expect: TL301` (several codes:
`# expect: TL301, TL201`); every other line must report nothing. Both directions count:
a missing finding and an unexpected finding both fail, per file. Notebooks (`*.ipynb`)
carry the markers in their code cells and are compared by (cell, line, code).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from notebook_fixtures import notebook_code_lines

from conftest import FIXTURES, REPO

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>TL\d{3}(?:\s*,\s*TL\d{3})*)")
FINDING = re.compile(r"^(?P<path>.+?):(?:cell (?P<cell>\d+):)?(?P<line>\d+):(?P<col>\d+): (?P<code>TL\d{3}) ")


def fixture_files():
    return sorted(p for pattern in ("*.py", "*.ipynb") for p in FIXTURES.rglob(pattern) if p.is_file())


def _marked_lines(path: Path):
    """(cell, line, text) of every source line; cell is None for a script."""
    if path.suffix == ".ipynb":
        return notebook_code_lines(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(None, number, line) for number, line in enumerate(lines, start=1)]


def expected_findings(path: Path):
    expected = defaultdict(list)
    for cell, number, line in _marked_lines(path):
        match = EXPECT.search(line)
        if match:
            for code in re.split(r"\s*,\s*", match.group("codes")):
                expected[_key(cell, number, code)].append(code)
    return {key: len(value) for key, value in expected.items()}


# TL001 is placed where CPython's parser places the error. Before 3.10 (the PEG parser) an
# unclosed bracket is reported where the parser gave up, lines below the bracket: there a
# syntax error is matched by its cell (or file) and code, not its line.
OLD_PARSER = sys.version_info < (3, 10)


def _key(cell, line, code):
    """(line, code) for scripts, as before; (cell, line, code) for notebooks."""
    if OLD_PARSER and code == "TL001":
        line = "any"
    return (line, code) if cell is None else (cell, line, code)


@pytest.fixture(scope="module")
def fixture_run(request):
    import subprocess

    from conftest import trainlint_command

    result = subprocess.run(
        [*trainlint_command(), "fixtures"],
        cwd=str(REPO), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr
    found = defaultdict(lambda: defaultdict(int))
    for line in result.stdout.splitlines():
        match = FINDING.match(line)
        assert match, f"unparsable output line: {line!r}"
        path = (REPO / match.group("path")).resolve()
        cell = int(match.group("cell")) if match.group("cell") else None
        found[path][_key(cell, int(match.group("line")), match.group("code"))] += 1
    return found


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_match_markers(path, fixture_run):
    expected = expected_findings(path)
    actual = dict(fixture_run.get(path.resolve(), {}))
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, (
        f"\nmissed ([cell,] line, code): {missing}\nfalse positives ([cell,] line, code): {unexpected}"
    )


def test_fixtures_exist():
    assert len(fixture_files()) >= 1
