"""Anchors against the facts they stand for, on real code.

    python bench/anchor_soundness.py [FOLDER ...] [--anchors split,selection] [--jobs N]

For every .py file under the folders (default: the speed benchmark's corpus, built by
`python bench/run_bench.py --setup-only`), parses it with libcst, computes each anchor's
libcst fact (`trainlint.gate.anchors.FACTS`) and the anchor itself (the stdlib-`ast` scan), and
prints per anchor: files where the fact holds, files where the anchor holds, and every file
where the fact holds but the anchor does not (a soundness bug: the prefilter would skip a
file a rule could report on). Exits 1 when there is one. Also prints how many files the
prefilter lets through to libcst with every rule enabled.

A script, not a test: the corpus is large and not committed.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / ".corpus" / "pytorch-ignite-lightning-timm" / "x1"


def check_file(job: Tuple[str, Sequence[str]]) -> Tuple[str, Dict[str, Tuple[bool, bool]], Optional[str], bool]:
    """(path, {anchor: (fact, anchor)}, error, parsed by the prefilter)."""
    path, names = job
    import libcst as cst

    from trainlint.gate import anchors

    from trainlint.gate import prefilter
    from trainlint.semantic.context import FileContext
    from trainlint.core.config import Config
    from trainlint.rules import all_rules

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return path, {}, f"unreadable: {error}", False
    parsed = bool(prefilter.triggered_rules([r for r in all_rules() if r.triggers], text))
    found = anchors.scan(text)
    if found is None:
        return path, {}, None, parsed
    try:
        module = cst.parse_module(text)
    except Exception:  # noqa: BLE001 - libcst rejects what ast accepts (rare): nothing to compare
        return path, {}, None, parsed
    ctx = FileContext(text, path, module, Config())
    results = {}
    for name in names:
        try:
            fact = bool(anchors.FACTS[name](ctx))
        except Exception as error:  # noqa: BLE001 - a fact that crashes is reported, not fatal
            return path, results, f"fact {name} raised {type(error).__name__}: {error}", parsed
        results[name] = (fact, found.get(name))
    return path, results, None, parsed


def main(argv: Optional[Sequence[str]] = None) -> int:
    from trainlint.gate import anchors

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument("--anchors", default="", help="comma-separated anchor names (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    names = [n for n in args.anchors.split(",") if n] or list(anchors.ANCHORS)
    unknown = set(names) - set(anchors.ANCHORS)
    if unknown:
        parser.error(f"unknown anchors {sorted(unknown)}; known: {', '.join(anchors.ANCHORS)}")
    files: List[str] = []
    for folder in args.folders:
        if not folder.exists():
            parser.error(f"{folder} does not exist (build the corpus: python bench/run_bench.py --setup-only)")
        files += sorted(str(p) for p in folder.rglob("*.py") if ".git" not in p.parts)
    counts = {name: [0, 0] for name in names}
    misses: Dict[str, List[str]] = {name: [] for name in names}
    parsed = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for path, results, error, was_parsed in pool.map(check_file, [(f, names) for f in files], chunksize=4):
            parsed += was_parsed
            if error:
                print(f"{path}: {error}", file=sys.stderr)
            for name, (fact, anchor) in results.items():
                counts[name][0] += fact
                counts[name][1] += anchor
                if fact and not anchor:
                    misses[name].append(path)
    print(f"{len(files)} files; the prefilter (every rule) lets {parsed} through to libcst\n")
    print("| anchor | fact holds | anchor holds | fact without anchor |")
    print("|---|---:|---:|---:|")
    for name in names:
        print(f"| {name} | {counts[name][0]} | {counts[name][1]} | {len(misses[name])} |")
    for name in names:
        for path in misses[name]:
            print(f"UNSOUND {name}: {path}")
    return 1 if any(misses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
