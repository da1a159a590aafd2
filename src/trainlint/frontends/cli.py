"""Command line: argument parsing, exit codes and output. The analysis lives elsewhere."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from trainlint import __version__
from trainlint.run.cache import ResultCache, default_cache_dir
from trainlint.core.config import Config, ConfigError
from trainlint.core.diagnostics import INTERNAL_ERROR, READ_ERROR, Diagnostic
from trainlint.frontends.config_checks import ConfigResolver, check_selectors
from trainlint.run.discovery import discover
from trainlint.report import FORMATS, TEXT_FORMATS, ReportOptions, needs_sources, render
from trainlint.report.statistics import format_statistics
from trainlint.report.text import format_location, one_line, summary

# The engine, the rules, the fixer and the docs (libcst and every rule module) are imported
# where they are used: a run whose files all come from the cache never needs them, and their
# import is most of such a run's time.

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SUBCOMMANDS = ("check", "rules", "rule", "lsp")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; one line, not the usage text
        sys.stderr.write(f"trainlint: error: {message} (`trainlint --help` lists the options)\n")
        raise SystemExit(EXIT_ERROR)


def _codes(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trainlint",
        description="Find the bugs that make train, validation and test figures misleading.",
        epilog="Other commands: `trainlint rules`, `trainlint rule CODE`, `trainlint lsp`.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files or folders (default: .); `-` reads the source from standard input")
    parser.add_argument("--select", type=_codes, action="extend", metavar="CODES",
                        help="rules to enable: codes, prefixes (TL3) or names, comma-separated")
    parser.add_argument("--extend-select", type=_codes, action="extend", metavar="CODES",
                        help="rules to enable on top of the selection")
    parser.add_argument("--ignore", type=_codes, action="extend", metavar="CODES",
                        help="rules to disable")
    parser.add_argument("--exclude", type=_codes, action="extend", metavar="GLOBS",
                        help="paths to skip (replaces the default list)")
    parser.add_argument("--extend-exclude", type=_codes, action="extend", metavar="GLOBS",
                        help="paths to skip on top of the default list")
    parser.add_argument("--force-exclude", action="store_true",
                        help="apply excludes to files named on the command line too")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="read [tool.trainlint] from this file instead of the nearest pyproject.toml")
    parser.add_argument("--stdin-filename", type=Path, metavar="PATH",
                        help="the path of the source read from standard input (`-`): its config, "
                             "per-file-ignores and the name in the report")
    parser.add_argument("--show-settings", action="store_true",
                        help="print the configuration that applies to the first path (and its file), then exit")
    parser.add_argument("--show-files", action="store_true",
                        help="print the files that would be linted, with the config file of each, then exit")
    parser.add_argument("--watch", action="store_true",
                        help="lint again whenever a linted file or config file changes (Ctrl-C stops)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print details of internal errors (tracebacks) on stderr")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    parser.add_argument("--unsafe-fixes", action="store_true",
                        help="also offer and apply fixes that change results (with --fix / --diff)")
    parser.add_argument("--diff", action="store_true",
                        help="print the fixes as a unified diff and write nothing (exit 1 if any)")
    parser.add_argument("--show-fixes", action="store_true", help="list the findings that --fix fixed")
    parser.add_argument("--output-format", choices=FORMATS, metavar="FORMAT",
                        help=f"{', '.join(FORMATS)} (default: concise, one short line per finding, or "
                             "output-format in the config; full adds the explanation; text = concise)")
    parser.add_argument("--output-file", type=Path, metavar="FILE",
                        help="write the report to FILE instead of standard output")
    parser.add_argument("--show-source", action="store_true",
                        help="show the code of each finding under it (text format)")
    parser.add_argument("--statistics", action="store_true",
                        help="count the findings per code, most frequent first")
    parser.add_argument("--version", action="version", version=f"trainlint {__version__}")
    performance = parser.add_argument_group("performance")
    performance.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                             help="worker processes (default and 0: one per CPU, also the most used; 1: no pool)")
    performance.add_argument("--no-cache", action="store_true",
                             help="neither read nor write the result cache")
    performance.add_argument("--cache-dir", type=Path, metavar="DIR",
                             help="result cache folder (default: .trainlint_cache, or $TRAINLINT_CACHE_DIR)")
    performance.add_argument("--no-project-index", action="store_true",
                             help="do not follow calls into other modules of the project (each file on its own)")
    performance.add_argument("--profile", action="store_true",
                             help="print time per stage and per rule on stderr (runs in one process)")
    return parser


def _jobs(value: str) -> Optional[int]:
    """-j N: a whole number; 0 means one per CPU (None), and more than the CPUs are clamped
    to them (`parallel.worker_count`)."""
    try:
        jobs = int(value.strip())
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of worker processes (0: one per CPU), got {value!r}")
    return jobs or None


def _overrides(args: argparse.Namespace):
    """The command line's settings, applied on top of each file's configuration."""
    for option in ("select", "extend_select", "ignore"):
        value = getattr(args, option)
        if value is not None:
            check_selectors(value, f"--{option.replace('_', '-')}")

    def apply(config: Config) -> Config:
        overrides = {}
        if args.select is not None:
            overrides["select"] = tuple(args.select)
        if args.extend_select is not None:
            overrides["extend_select"] = config.extend_select + tuple(args.extend_select)
        if args.ignore is not None:
            overrides["ignore"] = config.ignore + tuple(args.ignore)
        if args.exclude is not None:
            overrides["exclude"] = tuple(args.exclude)
        if args.extend_exclude is not None:
            overrides["extend_exclude"] = config.extend_exclude + tuple(args.extend_exclude)
        if args.force_exclude:
            overrides["force_exclude"] = True
        if args.output_format is not None:
            overrides["output_format"] = args.output_format
        if args.no_project_index:
            overrides["project_index"] = False
        return replace(config, **overrides)

    return apply


def run_check(argv: Sequence[str]) -> int:
    args = _check_parser().parse_args(list(argv))
    if args.watch:
        return _watch(args)
    return _check(args)


def _watch(args: argparse.Namespace) -> int:
    """`--watch`: every run resolves the configuration anew, so an edited pyproject.toml
    applies at once; the result cache keeps re-runs to the changed files."""
    if "-" in args.paths or args.stdin_filename is not None or args.show_settings or args.show_files:
        sys.stderr.write("trainlint: error: --watch lints files and folders, not standard input"
                         " or --show-settings / --show-files\n")
        return EXIT_ERROR
    from trainlint.frontends.watch import stat_snapshot, watch, watched_paths

    paths = args.paths or ["."]

    def snapshot():
        files: List[str] = []
        try:
            resolver = ConfigResolver(args.config, _overrides(args))
            files, _ = discover(paths, resolver.for_path(Path.cwd()), config_for=resolver.for_path)
        except ConfigError:
            resolver = ConfigResolver(args.config)  # the run reports the error; its fix is a change
        config_files = [resolver.config_file_for(Path(path)) for path in [".", *paths, *files]]
        return stat_snapshot(watched_paths(files, config_files))

    return watch(lambda: _check(args), snapshot)


def _check(args: argparse.Namespace) -> int:
    try:
        resolver = ConfigResolver(args.config, _overrides(args))
        if args.paths == ["-"] or (args.stdin_filename is not None and not args.paths):
            return _run_stdin(args, resolver)
        if "-" in args.paths:
            sys.stderr.write("trainlint: error: `-` (standard input) cannot be combined with other paths\n")
            return EXIT_ERROR
        paths = args.paths or ["."]
        # The run's own settings (output format, the default cache folder) are those of the
        # current folder; each file is linted with its own.
        config = resolver.for_path(Path.cwd())
        if args.show_settings:
            return _show_settings(resolver, Path(paths[0]))
        unreadable: List[Tuple[str, str]] = []
        files, missing = discover(paths, config, config_for=resolver.for_path, unreadable=unreadable)
        if args.show_files:
            for path in missing:
                sys.stderr.write(f"trainlint: error: {path}: no such file or directory\n")
            for path, reason in unreadable:
                sys.stderr.write(f"trainlint: warning: {path}: {reason}\n")
            for path in files:
                config_file = resolver.config_file_for(Path(path))
                sys.stdout.write(f"{path}\t{config_file if config_file is not None else '(defaults)'}\n")
            return EXIT_ERROR if missing else EXIT_CLEAN
        groups: Dict[int, Tuple[Config, List[str]]] = {}
        for path in files:
            own = resolver.for_path(Path(path))
            groups.setdefault(id(own), (own, []))[1].append(path)
    except ConfigError as error:
        sys.stderr.write(f"trainlint: error: {error}\n")
        return EXIT_ERROR
    for path in missing:
        sys.stderr.write(f"trainlint: error: {path}: no such file or directory\n")
    if not files and not missing:
        sys.stderr.write(f"trainlint: warning: No Python files or notebooks found under {', '.join(paths)}\n")
    use_cache = not (args.no_cache or os.environ.get("TRAINLINT_NO_CACHE"))
    profile = None
    diagnostics: List[Diagnostic] = _unreadable_folders(unreadable)
    for own, group in groups.values():
        cache = ResultCache(args.cache_dir or default_cache_dir(own), own) if use_cache else None
        if args.profile:
            from trainlint.run.profile import profiled_lint_paths

            found, group_profile = profiled_lint_paths([Path(f) for f in group], own, cache)
            profile = profile or group_profile  # one profile: a run with several configs shows the first
        else:
            from trainlint.run.parallel import lint_paths

            found = lint_paths([Path(f) for f in group], own, jobs=args.jobs, cache=cache)
        diagnostics.extend(found)
    diagnostics.sort(key=Diagnostic.sort_key)
    fixed: List[Diagnostic] = []
    if args.fix or args.diff:
        from trainlint.fix.autofix import fix_files

        outcome = fix_files(diagnostics, resolver.for_path, args.unsafe_fixes, write=args.fix and not args.diff)
        for message in outcome.messages:
            sys.stderr.write(f"trainlint: {message}\n")
        if args.diff:
            sys.stdout.write(outcome.diff)
            if not args.quiet:
                count = len(outcome.fixed)
                sys.stderr.write(f"Would fix {count} problem{'s' if count != 1 else ''}.\n")
            return EXIT_ERROR if missing else EXIT_FINDINGS if outcome.fixed else EXIT_CLEAN
        diagnostics, fixed = outcome.diagnostics, outcome.fixed
        if args.show_fixes:
            for diagnostic in fixed:
                description = one_line(diagnostic.fix.description) if diagnostic.fix else ""  # may quote code
                sys.stderr.write(f"Fixed {format_location(diagnostic)}: {diagnostic.code} {description}\n")
    return _finish(args, config, diagnostics, fixed, profile, failed=bool(missing))


def _unreadable_folders(unreadable: List[Tuple[str, str]]) -> List[Diagnostic]:
    """A TL002 for each folder the walk could not list: the run goes on, and says what it missed."""
    if not unreadable:
        return []
    from trainlint.run.engine_diagnostics import engine_diagnostic

    return [engine_diagnostic(READ_ERROR, path, reason) for path, reason in unreadable]


def _finish(args: argparse.Namespace, config: Config, diagnostics: List[Diagnostic], fixed: List[Diagnostic],
            profile=None, failed: bool = False) -> int:
    """Report, summary and exit code. `failed`: a path was missing, so the run did not check
    everything it was asked to, and it says so rather than "All checks passed."."""
    try:
        _write_report(args, config, diagnostics)
    except BrokenPipeError:
        raise  # the reader stopped (`| head`): `main` ends quietly
    except OSError as error:
        where = args.output_file if args.output_file is not None else "standard output"
        sys.stderr.write(f"trainlint: error: {where}: cannot write the report: {error.strerror or error}\n")
        return EXIT_ERROR
    if profile is not None:
        sys.stderr.write(profile.finish())
    if args.verbose:
        for diagnostic in diagnostics:
            if diagnostic.detail:
                sys.stderr.write(f"{diagnostic.path}: {diagnostic.code} details:\n{diagnostic.detail}\n")
    if not args.quiet and not (failed and not diagnostics and not fixed):
        sys.stderr.write(summary(diagnostics, fixed=len(fixed), unsafe=args.unsafe_fixes) + "\n")
    if failed or any(d.code == INTERNAL_ERROR for d in diagnostics):
        return EXIT_ERROR
    if diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _run_stdin(args: argparse.Namespace, resolver: "ConfigResolver") -> int:
    """`trainlint - --stdin-filename PATH`: lint standard input as the file PATH (its config,
    its per-file-ignores, its name in the report). With --fix the fixed source goes to
    standard output and the report to standard error; with --diff the diff to standard output."""
    from trainlint.run.discovery import is_excluded
    from trainlint.run.engine import lint_bytes

    shown = str(args.stdin_filename) if args.stdin_filename is not None else "-"
    target = args.stdin_filename if args.stdin_filename is not None else Path.cwd() / "stdin.py"
    config = resolver.for_path(target)
    if args.show_settings:
        return _show_settings(resolver, target)
    data = sys.stdin.buffer.read()
    fixing = args.fix or args.diff
    if config.force_exclude and args.stdin_filename is not None and is_excluded(shown, config):
        if args.fix:
            sys.stdout.buffer.write(data)  # an excluded file passes through unchanged
        return EXIT_CLEAN
    diagnostics = lint_bytes(data, shown, config)
    if not fixing:
        return _finish(args, config, diagnostics, [])
    from trainlint.fix.apply import fix_text
    from trainlint.fix.write import encode_like
    from trainlint.fix.notebook import fix_notebook_text
    from trainlint.run.engine import lint_source
    from trainlint.run.notebook import is_notebook
    from trainlint.core.source import SourceError, decode_source

    try:
        text = decode_source(data)
    except SourceError:
        if args.fix:
            sys.stdout.buffer.write(data)
        return _finish(_to_stderr(args), config, diagnostics, [])
    fixer = fix_notebook_text if is_notebook(shown) else fix_text
    result, remaining = fixer(text, lambda source: lint_source(source, shown, config), args.unsafe_fixes)
    for message in result.dropped:
        sys.stderr.write(f"trainlint: {message}\n")
    if args.diff:
        import difflib

        from trainlint.core.lines import split_lines

        sys.stdout.write("".join(difflib.unified_diff(
            split_lines(text, keepends=True), split_lines(result.text, keepends=True),
            fromfile=f"a/{shown}", tofile=f"b/{shown}")))
        if not args.quiet:
            count = len(result.applied)
            sys.stderr.write(f"Would fix {count} problem{'s' if count != 1 else ''}.\n")
        return EXIT_FINDINGS if result.applied else EXIT_CLEAN
    fixed_text = result.text if result.changed else text
    output = encode_like(data, fixed_text, notebook=is_notebook(shown))
    sys.stdout.buffer.write(output if result.changed else data)
    sys.stdout.flush()
    return _finish(_to_stderr(args), config, remaining, result.applied)


def _to_stderr(args: argparse.Namespace) -> argparse.Namespace:
    """With --fix on standard input, standard output carries the fixed source: the report
    goes to standard error (or --output-file)."""
    copy = argparse.Namespace(**vars(args))
    copy.report_stream = sys.stderr
    return copy


def _show_settings(resolver: "ConfigResolver", path: Path) -> int:
    """`--show-settings`: which config file applies to `path`, and every effective setting."""
    config = resolver.for_path(path)
    config_file = resolver.config_file_for(path)
    lines = [f"Resolved settings for: {path}",
             f"Settings path: {config_file if config_file is not None else '(none: the defaults)'}", ""]
    for field in fields(config):
        if field.name == "config_path":
            continue
        value = getattr(config, field.name)
        if field.name == "per_file_ignores":
            value = {glob: list(codes) for glob, codes in value}
        elif isinstance(value, tuple):
            value = list(value)
        key = {"max_file_size_mb": "max-file-size", "max_analysis_size_kb": "max-analysis-size"}.get(
            field.name, field.name.replace("_", "-"))
        lines.append(f"{key} = {value!r}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_CLEAN


def _write_report(args: argparse.Namespace, config: Config, diagnostics: List[Diagnostic]) -> None:
    """Render in the chosen format to stdout or --output-file. Statistics follow a text
    report; with a machine format they go to stderr, so the report stays parseable."""
    options = ReportOptions(unsafe_fixes=args.unsafe_fixes, show_source=args.show_source)
    sources = {}
    if needs_sources(config.output_format, options):
        from trainlint.report.sources import read_sources

        sources = read_sources(diagnostics)
    report = render(config.output_format, diagnostics, sources, options)
    statistics = format_statistics(diagnostics) if args.statistics else ""
    if config.output_format in TEXT_FORMATS:
        report, statistics = report + statistics, ""
    if args.output_file is not None:
        with open(args.output_file, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(report)
    else:
        stream = getattr(args, "report_stream", sys.stdout)
        if stream is None:  # started with stdout closed (`trainlint . >&-`)
            raise OSError(errno.EBADF, "it is closed")
        stream.write(report)
        stream.flush()  # a full disk fails here, not in the interpreter's exit
    sys.stderr.write(statistics)


def run_rules(argv: Sequence[str]) -> int:
    if argv:
        sys.stderr.write("trainlint: error: `trainlint rules` takes no arguments\n")
        return EXIT_ERROR
    from trainlint.rules import all_rules

    rows = [(r.code, r.name, r.severity.value, r.summary) for r in all_rules()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        sys.stdout.write(
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}\n"
        )
    return EXIT_CLEAN


def run_rule(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("trainlint: error: usage: trainlint rule CODE|NAME\n")
        return EXIT_ERROR
    from trainlint.frontends.docs import rule_documentation

    text = rule_documentation(argv[0])
    if text is None:
        sys.stderr.write(
            f"trainlint: error: unknown rule {argv[0]!r} (run `trainlint rules` for the list)\n"
        )
        return EXIT_ERROR
    sys.stdout.write(text)
    return EXIT_CLEAN


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that the pool is killed and the run ends as
    ^C does (BaseException: no `except Exception` on the way stops it)."""


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not interrupt the cleanup
    raise _Terminated()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if not (argv and argv[0] == "lsp"):  # the language server keeps its own ways of ending
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, AttributeError):  # not the main thread, or no SIGTERM here
            pass
    try:
        return _main(argv)
    except _Terminated:
        sys.stderr.write("trainlint: terminated\n")
        return 128 + signal.SIGTERM
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null: the interpreter's final flush would
    otherwise print 'Exception ignored ... BrokenPipeError'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


def _main(argv: List[str]) -> int:
    try:
        if argv and argv[0] == "rules":
            return run_rules(argv[1:])
        if argv and argv[0] == "rule":
            return run_rule(argv[1:])
        if argv and argv[0] == "lsp":
            from trainlint.frontends.lsp import main as run_lsp  # pygls is an optional extra

            return run_lsp(argv[1:])
        if argv and argv[0] == "check":
            argv = argv[1:]
        return run_check(argv)
    except KeyboardInterrupt:
        sys.stderr.write("trainlint: interrupted\n")
        return 128 + signal.SIGINT
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLEAN
    except Exception as error:  # noqa: BLE001 - last resort: one line, never a traceback
        sys.stderr.write(f"trainlint: internal error: {type(error).__name__}: {error}\n")
        if "-v" in argv or "--verbose" in argv:
            import traceback

            traceback.print_exc()
        return EXIT_ERROR
