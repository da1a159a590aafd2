"""Cold-run speed of this checkout against another trainlint installation, side by side.

    python bench/compare.py --other /path/to/venv/bin/python            # bench corpus
    python bench/compare.py --other /path/to/venv/bin/python --repeat 7 --target ../shared/realcode

The two versions run alternately (this, other, this, other ...) on the same files, each
with --no-cache, so that machine noise hits both alike; the medians and their ratio are
printed, with the number of findings of each (a quick check that they lint the same files).
A script, not a test: used for the "within N% of the code before" targets of the issues.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import DEFAULT_PACKAGES, build_corpus, measure, python_files  # noqa: E402


def _command(python: str, target: Path) -> list:
    return [python, "-m", "trainlint", "--no-cache", "--exit-zero", str(target)]


def _findings(stdout: str) -> int:
    """The count of the summary line on stderr ("Found 12 problems ..."; 0 for "All checks passed.")."""
    found = re.search(r"Found (\d+) problems?", stdout)
    return int(found.group(1)) if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True, help="python of the installation to compare with")
    parser.add_argument("--label", default="other", help="name of the other installation in the table")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (medians are reported)")
    parser.add_argument("--target", type=Path, default=None, help="folder to lint (default: the bench corpus)")
    args = parser.parse_args()
    target = args.target.resolve() if args.target else build_corpus(DEFAULT_PACKAGES)
    files = len(python_files(target))
    versions = {"this checkout": sys.executable, args.label: args.other}
    walls = {name: [] for name in versions}
    cpus = {name: [] for name in versions}
    counts = {}
    for _ in range(args.repeat):
        for name, python in versions.items():
            result = measure(_command(python, target), target)
            if result.returncode not in (0, 1):
                print(f"{name} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
                return 2
            walls[name].append(result.wall)
            cpus[name].append(result.cpu)
            counts[name] = _findings(result.stderr)
    print(f"# cold runs on {target} ({files} .py files), medians of {args.repeat}, alternating")
    print(f"{'version':<16} {'wall s':>8} {'cpu s':>8} {'findings':>9}")
    for name in versions:
        print(f"{name:<16} {statistics.median(walls[name]):>8.2f} {statistics.median(cpus[name]):>8.2f} "
              f"{counts[name]:>9}")
    ratio = statistics.median(walls["this checkout"]) / statistics.median(walls[args.label])
    cpu_ratio = statistics.median(cpus["this checkout"]) / statistics.median(cpus[args.label])
    print(f"this checkout / {args.label}: wall {ratio:.2f}x, cpu {cpu_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
