"""The analysis grows linearly with the file: 4x the code costs at most 5x the work.

Work is counted as Python function calls made by `lint_source` (cProfile's count, which is
deterministic), not as time: the same bound, without the noise of a shared machine. Each
shape is one way real scripts get long: many functions, one long training function, and a
notebook that rebinds the same names cell after cell.
"""

import cProfile
import pstats
import textwrap

import pytest

from trainlint.run.engine import lint_source

HEADER = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    """
)

FUNCTIONS = textwrap.dedent(
    """\
    class Net{i}(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(10, 2)

        def forward(self, x):
            return self.fc(self.drop(x))


    def train_{i}(model, loader, optimizer, criterion):
        model.train()
        total = 0.0
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / len(loader)


    def evaluate_{i}(model, loader):
        model.eval()
        correct = 0
        with torch.no_grad():
            for inputs, labels in loader:
                correct += (model(inputs).argmax(1) == labels).sum().item()
        return correct / len(loader.dataset)

    """
)

LONG_LOOP_STEP = """\
        h{i} = model(inputs) * {i}
        loss = loss + criterion(h{i}, labels)
        seen{i} = seen{i} + 1 if {i} else 0
"""

NOTEBOOK_CELL = textwrap.dedent(
    """\
    X = frame.drop(columns=["label"])
    y = frame["label"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train)
    X_test = scaler.transform(X_test)
    model = Net0()
    val_acc = evaluate_0(model, [(X_test, y_test)])
    if val_acc > best:
        best = val_acc
    """
)


def many_functions(size: int) -> str:
    return HEADER + "".join(FUNCTIONS.format(i=i) for i in range(size))


def long_training_function(size: int) -> str:
    steps = "".join(LONG_LOOP_STEP.format(i=i) for i in range(size))
    return HEADER + (
        "def train(model, loader, optimizer, criterion):\n"
        "    model.train()\n"
        "    for inputs, labels in loader:\n"
        "        loss = 0.0\n" + steps +
        "        loss.backward()\n"
        "        optimizer.step()\n"
    )


def rebinding_notebook(size: int) -> str:
    return many_functions(1) + "best = 0.0\n" + "".join(NOTEBOOK_CELL for _ in range(size))


def python_calls(text: str) -> int:
    lint_source(text, "warm.py")  # imports and caches outside the count
    profile = cProfile.Profile()
    profile.enable()
    lint_source(text, "grown.py")
    profile.disable()
    return pstats.Stats(profile).total_calls


@pytest.mark.parametrize("shape", [many_functions, long_training_function, rebinding_notebook],
                         ids=lambda shape: shape.__name__)
def test_four_times_the_code_is_at_most_five_times_the_work(shape):
    small, large = python_calls(shape(6)), python_calls(shape(24))
    assert large <= 5 * small, f"{shape.__name__}: {small} calls for 6 units, {large} for 24"
