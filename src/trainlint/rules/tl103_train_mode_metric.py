"""TL103 train-mode-metric."""

from __future__ import annotations

from typing import Iterator

from trainlint.semantic.context import FileContext
from trainlint.semantic.figures import side_by_side
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule


class TrainModeMetric(Rule):
    code = "TL103"
    name = "train-mode-metric"
    severity = Severity.WARNING
    summary = "A train-mode training metric is reported beside an eval-mode validation metric."
    message = (
        "train-mode training figure reported beside an eval-mode validation figure: the training "
        "figure accumulated in train mode (dropout on, weights changing) is not comparable with "
        "a validation figure measured in eval mode, so validation "
        "above training is expected here; to compare them, evaluate the training set in eval mode "
        "with the validation code"
    )
    # a PyTorch import (figures._pytorch) or a Keras one (figures._keras); the anchors do the rest
    triggers = ("torch", "lightning", "keras", "tensorflow", "tf")
    anchors = ("batch_loop", "keras_import")  # PyTorch figures come from batch loops; Keras needs its import

    what_it_does = (
        "PyTorch: flags the print / log / tracker call, dict, return or plot that puts a training "
        "metric accumulated inside the training loop (running loss, correct count, accuracy) "
        "beside a validation metric computed in eval mode, when the model has (or may have) "
        "dropout or batch norm (layers added with `add_module` / `append` count; PyTorch "
        "Geometric convolutions are mode-free unless built with dropout). Curves returned by a "
        "helper as a tuple are followed per position (`hist = train(...)`; `plot(hist[0])` "
        "beside `plot(hist[2])`). Must not flag: a model of this file with no mode-dependent "
        "layer; a tuple of separate curves returned (its callers decide). Keras: flags printing or plotting `history['accuracy']` (or any "
        "metric) together with `history['val_accuracy']` when the model visibly contains dropout, "
        "batch normalisation, noise or augmentation layers."
    )
    why_it_matters = (
        "The training figure is an average over an epoch in which dropout was active, the batches "
        "were augmented and the weights kept changing; the validation figure comes from the final "
        "weights in eval mode. Validation accuracy above training accuracy is then normal, not a "
        "bug, and the gap between the curves says little about over- or under-fitting."
    )
    example = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)

@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    hits = 0
    for x, y in loader:
        hits += (model(x).argmax(1) == y).sum().item()
    return hits / len(loader.dataset)

for epoch in range(epochs):
    model.train()
    correct = 0
    for x, y in train_loader:
        optimizer.zero_grad()
        out = model(x)
        criterion(out, y).backward()
        optimizer.step()
        correct += (out.argmax(1) == y).sum().item()
    train_acc = correct / len(train_loader.dataset)
    val_acc = evaluate(model, val_loader)
    print(f"train acc {train_acc:.3f}  val acc {val_acc:.3f}")
"""
    use_instead = """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)

@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    hits = 0
    for x, y in loader:
        hits += (model(x).argmax(1) == y).sum().item()
    return hits / len(loader.dataset)

for epoch in range(epochs):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    train_acc = evaluate(model, train_eval_loader)  # same eval-mode code, no augmentation
    val_acc = evaluate(model, val_loader)
    print(f"train acc {train_acc:.3f}  val acc {val_acc:.3f}")
"""
    fix_safety = "This rule has no automatic fix."
    references = (
        "https://discuss.pytorch.org/t/higher-accuracy-in-the-validation-dataset/",
        "https://keras.io/getting_started/faq/#why-is-my-training-loss-much-higher-than-my-testing-loss",
    )

    INVALID = (
        Invalid(
            """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)

def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)

for epoch in range(10):
    model.train()
    correct = 0
    for x, y in train_loader:
        optimizer.zero_grad()
        out = model(x)
        criterion(out, y).backward()
        optimizer.step()
        correct += (out.argmax(1) == y).sum().item()
    train_acc = correct / len(train_loader.dataset)
    val_acc = evaluate(model, val_loader)
    print(f"epoch {epoch}: train acc {train_acc:.3f} val acc {val_acc:.3f}")
""",
            line=25,
            message="train-mode training figure reported beside an eval-mode validation figure",
        ),
        Invalid(
            """\
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dropout(0.5), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_split=0.2, epochs=20)
plt.plot(history.history["accuracy"], label="train")
plt.plot(history.history["val_accuracy"], label="validation")
plt.legend()
""",
            line=8,
            message="training `accuracy` from Keras history",
        ),
    )
    VALID = (
        """\
import torch
import torchvision

model = torchvision.models.resnet18(num_classes=10)

def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)

for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    train_acc = evaluate(model, train_eval_loader)
    val_acc = evaluate(model, val_loader)
    print(f"epoch {epoch}: train acc {train_acc:.3f} val acc {val_acc:.3f}")
""",
        """\
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.LSTM(16), layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=10)
plt.plot(history.history["accuracy"], label="train")
plt.plot(history.history["val_accuracy"], label="validation")
""",
        """\
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(64), layers.BatchNormalization(), layers.Dense(1)])
history = model.fit(x_train, y_train, validation_split=0.1, epochs=10)
plt.figure()
plt.plot(history.history["loss"])
plt.title("training loss")
plt.figure()
plt.plot(history.history["val_loss"])
plt.title("validation loss")
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for item in side_by_side(ctx):
            if item.kind == "keras":
                metric = item.detail or "the metric"
                message = (
                    f"training `{metric}` from Keras history shown beside `val_{metric}`: the first is "
                    "averaged over the epoch with dropout/batch-norm/augmentation active, the second "
                    "measured at its end in inference mode; they are not comparable, so validation above training is "
                    "expected; use model.evaluate on the training data for a comparable figure"
                    if item.detail else
                    "training metrics from Keras history shown beside the val_ metrics: the first are "
                    "averaged over the epoch with dropout/batch-norm/augmentation active, the second "
                    "measured in inference mode; they are not comparable, so validation above training is expected; use "
                    "model.evaluate on the training data for a comparable figure"
                )
                yield self.report(item.node, message=message)
            else:
                yield self.report(item.node)
