"""Speed benchmark: trainlint against its peers on the same real training-library code.

    python bench/run_bench.py                  # set up (first time), then measure
    python bench/run_bench.py --repeat 5 --packages pytorch-ignite,lightning
    python bench/run_bench.py --only trainlint # skip the peers

A script, not a test. It builds a corpus from the sources of pinned pure-Python wheels
(`pip download --no-deps`, cached under bench/.corpus, never committed) plus fixtures/,
installs the peers into bench/.venv (ruff, flake8, Fixit) and bench/.venv-torchfix (TorchFix
registers itself as a flake8 plugin, so it lives apart to keep flake8 at its default
plugins), then runs every tool over the same files several times and prints:

- median wall time, CPU time (user+sys of the whole process tree), peak memory (largest
  single process, and the sampled sum of the process tree), files/s, and how many times
  faster trainlint cold is than each peer;
- a scaling table of trainlint cold at 1x, 2x and 4x the corpus;
- trainlint's per-stage and per-rule times from `--profile`;
- one 1,000-line training script linted in process (median) and that process's peak memory.

Every tool runs with its default parallelism (two cores here); "trainlint cold" starts with
an empty cache folder, "warm" reruns on the cache it left. "prefilter off" parses every file
(what trainlint costs once rules trigger on everything): it is the upper bound as rules grow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STORE = HERE / ".corpus"
PEERS_VENV = HERE / ".venv"
TORCHFIX_VENV = HERE / ".venv-torchfix"

# Real training-related code, pinned so that runs stay comparable over time.
WHEELS = {
    "pytorch-ignite": "0.5.5",
    "lightning": "2.6.6",
    "timm": "1.0.31",
    "keras": "3.15.1",  # large (300k lines): opt in with --packages
}
DEFAULT_PACKAGES = ("pytorch-ignite", "lightning", "timm")
PEER_VERSIONS = {"ruff": "0.17.6", "flake8": "7.5.0", "fixit": "2.2.1"}
TORCHFIX_VERSION = "0.7.0"


# -- setup ------------------------------------------------------------------------------------


def venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_venv(venv: Path, requirements: Sequence[str]) -> None:
    marker = venv / ".bench-installed"
    wanted = "\n".join(requirements)
    if marker.is_file() and marker.read_text() == wanted:
        return
    print(f"setting up {venv.relative_to(REPO)}: {', '.join(requirements)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv_bin(venv, "python")), "-m", "pip", "install", "-q", *requirements], check=True)
    marker.write_text(wanted)


def compile_trainlint() -> None:
    """Byte-compile trainlint's sources, as pip does for the peers it installs: an editable
    install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every
    start, which the warm run (a few hundred milliseconds) would mostly measure."""
    import compileall

    import trainlint

    compileall.compile_dir(str(Path(trainlint.__file__).parent), quiet=1)


def ensure_wheel(name: str, version: str) -> Path:
    folder = STORE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    prefix = name.replace("-", "_") + "-" + version + "-"
    found = [p for p in folder.glob("*.whl") if p.name.startswith(prefix)]
    if not found:
        print(f"downloading {name}=={version}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q",
             "-d", str(folder), f"{name}=={version}"],
            check=True,
        )
        found = [p for p in folder.glob("*.whl") if p.name.startswith(prefix)]
    return found[0]


def build_corpus(packages: Sequence[str]) -> Path:
    """bench/.corpus/<packages>/x1: the wheels' .py files plus fixtures/. The folder is made a
    git repository of its own, so that this project's .gitignore (which lists .corpus) does
    not hide it from tools that honour .gitignore (ruff, Fixit, trainlint)."""
    root = STORE / "-".join(packages) / "x1"
    done = root / ".bench-complete"
    if done.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in packages:
        with zipfile.ZipFile(ensure_wheel(name, WHEELS[name])) as wheel:
            for member in wheel.namelist():
                if member.endswith(".py") and ".dist-info/" not in member:
                    target = root / name / member
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(wheel.read(member))
    shutil.copytree(REPO / "fixtures", root / "fixtures", ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    _make_repository(root)
    done.write_text("")
    return root


def scaled_corpus(base: Path, factor: int) -> Path:
    """`factor` copies of the corpus side by side (hard links where possible)."""
    if factor == 1:
        return base
    root = base.parent / f"x{factor}"
    done = root / ".bench-complete"
    if done.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    for copy in range(factor):
        for source in python_files(base):
            target = root / f"copy{copy}" / source.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
    _make_repository(root)
    done.write_text("")
    return root


def _make_repository(root: Path) -> None:
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    else:
        (root / ".git").mkdir(exist_ok=True)


def python_files(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*.py") if ".git" not in p.parts)


# -- measuring one command ----------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of `pid` and all its descendants, from /proc."""
    children: Dict[int, List[int]] = {}
    rss: Dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            # fields[1] is ppid (state is fields[0]); rss pages is field 24 of stat -> index 21 here
            child, parent = int(entry.name), int(fields[1])
            children.setdefault(parent, []).append(child)
            rss[child] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


