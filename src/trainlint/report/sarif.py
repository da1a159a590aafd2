"""SARIF 2.1.0, for GitHub code scanning and other result viewers.

The rule metadata (descriptions, help) comes from the rule modules, like `trainlint rule`.
Each result carries a partial fingerprint that does not depend on its line number — the
path, the code and the text of the reported line (or the message when the source is not at
hand), plus a counter for identical findings — so a finding keeps its identity when lines
are added above it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import PurePath
from typing import Any, Dict, Iterable, List, Mapping, Type
from urllib.parse import quote

from trainlint import __version__
from trainlint.core.diagnostics import Diagnostic, Severity
from trainlint.core.project import REPOSITORY, rule_url
from trainlint.report.frame import SourceKey, lines_of
from trainlint.report.rule_docs import rule_markdown
from trainlint.rules import Rule, all_rules

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "trainlint/v1"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_descriptor(rule: Type[Rule]) -> Dict[str, Any]:
    documentation = rule_markdown(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "helpUri": rule_url(rule.code),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what_it_does, "markdown": rule.what_it_does},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }


def artifact_uri(path: str) -> str:
    """A relative path stays relative (result viewers resolve it against the checkout);
    an absolute one becomes a file: URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        posix = pure.as_posix()
        return "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")
    return quote(pure.as_posix(), safe="/")


def _fingerprint_text(diagnostic: Diagnostic, sources: Mapping[SourceKey, str]) -> str:
    lines = lines_of(diagnostic, sources)
    if lines is not None:
        return " ".join(lines[diagnostic.line - 1].split())  # whitespace changes keep identity
    return diagnostic.message


def _location(diagnostic: Diagnostic) -> Dict[str, Any]:
    physical: Dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(diagnostic.path)}}
    if diagnostic.cell is None:  # cell-relative lines are not lines of the .ipynb file
        physical["region"] = {
            "startLine": diagnostic.line,
            "startColumn": diagnostic.col,
            "endLine": diagnostic.end_line,
            "endColumn": diagnostic.end_col,
        }
    return {"physicalLocation": physical}


def sarif_log(diagnostics: Iterable[Diagnostic], sources: Mapping[SourceKey, str] = {}) -> Dict[str, Any]:
    rules = all_rules()
    index = {rule.code: position for position, rule in enumerate(rules)}
    seen: Counter = Counter()
    results: List[Dict[str, Any]] = []
    for diagnostic in diagnostics:
        # No line or cell number: a finding keeps its identity when code is added above it.
        basis = f"{diagnostic.path}\0{diagnostic.code}\0{_fingerprint_text(diagnostic, sources)}"
        seen[basis] += 1
        digest = hashlib.sha256(f"{basis}\0{seen[basis]}".encode("utf-8")).hexdigest()[:32]
        message = diagnostic.message
        if diagnostic.cell is not None:
            message = f"cell {diagnostic.cell}, line {diagnostic.line}, col {diagnostic.col}: {message}"
        result: Dict[str, Any] = {
            "ruleId": diagnostic.code,
            "level": _LEVEL[diagnostic.severity],
            "message": {"text": message},
            "locations": [_location(diagnostic)],
            "partialFingerprints": {FINGERPRINT_KEY: digest},
        }
        if diagnostic.code in index:
            result["ruleIndex"] = index[diagnostic.code]
        if diagnostic.cell is not None:
            result["properties"] = {"cell": diagnostic.cell}
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "trainlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": REPOSITORY,
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def format_sarif(diagnostics: Iterable[Diagnostic], sources: Mapping[SourceKey, str] = {}) -> str:
    return json.dumps(sarif_log(diagnostics, sources), indent=2, ensure_ascii=False) + "\n"
