"""TL002 unreadable-file: reported by the engine when a file cannot be read as source."""

from __future__ import annotations

from typing import Iterator

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule


class UnreadableFile(Rule):
    code = "TL002"
    name = "unreadable-file"
    severity = Severity.ERROR
    summary = "The file cannot be read as text (permissions, binary content, bad encoding)."
    message = "cannot read the file as Python source"
    suppressible = False
    reported_by_engine = True
    triggers = ()  # reported while reading the file, never by a check

    what_it_does = (
        "Reports, at line 1, why a file could not be read: permission denied, binary content, "
        "text that does not decode with its declared (or the default UTF-8) encoding."
    )
    why_it_matters = (
        "A file that was not read was not checked. The run goes on with the other files."
    )
    example = "# -*- coding: ascii -*-\nlabel = 'café'   # not ASCII\n"
    use_instead = "# -*- coding: utf-8 -*-\nlabel = 'café'\n"

    # Examples given as bytes are linted through the file reader.
    INVALID = (
        Invalid(
            b"\x00\x01\x02binary data with a .py name",
            line=1,
            message="binary file (contains NUL bytes)",
        ),
        Invalid(
            b"# -*- coding: ascii -*-\nlabel = 'caf\xc3\xa9'\n",
            line=1,
            message="cannot decode as ascii",
        ),
        Invalid(
            b"label = 'caf\xe9'  # latin-1 without a coding cookie\n",
            line=1,
            message="cannot decode as utf-8",
        ),
    )
    VALID = (
        b"# -*- coding: latin-1 -*-\nlabel = 'caf\xe9'\n",
        b"\xef\xbb\xbflabel = 'with a byte order mark'\n",
    )

    def check(self, ctx) -> Iterator[Finding]:
        return iter(())
