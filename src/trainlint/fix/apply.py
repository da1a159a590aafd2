"""Applying fixes: text edits from diagnostics to sources, round after round.

Pure functions compute the fixed text (`fix_text`); `fix.write` writes files (`--fix`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Collection, List, Sequence, Tuple

import libcst as cst

from trainlint.core.diagnostics import Diagnostic, Edit, Fix, applicable  # noqa: F401 - applicable: fixers import it here
from trainlint.core.lines import LINE_BREAK, default_newline, line_breaks_of, line_starts

MAX_ROUNDS = 10


Span = Tuple[int, int, str]  # (start offset, end offset, new text) in the text before a round


@dataclass
class FixResult:
    text: str
    applied: List[Diagnostic] = field(default_factory=list)
    # Fixes dropped because they would break the code or did not remove their finding
    # (messages for the user).
    dropped: List[str] = field(default_factory=list)
    # The spans applied in this round (apply_once only), offsets in the text it was given.
    spans: List[Span] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


class _Offsets:
    """1-based (line, column) → offset in text, counting lines and columns (code points)
    exactly as libcst does, so an edit lands where the rule saw the node."""

    def __init__(self, text: str) -> None:
        self.starts = line_starts(text)
        self.length = len(text)

    def offset(self, line: int, col: int) -> int:
        if line - 1 >= len(self.starts):
            return self.length
        return min(self.starts[line - 1] + col - 1, self.length)


def _with_own_line_breaks(new_text: str, text: str) -> str:
    """`new_text` with every line break that `text` does not use written as its first one:
    inserted lines get the file's ending, lines copied from the file keep theirs."""
    own = line_breaks_of(text)
    newline = default_newline(text)
    return LINE_BREAK.sub(lambda match: match.group() if match.group() in own else newline, new_text)


def _edit_spans(text: str, fix: Fix) -> List[Tuple[int, int, str]]:
    offsets = _Offsets(text)
    return [(offsets.offset(edit.start_line, edit.start_col), offsets.offset(edit.end_line, edit.end_col),
             _with_own_line_breaks(edit.new_text, text))
            for edit in fix.edits]


def _overlaps(a: Tuple[int, int, str], b: Tuple[int, int, str]) -> bool:
    (a_start, a_end, _), (b_start, b_end, _) = a, b
    if a_start == a_end and b_start == b_end:
        return a_start == b_start  # two insertions at one point: their order is arbitrary
    if a_start == a_end:
        return b_start < a_start < b_end
    if b_start == b_end:
        return a_start < b_start < a_end
    return a_start < b_end and b_start < a_end


def _apply_spans(text: str, spans: Sequence[Tuple[int, int, str]]) -> str:
    for start, end, new_text in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True


def apply_once(text: str, diagnostics: Sequence[Diagnostic], unsafe: bool) -> FixResult:
    """Apply every non-conflicting applicable fix once; drop fixes that break parsing."""
    accepted: List[Tuple[Diagnostic, List[Tuple[int, int, str]]]] = []
    taken: List[Tuple[int, int, str]] = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if not applicable(diagnostic.fix, unsafe):
            continue
        spans = _edit_spans(text, diagnostic.fix)
        if any(_overlaps(span, other) for span in spans for other in taken):
            continue  # conflicting: the next round, on the fixed text, may take it
        accepted.append((diagnostic, spans))
        taken.extend(spans)
    result = FixResult(text)
    if not accepted:
        return result
    candidate = _apply_spans(text, [span for _, spans in accepted for span in spans])
    if parses(candidate):
        return FixResult(candidate, [d for d, _ in accepted],
                         spans=[span for _, spans in accepted for span in spans])
    # Some fix breaks the code: apply them one by one and keep the ones that do not.
    current = text
    for diagnostic, spans in sorted(accepted, key=lambda item: item[1][0][0], reverse=True):
        attempt = _apply_spans(current, spans)
        if parses(attempt):
            current = attempt
            result.applied.append(diagnostic)
            result.spans.extend(spans)
        else:
            result.dropped.append(
                f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}: {diagnostic.code} "
                "fix not applied: it would leave the code unparsable"
            )
    result.text = current
    return result


def _mapped_offset(offset: int, spans: Sequence[Span]) -> int:
    """Where `offset` of the text before a round lands in the text after it. An insertion at
    the offset itself goes before it; an offset inside a replaced span maps to its start."""
    shift = 0
    for start, end, new_text in spans:
        if end <= offset:
            shift += len(new_text) - (end - start)
        elif start < offset < end:
            offset = start
    return offset + shift


def _line_col(text: str, offset: int) -> Tuple[int, int]:
    starts = _Offsets(text).starts  # the same line breaks as the other direction
    line = bisect.bisect_right(starts, offset) - 1
    line = max(0, min(line, len(starts) - 1))
    return line + 1, offset - starts[line] + 1


