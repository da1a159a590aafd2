"""The evaluation-data anchors (trainlint/anchors/data.py): TL305's `random_augmentation` and
`augmenting_generator`, TL306's `validation_argument`, `evaluation_loader`, `labelled_score`
and `resplit`, TL307's `refit`.

Each snippet of the first lists holds the anchor's libcst fact through one way of writing it
(aliases, star imports, keyword or positional forms, notebook-style scripts, helpers): the
fact must hold and so must the anchor. The library-style snippets of the second list are what
the anchors are for: code that mentions fits, loaders, metrics or random transforms without
the shapes a finding needs, where the anchors must not hold.
"""

from __future__ import annotations

import pytest

from test_anchors import assert_over_approximates
from trainlint.gate import anchors
from trainlint.run.engine import lint_source

DATA_ANCHORS = ("random_augmentation", "augmenting_generator", "validation_argument", "evaluation_loader",
                "labelled_score", "resplit", "refit")


HOLDING = [
    # -- random_augmentation: a random transform, and a pipeline given to data
    ("random_augmentation", """\
from torchvision import datasets, transforms as T
aug = T.Compose([T.RandomResizedCrop(224), T.ToTensor()])
val_ds = datasets.ImageFolder("data/val", transform=aug)
"""),
    ("random_augmentation", """\
import torchvision.transforms.v2 as v2
jitter = v2.ColorJitter(0.4, 0.4)
val_set.dataset.transform = jitter
"""),
    ("random_augmentation", """\
from torchvision.transforms import *
from torchvision.datasets import ImageFolder
tfm = Compose([RandomHorizontalFlip(), ToTensor()])
test_ds = ImageFolder("images/test", tfm)
"""),
    ("random_augmentation", """\
import albumentations as A
tfm = A.Compose([A.HorizontalFlip(p=0.5), A.Normalize()])
test_dataset = LeafDataset(test_df, transforms=tfm)
"""),
    ("random_augmentation", """\
import tensorflow as tf
from tensorflow.keras import layers
augment = tf.keras.Sequential([layers.RandomFlip("horizontal")])
val_ds = val_ds.map(lambda x, y: (augment(x, training=True), y))
"""),
    ("random_augmentation", """\
import tensorflow as tf

def jitter(image, label):
    return tf.image.random_flip_left_right(image), label

test_ds = test_ds.map(jitter)
"""),
    ("random_augmentation", """\
# %%
from torchvision import transforms
# %%
train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
# %%
full = MyImages(root, transform=train_tf)
"""),
    # -- augmenting_generator
    ("augmenting_generator", """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator
datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, validation_split=0.2)
val_gen = datagen.flow_from_directory("data", subset="validation")
"""),
    ("augmenting_generator", """\
from keras import preprocessing
gen = preprocessing.image.ImageDataGenerator(horizontal_flip=True)
test_flow = gen.flow(x_test, y_test)
"""),
    # -- validation_argument
    ("validation_argument", "model.fit(x_train, y_train, epochs=3, validation_data=(x_train, y_train))\n"),
    ("validation_argument", "trainer.fit(model, train_loader, train_loader)\n"),
    ("validation_argument", "trainer.fit(model, val_dataloaders=train_loader)\n"),
    ("validation_argument", """\
from transformers import Seq2SeqTrainer
t = Seq2SeqTrainer(model=m, train_dataset=ds["train"], eval_dataset=ds["train"])
"""),
    # -- evaluation_loader: torch's DataLoader, named or passed as evaluation data
    ("evaluation_loader", """\
from torch.utils.data import DataLoader as DL
val_loader = DL(train_dataset, batch_size=256)
"""),
    ("evaluation_loader", """\
import torch

class Loop:
    def setup(self):
        self.valid_loader = torch.utils.data.DataLoader(dataset=self.train_ds)
"""),
    ("evaluation_loader", """\
from torch.utils import data
loaders = {}
loaders["test"] = data.DataLoader(train_set)
"""),
    ("evaluation_loader", """\
from torch.utils.data import *
trainer.fit(model, val_dataloaders=DataLoader(train_ds))
"""),
    # -- labelled_score: a metric or score on data, reported as an evaluation figure
    ("labelled_score", """\
from sklearn.metrics import accuracy_score
print("Test accuracy:", accuracy_score(y_train, clf.predict(X_train)))
"""),
    ("labelled_score", """\
from sklearn import metrics
test_f1 = metrics.f1_score(y_train, predicted)
"""),
    ("labelled_score", """\
if verbose: print(f"val acc {model.score(X_train, y_train):.3f}")
else:
    pass
"""),
    ("labelled_score", """\
def report(model):
    log("accuracy on the " "test set",
        model.evaluate(x_tr, y_tr))
"""),
    ("labelled_score", "from sklearn.metrics import *\nholdout_auc = roc_auc_score(y_tr, p)\n"),
    # -- resplit
    ("resplit", """\
from sklearn.model_selection import train_test_split as tts
X_a, X_b, y_a, y_b = tts(X, y)
X_c, X_d, y_c, y_d = tts(X, y)
"""),
    ("resplit", """\
import sklearn.model_selection as ms
a, b = ms.train_test_split(df)
c, d = ms.train_test_split(df, random_state=1)
"""),
    # -- refit: a transformer fitted with data, and a second fit or a helper called twice
    ("refit", """\
from sklearn.feature_extraction.text import TfidfVectorizer
vectorizer = TfidfVectorizer(min_df=2)
X_train = vectorizer.fit_transform(train_texts)
X_val = vectorizer.fit_transform(val_texts)
"""),
    ("refit", """\
from tensorflow.keras.preprocessing.text import Tokenizer
tok = Tokenizer(num_words=5000)
tok.fit_on_texts(texts=train_df["text"])
tok.fit_on_texts(texts=test_df["text"])
"""),
    ("refit", """\
from sklearn.preprocessing import StandardScaler

def scale(features):
    return StandardScaler().fit_transform(features)

X_train = scale(X_train)
X_test = scale(X_test)
"""),
    ("refit", """\
import sklearn.preprocessing as pp
enc = pp.LabelEncoder()
y_train = enc.fit_transform(y_train)
y_test = enc.fit_transform(y_test)
"""),
]


