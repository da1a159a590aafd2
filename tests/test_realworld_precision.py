"""False positives found by bench/realworld.py on real packages, kept fixed.

Each snippet restates, in our own words, a shape seen in the sources of a published package
(named in the test id) that a rule wrongly reported. None of them may be reported again.
"""

import textwrap

import pytest

from trainlint.run.engine import lint_source

SILENT = {
    # d2l: `net.eval()` guarded by isinstance(net, nn.Module); a non-module has no mode
    "module-guarded eval (d2l)": ("TL101", """
        import torch
        from torch import nn

        def evaluate_accuracy(net, data_iter):
            if isinstance(net, nn.Module):
                net.eval()
            correct, total = 0, 0
            with torch.no_grad():
                for X, y in data_iter:
                    correct += (net(X).argmax(1) == y).sum().item()
                    total += y.numel()
            return correct / total

        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
        val_acc = evaluate_accuracy(net, val_iter)
        print(f"validation accuracy {val_acc:.3f}")
        """),
    # d2l: a running ratio of an accumulator object, refreshed every batch, is the epoch figure
    "running ratio of an accumulator (d2l)": ("TL204", """
        import torch

        def train_epoch(net, train_iter, loss, updater, metric):
            net.train()
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                updater.zero_grad()
                l.mean().backward()
                updater.step()
                metric.add(float(l.sum()), (y_hat.argmax(1) == y).sum().item(), y.numel())
                train_loss = metric[0] / metric[2]
                train_acc = metric[1] / metric[2]
            print(f"loss {train_loss:.3f}, train acc {train_acc:.3f}")
        """),
    # peft / gpytorch: a few optimisation steps inside a unit test, then asserts
    "training steps in a unit test (peft)": ("TL204", """
        import pytest
        import torch

        def test_short_training_run(model, inputs, labels):
            optim = torch.optim.SGD(model.parameters(), lr=0.1)
            for _ in range(5):
                optim.zero_grad()
                outputs = model(inputs, labels=labels)
                loss = outputs.loss
                loss.backward()
                optim.step()
            assert torch.isfinite(loss)
        """),
    # gpytorch: a test-case base class checks a train-mode forward pass on test data
    "train-mode forward in a TestCase (gpytorch)": ("TL101", """
        import torch
        from torch import nn

        class BaseModelTestCase:
            def test_forward_train(self):
                data = self.create_test_data()
                model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1))
                model.train()
                output = model(data)
                self.assertEqual(output.shape[0], data.shape[0])
        """),
    # imbalanced-learn: a resampling forest stores its out-of-bag accuracy as scikit-learn does
    "estimator attribute (imbalanced-learn)": ("TL205", """
        import numpy as np
        from imblearn.under_sampling import RandomUnderSampler
        from sklearn.metrics import accuracy_score

        class BalancedForest:
            def fit(self, X, y):
                X_res, y_res = RandomUnderSampler().fit_resample(X, y)
                self.trees_ = [self._grow(X_res, y_res) for _ in range(10)]
                return self

            def _set_oob_score(self, X, y):
                votes = self._oob_votes(X)
                self.oob_score_ = accuracy_score(y, np.argmax(votes, axis=1))
        """),
}


@pytest.mark.parametrize("name", SILENT)
def test_real_world_shape_stays_silent(name):
    code, source = SILENT[name]
    reported = [d.code for d in lint_source(textwrap.dedent(source), "example.py")]
    assert code not in reported, reported
