"""Fixing notebooks: rule fixes applied to the code cells they touch; everything else kept.

A notebook is rewritten only when its JSON can be reproduced exactly in the layout it has
(indentation, key order, ASCII escaping, final newline), so outputs, metadata and every
untouched cell stay byte for byte; otherwise it is left alone with a message. Fixes come in
cell coordinates from the notebook adapter (`run.notebook`); a cell whose source holds IPython
syntax (magics, shell escapes), carriage returns or a lone surrogate is not edited.
"""

from __future__ import annotations

import difflib
import json
from typing import Callable, Dict, List, Optional, Tuple

from trainlint.core.diagnostics import Diagnostic
from trainlint.core.lines import split_lines
from trainlint.fix.apply import (MAX_ROUNDS, FixResult, applicable, apply_once, check_round, fix_signature,
                                 not_removed_message, one_per_code, still_found)
from trainlint.run.ipython_syntax import blank_ipython
from trainlint.run.notebook import cells_of

Layout = Tuple[Optional[int], bool, bool, str]  # indent, sort_keys, ensure_ascii, final text


def _dump(data: object, layout: Layout) -> str:
    indent, sort_keys, ensure_ascii, ending = layout
    return json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii) + ending


def layout_of(text: str, data: object) -> Optional[Layout]:
    """The json.dumps settings that reproduce `text` exactly (nbformat writes indent=1,
    sorted keys, no ASCII escaping, a final newline), or None."""
    ending = "\n" if text.endswith("\n") else ""
    for indent in (1, 2, 4, None):
        for sort_keys in (True, False):
            for ensure_ascii in (False, True):
                layout = (indent, sort_keys, ensure_ascii, ending)
                if _dump(data, layout) == text:
                    return layout
    return None


def _cell_source(cell: dict) -> Tuple[str, str]:
    key = "source" if "source" in cell else "input"
    value = cell.get(key, "")
    return key, "".join(value) if isinstance(value, list) else value


def _encodable(source: str) -> bool:
    """False for a cell holding a lone surrogate (a JSON escape): the linter saw it as U+FFFD
    (`run.notebook`), but no parser takes the cell itself, so a fix could not be checked."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fix_cell(source: str, found: List[Diagnostic], unsafe: bool) -> FixResult:
    # Edits may end at the line after the cell (its end in the joined module): give the last
    # line its newline while editing, and take it away again after.
    had_newline = source.endswith("\n")
    result = apply_once(source if had_newline else source + "\n", found, unsafe)
    if not had_newline and result.text.endswith("\n"):
        result.text = result.text[:-1]
    return result


def fix_notebook_text(
    text: str, lint: Callable[[str], List[Diagnostic]], unsafe: bool = False
) -> Tuple[FixResult, List[Diagnostic]]:
    """Fix a notebook's JSON text round after round, like `fix.fix_text` for scripts."""
    total = FixResult(text)
    diagnostics = lint(text)
    if not any(applicable(d.fix, unsafe) for d in diagnostics):
        return total, diagnostics
    if any(d.code in ("TL001", "TL002") for d in diagnostics):
        return total, diagnostics  # never touch a notebook with a cell that does not parse
    data = json.loads(text)
    layout = layout_of(text, data)
    if layout is None:
        path = diagnostics[0].path
        total.dropped.append(f"{path}: not fixed: its JSON layout could not be reproduced exactly, "
                             "so rewriting it could change more than the cells")
        return total, diagnostics
    refused: set = set()
    singly: set = set()
    rounds = 0
    while rounds < MAX_ROUNDS:
        cells = cells_of(data)
        by_cell: Dict[int, List[Diagnostic]] = {}
        candidates = one_per_code([d for d in diagnostics if fix_signature(d) not in refused], singly, unsafe)
        for diagnostic in candidates:
            if diagnostic.cell is not None and applicable(diagnostic.fix, unsafe):
                by_cell.setdefault(diagnostic.cell, []).append(diagnostic)
        # cell number -> (key, its source before, the round's result on it)
        steps: Dict[int, Tuple[str, object, str, FixResult]] = {}
        for number, found in sorted(by_cell.items()):
            cell = cells[number - 1]
            key, source = _cell_source(cell)
            if "\r" in source or not _encodable(source) or blank_ipython(source).text != source:
                continue
            step = _fix_cell(source, found, unsafe)
            total.dropped.extend(step.dropped)
            if step.changed and step.text != source:
                steps[number] = (key, cell[key], source, step)
                cell[key] = split_lines(step.text, keepends=True) if isinstance(cell[key], list) else step.text
        if not steps:
            break
        candidate = _dump(data, layout)
        after = lint(candidate)
        applied = [d for _, (_, _, _, step) in sorted(steps.items()) for d in step.applied]
        check = check_round(applied, diagnostics, after, singly=singly,
                            is_still_found=lambda d: _still_found_in_cell(d, steps, after))
        if check:
            for number, (key, original, _, _) in steps.items():
                cells[number - 1][key] = original  # undo the round
            for diagnostic in check.stuck:
                refused.add(fix_signature(diagnostic))
                total.dropped.append(not_removed_message(diagnostic))
            singly.update(check.retry_singly)
            continue
        total.applied.extend(applied)
        total.text = candidate
        diagnostics = after
        rounds += 1
    return total, diagnostics


def _still_found_in_cell(diagnostic: Diagnostic, steps, after: List[Diagnostic]) -> bool:
    _, _, source, step = steps[diagnostic.cell]
    return still_found(diagnostic, _with_newline(source), _with_newline(step.text), step.spans, after)


def _with_newline(source: str) -> str:
    return source if source.endswith("\n") else source + "\n"  # as `_fix_cell` edits it


def cell_diff(before: str, after: str, path: str) -> str:
    """A unified diff per changed code cell, headed `a/path (cell N)`: what a reader wants,
    rather than a diff of escaped JSON strings."""
    old_cells, new_cells = cells_of(json.loads(before)), cells_of(json.loads(after))
    out = []
    for number, (old, new) in enumerate(zip(old_cells, new_cells), start=1):
        if not isinstance(old, dict) or old.get("cell_type") != "code":
            continue
        (_, old_source), (_, new_source) = _cell_source(old), _cell_source(new)
        if old_source != new_source:
            out.extend(difflib.unified_diff(
                split_lines(old_source + "\n", keepends=True), split_lines(new_source + "\n", keepends=True),
                fromfile=f"a/{path} (cell {number})", tofile=f"b/{path} (cell {number})",
            ))
    return "".join(out)
