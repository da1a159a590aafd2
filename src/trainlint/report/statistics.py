"""`--statistics`: how many findings of each code, most frequent first."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from trainlint.core.diagnostics import Diagnostic


def format_statistics(diagnostics: Iterable[Diagnostic]) -> str:
    diagnostics = list(diagnostics)
    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    if not counts:
        return ""
    width = len(str(max(counts.values())))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{count:>{width}}  {code}  {names[code]}\n" for code, count in rows)
