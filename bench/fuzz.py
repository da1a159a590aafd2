"""Long fuzz run: generated programs and mutated fixtures through lint_source.

    python bench/fuzz.py --minutes 10

Prints how many programs were tried and every crash (an exception out of lint_source or a
TL003 internal error) with the program that caused it, saved under bench/fuzz-crashes/.
The same properties run briefly in tests/test_fuzz.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
import hypothesmith  # noqa: E402

from test_fuzz import FIXTURE_SOURCES, TRIGGERS, mutate  # noqa: E402
from trainlint.run.engine import lint_source  # noqa: E402

CRASH_DIR = HERE / "fuzz-crashes"


class Tally:
    tried = 0
    crashes = 0


def check(text: str, origin: str) -> None:
    Tally.tried += 1
    try:
        problems = [d.detail for d in lint_source(text, "fuzz.py") if d.code == "TL003"]
    except BaseException as error:  # noqa: BLE001 - a fuzzer records everything
        problems = [f"{type(error).__name__}: {error}"]
    if problems:
        Tally.crashes += 1
        CRASH_DIR.mkdir(exist_ok=True)
        (CRASH_DIR / f"crash-{Tally.crashes}.py").write_text(text, encoding="utf-8")
        print(f"crash {Tally.crashes} ({origin}): {problems[0].strip().splitlines()[-1]}")


def run_generated(deadline: float, strategy) -> None:
    """Batches of generated programs, each batch with its own seed, until the deadline."""
    batch = 0
    while time.monotonic() < deadline:
        batch += 1

        @seed(batch)
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def property_(source):
            check(TRIGGERS + source, "hypothesmith")

        property_()


def run_mutations(deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8") for p in FIXTURE_SOURCES]
    while time.monotonic() < deadline and texts:
        check(mutate(rng.choice(texts), rng, rng.randint(1, 15)), "mutation")


def main() -> int:
    warnings.simplefilter("ignore", SyntaxWarning)  # emitted while generating programs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    share = args.minutes * 60 / 3
    start = time.monotonic()
    run_generated(start + share, hypothesmith.from_grammar())
    run_generated(start + 2 * share, hypothesmith.from_node())
    run_mutations(start + 3 * share, args.seed)
    elapsed = time.monotonic() - start
    print(f"programs tried: {Tally.tried} in {elapsed:.0f} s; crashes: {Tally.crashes}")
    return 1 if Tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