@pytest.mark.parametrize("name, text", HOLDING, ids=[f"{name}-{i}" for i, (name, _) in enumerate(HOLDING)])
def test_anchor_holds_where_its_fact_does(name, text):
    assert_over_approximates(text)
    if "full = MyImages(root, transform=train_tf)" not in text:  # no evaluation data: nothing for TL305
        assert anchors.scan(text).get(name)


# Library and model code of the kind the benchmark corpus holds (timm, Lightning, ignite).
LIBRARY = [
    ("timm model", """\
import torch
import torch.nn as nn
from timm.layers import DropPath, trunc_normal_

class Block(nn.Module):
    def __init__(self, dim, drop_path=0.0):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x):
        return x + self.drop_path(self.fc(x))
"""),
    ("timm transform factory", """\
from torchvision import transforms

def transforms_imagenet_train(img_size=224, hflip=0.5, color_jitter=0.4):
    \"\"\"Training transforms; see transforms_imagenet_eval for validation and test.\"\"\"
    tfl = [transforms.RandomResizedCrop(img_size), transforms.RandomHorizontalFlip(p=hflip)]
    if color_jitter:
        tfl.append(transforms.ColorJitter(color_jitter, color_jitter))
    return transforms.Compose(tfl)
"""),
    ("Lightning datamodule", """\
from torch.utils.data import DataLoader, random_split
import lightning.pytorch as pl

class MNISTDataModule(pl.LightningDataModule):
    def setup(self, stage):
        self.mnist_train, self.mnist_val = random_split(self.full, [55000, 5000])

    def train_dataloader(self):
        return DataLoader(self.mnist_train, batch_size=self.batch_size)

    def val_dataloader(self):
        return DataLoader(self.mnist_val, batch_size=self.batch_size)
"""),
    ("Lightning callback", """\
from lightning.pytorch.callbacks import Callback

class PrintOnValidation(Callback):
    \"\"\"Logs the validation and test figures the trainer computed.\"\"\"

    def on_validation_end(self, trainer, pl_module):
        score = trainer.callback_metrics.get("val_loss")
        if trainer.fit_loop.epoch_loop.done:
            print("validation finished", score)

def run(trainer, model, dm):
    trainer.fit(model, datamodule=dm)
    trainer.validate(model, datamodule=dm)
"""),
    ("ignite metric", """\
from typing import Callable
import torch
from ignite.metrics import EpochMetric

def roc_auc_compute_fn(y_preds: torch.Tensor, y_targets: torch.Tensor) -> float:
    \"\"\"ROC AUC of the test or validation predictions.\"\"\"
    from sklearn.metrics import roc_auc_score

    y_true = y_targets.cpu().numpy()
    y_pred = y_preds.cpu().numpy()
    return roc_auc_score(y_true, y_pred)

class ROC_AUC(EpochMetric):
    def __init__(self, output_transform: Callable = lambda x: x):
        super().__init__(roc_auc_compute_fn, output_transform=output_transform)
"""),
    ("utility with one fit", """\
from sklearn.preprocessing import StandardScaler

def standardise(features):
    scaler = StandardScaler()
    return scaler.fit_transform(features)
"""),
    ("sampler-driven loaders", """\
from torch.utils.data import DataLoader

def make_loaders(dataset, sampler, workers):
    loader = DataLoader(dataset, sampler=sampler, num_workers=workers)
    return {"train": loader}
"""),
]


