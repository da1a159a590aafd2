"""trainlint: static analysis for machine-learning training code."""

__version__ = "0.1.0"

from trainlint.diagnostics import Diagnostic, Edit, Fix, Severity  # noqa: E402
from trainlint.engine import lint_source  # noqa: E402

__all__ = ["Diagnostic", "Edit", "Fix", "Severity", "lint_source", "__version__"]
