"""TL003 internal-error: a rule crashed on a file; reported by the engine."""

from __future__ import annotations

from typing import Iterator

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Rule


class InternalError(Rule):
    code = "TL003"
    name = "internal-error"
    severity = Severity.ERROR
    summary = "A rule failed on this file; the other rules and files were still checked."
    message = "internal error in a rule; the other rules still ran"
    suppressible = False
    reported_by_engine = True
    triggers = ()

    what_it_does = (
        "Reports, at line 1 of the file, that one rule raised an exception while analysing "
        "it, naming the rule. Every other rule still reports on the file, every other file is "
        "still linted, and the run exits with code 2 so that CI notices. `--verbose` prints "
        "the traceback."
    )
    why_it_matters = (
        "A crash in one rule must not hide the findings of the others, nor pass silently as "
        "a clean result. It is a bug in trainlint: please report it with the traceback."
    )
    example = "# (any file on which a rule fails)\n"
    use_instead = "# Report the traceback printed by `trainlint --verbose`.\n"
    fix_safety = "Not applicable: this is a bug report, not a finding in your code."
    # Crashes cannot be written as snippets; tests inject a failing rule instead.
    INVALID = ()
    VALID = (
        "from sklearn.model_selection import train_test_split\nX_a, X_b = train_test_split(X)\n",
        "import torch\nmodel.eval()\n",
    )

    def check(self, ctx) -> Iterator[Finding]:
        return iter(())