@pytest.mark.parametrize("label, text", LIBRARY, ids=[label for label, _ in LIBRARY])
def test_library_code_holds_no_data_anchor(label, text):
    found = anchors.scan(text)
    # coarse on purpose: a random transform and a `val` split in one file is enough
    allowed = ("random_augmentation",) if label == "Lightning datamodule" else ()
    held = [name for name in DATA_ANCHORS if found.get(name) and name not in allowed]
    assert not held, f"{label}: {held}"
    assert_over_approximates(text)


@pytest.mark.parametrize("text", [
    # the anchors look at shapes the facts look at, not at near misses
    "from torchvision import transforms\ntfm = transforms.Compose([transforms.Resize(256)])\nval = Data(transform=tfm)\n",
    "from torchvision.transforms import RandomCrop\ncrops = [RandomCrop(32)]\n",  # no data reached
    "model.fit(x_train, y_train, epochs=3)\n",
    "train_loader = DataLoader(train_ds)\n",  # not imported from torch
    "from torch.utils.data import DataLoader\ntrain_loader = DataLoader(train_ds)\n",
    "from sklearn.metrics import f1_score\nscores.append(f1_score(y, p))\n",
    "from sklearn.preprocessing import StandardScaler\nStandardScaler().fit(X_train)\n",
])
def test_near_misses(text):
    found = anchors.scan(text)
    assert not any(found.get(name) for name in DATA_ANCHORS)
    assert_over_approximates(text)


def test_statement_of_a_one_line_suite_is_the_compound_statement():
    # libcst reads the strings of the whole `if` (its `else` too) for a call in a one-line suite
    text = 'from sklearn.metrics import accuracy_score\nif quiet: accuracy_score(y_train, p)\nelse:\n    print("test")\n'
    assert_over_approximates(text)
    # a `;` line at module level: the scan cannot tell the statement's extent and accepts
    text = 'from sklearn.metrics import accuracy_score\nx = 1; accuracy_score(y_train, p)\n'
    assert anchors.scan(text).get("labelled_score")


def test_examples_of_the_rules_are_anchored():
    from trainlint.rules import all_rules

    for rule in all_rules():
        if rule.code not in ("TL305", "TL306", "TL307"):
            continue
        for text in rule.invalid_snippets() + (rule.example,):
            assert any(d.code == rule.code for d in lint_source(text)), rule.code
            assert anchors.scan(text).holds(rule.anchors), (rule.code, text)
