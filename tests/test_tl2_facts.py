"""Unit tests of the facts behind TL201–TL205: criteria, loaders, epoch figures, imbalance."""

from __future__ import annotations

import textwrap

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.criteria import LABEL_SMOOTHING, POS_WEIGHT, SAMPLE_WEIGHT, SUM, WEIGHT
from trainlint.semantic.epoch_figures import BATCH_MEAN, BATCHES, COUNT, LEN_BATCH, SAMPLE_COUNT, SAMPLE_SUM, SAMPLES
from trainlint.core.config import Config


def context(source: str) -> FileContext:
    source = textwrap.dedent(source)
    return FileContext(source, "t.py", cst.parse_module(source), Config())


def loss_uses(ctx: FileContext):
    return [use for call in ctx.index.of_type(cst.Call)
            for use in [ctx.criteria.loss_use(call)] if use is not None]


def test_criterion_followed_through_names_attributes_and_device_moves():
    ctx = context("""
        import torch.nn as nn
        import torch.nn.functional as F
        from functools import partial

        crit = nn.CrossEntropyLoss(weight=w).to(device)
        smooth = partial(F.cross_entropy, label_smoothing=0.1)

        class Net(nn.Module):
            def __init__(self):
                self.loss_fn = nn.BCEWithLogitsLoss(pos_weight=p)

            def step(self, x, y):
                return self.loss_fn(self(x), y)

        a = crit(out, y)
        b = smooth(out, y)
        c = F.nll_loss(out, y, reduction="sum")
    """)
    found = {use.spec.family: use for use in loss_uses(ctx)}
    assert found["cross_entropy"].weighting in ({WEIGHT}, {LABEL_SMOOTHING})
    assert found["binary_cross_entropy_with_logits"].weighting == {POS_WEIGHT}
    assert found["nll_loss"].spec.reduction == SUM
    weightings = sorted(sorted(use.weighting) for use in loss_uses(ctx))
    assert [LABEL_SMOOTHING] in weightings and [WEIGHT] in weightings


def test_helper_parameter_resolved_when_call_sites_agree():
    ctx = context("""
        import torch.nn as nn
        def evaluate(model, loader, criterion):
            for x, y in loader:
                loss = criterion(model(x), y)
        evaluate(m, val_loader, nn.CrossEntropyLoss())
        evaluate(m, test_loader, nn.CrossEntropyLoss())
    """)
    uses = loss_uses(ctx)
    assert len(uses) == 1 and uses[0].weighting == frozenset()


def test_helper_parameter_unknown_when_call_sites_disagree():
    ctx = context("""
        import torch.nn as nn
        def run(loader, criterion):
            for x, y in loader:
                loss = criterion(model(x), y)
        run(train_loader, nn.CrossEntropyLoss(weight=w))
        run(val_loader, nn.CrossEntropyLoss())
    """)
    assert loss_uses(ctx) == []


def test_unreduced_loss_multiplied_by_weights_or_mask():
    ctx = context("""
        import torch.nn as nn
        per = nn.CrossEntropyLoss(reduction="none")
        weighted = (per(out, y) * w).mean()
        tokens = per(out, y)
        masked = (tokens * pad_mask).sum() / pad_mask.sum()
    """)
    uses = loss_uses(ctx)
    assert [SAMPLE_WEIGHT in use.weighting for use in uses] == [True, False]
    assert uses[1].multiplier_is_mask


def test_loader_facts():
    ctx = context("""
        from torch.utils.data import DataLoader, SubsetRandomSampler
        a = DataLoader(ds, batch_size=32, drop_last=True)
        b = DataLoader(ds, batch_size=32)
        c = DataLoader(ds, batch_size=32, sampler=SubsetRandomSampler(idx))
        d = DataLoader(ds)
    """)
    assert not ctx.loaders.named("a").uneven_last_batch
    assert ctx.loaders.named("b").uneven_last_batch
    assert ctx.loaders.named("c").subset_sampler == "SubsetRandomSampler"
    assert ctx.loaders.named("d").single_samples and not ctx.loaders.named("d").uneven_last_batch


