"""The `selection` anchor (trainlint/anchors/selection.py): it holds wherever SelectionFacts
finds a selection, through each fact builder and each way of spelling it, and stays off on
library code that merely says "best" or calls `max(`."""

from __future__ import annotations

import libcst as cst
import pytest

from test_anchors import holds
from trainlint.semantic.context import FileContext
from trainlint.core.config import Config
from trainlint.rules import all_rules


def selections(text: str):
    ctx = FileContext(text, "t.py", cst.parse_module(text), Config())
    return ctx.selection.selections


def anchor(text: str) -> bool:
    return holds(text, "selection")


# Each snippet holds a selection SelectionFacts finds; the comment names the path.
SELECTIONS = {
    # _best_ifs: the metric's role from its name
    "best-if test name": """\
best_acc = 0.0
for epoch in range(epochs):
    test_acc = evaluate(model, test_loader)
    if test_acc > best_acc:
        best_acc = test_acc
        torch.save(model.state_dict(), "best.pt")
print(best_acc)
""",
    # _best_ifs: the metric's role from the value it was assigned (`loaders["val"]`)
    "best-if role from value": """\
top = 0
for epoch in range(10):
    acc = run_epoch(net, loaders["val"])
    if acc > top:
        top = acc
print("top", top)
""",
    # _best_ifs: the role from an enclosing `if phase == "val"` (the PyTorch tutorial)
    "best-if phase guard": """\
import copy

def train_model(model, dataloaders, criterion, optimizer, num_epochs=25):
    best_acc = 0.0
    for epoch in range(num_epochs):
        for phase in ["train", "val"]:
            running_corrects = 0
            for inputs, labels in dataloaders[phase]:
                running_corrects += (model(inputs).argmax(1) == labels).sum()
            epoch_acc = running_corrects.double() / len(dataloaders[phase].dataset)
            if phase == "val":
                if epoch_acc > best_acc:
                    best_acc = epoch_acc
                    best_model_wts = copy.deepcopy(model.state_dict())
    print(f"Best val Acc: {best_acc:4f}")
    return model
""",
    # _best_ifs: attributes, the best on the left, the assignment one `if` down
    "best-if attribute reversed": """\
class Loop:
    def on_epoch_end(self, valid_loss):
        if self.best_loss > valid_loss:
            if self.save:
                self.best_loss = valid_loss
                self.model.save_weights("best.h5")
        print(self.best_loss)
""",
    # _best_ifs: early stopping, the best kept in the `else` branch
    "best-if else branch": """\
best_val_loss, wait = float("inf"), 0
for epoch in range(100):
    val_loss = validate(model, valid_dl)
    if val_loss >= best_val_loss:
        wait += 1
    else:
        best_val_loss = val_loss
        wait = 0
print("best", best_val_loss)
""",
    # _best_ifs: a one-line suite inside `and`
    "best-if one line": """\
for epoch in range(5):
    dev_f1 = score(model, dev)
    if epoch > 2 and dev_f1 >= best: best = dev_f1
print(best)
""",
    # _best_ifs: `best = max(best, val_acc)`
    "running max": """\
best = 0.0
for epoch in range(10):
    val_acc = evaluate(model, val_loader)
    best = max(best, val_acc)
print("best", best)
""",
    "running min reversed": """\
best_loss = float("inf")
for epoch in range(10):
    val_loss = evaluate(model, val_loader)
    best_loss = min(val_loss, best_loss)
""",
    # _lr_plateaus: bound to an attribute, the figure passed positionally or as `metrics=`
    "plateau": """\
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=3)
for epoch in range(30):
    test_loss = evaluate(model, test_loader)
    scheduler.step(test_loss)
""",
    "plateau keyword": """\
from torch.optim.lr_scheduler import ReduceLROnPlateau as Plateau, ReduceLROnPlateau

class Runner:
    def __init__(self, opt):
        self.sched = ReduceLROnPlateau(opt)

    def epoch(self, val_loader):
        self.sched.step(metrics=self.evaluate(val_loader))
""",
    # _keras: validation_data, a callbacks list by name, tf.keras
    "keras validation data": """\
import tensorflow as tf

stop = tf.keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)
callbacks = [stop]
history = model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=callbacks)
print(model.evaluate(x_test, y_test))
""",
    "keras validation split": """\
from keras.callbacks import ModelCheckpoint as Checkpoint

ckpt = Checkpoint("m.h5", save_best_only=True)
history = model.fit_generator(gen, validation_split=0.2, callbacks=[ckpt])
print(max(history.history["val_accuracy"]))
""",
    # _hugging_face: load_best_model_at_end, or an EarlyStoppingCallback
    "hf trainer": """\
from transformers import Trainer, TrainingArguments

args = TrainingArguments("out", load_best_model_at_end=True, metric_for_best_model="f1")
trainer = Trainer(model=model, args=args, train_dataset=ds["train"], eval_dataset=ds["validation"])
trainer.train()
print(trainer.evaluate())
""",
    "hf early stopping": """\
from transformers import EarlyStoppingCallback
from trl import SFTTrainer

trainer = SFTTrainer(model, train_dataset=train_ds, eval_dataset=test_ds,
                     callbacks=[EarlyStoppingCallback(early_stopping_patience=2)])
trainer.train()
""",
    # _lightning: pytorch_lightning, an aliased Trainer, a callbacks list
    "lightning": """\
import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
trainer = pl.Trainer(max_epochs=5, callbacks=[checkpoint])
trainer.fit(model, train_loader, val_loader)
trainer.test(model, test_loader, ckpt_path="best")
""",
    "lightning alias": """\
from lightning.pytorch import Trainer as T
from lightning.pytorch.callbacks import EarlyStopping

cbs = [EarlyStopping("val_acc")]
t = T(callbacks=cbs)
t.fit(model, datamodule=dm)
""",
    # _searches
    "grid search": """\
from sklearn.model_selection import GridSearchCV

search = GridSearchCV(SVC(), {"C": [1, 10]}, cv=5)
search.fit(X, y)
print(search.best_score_)
""",
    "randomized search on test": """\
from sklearn import model_selection

search = model_selection.RandomizedSearchCV(est, grid)
search.fit(X_test, y_test)
print(search.score(X_test, y_test))
""",
    # _comparisons
    "max key": """\
scores = {}
for C in [0.1, 1, 10]:
    scores[C] = SVC(C=C).fit(X_train, y_train).score(X_test, y_test)
best_C = max(scores, key=scores.get)
print(best_C, scores[best_C])
""",
    "max items": """\
val_results = {name: m.score(X_val, y_val) for name, m in models.items()}
name, acc = max(val_results.items(), key=lambda item: item[1])
print(name, acc)
""",
    "max of a figure list": """\
val_accs = []
for epoch in range(10):
    val_accs.append(evaluate(model, val_loader))
print("final", max(val_accs))
""",
    "argmax": """\
import numpy as np

val_scores = [evaluate(m, val_loader) for m in candidates]
best = np.argmax(val_scores)
print(candidates[best], val_scores[best])
""",
    "idxmax": """\
row = results.loc[results["val_f1"].idxmax()]
print(row)
""",
}


