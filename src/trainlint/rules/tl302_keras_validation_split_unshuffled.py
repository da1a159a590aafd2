"""TL302 keras-validation-split-unshuffled."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.dataflow import ALL_BUT_PARAM, Binding
from trainlint.semantic.names import argument, keyword_value, last_name, positional_args
from trainlint.core.diagnostics import Severity
from trainlint.rules.base import Finding, Invalid, Rule, line_of

FILE_READERS = {
    "pandas.read_csv", "pandas.read_table", "pandas.read_excel", "pandas.read_parquet",
    "pandas.read_json", "pandas.read_feather", "pandas.read_pickle", "pandas.read_sql",
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "glob.glob",
    "os.listdir", "os.walk", "cv2.imread", "PIL.Image.open", "h5py.File",
    "keras.preprocessing.image.load_img", "keras.utils.load_img",
}
READER_BUILTINS = {"open", "sorted"}
ROW_CONCATENATIONS = {
    "numpy.concatenate", "numpy.vstack", "numpy.append", "numpy.row_stack", "pandas.concat",
    "numpy.hstack",  # 1-D label vectors are concatenated with hstack
}
SHUFFLES = {
    "numpy.random.shuffle", "numpy.random.permutation", "random.shuffle", "random.sample",
    "sklearn.utils.shuffle", "tensorflow.random.shuffle", "torch.randperm",
    "sklearn.model_selection.train_test_split",
}
SHUFFLE_METHODS = {"permutation", "shuffle"}
# Data that `validation_split` does not accept or that arrives shuffled already.
SHUFFLED_SOURCES = ("keras.datasets.", "tensorflow.data.", "tensorflow_datasets.")
GENERATOR_METHODS = {"flow", "flow_from_directory", "flow_from_dataframe",
                     "image_dataset_from_directory", "text_dataset_from_directory"}


class KerasValidationSplitUnshuffled(Rule):
    code = "TL302"
    name = "keras-validation-split-unshuffled"
    severity = Severity.WARNING
    summary = "`fit(validation_split=...)` takes the last rows of data that was never shuffled."
    message = (
        "validation_split takes the last fraction of the arrays before any shuffling, and this "
        "data is in file or class order; shuffle it first (or pass validation_data)"
    )
    triggers = ("validation_split",)
    requires = (
        ("fit",),
        # the arrays were read from files or stacked per class (`_order_evidence`)
        ("read_", "load", "genfromtxt", "fromfile", "glob", "listdir", "walk", "imread", "open",
         "File", "sorted", "concat", "stack", "append", "sort_values"),
    )
    # Every finding is reported on a `.fit(..., validation_split=...)` call (anchors/splits.py).
    anchors = ("keras_validation_split",)

    what_it_does = (
        "Flags Keras `fit(x, y, validation_split=...)` when the arrays were read from files "
        "(`pd.read_csv`, `np.load`, image folders walked with `os.listdir`/`glob`) or built by "
        "concatenating per-class arrays, and nothing in the file shuffles them before the fit "
        "(`np.random.shuffle`, a permutation index, `sklearn.utils.shuffle`, `df.sample(frac=1)`, "
        "`train_test_split`)."
    )
    why_it_matters = (
        "Keras slices the validation set off the end of the arrays before it shuffles anything "
        "(`shuffle=True` only shuffles the training part). Files are often sorted by class, date "
        "or source, and per-class concatenation puts one class last: the validation set then "
        "holds a different class mix, or a single class, and its figures say little about the model."
    )
    example = """\
import numpy as np

x = np.concatenate([cats, dogs])
y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
model.fit(x, y, epochs=10, validation_split=0.2)
"""
    use_instead = """\
import numpy as np

x = np.concatenate([cats, dogs])
y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
order = np.random.permutation(len(x))
model.fit(x[order], y[order], epochs=10, validation_split=0.2)
"""
    references = (
        "https://keras.io/api/models/model_training_apis/#fit-method",
    )

    INVALID = (
        Invalid(
            """\
import pandas as pd

df = pd.read_csv("reviews_sorted_by_label.csv")
X = df.drop(columns=["label"]).values
y = df["label"].values
model.fit(X, y, epochs=5, batch_size=64, validation_split=0.1, shuffle=True)
""",
            line=6,
            message="arrays read in file order (line 3)",
        ),
        Invalid(
            """\
import os
import numpy as np
from tensorflow.keras.utils import load_img, img_to_array

images, labels = [], []
for label, folder in enumerate(["cats", "dogs"]):
    for fname in os.listdir(folder):
        images.append(img_to_array(load_img(os.path.join(folder, fname), target_size=(64, 64))))
        labels.append(label)
