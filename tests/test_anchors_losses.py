"""The loss-weighting and imbalance anchors (anchors/losses.py): they hold wherever the libcst
facts behind them do, through every way criteria.py and imbalance.py recognise a weighting,
and they do not hold on ordinary model, callback and utility code."""

from __future__ import annotations

import pytest

from test_anchors import assert_over_approximates, holds
from trainlint.gate import anchors


# -- weighted_loss (TL201) ------------------------------------------------------------------

WEIGHTED_LOSSES = [
    # keyword weighting on a torch.nn class, through the usual aliases
    "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss(weight=class_weights)\n",
    "import torch\ncriterion = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))\n",
    "from torch import nn\ncriterion = nn.CrossEntropyLoss(label_smoothing=0.1)\n",
    "from torch.nn import CrossEntropyLoss as CE\ncriterion = CE(weight=w)\n",
    "from torch.nn import *\ncriterion = NLLLoss(weight=w)\n",
    # the weight by position (index 0 for most classes, 2 for MultiMarginLoss)
    "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss(weights)\n",
    "import torch.nn as nn\ncriterion = nn.MultiMarginLoss(1, 1.0, w)\n",
    "from torch.nn import BCELoss as B\ncriterion = B(w).to(device)\n",
    # functional losses, by keyword and by position (index 2)
    "import torch.nn.functional as F\nloss = F.cross_entropy(out, y, weight=w)\n",
    "import torch.nn.functional as F\nloss = F.cross_entropy(out, y, w)\n",
    "from torch.nn import functional\nloss = functional.nll_loss(out, y, w)\n",
    "from torch.nn.functional import binary_cross_entropy_with_logits as bce\nloss = bce(out, y, pos_weight=p)\n",
    # an unreduced loss (per-sample weights multiply it), on any loss family
    "import torch.nn as nn\ncriterion = nn.MSELoss(reduction='none')\nloss = (criterion(p, y) * w).mean()\n",
    "import torch.nn as nn\ncriterion = nn.L1Loss(reduce=False)\n",
    "import torch.nn.functional as F\nlosses = F.smooth_l1_loss(p, y, reduction='none')\n",
    # functools.partial of a functional loss
    "import functools\nimport torch.nn.functional as F\nloss_fn = functools.partial(F.cross_entropy, weight=w)\n",
    "from functools import partial as p\nfrom torch.nn.functional import nll_loss\n"
    "loss_fn = p(nll_loss, reduction='none')\n",
    # Keras fit with class / sample weights and validation data, any receiver
    "model.fit(x, y, class_weight={0: 1.0, 1: 9.0}, validation_data=(xv, yv))\n",
    "history = get_model().fit(x, y, sample_weight=w, validation_split=0.2)\n",
    "self.model.fit_generator(gen, class_weight=cw, validation_data=val_gen)\n",
    # inside a Lightning module, a shared helper, a notebook-like script
    """\
import lightning as L
import torch.nn as nn

class Tagger(L.LightningModule):
    def __init__(self, pos_weight):
        super().__init__()
        self.train_loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        self.val_loss = nn.BCEWithLogitsLoss()
""",
    """\
import torch.nn as nn

def run_epoch(model, loader, criterion, optimizer=None):
    for x, y in loader:
        loss = criterion(model(x), y)

run_epoch(model, train_loader, nn.CrossEntropyLoss(weight=w), opt)
run_epoch(model, val_loader, nn.CrossEntropyLoss())
""",
]


@pytest.mark.parametrize("text", WEIGHTED_LOSSES)
def test_weighted_losses_hold(text):
    assert_over_approximates(text)
    assert holds(text, "weighted_loss")
    assert_over_approximates(text)


