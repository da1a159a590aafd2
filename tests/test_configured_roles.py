"""Configured role names (`train-names`, `validation-names`, `test-names`) reach every rule.

Regression for issue 18: with `test-names = ["holdin"]`, `ctx.roles` took `holdin_acc` for
test data while TL401 (and TL402 for `validation-names`) still read the default words.

The rules are checked on the file's facts directly (`_findings`) and through `lint_source`,
where the gate's anchors must read the configured names too (gate/roles.py).
"""

from __future__ import annotations

from typing import List

import libcst as cst

from trainlint.core.config import Config, parse_table
from trainlint.rules.tl401_test_set_model_selection import TestSetModelSelection
from trainlint.rules.tl402_selection_metric_reported import SelectionMetricReported
from trainlint.run.engine import lint_source
from trainlint.semantic.context import FileContext

HOLDIN = Config(**parse_table({"test-names": ["holdin"]}, source="pyproject.toml"))
CALIB = Config(**parse_table({"validation-names": ["calib"]}, source="pyproject.toml"))

# TL401: a checkpoint kept by a test figure, and that figure reported.
SELECTED_ON_HOLDIN = """\
best_acc = 0.0
for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    holdin_acc = evaluate(model, holdin_loader)
    if holdin_acc > best_acc:
        best_acc = holdin_acc
        torch.save(model.state_dict(), "best.pt")
print(f"holdin accuracy: {best_acc:.3f}")
"""
SELECTED_ON_TEST = SELECTED_ON_HOLDIN.replace("holdin", "test")

# TL402: the best validation figure reported as the final result.
REPORTED_CALIB = """\
best_acc = 0.0
for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    calib_acc = evaluate(model, calib_loader)
    if calib_acc > best_acc:
        best_acc = calib_acc
        torch.save(model.state_dict(), "best.pt")
print(f"final accuracy: {best_acc:.3f}")
"""
REPORTED_VAL = REPORTED_CALIB.replace("calib", "val")


def _findings(rule_class, text: str, config: Config) -> List[int]:
    """Lines the rule reports on `text`, run on the facts without the prefilter."""
    ctx = FileContext(text, "train.py", cst.parse_module(text), config)
    return [ctx.position(finding.node).start.line for finding in rule_class().check(ctx)]


def test_configured_test_names_make_tl401_see_holdin_data():
    assert _findings(TestSetModelSelection, SELECTED_ON_HOLDIN, HOLDIN) == [5]
    assert _findings(TestSetModelSelection, SELECTED_ON_HOLDIN, Config()) == []


def test_configured_test_names_replace_the_default_ones():
    assert _findings(TestSetModelSelection, SELECTED_ON_TEST, Config()) == [5]
    assert _findings(TestSetModelSelection, SELECTED_ON_TEST, HOLDIN) == []


def test_configured_validation_names_make_tl402_see_calib_data():
    assert _findings(SelectionMetricReported, REPORTED_CALIB, CALIB) == [5]
    assert _findings(SelectionMetricReported, REPORTED_CALIB, Config()) == []
    assert _findings(SelectionMetricReported, REPORTED_VAL, CALIB) == []


def test_roles_answer_with_configured_names():
    text = "holdin_acc = 1\n"
    ctx = FileContext(text, "train.py", cst.parse_module(text), HOLDIN)
    assert ctx.roles.name_role("holdin_acc") == "test"
    assert ctx.roles.name_role("test_acc") is None
    assert ctx.selection.roles is ctx.roles


def _codes(text: str, config: Config) -> List[str]:
    return [diagnostic.code for diagnostic in lint_source(text, "train.py", config)]


def test_default_names_through_the_engine():
    assert "TL401" in _codes(SELECTED_ON_TEST, Config())
    assert "TL402" in _codes(REPORTED_VAL, Config())


def test_tl401_holdin_through_the_engine():
    assert "TL401" in _codes(SELECTED_ON_HOLDIN, HOLDIN)


def test_tl402_calib_through_the_engine():
    assert "TL402" in _codes(REPORTED_CALIB, CALIB)
