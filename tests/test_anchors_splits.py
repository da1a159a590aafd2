"""The split anchors (anchors/splits.py): `split` holds wherever SplitFacts finds a split,
through every way it recognises one (calls, index slices, role indexes); `splitter_call` and
`keras_validation_split` wherever TL301 / TL302 have a call to look at; none of them holds on
ordinary model, callback and utility code."""

from __future__ import annotations

import pytest

from test_anchors import assert_over_approximates, holds


# -- split (TL303, TL304) --------------------------------------------------------------------

SPLITS = [
    # train_test_split, through the import forms ImportTable resolves
    "from sklearn.model_selection import train_test_split\nX_tr, X_te = train_test_split(X)\n",
    "from sklearn.model_selection import train_test_split as tts\na, b, c, d = tts(X, y)\n",
    "import sklearn.model_selection as ms\nparts = ms.train_test_split(X, y, shuffle=False)\n",
    "from sklearn.model_selection import *\ntrain, test = train_test_split(df)\n",
    "from sklearn.cross_validation import train_test_split\ntrain, test = train_test_split(df)\n",
    "import sklearn\ndef split(X):\n    return sklearn.model_selection.train_test_split(X)\n",
    # the same local name imported twice: ImportTable keeps the last one
    "from helpers import split as tts\nfrom sklearn.model_selection import train_test_split as tts\n"
    "train, test = tts(df)\n",
    # torch random_split and Subset with role indices
    "from torch.utils.data import random_split\ntrain_ds, val_ds = random_split(ds, [0.8, 0.2])\n",
    "import torch\nparts = torch.utils.data.random_split(ds, [n, m])\n",
    "from torch.utils.data import Subset\nval_ds = Subset(full, val_idx)\n",
    "from torch.utils.data import Subset as S\nidx = splits['train']\ntrain_ds = S(full, idx)\n",
    # cross-validation calls and searches
    "from sklearn.model_selection import cross_val_score\nscores = cross_val_score(clf, X, y, cv=5)\n",
    "import sklearn.model_selection as ms\nprint(ms.learning_curve(est, X, y))\n",
    "from sklearn.model_selection import GridSearchCV\ngs = GridSearchCV(SVC(), grid)\ngs.fit(X, y)\n",
    "from skopt import BayesSearchCV\nsearch = BayesSearchCV(est, space)\nsearch.fit(X, y)\n",
    # Keras fit(validation_split=...)
    "model.fit(x, y, validation_split=0.2)\n",
    "history = build().fit(x=X, y=Y, epochs=3, validation_split=frac)\n",
    # KFold loops
    "from sklearn.model_selection import KFold\nkf = KFold(5)\nfor tr, va in kf.split(X):\n    pass\n",
    "from sklearn import model_selection\nfor i, (a, b) in enumerate(model_selection.StratifiedKFold(5).split(X, y)):\n"
    "    pass\n",
    # df.sample(frac) and drop
    "train = df.sample(frac=0.8, random_state=0)\ntest = df.drop(train.index)\n",
    # index slices kept under role names or handed to training / evaluation
    "n = int(0.8 * len(X))\nX_train, X_test = X[:n], X[n:]\n",
    "X_train = X[:split].copy()\nrest = X[split:]\n",
    "def fit_model(model, X, y, n):\n    model.fit(X[:n], y[:n], validation_data=(X[n:], y[n:]))\n",
    "model.fit(X[:-500], y[:-500])\nscore = model.evaluate(X[-500:], y[-500:])\n",
    "import torch\nloader = DataLoader(TensorDataset(x[:n], y[:n]))\nheld = x[n:]\n",
    "xgb.fit(X.iloc[:cut], y.iloc[:cut], eval_set=[(X.iloc[cut:], y.iloc[cut:])])\n",
    # role indexes: role names, role string keys, names assigned from them
    "X_tr = X[train_idx]\nX_va = X[val_idx]\n",
    "for fold in folds:\n    train_x, valid_x = df.iloc[idx['train']], df.iloc[idx['val']]\n",
    "test_idx = perm[:100]\nholdout = data[test_idx]\n",
    "ids = train_ids\nsel = ids\nX_dev = X[sel]\n",
    "import numpy as np\nx_eval = x[np.asarray(val_indices)]\n",
    "valid_coord = patch_coord[patch_valid]\n",
    # notebook-like: everything at module level, names from earlier cells
    "X = df.values\ny = df.target.values\ncut = 1000\nclf.fit(X[:cut], y[:cut])\nprint(clf.score(X[cut:], y[cut:]))\n",
]


@pytest.mark.parametrize("text", SPLITS)
def test_split_holds_wherever_splitfacts_finds_a_split(text):
    assert_over_approximates(text)
    assert holds(text, "split")
    assert_over_approximates(text)


