"""Helpers for notebook tests: read fixture notebooks' lines, turn scripts into notebooks.

Written independently of `trainlint.run.notebook`, so that the tests check it rather than
repeat it.
"""

from __future__ import annotations

import ast
import json
from typing import List, Optional, Tuple


def _source(cell: dict) -> str:
    source = cell.get("source", cell.get("input", ""))
    return "".join(source) if isinstance(source, list) else source


def _cells(notebook: dict) -> list:
    if "cells" in notebook:
        return notebook["cells"]
    return [cell for sheet in notebook.get("worksheets", []) for cell in sheet.get("cells", [])]


def notebook_code_lines(text: str) -> List[Tuple[int, int, str]]:
    """(cell number among all cells, line in the cell, text) of every code-cell line."""
    found = []
    for number, cell in enumerate(_cells(json.loads(text)), start=1):
        if cell.get("cell_type") != "code":
            continue
        for line_number, line in enumerate(_source(cell).splitlines(), start=1):
            found.append((number, line_number, line))
    return found


def _statement_spans(text: str) -> Optional[List[Tuple[int, int]]]:
    """1-based (first, last) lines of each top-level statement, decorators included."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    spans = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        spans.append((first, node.end_lineno or node.lineno))
    return spans


def script_chunks(text: str) -> List[List[str]]:
    """The script cut at blank lines that lie between top-level statements: one chunk per
    cell, the way people paste a script into a notebook. Separator lines are dropped."""
    lines = text.splitlines()
    spans = _statement_spans(text)
    if spans is None:
        return [lines]
    inside = set()
    for first, last in spans:
        inside.update(range(first, last + 1))
    chunks: List[List[str]] = [[]]
    for number, line in enumerate(lines, start=1):
        if not line.strip() and number not in inside:
            if chunks[-1]:
                chunks.append([])
            continue
        chunks[-1].append(line)
    return [chunk for chunk in chunks if chunk]


def _code_cell(lines: List[str], outputs: Optional[list] = None) -> dict:
    source = [line + "\n" for line in lines]
    if source:
        source[-1] = source[-1].rstrip("\n")  # Jupyter stores no newline after the last line
    return {"cell_type": "code", "execution_count": None, "metadata": {},
            "outputs": outputs or [], "source": source}


def _markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def script_to_notebook(text: str, title: str) -> str:
    """A notebook holding the script, one code cell per chunk, with the furniture of a real
    one: a markdown title, `%matplotlib inline`, a markdown note every third cell and a
    stream output, so cell numbers count non-code cells too."""
    cells = [_markdown_cell(f"# {title}"), _code_cell(["%matplotlib inline"])]
    for index, chunk in enumerate(script_chunks(text)):
        if index and index % 3 == 0:
            cells.append(_markdown_cell(f"Step {index}"))
        output = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}] if index % 2 else []
        cells.append(_code_cell(chunk, output))
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1)