class Measurement:
    def __init__(self, wall: float, cpu: float, max_rss: int, tree_rss: int, returncode: int, stdout: str, stderr: str,
                 lines: int = 0):
        self.wall, self.cpu, self.max_rss, self.tree_rss = wall, cpu, max_rss, tree_rss
        self.lines = lines  # lines of output: findings, for trainlint with -q
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


_MEASURE = textwrap.dedent(
    """\
    import json, resource, subprocess, sys
    completed = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(json.dumps({
        "cpu": usage.ru_utime + usage.ru_stime, "max_rss": usage.ru_maxrss * 1024,
        "returncode": completed.returncode, "lines": completed.stdout.count(b"\\n"),
        "stdout": completed.stdout.decode("utf-8", "replace")[-4000:],
        "stderr": completed.stderr.decode("utf-8", "replace")[-6000:],
    }))
    """
)


def measure(command: Sequence[str], cwd: Path, env: Optional[Dict[str, str]] = None) -> Measurement:
    """Run `command` in a fresh wrapper process, so that getrusage(RUSAGE_CHILDREN) covers this
    run only; a sampler thread adds up the memory of the whole process tree meanwhile."""
    started = time.perf_counter()
    wrapper = subprocess.Popen(
        [sys.executable, "-c", _MEASURE, str(cwd), *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _tree_rss(wrapper.pid) - _WRAPPER_RSS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = wrapper.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if wrapper.returncode != 0:
        raise RuntimeError(f"measuring {command[0]} failed: {err}")
    data = json.loads(out)
    return Measurement(wall, data["cpu"], data["max_rss"], max(peak[0], data["max_rss"]), data["returncode"],
                       data["stdout"], data["stderr"], data["lines"])


_WRAPPER_RSS = 0


def _wrapper_rss() -> int:
    """Memory of the idle wrapper itself, taken off the tree sums."""
    probe = subprocess.Popen([sys.executable, "-c", "import json, resource, subprocess, sys, time; time.sleep(0.5)"])
    time.sleep(0.3)
    value = _tree_rss(probe.pid)
    probe.wait()
    return value


# -- the tools -------------------------------------------------------------------------------------


def trainlint_exe() -> List[str]:
    return [sys.executable, "-m", "trainlint"]


NO_PREFILTER = (
    "import sys; from trainlint.gate import prefilter; from trainlint.rules.base import Rule; "
    "Rule.is_triggered_by = classmethod(lambda cls, text, words=None: True); "
    "prefilter.triggered_rules = lambda rules, text, config=None: list(rules); "
    "from trainlint.frontends.cli import main; sys.exit(main(sys.argv[1:]))"
)


def tool_commands(target: str, cache_dir: Path) -> Dict[str, List[str]]:
    peers = lambda name: str(venv_bin(PEERS_VENV, name))  # noqa: E731
    return {
        "ruff --select ALL": [peers("ruff"), "check", "--isolated", "--select", "ALL", "--no-cache",
                              "--exit-zero", "-q", target],
        "flake8 (default plugins)": [peers("flake8"), "--isolated", "--exit-zero", target],
        "Fixit": [peers("fixit"), "lint", target],
        "TorchFix": [str(venv_bin(TORCHFIX_VENV, "torchfix")), target],
        "trainlint cold": [*trainlint_exe(), "--cache-dir", str(cache_dir), "--exit-zero", "-q", target],
        "trainlint warm": [*trainlint_exe(), "--cache-dir", str(cache_dir), "--exit-zero", "-q", target],
        # The project index's cost: the same cold run with each file on its own.
        "trainlint cold, no project index": [*trainlint_exe(), "--cache-dir", str(cache_dir) + "-no-index",
                                             "--no-project-index", "--exit-zero", "-q", target],
        "trainlint prefilter off": [sys.executable, "-c", NO_PREFILTER, "--no-cache", "--exit-zero", "-q", target],
    }


def run_tool(name: str, command: List[str], cwd: Path, repeat: int) -> List[Measurement]:
    runs = []
    for _ in range(repeat):
        if name.startswith("trainlint cold"):
            shutil.rmtree(command[command.index("--cache-dir") + 1], ignore_errors=True)
        result = measure(command, cwd)
        if name.startswith("trainlint") and result.returncode not in (0, 1):
            raise RuntimeError(f"{name} failed:\n{result.stderr}")
        runs.append(result)
    return runs


# -- reporting ----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def mb(value: float) -> str:
    return f"{value / 1024 / 1024:.0f}"


def print_main_table(results: Dict[str, List[Measurement]], files: int, lines: int) -> None:
    cold = median([m.wall for m in results["trainlint cold"]])
    print(f"\n## Corpus: {files} files, {lines:,} lines; medians of {len(results['trainlint cold'])} runs"
          " (runs column: how many each tool had)\n")
    print("| tool | runs | wall s | CPU s | peak MB (largest process) | peak MB (process tree) | files/s | tool / trainlint cold |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        wall = median([m.wall for m in runs])
        cpu = median([m.cpu for m in runs])
        ratio = wall / cold if cold else float("nan")
        print(
            f"| {name} | {len(runs)} | {wall:.2f} | {cpu:.2f} | {mb(max(m.max_rss for m in runs))} | "
            f"{mb(max(m.tree_rss for m in runs))} | {files / wall:,.0f} | {ratio:.2f}x |"
        )


def print_targets(results: Dict[str, List[Measurement]]) -> None:
    walls = {name: median([m.wall for m in runs]) for name, runs in results.items()}
    cold = walls["trainlint cold"]
    checks = []
    for peer, factor in (("TorchFix", 15), ("Fixit", 15), ("flake8 (default plugins)", 10)):
        if peer in walls:
            checks.append((f"cold >= {factor}x faster than {peer}", walls[peer] / cold, walls[peer] / cold >= factor))
    if "ruff --select ALL" in walls:
        checks.append(("cold within 3x of ruff --select ALL", cold / walls["ruff --select ALL"],
                       cold <= 3 * walls["ruff --select ALL"]))
    if "trainlint cold, no project index" in walls:
        without_index = walls["trainlint cold, no project index"]
        checks.append(("cold within 20% of cold without the project index", cold / without_index,
                       cold <= 1.2 * without_index))
    if "trainlint warm" in walls:
        checks.append(("warm < 5% of cold", walls["trainlint warm"] / cold, walls["trainlint warm"] < 0.05 * cold))
    if "trainlint prefilter off" in results:
        with_prefilter = results["trainlint cold"][0].lines
        without = results["trainlint prefilter off"][0].lines
        checks.append(("findings with the prefilter = without it", with_prefilter, with_prefilter == without))
    peak = max(m.tree_rss for m in results["trainlint cold"])
    checks.append(("peak memory < 400 MB (process tree)", peak / 1024 / 1024, peak < 400 * 1024 * 1024))
    print("\n## Targets\n")
    print("| target | measured | met |")
    print("|---|---:|---|")
    for label, value, met in checks:
        print(f"| {label} | {value:.2f} | {'yes' if met else 'NO'} |")


def print_scaling(base: Path, factors: Sequence[int], repeat: int, cache_root: Path) -> None:
    print(f"\n## Scaling: trainlint cold (and prefilter off), medians of {repeat} runs\n")
    print("| corpus | files | cold wall s | per 1x | prefilter off wall s | per 1x |")
    print("|---|---:|---:|---:|---:|---:|")
    first = {}
    for factor in factors:
        root = scaled_corpus(base, factor)
        files = len(python_files(root))
        commands = tool_commands(".", cache_root / f"scale{factor}")
        row = [f"{factor}x", str(files)]
        for name in ("trainlint cold", "trainlint prefilter off"):
            wall = median([m.wall for m in run_tool(name, commands[name], root, repeat)])
            first.setdefault(name, wall)
            row += [f"{wall:.2f}", f"{wall / factor / first[name]:.2f}"]
        print("| " + " | ".join(row) + " |", flush=True)


def print_profile(root: Path) -> None:
    completed = subprocess.run([*trainlint_exe(), "--profile", "--no-cache", "--exit-zero", "-q", "."],
                               cwd=root, capture_output=True, text=True)
    print("\n## trainlint --profile (one process, prefilter on)\n")
    print("```\n" + completed.stderr.rstrip() + "\n```")
    completed = subprocess.run([sys.executable, "-c", NO_PREFILTER, "--profile", "--no-cache", "--exit-zero", "-q", "."],
                               cwd=root, capture_output=True, text=True)
    print("\n## trainlint --profile, prefilter off (every file parsed)\n")
    print("```\n" + completed.stderr.rstrip() + "\n```")


_IN_PROCESS = textwrap.dedent(
    """\
    import json, resource, statistics, sys, time
    started = time.perf_counter()
    from trainlint.run.engine import lint_source
    from trainlint.rules import all_rules
    all_rules()
    imported = time.perf_counter() - started
    text = open(sys.argv[1], encoding="utf-8").read()
    times = []
    for _ in range(int(sys.argv[2])):
        begin = time.perf_counter()
        found = lint_source(text, "script.py")
        times.append(time.perf_counter() - begin)
    print(json.dumps({"first": times[0], "median": statistics.median(times[1:] or times), "import": imported,
                      "findings": len(found), "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    """
)


def thousand_line_script() -> str:
    """About 1,000 lines of training code: the fixtures, one after another."""
    parts, count = [], 0
    sources = sorted((REPO / "fixtures").rglob("*.py"))
    while count < 1000 and sources:
        for source in sources:
            text = source.read_text(encoding="utf-8")
            parts.append(text if text.endswith("\n") else text + "\n")
            count += text.count("\n") + 1
            if count >= 1000:
                break
    return "".join(parts)


def print_single_script(repeat: int) -> None:
    text = thousand_line_script()
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "script.py"
        script.write_text(text, encoding="utf-8")
        completed = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(script), str(max(repeat, 5) * 2)],
                                   capture_output=True, text=True, check=True)
    data = json.loads(completed.stdout)
    print(f"\n## One {text.count(chr(10))}-line script, lint_source in process\n")
    print("| first call ms | median ms (target < 150) | import ms | findings | peak MB |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {data['first'] * 1000:.0f} | {data['median'] * 1000:.0f} | {data['import'] * 1000:.0f} | "
          f"{data['findings']} | {mb(data['max_rss'])} |")


# -- main -------------------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", default=",".join(DEFAULT_PACKAGES),
                        help=f"wheels for the corpus, from: {', '.join(WHEELS)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (the median is reported)")
    parser.add_argument("--slow-repeat", type=int, default=None,
                        help="runs of Fixit and TorchFix, minutes each (default: --repeat)")
    parser.add_argument("--scale", default="1,2,4", help="corpus multiples for the scaling table ('' to skip)")
    parser.add_argument("--only", default="", help="comma-separated tool names to run (substring match)")
    parser.add_argument("--setup-only", action="store_true", help="install the peers and build the corpus, then stop")
    args = parser.parse_args(argv)

    try:
        import trainlint  # noqa: F401 - the tool under test runs as `sys.executable -m trainlint`
    except ImportError:
        parser.error("run with the project's environment: .venv/bin/python bench/run_bench.py")
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    unknown = [p for p in packages if p not in WHEELS]
    if unknown:
        parser.error(f"unknown packages {unknown}; pinned: {', '.join(WHEELS)}")
    ensure_venv(PEERS_VENV, [f"{name}=={version}" for name, version in PEER_VERSIONS.items()])
    compile_trainlint()
    ensure_venv(TORCHFIX_VENV, [f"torchfix=={TORCHFIX_VERSION}"])
    corpus = build_corpus(packages)
    files = python_files(corpus)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    if args.setup_only:
        print(f"corpus ready: {corpus} ({len(files)} files, {lines:,} lines)")
        return 0

    global _WRAPPER_RSS
    _WRAPPER_RSS = _wrapper_rss()
    print(f"# trainlint benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, packages: {', '.join(f'{p}=={WHEELS[p]}' for p in packages)})")
    cache_root = Path(tempfile.mkdtemp(prefix="trainlint-bench-cache-"))
    try:
        commands = tool_commands(".", cache_root / "main")
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        order = ["trainlint cold", "trainlint warm", "trainlint cold, no project index", "trainlint prefilter off", "ruff --select ALL",
                 "flake8 (default plugins)", "Fixit", "TorchFix"]
        results: Dict[str, List[Measurement]] = {}
        for name in order:
            if wanted and name not in ("trainlint cold", "trainlint warm") and not any(w in name.lower() for w in wanted):
                continue
            started = time.perf_counter()
            repeat = args.slow_repeat if args.slow_repeat and name in ("Fixit", "TorchFix") else args.repeat
            results[name] = run_tool(name, commands[name], corpus, repeat)
            print(f"  {name}: {time.perf_counter() - started:.1f} s for {repeat} runs", file=sys.stderr, flush=True)
        print_main_table(results, len(files), lines)
        print_targets(results)
        factors = [int(f) for f in args.scale.split(",") if f.strip()]
        if factors:
            print_scaling(corpus, factors, args.repeat, cache_root)
        print_profile(corpus)
        print_single_script(args.repeat)
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
