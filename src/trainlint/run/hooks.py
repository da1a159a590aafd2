"""What the pipeline reports about its own progress, for `--profile`.

The pipeline calls a `Hooks` object at the end of each stage and around each rule; this
base class does nothing, so a normal run pays a few empty calls per file. `profile.Profile`
overrides it to time every stage, fact and rule of the very run that produces the results.
"""

from __future__ import annotations

from typing import Any, Callable


class Hooks:
    def lap(self, stage: str) -> None:
        """The stage named (read, cache, prefilter, parse, report, notebooks) just ended."""

    def count(self, what: str) -> None:
        """One more of `what` (files, cached, prefiltered, parsed, notebooks)."""

    def rule_started(self, rule: Any) -> None:
        """A rule's `check` starts; facts it builds are charged to them, not to the rule."""

    def rule_finished(self) -> None:
        """The rule's `check` returned or raised."""

    def new_context(self, context_class: type, *args: Any) -> Any:
        """The FileContext the rules share (a profiler returns one that times its facts)."""
        return context_class(*args)

    def parse(self, text: str, python_accepts: bool, parse_whole: Callable[[], Any]) -> Any:
        """The libcst module of `text` (or its diagnostic). `python_accepts`: CPython parsed
        the text. An editor re-parses only what an edit changed (semantic.reparse)."""
        return parse_whole()

    def linted(self, ctx: Any) -> None:
        """The rules have run on `ctx`, which is released next (an editor keeps its index)."""


NO_HOOKS = Hooks()
