"""Text edits for common repairs, shaped to keep the user's formatting and comments."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

import libcst as cst

from trainlint.core.diagnostics import Edit

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext


def add_keyword_argument(ctx: "FileContext", call: cst.Call, name: str, value_code: str) -> Edit:
    """Add `name=value` as the last argument of `call`, in the call's own layout:
    `f(a, b)` → `f(a, b, name=v)`; one argument per line with a trailing comma → a new line
    `    name=v,` before the closing parenthesis (comments stay on their lines)."""
    argument = f"{name}={value_code}"
    if not call.args:
        line, column = _after_open_paren(ctx, call)
        return Edit(line, column, line, column, argument)
    last = call.args[-1]
    lines = ctx.lines
    call_end = ctx.position(call).end
    closing_line = lines[call_end.line - 1] if call_end.line <= len(lines) else ""
    paren_alone = closing_line[: call_end.column - 1].strip() == ""
    has_trailing_comma = type(last.comma) is cst.Comma
    if has_trailing_comma and paren_alone:
        indent = ctx.indentation_of(last)
        return Edit(call_end.line, 1, call_end.line, 1, f"{indent}{argument},{_newline(ctx)}")
    value_end = ctx.position(last).end
    if has_trailing_comma:  # `f(a, b,)`: after the comma
        comma_col = lines[value_end.line - 1].index(",", value_end.column) + 2
        return Edit(value_end.line, comma_col, value_end.line, comma_col, f" {argument},")
    if paren_alone:  # `f(\n    a,\n    b\n)`: a new line in the same style
        indent = ctx.indentation_of(last)
        return Edit(value_end.line, value_end.column + 1, value_end.line, value_end.column + 1,
                    f",{_newline(ctx)}{indent}{argument}")
    return Edit(value_end.line, value_end.column + 1, value_end.line, value_end.column + 1,
                f", {argument}")


def _after_open_paren(ctx: "FileContext", call: cst.Call):
    func_end = ctx.position(call.func).end
    line = ctx.lines[func_end.line - 1]
    column = line.index("(", func_end.column) + 2
    return func_end.line, column


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")


def mode_call_in_scope(ctx: "FileContext", statement: cst.CSTNode, model_key: str, method: str) -> Optional[str]:
    """`model.eval()` / `self.net.train()` as code, when the model's key is a plain dotted name
    that the statement itself uses (so the name is bound there); else None."""
    if not _DOTTED.match(model_key) or not re.search(rf"(?<![\w.]){re.escape(model_key)}\b", ctx.code(statement)):
        return None
    return f"{model_key}.{method}()"


def insert_line_before(ctx: "FileContext", statement: cst.CSTNode, code: str) -> Edit:
    """A new statement on its own line before `statement`, at its indentation."""
    return ctx.insert_before_edit(statement, f"{code}{_newline(ctx)}{ctx.indentation_of(statement)}")


def insert_line_after(ctx: "FileContext", statement: cst.CSTNode, code: str) -> Edit:
    """A new statement on its own line after `statement` (after a compound statement's
    whole body), at the statement's indentation; comments on its last line stay there."""
    end = ctx.position(statement).end
    lines = ctx.lines_with_ends
    indentation = ctx.indentation_of(statement)
    if end.line < len(lines):
        return Edit(end.line + 1, 1, end.line + 1, 1, f"{indentation}{code}{_newline(ctx)}")
    last = lines[end.line - 1] if lines else ""
    column = len(last.rstrip("\r\n")) + 1
    return Edit(end.line, column, end.line, column, f"{_newline(ctx)}{indentation}{code}")


def _newline(ctx: "FileContext") -> str:
    return ctx.module.default_newline  # the file's first line break (\n, \r\n or \r)
