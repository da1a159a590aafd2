"""TL001 syntax-error: reported by the engine when a source cannot be parsed."""

from __future__ import annotations

from typing import Iterator

from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule


class SyntaxErrorRule(Rule):
    code = "TL001"
    name = "syntax-error"
    severity = Severity.ERROR
    summary = "The file (or a notebook cell) cannot be parsed."
    message = "syntax error: the file cannot be parsed, so it was not analysed"
    suppressible = False
    reported_by_engine = True
    triggers = ()  # reported by the engine while parsing, never by a check

    what_it_does = (
        "Reports the position where the parser gave up. The rest of the run goes on: other "
        "files are still linted. Only files that contain the trigger tokens of an enabled "
        "rule are parsed, so a syntax error in a file no rule is interested in is not reported."
    )
    why_it_matters = (
        "A file that does not parse cannot be checked; saying so is better than reporting it "
        "clean. This diagnostic cannot be suppressed with `# noqa`."
    )
    example = """\
from sklearn.model_selection import train_test_split
X_train, X_test = train_test_split(X y)
"""
    use_instead = """\
from sklearn.model_selection import train_test_split
X_train, X_test = train_test_split(X, y)
"""
    INVALID = (
        Invalid(
            "from sklearn.model_selection import train_test_split\nX_train, X_test = train_test_split(X y)\n",
            line=2,
            message="syntax error: invalid syntax",
        ),
        Invalid(
            "from sklearn.model_selection import train_test_split\ndef split(:\n    return train_test_split(X)\n",
            line=2,
            message="syntax error: invalid syntax",
        ),
    )
    VALID = (
        "from sklearn.model_selection import train_test_split\nX_train, X_test = train_test_split(X)\n",
        "x = (1,\n     2)\n",
    )

    def check(self, ctx) -> Iterator[Finding]:
        return iter(())
