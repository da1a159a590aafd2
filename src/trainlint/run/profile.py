"""`--profile`: where the time goes, per stage and per rule, printed on stderr.

The run happens in this process, file after file, through the same stages as
`engine.lint_source` (read, cache, prefilter, parse, facts, rules, report), each timed on
its own. Facts are `cached_property`s of FileContext, built when a rule first asks for one;
here each build is timed where it happens and charged to that fact (exclusive of the facts
it builds in turn), so a rule's time is its own check only and a fact no rule needs in a
file costs nothing there, as in a normal run. Results are identical to a normal run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from trainlint.run import engine

from trainlint.gate import prefilter
from trainlint.semantic.context import FileContext
from trainlint.run.cache import ResultCache
from trainlint.core.config import Config
from trainlint.core.diagnostics import Diagnostic
from trainlint.core.limits import deeper_recursion
from trainlint.core.source import SourceError, decode_source
from trainlint.core.suppression import LineSuppressions, file_exempts, file_exemption

STAGES = ("read", "cache", "prefilter", "parse", "facts", "rules", "report")


def fact_names() -> List[str]:
    """The facts of FileContext: its public cached properties, in declaration order."""
    return [
        name
        for name, value in vars(FileContext).items()
        if isinstance(value, cached_property) and not name.startswith("_")
    ]


class Profile:
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

    def lap(self, stage: str) -> float:
        """Charge the time since the previous lap to `stage`."""
        now = time.perf_counter()
        elapsed = now - self._clock
        self.stages[stage] += elapsed
        self._clock = now
        return elapsed

    def _charge(self) -> None:
        if not self._doing:
            return
        kind, name = self._doing[-1]
        elapsed = self.lap("facts" if kind == "fact" else "rules")
        (self.facts if kind == "fact" else self.rules)[name] += elapsed

    def enter(self, kind: str, name: str) -> None:
        self._charge()
        self._doing.append((kind, name))

    def leave(self) -> None:
        self._charge()
        self._doing.pop()

    def finish(self) -> str:
        """Close the run (the output written since the last lap is "report") and render."""
        self.lap("report")
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


@lru_cache(maxsize=1)
def _profiled_context_class() -> type:
    """FileContext whose facts time their own build (first access) on the profile."""

    def timed(name: str, build: Callable[[FileContext], object]) -> property:
        def get(self: FileContext) -> object:
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

    namespace = {name: timed(name, vars(FileContext)[name].func) for name in fact_names()}
    return type("ProfiledFileContext", (FileContext,), namespace)


def profiled_lint_paths(
    paths: Sequence[Path], config: Config, cache: Optional[ResultCache]
) -> Tuple[List[Diagnostic], Profile]:
    """engine.lint_paths in this process, timed. Call `profile.finish()` once the output is
    written: the time since the last stage is charged to "report"."""
    profile = Profile()
    diagnostics: List[Diagnostic] = []
    for path in paths:
        diagnostics.extend(_profiled_file(path, config, cache, profile))
    diagnostics.sort(key=Diagnostic.sort_key)
    profile.lap("report")
    return diagnostics, profile


def _profiled_file(path: Path, config: Config, cache: Optional[ResultCache], profile: Profile) -> List[Diagnostic]:
    profile.counts["files"] += 1
    profile.lap("other")
    if path.suffix != ".py":  # notebooks: timed as a whole
        found = engine.lint_file(path, config)
        profile.lap("notebooks")
        profile.counts["notebooks"] += 1
        return found
    try:
        data = path.read_bytes()
        text = decode_source(data)
    except (OSError, SourceError):
        found = engine.lint_file(path, config)  # reports the problem exactly as a normal run
        profile.lap("read")
        return found
    profile.lap("read")
    if len(data) > config.max_file_size_mb * 1024 * 1024:
        found = engine.lint_file(path, config)  # TL004, as a normal run
        profile.lap("other")
        return found
    key = None
    if cache is not None:
        key = cache.key(data, str(path))
        cached = cache.get(key)
        profile.lap("cache")
        if cached is not None:
            profile.counts["cached"] += 1
            return cached
    found = _profiled_source(text, str(path), config, profile)
    if cache is not None and key is not None:
        profile.lap("other")
        cache.put(key, found)
        profile.lap("cache")
    return found


def _profiled_source(text: str, path: str, config: Config, profile: Profile) -> List[Diagnostic]:
    """engine.lint_source, stage by stage."""
    exemption = file_exemption(text)
    triggered = prefilter.triggered_rules(engine.rules_for(config, path), text)
    rules = [rule for rule in triggered if not file_exempts(exemption, rule.code)]
    profile.lap("prefilter")
    if not triggered:
        profile.counts["prefiltered"] += 1
        return []
    profile.counts["parsed"] += 1
    with deeper_recursion():
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as error:
            profile.lap("parse")
            return [engine._syntax_error(path, text, error)]
        except RecursionError:
            profile.lap("parse")
            return [engine._engine_diagnostic(engine.SYNTAX_ERROR, path, "too deeply nested for the parser", 1, 1)]
        profile.lap("parse")
        ctx = _profiled_context_class()(text, path, module, config)
        ctx._profile = profile
        suppressions = LineSuppressions(text)
        diagnostics: List[Diagnostic] = []
        for rule_class in rules:
            rule = rule_class()
            label = f"{rule.code} {rule.name}"
            profile.rule_runs[label] += 1
            profile.enter("rule", label)
            try:
                findings = list(rule.check(ctx))
            except Exception as error:  # noqa: BLE001 - as engine._run_rule
                profile.leave()
                diagnostics.append(engine._internal_error(rule, ctx, error))
                continue
            profile.leave()
            try:
                found = [engine._diagnostic(rule, finding, ctx, suppressions) for finding in findings]
                diagnostics.extend(d for d in found if d is not None)
            except Exception as error:  # noqa: BLE001
                diagnostics.append(engine._internal_error(rule, ctx, error))
            profile.lap("report")
    return sorted(set(diagnostics), key=Diagnostic.sort_key)
