"""Editor latency of `trainlint lsp`: time from `didChange` to `publishDiagnostics`.

    python bench/lsp_latency.py [--edits 20] [--debounce SECONDS] [--pause SECONDS] [--lines 1000]

Starts the server over stdio, opens a generated training script of about 1,000 lines, then
makes `--edits` one-character edits, each waiting for the diagnostics of its version and
then `--pause` seconds (0.3 s: the server lints the first edit after a pause at once, and
debounces the keystrokes of a burst by `--debounce`); prints the median (and spread) of
those round trips, and the server's own lint time per edit (from its `$/logTrace`
messages). Run it with another environment's python to compare installs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

BLOCK = textwrap.dedent(
    """\
    # ---- experiment {i} -------------------------------------------------------------
    def load_tabular_{i}(path):
        frame = pd.read_csv(path)
        features = frame.drop(columns=["label"])
        labels = frame["label"]
        print(labels.value_counts())
        return features, labels


    def split_{i}(features, labels, seed={i}):
        X_train, X_val, y_train, y_val = train_test_split(features, labels, test_size=0.2, random_state=seed)
        forest = RandomForestClassifier(n_estimators=200).fit(X_train, y_train)
        print("val accuracy", accuracy_score(y_val, forest.predict(X_val)))
        return X_train, X_val, y_train, y_val


    class Net{i}(nn.Module):
        def __init__(self, width=128):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Dropout(0.3), nn.Linear(width, 10))

        def forward(self, x):
            return self.body(x)


    def train_epoch_{i}(model, loader, optimizer, weights):
        model.train()
        criterion = nn.CrossEntropyLoss(weight=weights)
        running_loss, seen = 0.0, 0
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            seen += inputs.size(0)
        return running_loss / seen


    def evaluate_{i}(model, loader):
        criterion = nn.CrossEntropyLoss()
        correct, total, val_loss = 0, 0, 0.0
        with torch.no_grad():
            for inputs, targets in loader:
                outputs = model(inputs)
                val_loss += criterion(outputs, targets).item()
                correct += (outputs.argmax(1) == targets).sum().item()
                total += targets.size(0)
        return val_loss / len(loader), correct / total


    def run_{i}(train_set, val_set, epochs=10):
        model = Net{i}()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        weights = torch.tensor([1.0, 4.0])
        train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
        val_loader = DataLoader(val_set, batch_size=256)
        best = 0.0
        for epoch in range(epochs):
            train_loss = train_epoch_{i}(model, train_loader, optimizer, weights)
            val_loss, val_acc = evaluate_{i}(model, val_loader)
            print(f"epoch {{epoch}}: train {{train_loss:.3f}} val {{val_loss:.3f}} acc {{val_acc:.3f}}")
            if val_acc > best:
                best = val_acc
                torch.save(model.state_dict(), "best_{i}.pt")
        return best


    def keras_baseline_{i}(X, y):
        model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(X, y, epochs=5, validation_split=0.2, class_weight={{0: 1.0, 1: 5.0}})
        return history.history["val_accuracy"][-1]

    """
)

HEADER = textwrap.dedent(
    """\
    \"\"\"Generated for the LSP latency benchmark: a long training script.\"\"\"
    import pandas as pd
    import torch
    import torch.nn as nn
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from tensorflow import keras
    from torch.utils.data import DataLoader

    """
)


def training_script(lines: int) -> str:
    text, i = HEADER, 0
    while text.count("\n") < lines:
        text += BLOCK.format(i=i)
        i += 1
    return "\n".join(text.split("\n")[:lines]) + "\n"


async def measure(edits: int, debounce: float, lines: int, pause: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="trainlint-lsp-bench-"))
    path = folder / "train.py"
    text = training_script(lines)
    path.write_text(text)
    uri = path.as_uri()

    client = LanguageClient("lsp-latency-bench", "1")
    arrived: dict = {}
    lint_ms: list = []
    waiters: dict = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        arrived[params.version] = (time.perf_counter(), len(params.diagnostics))
        if params.version in waiters:
            waiters.pop(params.version).set()

    @client.feature(types.LOG_TRACE)
    def on_trace(params: types.LogTraceParams) -> None:
        found = re.search(r"linted in ([0-9.]+) ms", params.message)
        if found:
            lint_ms.append(float(found.group(1)))

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        pass

    async def wait_for(version: int) -> None:
        if version not in arrived:
            event = waiters[version] = asyncio.Event()
            await asyncio.wait_for(event.wait(), 120)

    await client.start_io(sys.executable, "-m", "trainlint", "lsp", "--debounce", str(debounce))
    capabilities = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
        )
    )
    await client.initialize_async(
        types.InitializeParams(capabilities=capabilities, root_uri=folder.as_uri(), trace=types.TraceValue.Verbose)
    )
    client.initialized(types.InitializedParams())
    started = time.perf_counter()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri, "python", 1, text))
    )
    await wait_for(1)
    print(f"{lines}-line script, {arrived[1][1]} diagnostics; open -> diagnostics: "
          f"{(arrived[1][0] - started) * 1000:.1f} ms (includes the first parse and rule imports)")

    round_trips = []
    target_line = lines // 2
    for edit in range(edits):
        version = edit + 2
        # type one character at the end of a line in the middle of the file
        position = types.Position(line=target_line, character=0)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=position, end=position), text="#" if edit % 2 == 0 else " "
        )
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change],
            )
        )
        await wait_for(version)
        round_trips.append((arrived[version][0] - sent) * 1000)
        await asyncio.sleep(pause)

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()

    edit_lints = lint_ms[1:]
    print(f"didChange -> publishDiagnostics over {edits} edits (debounce {debounce * 1000:.0f} ms):")
    print(f"  median {statistics.median(round_trips):.1f} ms, min {min(round_trips):.1f} ms,"
          f" max {max(round_trips):.1f} ms")
    if edit_lints:
        print(f"  of which analysis (server side, in its analysis process): median "
              f"{statistics.median(edit_lints):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--debounce", type=float, default=0.1, help="server debounce in seconds")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between an edit's diagnostics and the next edit")
    args = parser.parse_args()
    asyncio.run(measure(args.edits, args.debounce, args.lines, args.pause))


if __name__ == "__main__":
    main()