def test_accumulated_kinds_and_denominators():
    ctx = context("""
        import torch.nn as nn
        import torchvision
        model = torchvision.models.resnet18()
        model.eval()
        crit = nn.CrossEntropyLoss()
        total = hits = seen = batches = weighted = 0
        for step, (x, y) in enumerate(val_loader):
            out = model(x)
            loss = crit(out, y)
            total += loss.item()
            weighted += loss.item() * x.size(0)
            hits += (out.argmax(1) == y).sum().item()
            seen += y.size(0)
            batches += 1
        print(total / (step + 1), weighted / seen, hits / len(val_loader.dataset), total / batches)
    """)
    kinds = {acc.name: acc.kind for acc in ctx.epoch_figures.accumulated}
    assert kinds == {"total": BATCH_MEAN, "weighted": SAMPLE_SUM, "hits": COUNT,
                     "seen": SAMPLE_COUNT, "batches": "batch_count"}
    denominators = [(d.numerator.name, d.denominator) for d in ctx.epoch_figures.divisions]
    assert denominators == [("total", BATCHES), ("weighted", SAMPLES), ("hits", SAMPLES),
                            ("total", BATCHES)]


def test_len_of_dict_batch_is_not_a_sample_count():
    ctx = context("""
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-cased")
        n = 0
        for batch in loader:
            out = model(**batch)
            n += len(batch)
    """)
    assert [acc.kind for acc in ctx.epoch_figures.accumulated] == [LEN_BATCH]


def test_last_batch_figure_stops_at_reassignment():
    ctx = context("""
        import torchvision
        model = torchvision.models.resnet18()
        model.eval()
        for x, y in val_loader:
            acc = (model(x).argmax(1) == y).float().mean()
        acc = 0.0
        print(acc)
    """)
    assert ctx.epoch_figures.last_batch == []


def test_imbalance_evidence_and_other_metrics():
    ctx = context("""
        from sklearn.metrics import accuracy_score
        weights = 1.0 / df["label"].value_counts()
        print(accuracy_score(y_test, pred))
    """)
    assert [site.what for site in ctx.imbalance.evidence] == ["weights from class counts"]
    assert not ctx.imbalance.other_metric and len(ctx.imbalance.accuracy) == 1
    other = context("""
        from sklearn.utils.class_weight import compute_class_weight
        cw = compute_class_weight("balanced", classes=c, y=y)
        print(f"macro recall {r:.3f}")
    """)
    assert other.imbalance.other_metric


def test_running_average_inside_the_loop_is_not_a_last_batch_figure():
    ctx = context("""
        import torchvision
        model = torchvision.models.resnet18()
        model.eval()
        running = 0.0
        for i, (x, y) in enumerate(val_loader):
            running += crit(model(x), y).item()
            avg_loss = running / (i + 1)
            last_loss = crit(model(x), y).item()
        print(avg_loss, last_loss)
    """)
    assert ctx.epoch_figures.last_batch == []


def test_batch_sources_beyond_the_dataloader():
    ctx = context("""
        from torch.utils.data import DataLoader
        from torch_geometric.loader import DataLoader as GraphLoader
        from torchtext.legacy.data import BucketIterator
        graphs = GraphLoader(molecules, batch_size=32)
        tr_it, va_it, te_it = BucketIterator.splits((tr, va, te), batch_sizes=(64, 1, 128))
        one_by_one = BucketIterator(te, 1)
        opaque = DataLoader(ds, **options)
        rows = shard.iter_torch_batches(batch_size=128)
        kept = shard.iter_torch_batches(batch_size=128, drop_last=True)
        left, right = DataLoader(a, batch_size=8), DataLoader(b, batch_size=8, drop_last=True)
    """)
    named = ctx.loaders.named
    assert named("graphs").uneven_last_batch
    assert named("tr_it").uneven_last_batch and named("tr_it").source == "torchtext"
    assert named("va_it").single_samples and not named("va_it").uneven_last_batch
    assert named("te_it").uneven_last_batch and ctx.module.code_for_node(named("te_it").dataset) == "te"
    assert named("one_by_one").single_samples
    assert named("opaque").drop_last is None and not named("opaque").uneven_last_batch
    assert named("rows").uneven_last_batch and not named("kept").uneven_last_batch
    assert named("left").uneven_last_batch and not named("right").uneven_last_batch