@pytest.mark.parametrize("name", SELECTIONS)
def test_every_selection_path_holds_the_anchor(name):
    text = SELECTIONS[name]
    assert selections(text), "the snippet should hold a selection SelectionFacts finds"
    assert anchor(text)


def test_notebook_code_holds_the_anchor():
    text = (
        "import pandas as pd\n"
        "# %%\n"
        "df = pd.DataFrame(rows)\n"
        "best = df.loc[df['test_acc'].idxmax()]\n"
        "display(best)\n"
    )
    assert selections(text) and anchor(text)


def test_rule_examples_hold_the_anchor_where_they_report():
    for rule in all_rules():
        if rule.code not in ("TL401", "TL402"):
            continue
        assert rule.anchors == ("selection",)
        for text in rule.invalid_snippets() + (rule.example,):
            assert anchor(text), (rule.code, text)


# Library and model code: says "best", calls max(, has no selection on held-out data.
LIBRARY = {
    "timm model": """\
import torch.nn as nn

def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v

class SqueezeExcite(nn.Module):
    def __init__(self, chs, rd_ratio=0.25):
        super().__init__()
        rd_channels = make_divisible(chs * rd_ratio)
        self.fc = nn.Linear(chs, rd_channels)

    def forward(self, x):
        return x * self.fc(x.mean((2, 3))).sigmoid()
""",
    "timm checkpoint saver": """\
import operator

class CheckpointSaver:
    def __init__(self, decreasing=False, max_history=10):
        self.best_epoch = None
        self.best_metric = None
        self.cmp = operator.lt if decreasing else operator.gt
        self.max_history = max_history

    def save_checkpoint(self, epoch, metric=None):
        if metric is not None and (self.best_metric is None or self.cmp(metric, self.best_metric)):
            self.best_epoch = epoch
            self.best_metric = metric
        worst = min(self.checkpoint_files, key=lambda x: x[1])
        return (None, None) if self.best_metric is None else (self.best_metric, self.best_epoch)
""",
    "timm plateau scheduler": """\
import torch

class PlateauLRScheduler:
    def __init__(self, optimizer, decay_rate=0.1, patience_t=10):
        self.lr_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=patience_t)

    def step(self, epoch, metric=None):
        if metric is not None:
            self.lr_scheduler.step(metric)
""",
    "lightning callback": """\
import torch
from lightning.pytorch.callbacks import Callback

class ModelCheckpoint(Callback):
    def __init__(self, monitor=None, mode="min", save_top_k=1):
        self.monitor = monitor
        self.best_k_models = {}
        self.best_model_score = None
        self.kth_best_model_path = ""

    def _update_best_and_save(self, current, trainer, monitor_candidates):
        if len(self.best_k_models) == self.save_top_k:
            del self.best_k_models[self.kth_best_model_path]
        self.best_k_models[current] = current
        _op = max if self.mode == "min" else min
        self.kth_best_model_path = _op(self.best_k_models, key=self.best_k_models.get)
        if current > self.best_model_score:
            self.best_model_score = current
""",
    "utility module": """\
def longest(items):
    best = None
    for item in items:
        if best is None or len(item) > len(best):
            best = item
    return max(items, key=len)

def clamp(x, lo, hi):
    return max(lo, min(x, hi))
""",
}


@pytest.mark.parametrize("name", LIBRARY)
def test_library_code_has_no_anchor(name):
    text = LIBRARY[name]
    assert not selections(text)
    assert not anchor(text)


def test_a_best_so_far_under_another_name_is_found_by_the_facts_and_the_anchor():
    """TL402's words need "best" / "max(" / ...: this selection (TL402 reports it with prefilter
    off) passes the anchor but not the words."""
    text = """\
top = 0.0
for epoch in range(10):
    val_acc = evaluate(model, val_loader)
    if val_acc > top:
        top = val_acc
        torch.save(model.state_dict(), "ckpt.pt")
print(f"final accuracy {top:.3f}")
"""
    assert selections(text) and anchor(text)
