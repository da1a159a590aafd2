"""The plain values that the core returns: diagnostics and the fixes they may carry."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple

# The engine's own codes (rules/tl00x_*.py document them).
SYNTAX_ERROR = "TL001"
READ_ERROR = "TL002"
INTERNAL_ERROR = "TL003"
FILE_SKIPPED = "TL004"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based (line, column) positions; end is exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    new_text: str


@dataclass(frozen=True)
class Fix:
    edits: Tuple[Edit, ...]
    safe: bool = True
    description: str = ""


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    severity: Severity
    line: int  # 1-based
    col: int  # 1-based
    end_line: int
    end_col: int
    fix: Optional[Fix] = None
    cell: Optional[int] = None  # notebook cell, 1-based, when the source is a notebook
    path: str = field(default="", compare=True)
    # Why it matters and what to do, for `--output-format full`, JSON and the editor's hover;
    # `message` is the one short line. Derived from the same finding: not part of identity.
    explanation: str = field(default="", compare=False)
    # Extra text for --verbose (an internal error's traceback); not part of identity.
    detail: str = field(default="", compare=False, repr=False)

    def sort_key(self):
        return (self.path, self.cell or 0, self.line, self.col, self.code)


def applicable(fix: Optional[Fix], unsafe: bool) -> bool:
    """Whether a fix would be applied: it has edits, and it is safe or unsafe ones are allowed."""
    return fix is not None and bool(fix.edits) and (fix.safe or unsafe)
