"""Reporters turn diagnostics into text for people and machines.

Each format is a pure function in its own module: diagnostics (plus, where a format shows
or hashes code, the source texts by path) in, text out. `render` picks one by name; the CLI
does the IO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Sequence

from trainlint.core.config import ConfigError
from trainlint.core.diagnostics import Diagnostic
from trainlint.report.frame import SourceKey

# concise (= text, the default): one short line per finding; full: its explanation and rule
# page below it.
FORMATS = ("concise", "full", "text", "json", "sarif", "github")
TEXT_FORMATS = ("concise", "full", "text")


def check_output_format(value: object, where: str) -> None:
    """Raise a one-line ConfigError naming `where` when `value` is not one of FORMATS."""
    if value not in FORMATS:
        raise ConfigError(f"{where}: unknown output format {value!r} (expected one of: {', '.join(FORMATS)})")


@dataclass(frozen=True)
class ReportOptions:
    unsafe_fixes: bool = False  # text: `[*]` also marks unsafe fixes
    show_source: bool = False  # text: a code frame under each finding


def _text(diagnostics, sources, options, full=False):
    from trainlint.report.text import format_text

    return format_text(diagnostics, unsafe=options.unsafe_fixes,
                       sources=sources if options.show_source else None, full=full)


def _full(diagnostics, sources, options):
    return _text(diagnostics, sources, options, full=True)


def _json(diagnostics, sources, options):
    from trainlint.report.json import format_json

    return format_json(diagnostics)


def _sarif(diagnostics, sources, options):
    from trainlint.report.sarif import format_sarif

    return format_sarif(diagnostics, sources)


def _github(diagnostics, sources, options):
    from trainlint.report.github import format_github

    return format_github(diagnostics)


_RENDERERS: Dict[str, Callable[..., str]] = {
    "concise": _text, "full": _full, "text": _text, "json": _json, "sarif": _sarif, "github": _github,
}


def needs_sources(output_format: str, options: ReportOptions) -> bool:
    """Whether the format reads source lines (code frames, SARIF fingerprints)."""
    return output_format == "sarif" or (output_format in TEXT_FORMATS and options.show_source)


def render(
    output_format: str,
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[SourceKey, str] = {},
    options: ReportOptions = ReportOptions(),
) -> str:
    if output_format not in _RENDERERS:
        raise ValueError(f"unknown output format {output_format!r} (expected one of {', '.join(FORMATS)})")
    return _RENDERERS[output_format](list(diagnostics), sources, options)
