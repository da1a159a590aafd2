"""Reading the client's JSON-RPC frames from stdio, resynchronising after a bad one.

pygls reads `Content-Length` and then exactly that many bytes: a length that is too large
swallows the frames that follow (`shutdown`, `exit`) and waits forever, one that is too
small leaves the rest of the body to be misread as headers. Here the reader instead looks
for the next header inside a claimed body: `Content-Length:` right after a whole JSON value
or after a raw line break cannot belong to the body (JSON allows raw line breaks only as
whitespace between tokens, and that is no token), so the frame was cut short and the next
one starts there. A body that is not JSON is skipped up to the next header. Every frame
that is skipped is reported in one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from typing import Callable, Iterator, Optional

from pygls.exceptions import JsonRpcException

_HEADER = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r\n", re.I)
_NEXT_HEADER = re.compile(rb"Content-Length:", re.I)
_OTHER_HEADERS = re.compile(rb"(?:[A-Za-z-]+:[^\r\n]*\r\n|\s)*")  # e.g. Content-Type before it
_READ_SIZE = 1 << 16

Report = Callable[[str], None]


class FrameSplitter:
    """Bytes in, message bodies out; whatever is not a frame is skipped and reported."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.buffer = bytearray()
        self._skipping = False  # after a bad frame: drop, unreported, what precedes the next header

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def skip_to_next_frame(self) -> None:
        """The body just returned was not a message: its leftovers are part of the same bad frame."""
        self._skipping = True

    def frames(self) -> Iterator[bytes]:
        while True:
            header = _HEADER.search(self.buffer)
            if header is None:
                return
            # read the match before the buffer changes: a match on a bytearray is a view
            start, length = header.start(), int(header.group(1))
            headers_end = self.buffer.find(b"\r\n\r\n", header.end() - 2)
            if headers_end < 0:
                return
            self._skip(start)
            body_start = headers_end - start + 4
            claimed_end = body_start + length
            cut = self._next_frame(body_start, min(claimed_end, len(self.buffer)))
            if cut is not None:
                self.report(f"skipped a frame whose Content-Length ({length}) runs past the next frame")
                del self.buffer[:cut]
                continue
            if len(self.buffer) < claimed_end:
                return
            body = bytes(self.buffer[body_start:claimed_end])
            del self.buffer[:claimed_end]
            self._skipping = False
            yield body

    def finish(self) -> None:
        """End of input: report what is left (a frame never completed, or junk)."""
        if self.buffer.strip() and not self._skipping:
            self.report(f"skipped {len(self.buffer)} bytes at the end of the input that are not a whole frame")
        self.buffer.clear()

    def _skip(self, count: int) -> None:
        skipped = bytes(self.buffer[:count])
        del self.buffer[:count]
        if _OTHER_HEADERS.fullmatch(skipped) is None and not self._skipping:
            self.report(f"skipped {len(skipped)} bytes that are not a frame")
        self._skipping = False

    def _next_frame(self, start: int, end: int) -> Optional[int]:
        """Where a header inside the claimed body [start, end) begins a new frame: right
        after a line break, or right after a whole JSON value (the message that was cut)."""
        for found in _NEXT_HEADER.finditer(self.buffer, start, end):
            before = bytes(self.buffer[start:found.start()])
            if not before.strip() or before.endswith(b"\n") or _is_json(before):
                return found.start()
        return None


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def dispatch(body: bytes, protocol, splitter: FrameSplitter) -> None:
    """Decode one body and hand the message to pygls; a bad one costs one report line."""
    try:
        message = json.loads(body, object_hook=protocol.structure_message)
    except (ValueError, RecursionError) as error:  # also bytes that are not UTF-8
        splitter.report(f"skipped a frame of {len(body)} bytes that is not JSON ({_short(error)})")
        splitter.skip_to_next_frame()
        return
    except JsonRpcException as error:
        splitter.report(f"skipped a message that is not valid JSON-RPC ({_short(error)})")
        return
    if isinstance(message, (dict, list, str, int, float, bool)) or message is None:
        splitter.report(f"skipped a frame of {len(body)} bytes that is not a JSON-RPC message")
        return
    try:
        protocol.handle_message(message)
    except Exception as error:  # noqa: BLE001 - one message must not stop the server
        splitter.report(f"could not handle a message: {type(error).__name__}: {_short(error)}")


async def serve_frames(fd: int, protocol, stop: threading.Event, report: Report) -> None:
    """Read frames from `fd` until end of input (the client is gone) or `stop` is set.

    The blocking reads happen in a daemon thread with `os.read`, so that a process told to
    exit never waits for it (pygls' reader thread would keep the process alive).
    """
    loop = asyncio.get_running_loop()
    chunks: "asyncio.Queue[bytes]" = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, _READ_SIZE)
            except OSError:
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data)
            except RuntimeError:  # the loop is closed: the server has ended
                return
            if not data:
                return

    threading.Thread(target=pump, name="trainlint-stdin", daemon=True).start()
    splitter = FrameSplitter(report)
    while not stop.is_set():
        data = await chunks.get()
        if not data:
            splitter.finish()
            return
        splitter.feed(data)
        for body in splitter.frames():
            dispatch(body, protocol, splitter)


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."
