"""Real-code score: trainlint's recall and false alarms on hand-labelled training code.

    python bench/realcode.py                      # this checkout's trainlint
    python bench/realcode.py --missed --false     # every miss and false alarm, with its note
    python bench/realcode.py --against /path/to/other/bin/trainlint   # side by side

A script, not a test. It runs `../shared/realcode/score.py` (labels made by reading public
repositories; see its README) twice: on the labels made before trainlint was run on the
files (`--source A`, unbiased recall) and on all labels (false alarms), and prints both
summaries. With `--against`, the other trainlint is scored the same way in the same run.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parent.parent
SCORER = REPO.parent / "shared" / "realcode" / "score.py"


def score(tool: str, extra: List[str]) -> str:
    command = [sys.executable, str(SCORER), "--tool", tool, *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0 and not done.stdout:
        return f"score.py failed ({done.returncode}): {done.stderr.strip()[-500:]}"
    return done.stdout.rstrip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", default=f"{shlex.quote(sys.executable)} -m trainlint",
                        help="command that runs the trainlint to score (default: this checkout's)")
    parser.add_argument("--against", help="another trainlint command, scored in the same run")
    parser.add_argument("--missed", action="store_true", help="list every miss (all labels)")
    parser.add_argument("--false", dest="false_alarms", action="store_true",
                        help="list every false alarm (all labels)")
    args = parser.parse_args()
    if not SCORER.exists():
        print(f"no scorer at {SCORER}: the labelled corpus is not beside this checkout", file=sys.stderr)
        return 2
    tools = [("this checkout", args.tool)] + ([("against", args.against)] if args.against else [])
    for label, tool in tools:
        print(f"== {label}: {tool}")
        print("-- labels made blind (--source A): recall")
        print(score(tool, ["--source", "A"]))
        listing = (["--missed"] if args.missed else []) + (["--false"] if args.false_alarms else [])
        print("-- all labels: recall and false alarms on `ok` labels")
        print(score(tool, listing))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
