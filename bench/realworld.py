"""Precision on real code: trainlint over the sources of pinned ML packages, findings reviewed.

    python bench/realworld.py                 # download (first use), lint, compare with verdicts
    python bench/realworld.py --unreviewed    # also print every finding that has no verdict yet

The corpus is the source distributions of a pinned list of PyPI packages whose sdists carry
training code: example scripts and notebooks (pytorch-ignite, poutyne, imbalanced-learn,
gpytorch, opacus, avalanche ...) and the libraries themselves, which are the hardest place to
stay silent (slicing, concatenation and `max()` everywhere, no training at all). Archives are
downloaded with pip into bench/.realworld/ and never committed.

Every finding was read by an engineer and given a verdict in bench/realworld_verdicts.json:
"true" (the pattern the rule describes, in real code), "false" (a false positive) or
"borderline" (the pattern is there but the context makes it harmless, e.g. a unit test). A
finding is identified by package, relative path, code and the text of its reported line, so
verdicts survive line shifts. The report prints per rule: findings, true, false, borderline,
unreviewed, and precision = true / (true + false). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".realworld"
VERDICTS = HERE / "realworld_verdicts.json"
PACKAGES = [
    "d2l==1.0.3", "keras-tuner==1.4.8", "poutyne==1.19.0", "pytorch-ignite==0.5.5",
    "pytorch-lightning==2.6.6", "skorch==1.4.0", "timm==1.0.31", "torchbearer==0.5.5",
    "autokeras==3.0.0", "avalanche-lib==0.6.0", "fastai==2.8.12", "flair==0.15.1",
    "imbalanced-learn==0.14.2", "keras-cv==0.9.0", "lightly==1.6.0", "mlxtend==0.25.0",
    "pytorch-metric-learning==2.9.0", "pytorch-forecasting==1.8.0", "scikeras==0.13.0",
    "sentence-transformers==6.2.0", "torchdistill==1.1.5", "torchgeo==0.8.1", "tsai==1.0.1",
    "accelerate==1.15.0", "captum==0.9.0", "gpytorch==1.15.2", "lightning-bolts==0.7.0",
    "opacus==1.6.0", "peft==0.21.2", "pytorch-tabular==1.2.0", "torch-geometric==2.8.1",
]


def ensure_corpus() -> Path:
    archives, sources = WORK / "sdist", WORK / "src"
    archives.mkdir(parents=True, exist_ok=True)
    for requirement in PACKAGES:
        name = requirement.split("==")[0]
        if any(_normal(p.name).startswith(_normal(name) + "-") for p in archives.iterdir()):
            continue
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", str(archives), requirement],
            check=False,
        )
    sources.mkdir(exist_ok=True)
    for archive in sorted(archives.glob("*.tar.gz")):
        target = sources / archive.name[: -len(".tar.gz")]
        if not target.exists():
            with tarfile.open(archive) as tar:
                tar.extractall(sources, filter="data") if sys.version_info >= (3, 12) else tar.extractall(sources)
    return sources


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def finding_key(sources: Path, item: dict) -> str:
    path = Path(item["path"])
    relative = path.relative_to(sources) if path.is_absolute() else path
    text = ""
    if path.suffix == ".py":
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if 0 < item["line"] <= len(lines):
            text = lines[item["line"] - 1].strip()
    else:
        text = f"cell {item.get('cell')} line {item['line']}"
    return f"{relative} | {item['code']} | {text}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unreviewed", action="store_true", help="print findings without a verdict")
    parser.add_argument("--all", action="store_true", help="print every finding with its verdict")
    args = parser.parse_args()
    sources = ensure_corpus()
    files = [p for p in sources.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()]
    command = [sys.executable, "-m", "trainlint", "--exit-zero", "--quiet", "--no-cache",
               "--output-format", "json", str(sources)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    findings = json.loads(result.stdout or "[]")
    verdicts = json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}

    table: dict = collections.defaultdict(collections.Counter)
    unreviewed = []
    for item in findings:
        key = finding_key(sources, item)
        verdict = verdicts.get(key, {}).get("verdict", "unreviewed")
        table[item["code"]][verdict] += 1
        if verdict == "unreviewed":
            unreviewed.append(key)
        if args.all:
            print(f"{verdict:10} {key}  — {verdicts.get(key, {}).get('why', '')}")

    print(f"corpus: {len(PACKAGES)} packages, {len(files)} files, linted in {elapsed:.1f} s wall")
    print(f"{'code':6} {'findings':>8} {'true':>5} {'false':>5} {'border':>6} {'unrev':>5} {'precision':>9}")
    for code in sorted(table):
        row = table[code]
        judged = row["true"] + row["false"]
        precision = f"{row['true'] / judged:.2f}" if judged else "-"
        print(f"{code:6} {sum(row.values()):8} {row['true']:5} {row['false']:5} "
              f"{row['borderline']:6} {row['unreviewed']:5} {precision:>9}")
    stale = set(verdicts) - {finding_key(sources, item) for item in findings}
    if stale:
        print(f"{len(stale)} reviewed findings are no longer reported (fixed false positives or lost true ones):")
        for key in sorted(stale):
            print(f"  {verdicts[key]['verdict']:10} {key}")
    if args.unreviewed:
        for key in unreviewed:
            print(f"unreviewed: {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
