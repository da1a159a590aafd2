"""The language server's JSON-RPC framing: bad frames are skipped with one log line each,
and `shutdown` / `exit` still work after them (raw bytes over stdio, no LSP client)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import List

import pytest

pytest.importorskip("pygls", reason="needs the lsp extra (pygls)")

from trainlint.frontends.lsp.framing import FrameSplitter  # noqa: E402

SERVER = [sys.executable, "-m", "trainlint", "lsp"]
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
SHUTDOWN = {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}


def frame(message=None, body: bytes = None, length: int = None) -> bytes:
    body = json.dumps(message).encode() if body is None else body
    return b"Content-Length: %d\r\n\r\n" % (len(body) if length is None else length) + body


def split(*chunks: bytes):
    reports: List[str] = []
    splitter = FrameSplitter(reports.append)
    bodies = []
    for chunk in chunks:
        splitter.feed(chunk)
        for body in splitter.frames():
            try:
                bodies.append(json.loads(body))
            except ValueError:  # as the server does with a body that is not JSON
                bodies.append(body)
                splitter.skip_to_next_frame()
    splitter.finish()
    return bodies, reports


# -- the splitter -------------------------------------------------------------------------


def test_whole_frames_in_any_chunking():
    data = frame(INITIALIZE) + b"Content-Type: application/vscode-jsonrpc\r\n" + frame(SHUTDOWN)
    for size in (1, 7, len(data)):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        assert split(*chunks) == ([INITIALIZE, SHUTDOWN], [])


def test_too_large_length_resynchronises_at_the_next_frame():
    body = json.dumps(INITIALIZE).encode()
    bodies, reports = split(frame(body=body, length=len(body) + 50) + frame(SHUTDOWN))
    assert bodies == [SHUTDOWN]
    assert reports == ["skipped a frame whose Content-Length (%d) runs past the next frame" % (len(body) + 50)]


def test_too_large_length_after_junk_and_a_line_break():
    bodies, reports = split(frame(body=b"not json at all\r\n", length=500) + frame(SHUTDOWN))
    assert bodies == [SHUTDOWN] and len(reports) == 1


def test_header_text_inside_a_json_string_is_not_a_frame():
    message = {"jsonrpc": "2.0", "method": "x", "params": {"text": "Content-Length: 3"}}
    assert split(frame(message)) == ([message], [])


def test_too_small_length_costs_one_report():
    body = json.dumps(INITIALIZE).encode()
    bodies, reports = split(frame(body=body, length=20) + frame(SHUTDOWN))
    assert bodies == [body[:20], SHUTDOWN]
    assert len(reports) == 0  # the caller reports the bad body; its leftovers are not reported again


def test_junk_between_frames_and_at_the_end_is_reported():
    bodies, reports = split(frame(SHUTDOWN) + b"garbage\r\n" + frame(EXIT) + b"trailing")
    assert bodies == [SHUTDOWN, EXIT]
    assert reports == ["skipped 9 bytes that are not a frame",
                       "skipped 8 bytes at the end of the input that are not a whole frame"]


# -- the server over raw stdio ------------------------------------------------------------


def responses(stdout: bytes) -> List[dict]:
    found, reports = split(stdout)
    assert reports == []
    return found


def run_server(data: bytes, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(SERVER, input=data, capture_output=True, timeout=timeout)


BAD_FRAMES = (
    frame(body=json.dumps(INITIALIZE).encode(), length=len(json.dumps(INITIALIZE)) + 40)  # too large
    + frame(body=json.dumps(INITIALIZE).encode(), length=20)  # too small
    + frame(body=b"{junk: [1, 2,")  # not JSON
    + frame([1, 2, 3])  # JSON, not a message
)


@pytest.mark.slow
def test_server_survives_bad_frames_and_answers_shutdown():
    data = BAD_FRAMES + frame(INITIALIZE) + frame(SHUTDOWN) + frame(EXIT)
    result = run_server(data)
    answers = responses(result.stdout)
    assert [a.get("id") for a in answers if "id" in a] == [1, 2]
    assert "capabilities" in answers[0]["result"]
    assert answers[-1] == {"id": 2, "jsonrpc": "2.0", "result": None}
    assert result.returncode == 0
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 4, stderr  # one per bad frame
    assert all("skipped" in line for line in lines)


@pytest.mark.slow
def test_exit_without_shutdown_ends_with_1_while_stdin_stays_open():
    process = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdin.write(frame(body=b"{\"jsonrpc\": \"2.0\"}", length=10_000) + frame(INITIALIZE) + frame(EXIT))
        process.stdin.flush()  # and stdin is left open: the process must end by itself
        assert process.wait(timeout=30) == 1
        assert b"Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_end_of_input_ends_the_server():
    started = time.monotonic()
    result = run_server(frame(INITIALIZE))
    assert result.returncode == 1  # no shutdown came
    assert time.monotonic() - started < 30
    assert b"Traceback" not in result.stderr
