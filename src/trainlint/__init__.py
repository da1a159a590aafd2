"""trainlint: static analysis for machine-learning training code."""

__version__ = "0.1.0"

from trainlint.core.diagnostics import Diagnostic, Edit, Fix, Severity  # noqa: E402

__all__ = ["Diagnostic", "Edit", "Fix", "Severity", "lint_source", "__version__"]


def __getattr__(name: str):
    # `lint_source` loads the engine (libcst and every rule) on first use, so that the CLI
    # can answer from its cache without that import.
    if name == "lint_source":
        from trainlint.run.engine import lint_source

        return lint_source
    raise AttributeError(f"module 'trainlint' has no attribute {name!r}")
