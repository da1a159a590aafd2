"""semantic/branches.py: the bindings the other arm of an `if` leaves to a later read, and the
TL303 questions in semantic/leakage.py that use them."""

from __future__ import annotations

import textwrap

import libcst as cst

from trainlint.core.config import Config
from trainlint.semantic.branches import BranchArms
from trainlint.semantic.context import FileContext


def context(source: str) -> FileContext:
    text = textwrap.dedent(source)
    return FileContext(text, "t.py", cst.parse_module(text), Config())


def read_of(ctx: FileContext, name: str) -> cst.Name:
    """The last read of `name` (not an assignment target)."""
    targets = set(ctx.dataflow.binding_of_target)
    return [n for n in ctx.index.of_type(cst.Name) if n.value == name and n not in targets][-1]


def reaching(ctx: FileContext, name: str):
    """The values (as code) of the bindings that reach the last read of `name`."""
    read = read_of(ctx, name)
    arms = BranchArms(ctx.dataflow, ctx.index)
    found = []
    for binding in ctx.dataflow.resolve_name(name, read):
        found.append(binding)
        found.extend(arms.alternatives(binding, read))
    return sorted(ctx.code(b.value) for b in found)


def test_both_arms_of_an_if_else_reach_a_read_after_it():
    ctx = context(
        """
        if scaling:
            values = scale(raw)
        else:
            values = raw
        print(values)
        """
    )
    assert reaching(ctx, "values") == ["raw", "scale(raw)"]


def test_without_else_the_binding_before_the_if_reaches_too():
    ctx = context(
        """
        values = raw
        if scaling:
            values = scale(raw)
        print(values)
        """
    )
    assert reaching(ctx, "values") == ["raw", "scale(raw)"]


def test_every_arm_of_an_elif_chain_reaches():
    ctx = context(
        """
        if method == "a":
            values = first(raw)
        elif method == "b":
            values = second(raw)
        else:
            values = raw
        print(values)
        """
    )
    assert reaching(ctx, "values") == ["first(raw)", "raw", "second(raw)"]


def test_a_read_inside_the_arm_sees_that_arm_only():
    ctx = context(
        """
        values = raw
        if scaling:
            values = scale(raw)
            print(values)
        """
    )
    assert reaching(ctx, "values") == ["scale(raw)"]


def test_the_last_binding_of_the_other_arm_is_the_one_left():
    ctx = context(
        """
        if scaling:
            values = scale(raw)
        else:
            values = raw
            values = clip(values)
        print(values)
        """
    )
    assert reaching(ctx, "values") == ["clip(values)", "scale(raw)"]


def test_a_fit_under_if_is_found_though_the_else_arm_is_written_last():
    ctx = context(
        """
        import numpy as np
        from sklearn.preprocessing import MinMaxScaler

        def prepare(series, scaling=True):
            if scaling:
                values = MinMaxScaler().fit_transform(np.asarray(series).reshape(-1, 1))
            else:
                values = np.asarray(series).reshape(-1, 1)
            cut = int(len(values) * 0.8)
            train_part, test_part = values[:cut], values[cut:]
            return train_part, test_part
        """
    )
    facts = ctx.leakage
    [fit] = [fit for fit in facts.fits if fit.method == "fit_transform"]
    split = facts.fit_leak(fit)
    assert split is not None and split.kind == "index"


def test_a_training_part_fitted_in_full_leaks_into_cross_validation_only():
    ctx = context(
        """
        from sklearn.model_selection import cross_val_score, train_test_split
        from sklearn.preprocessing import StandardScaler

        X_train, X_test, y_train, y_test = train_test_split(X, y)
        X_train_std = StandardScaler().fit_transform(X_train)
        model.fit(X_train_std, y_train, validation_split=0.1)
        scores = cross_val_score(clf, X_train_std, y_train, cv=5)
        """
    )
    facts = ctx.leakage
    [fit] = facts.fits[:1]
    split = facts.fit_leak(fit)
    assert split is not None and split.kind == "cv"


def test_a_statistic_of_a_row_slice_covers_no_whole_data():
    ctx = context(
        """
        peak = load[: int(len(load) * 0.7)].max()
        first = load[:100]
        """
    )
    facts = ctx.leakage
    peak = [c for c in ctx.index.of_type(cst.Call) if ctx.code(c).endswith(".max()")][0]
    assert facts.fitted_rows(facts.statistic_data(peak)) == set()
    assert {b.name for b in facts.fitted_rows(read_of(ctx, "load"))} == {"load"}
