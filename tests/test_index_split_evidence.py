"""Index splits need evidence that the slices are training / evaluation data.

Found on real library code (captum, torch_geometric, peft): slicing arithmetic such as
`a[n:] - a[:-n]` and reordering rows by a test index were taken for data splits, which made
TL303/TL304 report statistics and concatenations that have nothing to do with evaluation.
"""

import textwrap

import pytest

from trainlint.run.engine import lint_source

NOT_SPLITS = {
    "slice arithmetic": """
        import torch
        def shapley_step(prev_results, modified_eval, n):
            all_eval = torch.cat((prev_results, modified_eval), dim=0)
            eval_diff = all_eval[n:] - all_eval[:-n]
            prev_results = all_eval[-n:]
            return eval_diff.mean(0), prev_results
        """,
    "rows reordered by a test index": """
        import torch
        def read_graph(allx, tx, ally, ty, test_index):
            low = test_index.min()
            sorted_test_index = test_index.sort()[0]
            x = torch.cat([allx, tx], dim=0)
            x[test_index] = x[sorted_test_index]
            y = torch.cat([ally, ty], dim=0)
            y[test_index] = y[sorted_test_index]
            return x, y, low
        """,
    "centering before windowing": """
        import torch
        def windows(X, k):
            mean = torch.mean(X, dim=0)
            X = X - mean
            return X[:k], X[k:2 * k]
        """,
}

SPLITS = {
    "named parts": """
        import torch
        X = torch.load("features.pt")
        X = X - X.min(0)[0]
        n = int(0.8 * len(X))
        train_x = X[:n]
        test_x = X[n:]
        """,
    "parts handed to fit and evaluate": """
        import numpy as np
        from tensorflow import keras
        X = np.load("features.npy")
        y = np.load("labels.npy")
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(loss="mse")
        model.fit(X[:800], y[:800])
        print(model.evaluate(X[800:], y[800:]))
        """,
}


def _codes(source):
    return [d.code for d in lint_source(textwrap.dedent(source), "script.py")]


@pytest.mark.parametrize("name", NOT_SPLITS)
def test_slicing_without_split_evidence_is_not_a_split(name):
    assert not {"TL303", "TL304"} & set(_codes(NOT_SPLITS[name]))


@pytest.mark.parametrize("name", SPLITS)
def test_slices_used_as_parts_are_splits(name):
    assert "TL303" in _codes(SPLITS[name])
