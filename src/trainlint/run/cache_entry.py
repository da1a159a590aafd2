"""One result-cache entry on disk: its bytes in and out, checked against its schema.

    b"TL2 " <HMAC-SHA256 of the body, hex> b"\\n" <body: JSON {"key": ..., "diagnostics": [...]}>

A file whose analysis read summaries of other project modules (`run.summaries`) adds
`"uses": [[path, digest], ...]`: the entry holds only while those modules are unchanged.

An entry is believed only if its MAC is valid under this user's secret (`cache_secret`),
its key is the one asked for, and every diagnostic has exactly the fields of a `Diagnostic`
with the right types and ranges: the path it is shown under, lines within the file's own
line count. Anything else (damage, a foreign or planted entry, a bug that wrote something
odd) is a miss; the caller lints the file and rewrites the entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import asdict, fields
from typing import Any, Callable, List, Optional, Sequence, Tuple

from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity

_MAGIC = b"TL2 "
# No entry of ours nests deeper than entry > diagnostics > diagnostic > fix > edits > edit.
_MAX_DEPTH = 8
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_CODE = re.compile(r"[A-Z]{1,8}[0-9]{1,6}")
_SEVERITIES = frozenset(severity.value for severity in Severity)
_DIAGNOSTIC_FIELDS = frozenset(field.name for field in fields(Diagnostic))
_EDIT_FIELDS = frozenset(field.name for field in fields(Edit))
_FIX_FIELDS = frozenset(field.name for field in fields(Fix))


class _Invalid(Exception):
    pass


def line_bound(data: bytes, notebook: bool) -> int:
    """An upper bound on the line numbers a diagnostic of this file can carry: its lines as
    libcst counts them (\\n, \\r\\n, \\r). A notebook's cell lines are encoded in its JSON
    strings, as escapes."""
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
    if notebook:
        lines += data.count(b"\\n") + data.count(b"\\r")
    return lines


def encode(secret: bytes, key: str, diagnostics: List[Diagnostic], uses: Sequence[Tuple[str, str]] = ()) -> bytes:
    payload: dict = {"key": key, "diagnostics": [_to_dict(d) for d in diagnostics]}
    if uses:
        payload["uses"] = [list(use) for use in uses]
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return _MAGIC + _mac(secret, body).encode("ascii") + b"\n" + body


def decode(secret: bytes, raw: bytes, key: str, shown: str, max_line: Callable[[], int], max_col: int
           ) -> Optional[Tuple[List[Diagnostic], List[Tuple[str, str]]]]:
    """The diagnostics of a valid entry and the modules it used, else None. `max_line` gives
    the file's line bound, asked only of an entry with diagnostics (most have none)."""
    header, newline, body = raw.partition(b"\n")
    if not newline or not header.startswith(_MAGIC):
        return None
    if not hmac.compare_digest(header[len(_MAGIC):], _mac(secret, body).encode("ascii")):
        return None
    try:
        text = body.decode("utf-8", "surrogatepass")
        if _nesting(text) > _MAX_DEPTH:
            return None
        payload = json.loads(text)
        if not isinstance(payload, dict) or set(payload) - {"uses"} != {"key", "diagnostics"} or payload["key"] != key:
            return None
        items = payload["diagnostics"]
        if not isinstance(items, list):
            return None
        bound = max_line() if items else 0
        return [_diagnostic(item, shown, bound, max_col) for item in items], _uses(payload.get("uses", []))
    except (_Invalid, ValueError, RecursionError):
        return None


def _uses(data: Any) -> List[Tuple[str, str]]:
    _require(isinstance(data, list))
    for use in data:
        _require(isinstance(use, list) and len(use) == 2 and all(isinstance(part, str) for part in use))
    return [(path, digest) for path, digest in data]


def _mac(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _nesting(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _to_dict(diagnostic: Diagnostic) -> dict:
    data = asdict(diagnostic)
    data["severity"] = diagnostic.severity.value
    return data


def _diagnostic(data: Any, shown: str, max_line: int, max_col: int) -> Diagnostic:
    _require(isinstance(data, dict) and set(data) == _DIAGNOSTIC_FIELDS)
    _require(isinstance(data["code"], str) and _CODE.fullmatch(data["code"]) is not None)
    _require(all(isinstance(data[name], str) for name in ("name", "message", "detail")))
    _require(data["path"] == shown and data["severity"] in _SEVERITIES)
    line, col, end_line, end_col = _span(data, "line", "col", "end_line", "end_col", max_line, max_col)
    cell = data["cell"]
    _require(cell is None or (_is_int(cell) and cell >= 1))
    fix = None if data["fix"] is None else _fix(data["fix"], max_line, max_col)
    return Diagnostic(
        code=data["code"], name=data["name"], message=data["message"], severity=Severity(data["severity"]),
        line=line, col=col, end_line=end_line, end_col=end_col, fix=fix, cell=cell, path=shown,
        detail=data["detail"],
    )


def _fix(data: Any, max_line: int, max_col: int) -> Fix:
    _require(isinstance(data, dict) and set(data) == _FIX_FIELDS)
    _require(isinstance(data["safe"], bool) and isinstance(data["description"], str))
    _require(isinstance(data["edits"], list))
    edits = []
    for edit in data["edits"]:
        _require(isinstance(edit, dict) and set(edit) == _EDIT_FIELDS and isinstance(edit["new_text"], str))
        span = _span(edit, "start_line", "start_col", "end_line", "end_col", max_line, max_col)
        edits.append(Edit(*span, new_text=edit["new_text"]))
    return Fix(edits=tuple(edits), safe=data["safe"], description=data["description"])


def _span(data: dict, line_key: str, col_key: str, end_line_key: str, end_col_key: str,
          max_line: int, max_col: int) -> tuple:
    """Start and end positions: whole numbers, lines from 1 to the file's line count,
    columns from 0 to its length, the end not before the start."""
    values = tuple(data[name] for name in (line_key, col_key, end_line_key, end_col_key))
    _require(all(_is_int(value) for value in values))
    line, col, end_line, end_col = values
    _require(1 <= line <= end_line <= max_line and 0 <= col <= max_col and 0 <= end_col <= max_col)
    _require(end_line > line or end_col >= col)
    return values


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is an int subclass; true is not a line number


def _require(condition: bool) -> None:
    if not condition:
        raise _Invalid()
