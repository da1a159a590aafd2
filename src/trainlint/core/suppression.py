"""`# noqa` comments and file-level `# trainlint: noqa` exemptions."""

from __future__ import annotations

import io
import re
import tokenize
from functools import cached_property
from typing import Dict, FrozenSet, Optional

# A code (`TL301`), a prefix (`TL3`) or a rule name (`unstratified-split`), as `--select`
# takes them; names are matched whole, codes and prefixes by prefix.
_SELECTOR = r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"
_LINE_NOQA = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{_SELECTOR}(?:[\s,]+{_SELECTOR})*))?", re.I)
_FILE_NOQA = re.compile(
    r"^[ \t]*#[ \t]*trainlint[ \t]*:[ \t]*noqa(?:[ \t]*:[ \t]*(?P<codes>[A-Za-z0-9, \t-]+))?[ \t]*$",
    re.M | re.I,
)

_MAY_HAVE_NOQA = re.compile("noqa", re.I)

ALL = frozenset({"*"})


def _split_codes(text: Optional[str]) -> FrozenSet[str]:
    if not text:
        return ALL
    return frozenset(code.upper() for code in re.split(r"[\s,]+", text.strip()) if code)


def _covers(codes: FrozenSet[str], code: str, name: Optional[str] = None) -> bool:
    if codes is ALL or "*" in codes:
        return True
    if name is not None and name.upper() in codes:
        return True
    return any("-" not in c and code.startswith(c) for c in codes)


def file_exemption(text: str) -> FrozenSet[str]:
    """Codes exempted for the whole file (ALL for a bare `# trainlint: noqa`)."""
    codes: set = set()
    for match in _FILE_NOQA.finditer(text):
        found = _split_codes(match.group("codes"))
        if found is ALL:
            return ALL
        codes |= found
    return frozenset(codes)


def file_exempts(exemption: FrozenSet[str], code: str, name: Optional[str] = None) -> bool:
    return bool(exemption) and _covers(exemption, code, name)


class LineSuppressions:
    """The `# noqa` comments of one source, read with the tokenizer (so a `# noqa` inside
    a string does not count), on demand: most files report nothing and never need it."""

    def __init__(self, text: str) -> None:
        self._text = text

    @cached_property
    def by_line(self) -> Dict[int, FrozenSet[str]]:
        found: Dict[int, FrozenSet[str]] = {}
        if not _MAY_HAVE_NOQA.search(self._text):
            return found  # no need to tokenize the whole file
        try:
            for token in tokenize.generate_tokens(io.StringIO(self._text).readline):
                if token.type == tokenize.COMMENT:
                    match = _LINE_NOQA.search(token.string)
                    if match:
                        found[token.start[0]] = _split_codes(match.group("codes"))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            pass  # a file libcst parsed but tokenize rejects: keep what was read
        return found

    def suppresses(self, code: str, reported_line: int, statement_first_line: int,
                   name: Optional[str] = None) -> bool:
        """Whether a `# noqa` on either line covers the rule, by code, prefix or `name`."""
        for line in {reported_line, statement_first_line}:
            codes = self.by_line.get(line)
            if codes is not None and _covers(codes, code, name):
                return True
        return False
