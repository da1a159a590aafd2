"""The contract every rule module fulfils.

A rule is a class with its metadata as class attributes and one `check` method that reads
the shared facts of a file (`FileContext`) and yields `Finding`s. Everything else — the
registry, `trainlint rule CODE`, generated tests and docs, SARIF metadata — is derived from
these attributes, so a rule lives in exactly one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator, Optional, Tuple, Union

import libcst as cst

from trainlint.core.diagnostics import Fix, Severity
from trainlint.vocab.words import Caseless, caseless  # noqa: F401 - rule modules import them from here

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext
    from trainlint.gate.prefilter import Words


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the node to point at, and optionally a specific message and fix."""

    node: cst.CSTNode
    message: Optional[str] = None
    fix: Optional[Fix] = None
    explanation: Optional[str] = None  # None: the rule's default explanation


@dataclass(frozen=True)
class Invalid:
    """An INVALID example that pins where and how the rule reports it.

    `Invalid(snippet, line=7, message="divided by the number of batches")`: linting `snippet`
    must give a finding of the rule on `line` (1-based) whose message contains `message`.
    A plain string in `INVALID` only requires that the rule reports somewhere.
    """

    snippet: Union[str, bytes]  # bytes: an example read from disk (TL002)
    line: int
    message: str

    def __post_init__(self) -> None:
        if not isinstance(self.snippet, (str, bytes)):
            raise TypeError(f"Invalid.snippet must be str or bytes, not {type(self.snippet).__name__}")
        if not isinstance(self.line, int) or self.line < 1:
            raise ValueError(f"Invalid.line must be a line number (1 or more), not {self.line!r}")
        if not isinstance(self.message, str) or not self.message:
            raise ValueError("Invalid.message must be a non-empty part of the expected message")


Example = Union[str, bytes, Invalid]


def snippet_of(example: Example) -> Union[str, bytes]:
    """The source text of a VALID or INVALID entry, pinned or not."""
    return example.snippet if isinstance(example, Invalid) else example


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]  # one line, for `trainlint rules`
    # Default message, one sentence: what is wrong in its first clause (<= ~100 characters,
    # the concise output), then why it matters and what to do (`split_message`).
    message: ClassVar[str]

    # Documentation, in the fixed sections of every rule page.
    what_it_does: ClassVar[str]
    why_it_matters: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    fix_safety: ClassVar[str] = "This rule has no automatic fix."
    references: ClassVar[Tuple[str, ...]] = ()

    # Code snippets: each INVALID one must report this rule, each VALID one must not. An
    # INVALID entry is a snippet, or an `Invalid` pinning the reported line and part of the
    # message; read the texts through `invalid_snippets()`. Bytes are read from disk (TL002).
    VALID: ClassVar[Tuple[Union[str, bytes], ...]] = ()
    INVALID: ClassVar[Tuple[Example, ...]] = ()

    # For rules with fixes: (before, after) pairs; `after` is `before` with every applicable
    # fix applied (unsafe ones included). Tests check the fix, its idempotence and that the
    # fixed code parses and no longer reports the rule.
    FIX_EXAMPLES: ClassVar[Tuple[Tuple[str, str], ...]] = ()

    # The prefilter (gate/prefilter.py): the rule runs on a text only if it contains one of
    # `triggers` and one word of every group of `requires` (substrings; `caseless` groups
    # ignore case), and, when `anchors` are declared, one of those coarse structural
    # conditions holds (gate/anchors/). Each must be a necessary condition of `check`.
    triggers: ClassVar[Tuple[str, ...]] = ()
    requires: ClassVar[Tuple[Tuple[str, ...], ...]] = ()
    anchors: ClassVar[Tuple[str, ...]] = ()

    suppressible: ClassVar[bool] = True
    # Engine diagnostics (TL0xx) are produced while reading/parsing, not by `check`.
    reported_by_engine: ClassVar[bool] = False

    def check(self, ctx: "FileContext") -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def report(
        self, node: cst.CSTNode, message: Optional[str] = None, fix: Optional[Fix] = None,
        explanation: Optional[str] = None,
    ) -> Finding:
        return Finding(node=node, message=message, fix=fix, explanation=explanation)

    @classmethod
    def invalid_snippets(cls) -> Tuple[Union[str, bytes], ...]:
        """The source text of every INVALID example, pinned or not, in order."""
        return tuple(snippet_of(example) for example in cls.INVALID)

    @classmethod
    def is_triggered_by(cls, text: str, words: Optional["Words"] = None) -> bool:
        """Whether the text holds this rule's trigger words (the first look of the
        prefilter; `words` shares look-ups between rules)."""
        from trainlint.gate.prefilter import Words, words_allow

        return words_allow(cls, words if words is not None else Words(text))


_SEPARATORS = (": ", "; ", ", so ")


def split_message(text: str) -> Tuple[str, str]:
    """(finding, explanation) of a message written as one sentence: the finding is its first
    clause, up to the first `: `, `; ` or `, so ` outside brackets and backticks; the rest says
    why it matters and what to do (`--output-format full`). "split without stratification: the
    class mix can differ...; pass stratify=y" -> ("split without stratification", "the class
    mix can differ...; pass stratify=y")."""
    depth, quoted = 0, False
    for index, char in enumerate(text):
        if char == "`":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            for separator in _SEPARATORS:
                if text.startswith(separator, index):
                    rest = text[index + len(separator):]
                    return text[:index], ("so " + rest if separator == ", so " else rest)
    return text, ""


def line_of(ctx: "FileContext", node: cst.CSTNode) -> str:
    """How a message cites another line: "line 12", or "cell 4, line 2" in a notebook.

    Every cross-reference in a message goes through here, so that notebook findings never
    cite lines of the concatenated cells."""
    return ctx.line_label(ctx.position(node).start.line)

