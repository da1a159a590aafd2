"""TL301's evidence is read per binding (issue 19 item 2, issue 21 item 2).

A notebook that rebinds `X_train` / `y_train` to another data set must not carry the
classification evidence of one binding to another: no finding, and above all no
`stratify=` fix, on a regression target (scikit-learn raises "The least populated class in
y has only 1 member" on a continuous target).
"""

from __future__ import annotations

from trainlint.core.config import Config
from trainlint.fix.apply import fix_text
from trainlint.run.engine import lint_source

REBOUND = """\
import tensorflow as tf
from sklearn.datasets import fetch_california_housing
from sklearn.model_selection import train_test_split

housing = fetch_california_housing()
X_train_full, X_test, y_train_full, y_test = train_test_split(housing.data, housing.target.reshape(-1, 1))
X_train, X_valid, y_train, y_valid = train_test_split(X_train_full, y_train_full)
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="sgd")
model.fit(X_train, y_train, validation_data=(X_valid, y_valid))

(X_train_full, y_train_full), (X_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
X_valid, X_train = X_train_full[:5000], X_train_full[5000:]
y_valid, y_train = y_train_full[:5000], y_train_full[5000:]
model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"])
model.fit(X_train, y_train, validation_data=(X_valid, y_valid))
"""


def lint(text):
    return lint_source(text, "example.py", Config())


def test_regression_target_split_before_a_rebinding_gets_no_finding_and_no_fix():
    assert [d for d in lint(REBOUND) if d.code == "TL301"] == []
    result, _ = fix_text(REBOUND, lint, unsafe=True)
    assert "stratify=" not in result.text


def test_classification_binding_of_the_same_names_is_reported_with_a_safe_fix():
    text = REBOUND.replace(
        "y_valid, y_train = y_train_full[:5000], y_train_full[5000:]",
        "X_train, X_valid, y_train, y_valid = train_test_split(X_train_full, y_train_full)",
    )
    findings = [d for d in lint(text) if d.code == "TL301"]
    assert [d.line for d in findings] == [14]
    assert findings[0].fix is not None and findings[0].fix.safe
    result, _ = fix_text(text, lint, unsafe=False)
    assert "train_test_split(X_train_full, y_train_full, stratify=y_train_full)" in result.text
    assert "housing.target.reshape(-1, 1), stratify" not in result.text
