"""`--profile`: where the time goes, per stage and per rule, printed on stderr.

`Profile` is the hooks object (`run.hooks`) of a normal run made in this process: the
pipeline calls it at the end of each stage (read, cache, prefilter, parse, facts, rules,
report; notebooks for the adapter), so what is timed is what runs, results included. Facts
are `cached_property`s of FileContext, built when a rule first asks for one; the profile
hands the pipeline a FileContext whose facts time their own build, charged to that fact
(exclusive of the facts it builds in turn), so a rule's time is its own check only and a
fact no rule needs in a file costs nothing there, as in a normal run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic
from trainlint.run.cache import ResultCache
from trainlint.run.hooks import Hooks
from trainlint.run.parallel import lint_paths

STAGES = ("read", "cache", "prefilter", "parse", "facts", "rules", "report")


def fact_names() -> List[str]:
    """The facts of FileContext: its public cached properties, in declaration order."""
    from trainlint.semantic.context import FileContext

    return [
        name
        for name, value in vars(FileContext).items()
        if isinstance(value, cached_property) and not name.startswith("_")
    ]


class Profile(Hooks):
    """Wall-clock laps: every moment of the run is charged to exactly one category."""

    def __init__(self) -> None:
        self.stages: Dict[str, float] = defaultdict(float)
        self.facts: Dict[str, float] = defaultdict(float)
        self.rules: Dict[str, float] = defaultdict(float)
        self.rule_runs: Dict[str, int] = defaultdict(int)
        self.counts: Dict[str, int] = defaultdict(int)
        self._clock = self._started = time.perf_counter()
        # What the time is being spent on right now inside the rules stage: a rule, or the
        # facts being built for it (innermost last).
        self._doing: List[Tuple[str, str]] = []

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap to `stage`."""
        self._lap(stage)

    def _lap(self, stage: str) -> float:
        now = time.perf_counter()
        elapsed = now - self._clock
        self.stages[stage] += elapsed
        self._clock = now
        return elapsed

    def _charge(self) -> None:
        if not self._doing:
            return
        kind, name = self._doing[-1]
        elapsed = self._lap("facts" if kind == "fact" else "rules")
        (self.facts if kind == "fact" else self.rules)[name] += elapsed

    def enter(self, kind: str, name: str) -> None:
        self._charge()
        self._doing.append((kind, name))

    def leave(self) -> None:
        self._charge()
        self._doing.pop()

    def count(self, what: str) -> None:
        self.counts[what] += 1

    def rule_started(self, rule: Any) -> None:
        label = f"{rule.code} {rule.name}"
        self.rule_runs[label] += 1
        self.enter("rule", label)

    def rule_finished(self) -> None:
        self.leave()

    def new_context(self, context_class: type, *args: Any) -> Any:
        ctx = _timed_facts(context_class)(*args)
        ctx._profile = self
        return ctx

    def finish(self) -> str:
        """Close the run (the output written since the last lap is "report") and render."""
        self._lap("report")
        return self.render(time.perf_counter() - self._started)

    def render(self, wall: float) -> str:
        lines = [f"trainlint profile: {self.counts['files']} files in {wall * 1000:.1f} ms wall"]
        lines.append(
            "  files: {cached} from cache, {skipped} skipped by the prefilter, {parsed} parsed,"
            " {notebooks} notebooks".format(
                cached=self.counts["cached"], skipped=self.counts["prefiltered"], parsed=self.counts["parsed"],
                notebooks=self.counts["notebooks"],
            )
        )
        lines.append("  stage        ms      %")
        total = sum(self.stages.values()) or 1e-9
        for stage in STAGES + tuple(sorted(set(self.stages) - set(STAGES))):
            ms = self.stages.get(stage, 0.0) * 1000
            lines.append(f"  {stage:<10} {ms:>8.1f} {100 * ms / 1000 / total:>6.1f}")
        if self.facts:
            lines.append("  fact         ms")
            for name, seconds in sorted(self.facts.items(), key=lambda item: -item[1]):
                lines.append(f"  {name:<10} {seconds * 1000:>8.1f}")
        if self.rules:
            lines.append("  rule                                   ms   files")
            for code, seconds in sorted(self.rules.items(), key=lambda item: -item[1]):
                lines.append(f"  {code:<34} {seconds * 1000:>8.1f} {self.rule_runs[code]:>7}")
        return "\n".join(lines) + "\n"


@lru_cache(maxsize=None)
def _timed_facts(context_class: type) -> type:
    """`context_class` (FileContext) whose facts time their own build (first access)."""

    def timed(name: str, build: Callable[[Any], object]) -> property:
        def get(self: Any) -> object:
            if name in self.__dict__:
                return self.__dict__[name]
            profile: Profile = self.__dict__["_profile"]
            profile.enter("fact", name)
            try:
                value = self.__dict__[name] = build(self)
            finally:
                profile.leave()
            return value

        return property(get)

    namespace = {name: timed(name, vars(context_class)[name].func) for name in fact_names()}
    return type(f"Profiled{context_class.__name__}", (context_class,), namespace)


def profiled_lint_paths(
    paths: Sequence[Path], config: Config, cache: Optional[ResultCache]
) -> Tuple[List[Diagnostic], Profile]:
    """`parallel.lint_paths` in this process, timed. Call `profile.finish()` once the output
    is written: the time since the last stage is charged to "report"."""
    # Loaded before the clock starts: the profile is of linting, not of importing.
    from trainlint.rules import all_rules
    from trainlint.run import engine  # noqa: F401

    all_rules()
    profile = Profile()
    diagnostics = lint_paths(paths, config, cache=cache, hooks=profile)
    profile.lap("report")
    return diagnostics, profile
