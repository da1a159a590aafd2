"""TL004 file-skipped: a file over the size or time budget; reported by the engine."""

from __future__ import annotations

from typing import Iterator

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Rule


class FileSkipped(Rule):
    code = "TL004"
    name = "file-skipped"
    severity = Severity.WARNING
    summary = "A file was not analysed: over max-file-size or max-analysis-size, or slower than per-file-timeout."
    message = "file skipped"
    suppressible = False
    reported_by_engine = True
    triggers = ()

    what_it_does = (
        "Reports a file that trainlint did not analyse: it is larger than `max-file-size` "
        "(megabytes, default 20) and was not read; or it holds training code but its Python "
        "code is larger than `max-analysis-size` (kilobytes, default 400); or its analysis "
        "took longer than `per-file-timeout` (seconds, default 60). A large file with no sign "
        "of training code is not reported, and a syntax error is still reported as TL001 "
        "(on Python 3.12+; before, only libcst could tell). The "
        "rest of the run goes on."
    )
    why_it_matters = (
        "Generated or vendored files can be huge; bounding the work per file keeps memory and "
        "time predictable, and saying so keeps a skipped file from looking clean. The analysis "
        "size matters most in the editor: the syntax tree of a 450 KB test module takes about "
        "two seconds to build before any rule runs, and the language server re-lints on "
        "every edit."
    )
    example = "# a 40 MB generated file with the default max-file-size = 20\n"
    use_instead = "[tool.trainlint]\nmax-file-size = 50\nmax-analysis-size = 1000\nper-file-timeout = 120\n"
    fix_safety = "Not applicable: raise the limits, or exclude the file."
    INVALID = ()
    VALID = (
        "from sklearn.model_selection import train_test_split\nX_a, X_b = train_test_split(X)\n",
        "x = 1\n",
    )

    def check(self, ctx) -> Iterator[Finding]:
        return iter(())