NOT_WEIGHTED = [
    # no weighting the libcst code would see
    "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\n",
    "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss(weight=None, label_smoothing=0.0)\n",
    "import torch.nn as nn\ncriterion = nn.MSELoss(reduction='mean')\n",
    "import torch.nn as nn\ncriterion = nn.MSELoss(2.0)\n",  # MSELoss takes no weight argument
    "import torch.nn.functional as F\nloss = F.cross_entropy(out, y)\n",
    "import torch.nn.functional as F\nloss = F.cross_entropy(out, y, weight=None)\n",
    "model.fit(x, y, class_weight=cw)\n",  # no validation data: nothing to compare
    "model.fit(x, y, class_weight=None, validation_split=0.1)\n",
    "model.fit(x, y, validation_data=(xv, yv))\n",
    "fit(x, y, class_weight=cw, validation_split=0.1)\n",  # not a method call
    "import functools\nloss_fn = functools.partial(my_loss, weight=w)\n",
    "layer = nn.Linear(3, 4)\nlayer.weight.data.normal_()\nx = F.linear(x, weight=layer.weight)\n",
]


@pytest.mark.parametrize("text", NOT_WEIGHTED)
def test_unweighted_code_does_not_hold(text):
    assert not holds(text, "weighted_loss")
    assert_over_approximates(text)


# -- imbalance (TL205) ----------------------------------------------------------------------

IMBALANCED = [
    # class-weight keywords, any callee
    "clf = LogisticRegression(class_weight='balanced')\n",
    "model.fit(x, y, class_weight=dict(enumerate(w)))\n",
    "booster = XGBClassifier(scale_pos_weight=9)\n",
    "m = CatBoostClassifier(auto_class_weights='Balanced')\n",
    "m = LGBMClassifier(is_unbalance=True)\n",
    "loss = FocalLoss(class_weights=w)\n",
    # weight functions, samplers, resamplers: by own name, any receiver
    "from sklearn.utils.class_weight import compute_class_weight\n"
    "w = compute_class_weight('balanced', classes=c, y=y)\n",
    "w = sklearn.utils.class_weight.compute_sample_weight('balanced', y)\n",
    "from torch.utils.data import WeightedRandomSampler\ns = WeightedRandomSampler(w, len(w))\n",
    "from imblearn.over_sampling import SMOTE\nX2, y2 = SMOTE().fit_resample(X, y)\n",
    "from imblearn.under_sampling import NearMiss\npipe = make_pipeline(NearMiss(), clf)\n",
    "X2, y2 = sampler.fit_sample(X, y)\n",
    "from sklearn.utils import resample\nminority = resample(df_min, n_samples=900)\n",
    # a loss with pos_weight, or class weights on a class-weighted loss (keyword or position)
    "import torch.nn as nn\nc = nn.BCEWithLogitsLoss(pos_weight=p)\n",
    "import torch.nn as nn\nc = nn.CrossEntropyLoss(torch.tensor([1.0, 4.0]))\n",
    "from torch.nn import NLLLoss as N\nc = N(weight=w)\n",
    "import torch.nn.functional as F\nl = F.cross_entropy(out, y, w)\n",
    # weight-named variables from class counts, directly or through a counts variable
    "weights = 1.0 / df['label'].value_counts()\n",
    "class_weights = len(y) / np.bincount(y)\n",
    "counts = Counter(labels)\nsample_weights = [1.0 / counts[l] for l in labels]\n",
    "freq = np.unique(y, return_counts=True)[1]\nweightsTensor = torch.tensor(1 / freq)\n",
]


@pytest.mark.parametrize("text", IMBALANCED)
def test_imbalance_evidence_holds(text):
    assert_over_approximates(text)
    assert holds(text, "imbalance")
    assert_over_approximates(text)


NOT_IMBALANCED = [
    "clf = LogisticRegression(class_weight=None)\n",
    "m = LGBMClassifier(is_unbalance=False)\n",
    "import torch.nn as nn\nc = nn.BCELoss(weight=w)\n",  # element weights, not class weights
    "import torch.nn as nn\nc = nn.CrossEntropyLoss(label_smoothing=0.1)\n",
    "weights = torch.ones(10)\ncounts = torch.bincount(y)\n",  # weights not from the counts
    "uniq = np.unique(y)\nweight_decay = 0.05\n",
]


