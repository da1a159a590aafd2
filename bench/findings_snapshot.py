"""Every finding trainlint makes on a set of inputs, as one sorted JSON file: the check that a
refactoring changed nothing.

    python bench/findings_snapshot.py --out before.json fixtures ../shared/realcode/corpus
    (change the code)
    python bench/findings_snapshot.py --out after.json fixtures ../shared/realcode/corpus
    python bench/findings_snapshot.py --compare before.json after.json

Inputs are the folders named (linted through the CLI, so discovery and notebooks count) and
every rule's VALID / INVALID / FIX_EXAMPLES snippets (linted in process with `lint_source`).
Run it with the interpreter whose trainlint is to be measured: two checkouts installed in two
virtual environments give a side-by-side comparison. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List


def folder_findings(folder: Path) -> List[str]:
    command = [sys.executable, "-m", "trainlint", "--exit-zero", "--quiet", "--no-cache",
               "--output-format", "json", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    rows = []
    for item in json.loads(result.stdout or "[]"):
        path = Path(item["path"]).resolve()
        try:
            path = path.relative_to(folder.resolve())
        except ValueError:
            pass
        cell = f"cell {item['cell']}:" if item.get("cell") else ""
        rows.append(f"{folder.name}/{path}:{cell}{item['line']}:{item['column']}: {item['code']} {item['message']}")
    return rows


def example_findings() -> List[str]:
    from trainlint import lint_source
    from trainlint.rules import all_rules

    rows = []
    for rule in all_rules():
        snippets: Dict[str, str] = {}
        for kind in ("INVALID", "VALID"):
            for number, text in enumerate(getattr(rule, kind)):
                # a pinned INVALID (rules.base.Invalid) holds its text in `.snippet`; older
                # checkouts have plain strings only, so no import of the class here
                snippets[f"{kind}[{number}]"] = getattr(text, "snippet", text)
        for number, (before, _after) in enumerate(rule.FIX_EXAMPLES):
            snippets[f"FIX[{number}]"] = before
        for label, text in snippets.items():
            if not isinstance(text, str):
                continue  # TL002's undecodable bytes: read from disk, not linted as text
            for d in lint_source(text, "example.py"):
                rows.append(f"{rule.code} {label}:{d.line}:{d.col}: {d.code} {d.message}")
    return rows


def compare(before: Path, after: Path) -> int:
    old, new = set(json.loads(before.read_text())), set(json.loads(after.read_text()))
    for row in sorted(old - new):
        print(f"- {row}")
    for row in sorted(new - old):
        print(f"+ {row}")
    print(f"{len(old)} findings before, {len(new)} after: {len(old - new)} lost, {len(new - old)} new")
    return 0 if old == new else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    rows = example_findings()
    for folder in args.folders:
        rows.extend(folder_findings(folder))
    text = json.dumps(sorted(rows), indent=0)
    if args.out:
        args.out.write_text(text + "\n")
        print(f"{len(rows)} findings written to {args.out}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
