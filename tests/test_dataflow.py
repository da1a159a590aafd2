"""The module-wide data-flow and split facts that TL301-TL307 read."""

from __future__ import annotations

import textwrap

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.core.config import Config
from trainlint.run.engine import lint_source


def context(source: str) -> FileContext:
    text = textwrap.dedent(source)
    return FileContext(text, "t.py", cst.parse_module(text), Config())


def name_node(ctx: FileContext, name: str, occurrence: int = -1) -> cst.Name:
    return [n for n in ctx.index.of_type(cst.Name) if n.value == name][occurrence]


def derived_names(ctx: FileContext, name: str, occurrence: int = -1):
    return {b.name for b in ctx.dataflow.derivation(name_node(ctx, name, occurrence))}


def test_data_is_followed_through_helpers_and_returned_tuples():
    ctx = context(
        """
        import pandas as pd

        def load(path):
            frame = pd.read_csv(path)
            return frame.drop(columns=["y"]), frame["y"]

        raw_path = "data.csv"
        features, labels = load(raw_path)
        X = features.values
        """
    )
    assert {"features", "frame", "path"} <= derived_names(ctx, "X", 0)


def test_recursive_helpers_close_a_cycle_instead_of_recursing():
    ctx = context(
        """
        def leaves(node):
            if node.left is None:
                return [node]
            return leaves(node.left) + leaves(node.right)

        found = leaves(tree)
        """
    )
    assert "tree" in derived_names(ctx, "found", 0)


def test_columns_written_then_dropped_no_longer_reach_the_frame():
    ctx = context(
        """
        df["tmp"] = encoder.fit_transform(df[["city"]])
        df = df.drop(columns=["tmp"])
        out = df
        """
    )
    state = ctx.dataflow.call_state(ctx.index.of_type(cst.Call)[0])
    reached = ctx.dataflow.derivation(name_node(ctx, "out", 0), ("rows", "element", "state"))
    assert state is not None and state not in reached


def test_split_outputs_get_their_roles_in_the_order_train_test_split_returns_them():
    ctx = context(
        """
        from sklearn.model_selection import train_test_split
        a1, a2, b1, b2 = train_test_split(A, B, test_size=0.2)  # no roles in the names
        X_tr, X_val = X[:800], X[800:]
        for tr_idx, va_idx in KFold(5).split(X):
            pass
        """
    )
    roles = {b.name: b.part_role for b in ctx.dataflow.all_bindings if b.part_role}
    assert roles["a1"] == roles["b1"] == "train"
    assert roles["a2"] == roles["b2"] == "eval"
    assert roles["X_tr"] == "train" and roles["X_val"] == "validation"
    kinds = sorted(split.kind for split in ctx.splits.splits)
    assert kinds == ["index", "train_test_split"]  # KFold is not imported: not a splitter


def test_sequence_shifts_are_not_splits():
    ctx = context(
        """
        inputs, targets = tokens[:-1], tokens[1:]
        """
    )
    assert ctx.splits.splits == []


def test_leak_thirty_lines_apart_inside_a_helper_is_found():
    filler = "\n".join(f"print('step {i}')" for i in range(35))
    source = (
        "from sklearn.preprocessing import StandardScaler\n"
        "from sklearn.model_selection import train_test_split\n\n"
        "def prepare(frame):\n"
        "    frame[['a', 'b']] = StandardScaler().fit_transform(frame[['a', 'b']])\n"
        "    return frame\n\n"
        "table = prepare(raw)\n" + filler + "\n"
        "X_train, X_test = train_test_split(table.drop(columns=['y']))\n"
    )
    found = [(d.code, d.line) for d in lint_source(source, "t.py") if d.code == "TL303"]
    assert found == [("TL303", 5)]


def test_findings_do_not_depend_on_set_order():
    source = textwrap.dedent(
        """
        import numpy as np
        import pandas as pd
        a = pd.read_csv("a.csv").values
        b = np.concatenate([a, np.load("b.npy")])
        c = np.concatenate([b, np.load("c.npy")])
        model.fit(c, labels, validation_split=0.2)
        """
    )
    messages = {d.message for _ in range(5) for d in lint_source(source, "t.py") if d.code == "TL302"}
    assert len(messages) == 1
