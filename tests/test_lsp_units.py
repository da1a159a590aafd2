"""The language server's pure parts (positions, `# noqa` edits) and its command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("lsprotocol", reason="needs the lsp extra (pygls, lsprotocol)")

from lsprotocol import types  # noqa: E402

from trainlint.core.diagnostics import Diagnostic, Severity  # noqa: E402
from trainlint.frontends.lsp.actions import LineLayout, noqa_edit  # noqa: E402
from trainlint.frontends.lsp.convert import split_lines, to_lsp_diagnostic, to_position  # noqa: E402

# -- positions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, expected",
    [("utf-16", 9), ("utf-8", 12), ("utf-32", 8)],
)
def test_position_counts_code_units_of_the_encoding(encoding, expected):
    lines = ['x = "é😋"; y']
    # column 9 (1-based, code points) is the `;`: after 8 code points
    assert to_position(lines, 1, 9, encoding) == types.Position(line=0, character=expected)


def test_positions_are_clamped_to_the_document():
    lines = ["abc", ""]
    assert to_position(lines, 9, 1, "utf-16") == types.Position(line=1, character=0)
    assert to_position(lines, 1, 99, "utf-16") == types.Position(line=0, character=3)
    assert to_position([], 1, 1, "utf-16") == types.Position(line=0, character=0)


def test_only_lsp_line_breaks_split_lines():
    # a form feed or U+2028 is inside a line for Python and for LSP
    assert split_lines("a\r\nb\rc\nd\x0ce\u2028f") == ["a", "b", "c", "d\x0ce\u2028f"]


def _diagnostic(line, col, end_line, end_col, code="TL301"):
    return Diagnostic(code=code, name="x", message="m", severity=Severity.WARNING,
                      line=line, col=col, end_line=end_line, end_col=end_col)


def test_point_diagnostics_underline_the_rest_of_the_line():
    lines = ["x = (", ""]
    converted = to_lsp_diagnostic(_diagnostic(1, 5, 1, 5, code="TL001"), lines, "utf-16")
    assert converted.range == types.Range(start=types.Position(line=0, character=4),
                                          end=types.Position(line=0, character=5))


# -- noqa edits ---------------------------------------------------------------------------


def _apply(text: str, line: int, code: str) -> str:
    lines = split_lines(text)
    edit = noqa_edit(lines, LineLayout.of(text), line, code)
    if edit is None:
        return None
    target = lines[edit.start_line - 1]
    lines[edit.start_line - 1] = target[: edit.start_col - 1] + edit.new_text + target[edit.end_col - 1:]
    return "\n".join(lines)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("a = split(x, y)", "a = split(x, y)  # noqa: TL301"),
        ("a = split(x, y)   ", "a = split(x, y)  # noqa: TL301"),
        ("a = split(x)  # noqa: TL101", "a = split(x)  # noqa: TL101, TL301"),
        ("a = split(x)  # noqa:TL101,TL102", "a = split(x)  # noqa:TL101, TL102, TL301"),
        ("a = split(x)  # keep the order", "a = split(x)  # keep the order  # noqa: TL301"),
        ('a = split("# noqa: TL101")', 'a = split("# noqa: TL101")  # noqa: TL301'),
    ],
)
def test_noqa_edit(line, expected):
    assert _apply(line + "\n", 1, "TL301") == expected + "\n"


@pytest.mark.parametrize(
    "text, line",
    [
        ("a = split(x)  # noqa\n", 1),  # already silences everything
        ("a = split(x)  # noqa: TL301\n", 1),  # already there
        ('a = split("""\nabc""")\n', 1),  # the line ends inside a string
        ("a = split(x) + \\\n    1\n", 1),  # backslash continuation
        ("a = 1\n", 5),  # no such line
    ],
)
def test_no_noqa_edit_where_it_cannot_go(text, line):
    assert _apply(text, line, "TL301") is None


def test_noqa_edit_on_half_typed_code_still_appends():
    assert _apply("a = split(x)\nb = (\n", 1, "TL301").startswith("a = split(x)  # noqa: TL301\n")


# -- the command line ---------------------------------------------------------------------


def test_lsp_without_the_extra_explains_what_to_install(monkeypatch, capsys):
    from trainlint.frontends.cli import main

    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    monkeypatch.delitem(sys.modules, "trainlint.frontends.lsp.server", raising=False)
    assert main(["lsp"]) == 2
    assert 'pip install "trainlint-ml[lsp]"' in capsys.readouterr().err


def test_lsp_help_lists_tcp(run_trainlint):
    result = run_trainlint("lsp", "--help")
    assert result.returncode == 0
    assert "--tcp PORT" in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_message(stream) -> dict:
    length = 0
    while True:
        header = stream.readline().decode("ascii").strip()
        if not header:
            break
        if header.lower().startswith("content-length:"):
            length = int(header.split(":")[1])
    return json.loads(stream.read(length))


def test_lsp_over_tcp_answers_initialize():
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "trainlint", "lsp", "--tcp", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=20)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        with connection:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"processId": None, "rootUri": None, "capabilities": {}}})
            connection.sendall(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            reply = _read_message(connection.makefile("rb"))
        assert reply["id"] == 1
        assert reply["result"]["serverInfo"]["name"] == "trainlint"
        assert reply["result"]["capabilities"]["codeActionProvider"]
    finally:
        server.kill()
        server.wait(10)


# -- notebooks opened as JSON text ------------------------------------------------------


def test_cell_positions_inside_escaped_json_strings():
    import json

    from trainlint.frontends.lsp.ipynb_text import cell_sources, locate, offset_to_line_col

    source = ['s = "é\t😋"  # "quoted"\n', "split(X, y)\n"]
    text = json.dumps({"cells": [{"cell_type": "markdown", "source": ["# title\n"]},
                                 {"cell_type": "code", "source": source}]}, indent=1, ensure_ascii=True)
    parts = cell_sources(text)[2]
    assert [str(p) for p in parts] == source
    for line, col, expected in [(1, 1, "s"), (1, 6, "\\u00e9"), (1, 7, "\\t"), (1, 8, "\\ud83d\\ude0b"),
                                (1, 9, '\\"'), (1, 12, "#"), (2, 1, "split")]:
        offset = locate(parts, line, col)
        assert text[offset:].startswith(expected), (line, col, text[offset:offset + 12])
    json_line, json_col = offset_to_line_col(text, locate(parts, 2, 1))
    assert text.splitlines()[json_line - 1][json_col - 1:].startswith("split(X, y)")


def test_not_a_notebook_gives_no_cell_map():
    from trainlint.frontends.lsp.ipynb_text import cell_sources

    assert cell_sources("{ not json") is None
    assert cell_sources("[1, 2]") is None