def still_found(diagnostic: Diagnostic, before: str, after: str, spans: Sequence[Span],
                found_after: Sequence[Diagnostic]) -> bool:
    """Whether the finding a fix was applied for is still reported after the round: same code
    at the place its position moved to (same notebook cell)."""
    offset = _Offsets(before).offset(diagnostic.line, diagnostic.col)
    line, col = _line_col(after, _mapped_offset(offset, spans))
    return any(d.code == diagnostic.code and d.cell == diagnostic.cell and (d.line, d.col) == (line, col)
               for d in found_after)


def fix_signature(diagnostic: Diagnostic) -> Tuple[object, ...]:
    """What identifies a proposed fix across rounds, whatever the lines moved: a fix that
    did not remove its finding is not tried again."""
    fix = diagnostic.fix
    return (diagnostic.code, diagnostic.cell, fix.description if fix else None,
            tuple(edit.new_text for edit in fix.edits) if fix else ())


def not_removed_message(diagnostic: Diagnostic) -> str:
    return (f"{diagnostic.path}:{diagnostic.line}:{diagnostic.col}: {diagnostic.code} fix not applied: "
            "it does not remove the finding")


@dataclass
class RoundCheck:
    """Which fixes of a round did not remove their findings."""
    stuck: List[Diagnostic] = field(default_factory=list)  # refuse these for good
    retry_singly: List[str] = field(default_factory=list)  # codes to retry one fix per round

    def __bool__(self) -> bool:
        return bool(self.stuck or self.retry_singly)


def check_round(applied: Sequence[Diagnostic], before: Sequence[Diagnostic], after: Sequence[Diagnostic],
                is_still_found: Callable[[Diagnostic], bool], singly: Collection[str]) -> RoundCheck:
    """A fix removes its finding when nothing of its code is reported where the finding
    moved to, and (independent of positions) its code is reported once less per fix: a fix
    that moves its finding elsewhere or makes another of its kind removes nothing. When only
    the count says so and several fixes of the code were applied, they are retried one by one."""
    check = RoundCheck(stuck=[d for d in applied if is_still_found(d)])
    for code in sorted({d.code for d in applied} - {d.code for d in check.stuck}):
        fixed = [d for d in applied if d.code == code]
        if sum(d.code == code for d in after) <= sum(d.code == code for d in before) - len(fixed):
            continue
        if len(fixed) == 1 or code in singly:
            check.stuck.extend(fixed)
        else:
            check.retry_singly.append(code)
    return check


def one_per_code(candidates: Sequence[Diagnostic], codes: Collection[str], unsafe: bool) -> List[Diagnostic]:
    """`candidates` with only the first applicable fix of each code in `codes`."""
    seen: set = set()
    kept = []
    for diagnostic in sorted(candidates, key=Diagnostic.sort_key):
        if diagnostic.code in codes and applicable(diagnostic.fix, unsafe):
            if diagnostic.code in seen:
                continue
            seen.add(diagnostic.code)
        kept.append(diagnostic)
    return kept


def fix_text(
    text: str, lint: Callable[[str], List[Diagnostic]], unsafe: bool = False
) -> Tuple[FixResult, List[Diagnostic]]:
    """Fix round after round until nothing applicable is left (or MAX_ROUNDS). A fix counts
    (`applied`) only when its finding is gone after the round (`check_round`); a round whose
    fixes leave their findings in place is undone, and those fixes are not proposed again
    (the round is retried with the others). Returns the result and the diagnostics of the
    final text."""
    total = FixResult(text)
    diagnostics = lint(text)
    if any(d.code == "TL001" for d in diagnostics):
        return total, diagnostics  # never touch a file that does not parse
    refused: set = set()
    singly: set = set()
    rounds = 0
    while rounds < MAX_ROUNDS:
        candidates = one_per_code([d for d in diagnostics if fix_signature(d) not in refused], singly, unsafe)
        step = apply_once(total.text, candidates, unsafe)
        total.dropped.extend(step.dropped)
        if not step.changed or step.text == total.text:
            break
        after = lint(step.text)
        check = check_round(step.applied, diagnostics, after, singly=singly, is_still_found=lambda d: still_found(
            d, total.text, step.text, step.spans, after))
        if check:
            for diagnostic in check.stuck:
                refused.add(fix_signature(diagnostic))
                total.dropped.append(not_removed_message(diagnostic))
            singly.update(check.retry_singly)
            continue  # undo the round: the same text, without the fixes that did not work
        total.text = step.text
        total.applied.extend(step.applied)
        diagnostics = after
        rounds += 1
    return total, diagnostics


__all__ = ["Edit", "Fix", "FixResult", "RoundCheck", "applicable", "apply_once", "check_round", "fix_signature",
           "fix_text", "not_removed_message", "one_per_code", "parses", "still_found"]