NO_SPLITS = [
    # a timm-like model file: slicing of shapes, features and sequences everywhere
    """\
import torch
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        cls_token, patches = x[:, :1], x[:, 1:]
        feats = self.blocks[:self.depth](patches)
        return self.proj(torch.cat([cls_token, feats[:, :N - 1]], dim=1))

def checkpoint_filter_fn(state_dict, model):
    out = {}
    for k, v in state_dict.items():
        if k.startswith('module.'):
            k = k[7:]
        out[k] = v[:model.num_classes] if k.startswith('head') else v
    return out
""",
    # a Lightning callback: training / validation names, but no data split
    """\
from lightning.pytorch.callbacks import Callback

class PrintMetrics(Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        train_loss = trainer.callback_metrics.get("train_loss")
        history = self.history[-self.window:]
        print(train_loss, sum(history) / len(history))

    def on_validation_epoch_end(self, trainer, pl_module):
        val_loss = trainer.callback_metrics["val_loss"]
        self.best = min(self.best, val_loss)
        self.history.append(val_loss)
""",
    # a utility module: sequence shifts, batching, string slices
    """\
import numpy as np

def batched(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]

def shift(seq):
    return seq[:-1], seq[1:]

def moving_average(a, n=3):
    ret = np.cumsum(a, dtype=float)
    ret[n:] = ret[n:] - ret[:-n]
    return ret[n - 1:] / n

def short_name(name):
    return name[:20] if len(name) > 20 else name
""",
    # a slice handed to fit with no other slice of the same data, a train_test_split of a
    # helper that is not sklearn's, `.split` without sklearn, a whole-frame sample
]


@pytest.mark.parametrize("text", NO_SPLITS)
def test_split_does_not_hold_on_library_code(text):
    assert not holds(text, "split")
    assert_over_approximates(text)


# The gate is coarse: it lets these through (a splitter by name, a `frac=` sample, one slice
# handed to a fit) and the rules decide. Findings stay the same with the gate on and off.
COARSE_SPLITS = [
    "from mylib import train_test_split\nparts = train_test_split(X)\nmodel.fit(X[:n])\n",
    "words = line.split(',')\nsample = df.sample(frac=1.0)\nboot = df.sample(n=10)\n",
    "model.fit(x, y, validation_split=0)\n",
    "from .utils import train_test_split\nparts = train_test_split(X)\n",
    "from sklearn.model_selection import StratifiedKFold\ncv = StratifiedKFold(5)\n",
    "model.fit(x, y, validation_split=0.0)\n",
    "model.fit(validation_split=0.2)\n",
    # SplitFacts reads these annotations as a split; no rule reports anything from it
    "def f(a: Optional[TRAIN_DATALOADERS], b: Optional[EVAL_DATALOADERS]):\n    pass\n",
]


@pytest.mark.parametrize("text", COARSE_SPLITS)
def test_coarse_passes_lose_no_finding(text):
    assert_over_approximates(text)


# -- splitter_call (TL301) -------------------------------------------------------------------

SPLITTER_CALLS = [
    "from sklearn.model_selection import train_test_split\nX_tr, X_te = train_test_split(X)\n",
    "from sklearn.model_selection import KFold as K\ncv = K(5, shuffle=True)\n",
    "import sklearn.model_selection as ms\nfor a, b in ms.ShuffleSplit(3).split(X):\n    pass\n",
    "from sklearn.model_selection import *\ncv = RepeatedKFold(n_splits=5)\n",
    "import torch.utils.data as tud\na, b = tud.random_split(ds, [0.5, 0.5])\n",
]


@pytest.mark.parametrize("text", SPLITTER_CALLS)
def test_splitter_call_holds_on_tl301_calls(text):
    assert_over_approximates(text)
    assert holds(text, "splitter_call")


def test_splitter_call_needs_the_library():
    # a local train_test_split, StratifiedKFold (TL301 does not judge it), words in a string
    for text in (
        "import torch\ndoc = 'use random_split or KFold'\n",
    ):
        assert not holds(text, "splitter_call")
        assert_over_approximates(text)


# -- keras_validation_split (TL302) ----------------------------------------------------------

def test_keras_validation_split():
    assert holds("model.fit(x, y, validation_split=0.1)\n", "keras_validation_split")
    assert holds("m.fit_generator(x=gen, validation_split=v)\n", "keras_validation_split")
    assert not holds("parser.add_argument('--validation_split', type=float)\n", "keras_validation_split")
    assert not holds("trainer.fit(model, datamodule=dm)\n", "keras_validation_split")


# -- the rules name them -----------------------------------------------------------------------

def test_split_rules_declare_their_anchors():
    from trainlint.rules import all_rules

    declared = {rule.code: rule.anchors for rule in all_rules()}
    assert declared["TL301"] == ("splitter_call",)
    assert declared["TL302"] == ("keras_validation_split",)
    assert declared["TL303"] == ("split",)
    assert declared["TL304"] == ("split",)