@pytest.mark.parametrize("text", NOT_IMBALANCED)
def test_balanced_code_does_not_hold(text):
    assert not holds(text, "imbalance")
    assert_over_approximates(text)


# -- library code: neither anchor -----------------------------------------------------------

TIMM_MODEL = '''\
"""A timm-like model file."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from functools import partial

from timm.layers import DropPath, trunc_normal_


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, act_layer=nn.GELU, drop=0.):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.act(self.fc1(x))))


class VisionTransformer(nn.Module):
    def __init__(self, num_classes=1000, norm_layer=None, weight_init=''):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.norm = norm_layer(768)
        self.head = nn.Linear(768, num_classes)
        if weight_init != 'skip':
            self.init_weights(weight_init)

    def init_weights(self, mode=''):
        trunc_normal_(self.head.weight, std=.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = F.layer_norm(x, (768,), weight=self.norm.weight, bias=self.norm.bias)
        return self.head(x.mean(dim=1))


def checkpoint_filter_fn(state_dict, model):
    out = {}
    for k, v in state_dict.items():
        if 'weight' in k:
            v = F.interpolate(v, size=(16, 16), mode='bicubic')
        out[k] = v
    return out
'''

LIGHTNING_CALLBACK = '''\
from lightning.pytorch.callbacks import Callback


class WeightAveraging(Callback):
    """Averages the weights of the model over the training run."""

    def __init__(self, decay=0.999, sample_weight=None):
        self.decay = decay
        self.sample_weight = sample_weight

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"]
        for name, p in pl_module.named_parameters():
            self.shadow[name].mul_(self.decay).add_(p.detach(), alpha=1 - self.decay)
        trainer.fit_loop.epoch_loop.update(loss)

    def on_validation_epoch_end(self, trainer, pl_module):
        acc = trainer.callback_metrics.get("val_acc")
        correct = sum(self.hits)
        pl_module.log("avg_acc", correct / max(len(self.hits), 1))
'''

UTILITY_MODULE = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class SoftTargetCrossEntropy(nn.Module):
    def forward(self, x, target):
        loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
        return loss.mean()


def accuracy(output, target, topk=(1,)):
    maxk = max(topk)
    _, pred = output.topk(maxk, 1, True, True)
    correct = pred.t().eq(target.reshape(1, -1).expand_as(pred.t()))
    return [correct[:k].reshape(-1).float().sum(0) * 100. / target.size(0) for k in topk]


def reduce_tensor(tensor, n):
    rt = tensor.clone()
    torch.distributed.all_reduce(rt, op=torch.distributed.ReduceOp.SUM)
    return rt / n


def update_weights(model, loss_fn=nn.CrossEntropyLoss()):
    weight = model.weight
    return F.cross_entropy(weight, weight.argmax(1))
'''


@pytest.mark.parametrize("text", [TIMM_MODEL, LIGHTNING_CALLBACK, UTILITY_MODULE],
                         ids=["timm-model", "lightning-callback", "utility-module"])
def test_library_code_has_neither_anchor(text):
    found = anchors.scan(text)
    assert not found.weighted_loss and not found.imbalance
    assert_over_approximates(text)


def test_a_name_imported_twice_counts_either_way():
    # ImportTable keeps one of the two imports of `Loss`; the anchor accepts both.
    text = ("from torch.nn import CrossEntropyLoss as Loss\nfrom mylib import Loss\n"
            "criterion = Loss(weight=w)\n")
    assert holds(text, "weighted_loss") and holds(text, "imbalance")
    text = ("from mylib import Loss\nfrom torch.nn import CrossEntropyLoss as Loss\n"
            "criterion = Loss(w)\n")
    assert holds(text, "weighted_loss") and holds(text, "imbalance")
    assert_over_approximates(text)
