"""JSON: a list of objects, one per finding, for scripts and dashboards."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Optional

from trainlint.core.diagnostics import Diagnostic, Fix
from trainlint.core.project import rule_url


def _fix(fix: Optional[Fix]) -> Optional[Dict[str, Any]]:
    if fix is None or not fix.edits:
        return None
    return {
        "applicability": "safe" if fix.safe else "unsafe",
        "description": fix.description,
        "edits": [
            {
                "content": edit.new_text,
                "line": edit.start_line,
                "column": edit.start_col,
                "end_line": edit.end_line,
                "end_column": edit.end_col,
            }
            for edit in fix.edits
        ],
    }


def diagnostic_to_dict(diagnostic: Diagnostic) -> Dict[str, Any]:
    """Lines and columns are 1-based; the end column is exclusive (as in the text output).
    In a notebook they count within `cell`. `noqa_row` is the line a `# noqa` comment goes on
    (the reported line, in the cell for a notebook); `url` is the rule's page."""
    return {
        "path": diagnostic.path,
        "cell": diagnostic.cell,
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "explanation": diagnostic.explanation,
        "url": rule_url(diagnostic.code),
        "severity": diagnostic.severity.value,
        "line": diagnostic.line,
        "column": diagnostic.col,
        "end_line": diagnostic.end_line,
        "end_column": diagnostic.end_col,
        "noqa_row": diagnostic.line,
        "fix": _fix(diagnostic.fix),
    }


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([diagnostic_to_dict(d) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"