def test_local_loader_shadows_a_same_named_one_elsewhere():
    ctx = context("""
        import torchvision
        model = torchvision.models.resnet18()
        def train_step(shard):
            batches = shard.iter_torch_batches(batch_size=64)
            for x in batches:
                model(x)
        def eval_step(shard):
            batches = shard.iter_torch_batches(batch_size=64, drop_last=True)
            for x in batches:
                model(x)
    """)
    first, second = ctx.loops.loops
    assert [f.uneven_last_batch for f in ctx.epoch_figures.loader_facts(first)] == [True]
    assert [f.uneven_last_batch for f in ctx.epoch_figures.loader_facts(second)] == [False]


def test_in_place_divisions_and_batch_counts():
    ctx = context("""
        import torch.nn as nn
        import torchvision
        model = torchvision.models.resnet18()
        model.eval()
        crit = nn.CrossEntropyLoss()
        a = b = graphs = rows = 0.0
        for k, batch in enumerate(val_loader, 1):
            out = model(batch)
            a += crit(out, batch.y).item()
            b += crit(out, batch.y).item()
            graphs += batch.num_graphs
            rows += batch.y.shape[0]
        a /= k
        b /= graphs
        print(a / len(val_loader.dataset), b / rows)
    """)
    kinds = {acc.name: acc.kind for acc in ctx.epoch_figures.accumulated}
    assert kinds["graphs"] == SAMPLE_COUNT and kinds["rows"] == SAMPLE_COUNT
    divisions = [(d.numerator.name, d.denominator) for d in ctx.epoch_figures.divisions]
    # the later divisions read `a` and `b` after they were divided in place: not sums any more
    assert divisions == [("a", BATCHES), ("b", SAMPLES)]


def test_running_means_are_divisions_by_the_batches_seen():
    ctx = context("""
        import torch.nn as nn
        import torchvision
        model = torchvision.models.resnet18()
        model.eval()
        crit = nn.CrossEntropyLoss()
        inc = plain = weighted = ema = by_rows = 0.0
        n = seen = 0
        for i, (x, y) in enumerate(val_loader):
            loss = crit(model(x), y).item()
            n += 1
            seen += x.size(0)
            inc += (loss - inc) / (i + 1)
            plain = plain + (loss - plain) / n
            weighted = (weighted * i + loss) / (i + 1)
            ema += (loss - ema) / 10
            by_rows += (loss - by_rows) * x.size(0) / seen
        print(inc / len(val_loader))
    """)
    running = [(d.numerator.name, d.numerator.kind, d.denominator) for d in ctx.epoch_figures.divisions
               if d.running_mean]
    assert running == [("inc", BATCH_MEAN, BATCHES), ("plain", BATCH_MEAN, BATCHES),
                       ("weighted", BATCH_MEAN, BATCHES)]
    # a running mean is already divided: dividing it again is not a sum over batches
    assert [d for d in ctx.epoch_figures.divisions if not d.running_mean] == []


def test_batches_of_equal_size_when_stated_sizes_divide():
    ctx = context("""
        import torch
        from torch.utils.data import DataLoader, Subset, TensorDataset, random_split
        from torchvision import datasets
        BATCH = 100
        mnist_test = datasets.MNIST("data", train=False)
        part_a, part_b = random_split(datasets.CIFAR10("data"), [45_000, 5_000])
        rows = TensorDataset(x[:300], y[:300])
        a = DataLoader(mnist_test, batch_size=BATCH)
        b = DataLoader(datasets.MNIST("data"), batch_size=64)
        c = DataLoader(part_b, batch_size=1000)
        d = DataLoader(Subset(full, range(0, 108_000)), batch_size=256)
        e = DataLoader(rows, batch_size=100, shuffle=True)
        f = DataLoader(part_a, batch_size=args.batch_size)
    """)
    uneven = {name: ctx.loaders.named(name).uneven_last_batch for name in "abcdef"}
    assert uneven == {"a": False, "b": True, "c": False, "d": True, "e": False, "f": True}


def test_enumerate_index_inside_a_progress_bar_counts_batches():
    ctx = context("""
        import torch.nn as nn
        import torchvision
        from tqdm import tqdm
        model = torchvision.models.resnet18()
        model.eval()
        crit = nn.CrossEntropyLoss()
        total = 0.0
        for i, (x, y) in tqdm(enumerate(val_loader), total=len(val_loader)):
            total += crit(model(x), y).item()
        print(total / (i + 1))
    """)
    assert [(d.numerator.name, d.denominator) for d in ctx.epoch_figures.divisions] == [("total", BATCHES)]
