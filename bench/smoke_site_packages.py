"""Whole-corpus smoke run: trainlint over every .py/.ipynb file of a large ML environment.

    python bench/smoke_site_packages.py            # builds bench/.smoke-venv on first use
    python bench/smoke_site_packages.py --site-packages /some/venv/lib/python3.11/site-packages

The environment gets keras, lightning (with the CPU torch), scikit-learn and transformers,
installed for the purpose from the package registry. The run reports files, findings per
code, TL001 (syntax errors), TL002/TL004 (unread or skipped files) and TL003 internal errors —
the target is zero internal errors — plus wall time. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMOKE_VENV = HERE / ".smoke-venv"
PACKAGES = ["keras", "lightning", "scikit-learn", "transformers", "torch==2.13.0", "pandas"]


def ensure_environment() -> Path:
    python = SMOKE_VENV / "bin" / "python"
    if not python.exists():
        venv.create(SMOKE_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    return Path(purelib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-packages", type=Path, help="lint this folder instead")
    parser.add_argument("--jobs", default=None, help="passed to trainlint --jobs if supported")
    args = parser.parse_args()
    site = args.site_packages or ensure_environment()
    files = [p for p in site.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()]
    size = sum(p.stat().st_size for p in files)
    command = [sys.executable, "-m", "trainlint", "--exit-zero", "--quiet", "--no-cache",
               "--output-format", "json", str(site)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in (0, 2) or not result.stdout.strip().startswith("["):
        # Older CLI without json output or cache flags: fall back to text.
        command = [sys.executable, "-m", "trainlint", "--exit-zero", "--quiet", str(site)]
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True)
        codes = [line.split(": ", 1)[1].split()[0] for line in result.stdout.splitlines() if ": TL" in line]
    else:
        codes = [item["code"] for item in json.loads(result.stdout)]
    elapsed = time.monotonic() - started
    counts = collections.Counter(codes)
    print(f"site-packages: {site}")
    print(f"files: {len(files)} ({size / 1e6:.1f} MB); wall time {elapsed:.1f} s; exit code {result.returncode}")
    print(f"findings: {sum(v for k, v in counts.items() if k >= 'TL100')}")
    for code, count in sorted(counts.items()):
        print(f"  {code}: {count}")
    print(f"internal errors (TL003): {counts.get('TL003', 0)}")
    if "Traceback" in result.stderr:
        print("TRACEBACK on stderr:\n" + result.stderr[-3000:])
        return 1
    return 1 if counts.get("TL003") else 0


if __name__ == "__main__":
    sys.exit(main())