model.fit(np.array(images), np.array(labels), validation_split=0.2)
""",
            line=10,
            message="arrays read in file order (line 7)",
        ),
        Invalid(
            """\
import numpy as np

X = np.load("features.npy")
y = np.load("labels.npy")
history = model.fit(x=X, y=y, validation_split=0.25, epochs=30)
""",
            line=5,
            message="arrays read in file order (line 3)",
        ),
    )
    VALID = (
        """\
import numpy as np
import pandas as pd

df = pd.read_csv("reviews.csv").sample(frac=1.0, random_state=0)
model.fit(df[features].values, df["label"].values, validation_split=0.1)
""",
        """\
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
model.fit(x_train, y_train, validation_split=0.1, epochs=5)
""",
        """\
import numpy as np

X = np.load("features.npy")
y = np.load("labels.npy")
idx = np.arange(len(X))
np.random.shuffle(idx)
X, y = X[idx], y[idx]
model.fit(X, y, validation_split=0.2)
""",
        """\
import numpy as np
from sklearn.utils import shuffle

x = np.concatenate([neg, pos])
y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
x, y = shuffle(x, y, random_state=0)
model.fit(x, y, validation_split=0.2)
""",
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        flow = ctx.dataflow
        for call in ctx.index.of_type(cst.Call):
            if last_name(call) not in ("fit", "fit_generator") or type(call.func) is not cst.Attribute:
                continue
            fraction = keyword_value(call, "validation_split")
            if fraction is None or (type(fraction) in (cst.Integer, cst.Float) and fraction.evaluated_value == 0):
                continue
            arrays = [e for e in (argument(call, 0, "x"), argument(call, 1, "y")) if e is not None]
            if not arrays:
                continue
            if any(flow.passes_opaque(a, ALL_BUT_PARAM) for a in arrays):
                continue  # a helper we cannot see may shuffle
            ancestry: Set[Binding] = set()
            for array in arrays:
                ancestry |= flow.derivation(array, ALL_BUT_PARAM)
            if self._shuffled(ctx, ancestry, arrays):
                continue
            evidence = self._order_evidence(ctx, ancestry, arrays)
            if evidence is not None:
                yield self.report(call, message=(
                    f"validation_split takes the last rows of arrays {evidence}, never shuffled: "
                    "it takes them before any shuffling, so the validation set can hold a different "
                    "class mix; shuffle them first (np.random.permutation) or pass validation_data"
                ))

    def _calls_of(self, ctx: FileContext, ancestry: Set[Binding], arrays) -> Iterator[cst.Call]:
        # Source order, so that the evidence named in the message is the same on every run.
        ordered = sorted((b for b in ancestry if b.value is not None), key=lambda b: (b.order, b.name, b.how))
        for node in list(arrays) + [b.value for b in ordered]:
            yield from (n for n in ctx.index.descendants(node) if type(n) is cst.Call)

    def _shuffled(self, ctx: FileContext, ancestry: Set[Binding], arrays) -> bool:
        if any(b.shuffled for b in ancestry):
            return True
        for call in self._calls_of(ctx, ancestry, arrays):
            candidates = ctx.imports.candidates(call)
            if any(c in SHUFFLES or c.startswith(SHUFFLED_SOURCES) for c in candidates):
                return True
            name = last_name(call)
            if name in SHUFFLE_METHODS or name in GENERATOR_METHODS or name == "load_data":
                return True
            if name == "sample" and type(call.func) is cst.Attribute:
                return True  # df.sample(frac=1)
        return False

    def _order_evidence(self, ctx: FileContext, ancestry: Set[Binding], arrays) -> Optional[str]:
        for call in self._calls_of(ctx, ancestry, arrays):
            candidates = ctx.imports.candidates(call)
            name = last_name(call)
            if any(c in FILE_READERS for c in candidates) or (
                type(call.func) is cst.Name and call.func.value in READER_BUILTINS and not candidates
            ):
                return f"read in file order ({line_of(ctx, call)})"
            if any(c in ROW_CONCATENATIONS for c in candidates) and _several_parts(call):
                return f"concatenated part after part ({line_of(ctx, call)})"
            if name == "sort_values":
                return f"sorted ({line_of(ctx, call)})"
        return None


def _several_parts(call: cst.Call) -> bool:
    args = positional_args(call)
    if last_name(call) == "append":
        return len(args) >= 2
    first = args[0].value if args else keyword_value(call, "objs")
    return type(first) in (cst.List, cst.Tuple) and len(first.elements) >= 2


__all__ = ["KerasValidationSplitUnshuffled"]
