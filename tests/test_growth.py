"""Growth: no work quadratic in the size of a file. A generated file four times larger may
cost at most five times as much. Cost is counted, not timed (tests never fail on timings):
the number of Python function calls the analysis makes, which is deterministic."""

from __future__ import annotations

import cProfile
import pstats
import textwrap

import pytest

from trainlint import lint_source

# Training functions, each with its own loops and a finding (TL101): many functions.
FUNCTION = textwrap.dedent(
    """\
    def train_and_evaluate_{i}(model_{i}, train_loader_{i}, val_loader_{i}, optimizer_{i}, epochs_{i}):
        criterion_{i} = torch.nn.CrossEntropyLoss()
        for epoch_{i} in range(epochs_{i}):
            model_{i}.train()
            for x_{i}, y_{i} in train_loader_{i}:
                optimizer_{i}.zero_grad()
                loss_{i} = criterion_{i}(model_{i}(x_{i}), y_{i})
                loss_{i}.backward()
                optimizer_{i}.step()
            correct_{i} = 0
            with torch.no_grad():
                for xv_{i}, yv_{i} in val_loader_{i}:
                    correct_{i} += (model_{i}(xv_{i}).argmax(1) == yv_{i}).sum().item()
            print(f"epoch {{epoch_{i}}}: accuracy {{correct_{i} / len(val_loader_{i}.dataset):.4f}}")
        return model_{i}


    """
)
# A notebook-style script at module level: one name rebound again and again, splits, fits.
STATEMENTS = textwrap.dedent(
    """\
    df = df.dropna()
    df["feature_{i}"] = df["raw_{i}"] * 2
    scaler_{i} = StandardScaler().fit(df[["feature_{i}"]])
    X_{i} = scaler_{i}.transform(df[["feature_{i}"]])
    X_train_{i}, X_test_{i}, y_train_{i}, y_test_{i} = train_test_split(X_{i}, df["label"], test_size=0.2)
    clf_{i} = LogisticRegression().fit(X_train_{i}, y_train_{i})
    print(accuracy_score(y_test_{i}, clf_{i}.predict(X_test_{i})))
    """
)
# One long function: statements and reassignments of the same names inside one scope.
LONG_BODY = textwrap.indent(textwrap.dedent(
    """\
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        total = 0.0
        for x, y in val_loader:
            total += criterion(model(x), y).item()
        history.append(total / len(val_loader))
    """
), "    ")

HEADERS = {
    "functions": "import torch\n\n\n",
    "module-statements": "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
                         "from sklearn.metrics import accuracy_score\nfrom sklearn.model_selection import train_test_split\n"
                         "from sklearn.preprocessing import StandardScaler\n\ndf = pd.read_csv('data.csv')\n",
    "long-function": "import torch\n\n\ndef fit(model, train_loader, val_loader, optimizer, criterion, history):\n",
}
BLOCKS = {"functions": FUNCTION, "module-statements": STATEMENTS, "long-function": LONG_BODY}


# A test module that assigns the same names over and over and compares them (keras'
# numpy_test.py: 450 KB); the gate's selection anchor once walked every value of a name for
# every comparison of it, two assignments deep.
REASSIGNED = textwrap.dedent(
    """\
    x = ops.compute(x, {i})
    if x > limit_{i}:
        x = limit_{i}
    """
)


def generated(kind: str, blocks: int) -> str:
    return HEADERS[kind] + "".join(BLOCKS[kind].format(i=i) for i in range(blocks))


def calls_to_lint(text: str) -> int:
    lint_source(text, "warm-up.py")  # imports and first-use caches are not the file's cost
    profiler = cProfile.Profile()
    profiler.enable()
    diagnostics = lint_source(text, "generated.py")
    profiler.disable()
    assert diagnostics and all(d.code >= "TL1" for d in diagnostics), "the generated file must reach the rules"
    return pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]


# A module-level notebook with a split per cell, each cell rebinding `df`: the derivation of
# every split holds every earlier rebinding of `df`. The ancestry walks share the closures of
# the bindings they started from, the other pairwise checks (each fit against each split,
# each split against each evidence site) stay, but cost a dictionary look-up a pair.
@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_four_times_the_file_costs_at_most_five_times_the_work(kind):
    small, large = calls_to_lint(generated(kind, 20)), calls_to_lint(generated(kind, 80))
    assert large <= 5 * small, f"{kind}: {large / small:.2f}x the calls for 4x the file"


def calls_to_gate(text: str) -> int:
    from trainlint.gate.prefilter import triggered_rules
    from trainlint.rules import all_rules

    rules = all_rules()
    triggered_rules(rules, "import torch\n")  # first-use caches
    profiler = cProfile.Profile()
    profiler.enable()
    triggered_rules(rules, text)
    profiler.disable()
    return pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]


def test_the_gate_costs_at_most_five_times_for_four_times_the_reassignments():
    header = "import torch\nval_loss = evaluate(model, val_loader)\nbest_loss = val_loss\n"
    small, large = (calls_to_gate(header + "".join(REASSIGNED.format(i=i) for i in range(n))) for n in (25, 100))
    assert large <= 5 * small, f"{large / small:.2f}x the calls for 4x the file"


# One long expression: a comparison chain whose names are also what they are assigned from
# (`X = scaler.fit_transform(X < X < ...)`). The gate's selection anchor followed each
# occurrence of each name two hops deep: cubic (4x the chain cost about 60x the calls).
CHAIN_HEADER = HEADERS["module-statements"] + "X = df.drop(columns=['label'])\ny = df['label']\n"
CHAIN_TAIL = "X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)\n"


def comparison_chain(terms: int) -> str:
    return CHAIN_HEADER + "X = StandardScaler().fit_transform(" + " < ".join(["X"] * terms) + ")\n" + CHAIN_TAIL


def test_four_times_a_comparison_chain_costs_at_most_five_times_the_work():
    small, large = calls_to_lint(comparison_chain(25)), calls_to_lint(comparison_chain(100))
    assert large <= 5 * small, f"{large / small:.2f}x the calls for 4x the chain"
