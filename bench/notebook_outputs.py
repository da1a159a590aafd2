"""Do notebook outputs slow linting? Time `lint_file` on notebooks of growing output size.

    python bench/notebook_outputs.py            # 0, 10, 100 MB of outputs, 5 runs each
    python bench/notebook_outputs.py --sizes 0 300 --runs 3

Each notebook has the same 200 code cells (a small training script cut into cells, one
TL301 finding); only the outputs grow (base64 plots and long stdout streams). Prints the
median wall time per size. Nothing here is a test; tests/test_notebooks.py has a quick one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from trainlint.core.config import Config
from trainlint.run.engine import lint_file

CELL = "loss_{i} = history.history['loss'][{i}]\nplt.plot(history.history['val_loss'][:{i}])\n"
HEAD = (
    "import matplotlib.pyplot as plt\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import train_test_split\n"
)
SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y)\nLogisticRegression().fit(X_train, y_train)\n"


def notebook(output_megabytes: float, cells: int = 200) -> str:
    per_cell = int(output_megabytes * 1024 * 1024 / cells)
    image = "iVBORw0KGgo" * (per_cell // 2 // 11)
    stream = ["epoch 1/10 - loss: 0.1234 - val_loss: 0.2345\n"] * (per_cell // 2 // 46)
    outputs = [
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": image, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
        {"output_type": "stream", "name": "stdout", "text": stream},
    ] if per_cell else []
    body = [{"cell_type": "code", "execution_count": i, "metadata": {}, "outputs": outputs,
             "source": CELL.format(i=i)} for i in range(cells)]
    body = [{"cell_type": "code", "metadata": {}, "outputs": [], "source": HEAD}] + body
    body.append({"cell_type": "code", "metadata": {}, "outputs": [], "source": SPLIT})
    return json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0, 10, 100], help="MB of outputs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"outputs_{size:g}mb.ipynb"
            path.write_text(notebook(size), encoding="utf-8")
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                found = lint_file(path, config)
                times.append(time.perf_counter() - start)
            codes = sorted(d.code for d in found)
            print(f"{os.path.getsize(path) / 1e6:8.1f} MB file  median {statistics.median(times):6.3f} s"
                  f"  (min {min(times):.3f}, max {max(times):.3f})  findings {codes}")


if __name__ == "__main__":
    main()
