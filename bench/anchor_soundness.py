"""Is the gate sound on real code? Every finding a rule reports with the prefilter switched
off must be reported with it on.

    python bench/anchor_soundness.py [FOLDER ...] [--renamed] [--jobs N]

For every .py and .ipynb file under the folders (default: the speed benchmark's corpus, built
by `python bench/run_bench.py --setup-only`), lints it twice, with and without the prefilter
(trainlint.run.gate_check), and prints every rule that reports only without it, naming the
anchors that skipped it (a soundness bug). `--renamed` does the same on the files with their
role words renamed, under a configuration of those names (`test-names = ["holdin"]` …).
Also prints how many files the prefilter lets through to libcst. Exits 1 on a miss.

A script, not a test: the corpus is large and not committed.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / ".corpus" / "pytorch-ignite-lightning-timm" / "x1"


def check_file(job: Tuple[str, bool]) -> Tuple[str, List[str], bool]:
    """(path, misses, passed by the prefilter)."""
    path, renamed = job
    from trainlint.core.config import Config
    from trainlint.gate import prefilter
    from trainlint.rules import all_rules
    from trainlint.run.gate_check import RENAMED_ROLES, gate_misses, rename_roles
    from trainlint.run.notebook import adapt, is_notebook

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: unreadable: {error}", file=sys.stderr)
        return path, [], False
    config = Config()
    if renamed and not is_notebook(path):
        text, config = rename_roles(text), RENAMED_ROLES
    python = adapt(text, path, config).text if is_notebook(path) else text
    passed = python is not None and bool(
        prefilter.triggered_rules([r for r in all_rules() if r.triggers], python, config))
    return path, gate_misses(text, path, config), passed


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument("--renamed", action="store_true", help="rename role words and configure the new ones")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    files: List[str] = []
    for folder in args.folders:
        if not folder.exists():
            parser.error(f"{folder} does not exist (build the corpus: python bench/run_bench.py --setup-only)")
        files += sorted(str(p) for p in folder.rglob("*") if p.suffix in (".py", ".ipynb") and ".git" not in p.parts)
    misses: List[str] = []
    passed = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for _path, file_misses, was_passed in pool.map(check_file, [(f, args.renamed) for f in files], chunksize=4):
            passed += was_passed
            misses += file_misses
    print(f"{len(files)} files; the prefilter (every rule) lets {passed} through to libcst; {len(misses)} misses")
    for miss in misses:
        print(f"UNSOUND {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
