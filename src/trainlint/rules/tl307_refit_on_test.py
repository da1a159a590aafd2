"""TL307 refit-on-test."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set

import libcst as cst

from trainlint.semantic.context import FileContext
from trainlint.semantic.dataflow import STATE, Binding
from trainlint.semantic.names import last_name
from trainlint.semantic.roles import TRAIN
from trainlint.semantic.roles import is_eval
from trainlint.core.diagnostics import Severity
from trainlint.vocab.words import TRANSFORMER_LIBRARY_WORDS, TRANSFORMER_WORDS
from trainlint.rules.base import Finding, Rule

REFITTING = {"fit", "fit_transform", "fit_on_texts", "adapt"}
# Label encoders are harmless to fit once on all labels (TL303 ignores them), but refitting
# one on the test labels renumbers the classes.
LABEL_ENCODERS = {"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "OrdinalEncoder"}
TRANSFORM_FOR = {"fit": "transform", "fit_transform": "transform",
                 "fit_on_texts": "texts_to_sequences", "adapt": "the layer itself"}


class RefitOnTest(Rule):
    code = "TL307"
    name = "refit-on-test"
    severity = Severity.ERROR
    summary = "A transformer fitted on training data is fitted again on evaluation data."
    message = (
        "transformer already fitted on the training data is fitted again on evaluation data, "
        "which is then scaled with its own statistics; call transform only"
    )
    triggers = ("fit", "adapt")
    requires = (TRANSFORMER_WORDS + ("LabelEncoder", "LabelBinarizer"), TRANSFORMER_LIBRARY_WORDS)
    # a transformer fit with data, and an earlier fit or a helper called twice (anchors/data.py)
    anchors = ("refit",)

    what_it_does = (
        "Flags a second `fit`, `fit_transform`, `fit_on_texts` or `adapt` of a scaler, encoder, "
        "imputer, vectorizer, tokenizer or other transformer on validation or test data, after "
        "the same object was fitted on training data. Also flags a helper function of the file "
        "that fits a new transformer on whatever it is given, when it is called on training "
        "data and again on evaluation data."
    )
    why_it_matters = (
        "Refitting replaces the training statistics with those of the evaluation rows: the test "
        "features are centred on their own mean, the vocabulary is rebuilt from the test texts, "
        "category codes are reassigned. The model then sees inputs on a different scale (or "
        "with different meanings) than it was trained on, and the evaluation figure describes "
        "neither the model nor new data."
    )
    example = """\
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.fit_transform(X_test)
"""
    use_instead = """\
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
"""
    fix_safety = (
        "Unsafe: the fix replaces the second `fit_transform` with `transform` (and removes a "
        "second `fit`), which changes the evaluation inputs and figures, as intended."
    )
    references = ("https://scikit-learn.org/stable/common_pitfalls.html#inconsistent-preprocessing",)

    INVALID = (
        """\
from sklearn.feature_extraction.text import TfidfVectorizer

vectorizer = TfidfVectorizer(min_df=2)
X_train = vectorizer.fit_transform(train_texts)
X_val = vectorizer.fit_transform(val_texts)
""",
        """\
from tensorflow.keras.preprocessing.text import Tokenizer

tok = Tokenizer(num_words=5000)
tok.fit_on_texts(train_df["text"])
x_train = tok.texts_to_sequences(train_df["text"])
tok.fit_on_texts(test_df["text"])
x_test = tok.texts_to_sequences(test_df["text"])
""",
        """\
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.2)
mm = MinMaxScaler()
mm.fit(X_a)
X_b = mm.fit(X_b).transform(X_b)
""",
        """\
from sklearn.preprocessing import StandardScaler

def scale(features):
    return StandardScaler().fit_transform(features)

X_train = scale(X_train)
X_test = scale(X_test)
""",
    )
    VALID = (
        """\
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
""",
        """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import KFold

scaler = StandardScaler()
for train_idx, val_idx in KFold(5).split(X):
    X_tr = scaler.fit_transform(X[train_idx])  # refitted on each training fold: fine
    X_va = scaler.transform(X[val_idx])
""",
        """\
import numpy as np
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler().fit(X_train)
# after model selection: the final model is refitted on training and validation together
scaler.fit(np.vstack([X_train, X_val]))
""",
        """\
from sklearn.preprocessing import LabelEncoder

encoder = LabelEncoder().fit(y_train)
model.fit(X_test, encoder.transform(y_test))  # a model, not the transformer, is fitted
""",
    )
    FIX_EXAMPLES = (
        (
            """\
from sklearn.preprocessing import StandardScaler
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.fit_transform(X_test)
""",
            """\
from sklearn.preprocessing import StandardScaler
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
""",
        ),
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.leakage
        for fit in facts.fits:
            if not _is_transformer(fit) or fit.method not in REFITTING or fit.data is None:
                continue
            if not is_eval(ctx.roles.along_flow(fit.data)):
                continue
            earlier = self._earlier_fit(ctx, fit)
            if earlier is not None:
                yield self.report(fit.call, message=self._message(ctx, fit, earlier), fix=self._fix(ctx, fit))
        yield from self._helper_refits(ctx)

    def _earlier_fit(self, ctx: FileContext, fit) -> Optional[cst.Call]:
        """A fit of the same object, on data that is not evaluation data, before this one."""
        flow = ctx.dataflow
        seen: Set[Binding] = set()
        stack: List[Binding] = [r.binding for r in flow.refs(fit.receiver)]
        while stack:
            binding = stack.pop()
            if binding in seen:
                continue
            seen.add(binding)
            value = binding.value
            if binding.how == "mutate" and isinstance(value, cst.Call) and value is not fit.call:
                if last_name(value) in REFITTING and flow.call_state(value) is binding:
                    data = value.args[0].value if value.args else None
                    if data is not None and not is_eval(ctx.roles.along_flow(data)):
                        return value
            stack.extend(r.binding for r in binding.parents if r.kind == STATE)
            if binding.how == "assign" and isinstance(value, cst.Call) and last_name(value) in REFITTING:
                state = flow.call_state(value)
                if state is not None and value is not fit.call:
                    data = value.args[0].value if value.args else None
                    if data is not None and not is_eval(ctx.roles.along_flow(data)):
                        return value
        return None

    def _helper_refits(self, ctx: FileContext) -> Iterator[Finding]:
        """`def scale(X): return StandardScaler().fit_transform(X)` called on train and test."""
        facts = ctx.leakage
        flow = ctx.dataflow
        for fit in facts.fits:
            if not _is_transformer(fit) or fit.method not in REFITTING or fit.data is None:
                continue
            function = ctx.index.enclosing_function(fit.call)
            if function is None:
                continue
            params = [r.binding for r in flow.refs(fit.data) if r.binding.how == "param" and r.binding.scope is function]
            if not params or len(params) != 1:
                continue
            # The transformer must be created inside the helper: a fresh fit on every call.
            if not any(isinstance(v, cst.Call) and v is not fit.call for v in flow.defining_values(fit.receiver)):
                if not isinstance(fit.receiver, cst.Call):
                    continue
            param = params[0]
            position = _param_position(function, param.name)
            calls = [c for c in ctx.index.of_type(cst.Call)
                     if isinstance(c.func, cst.Name) and c.func.value == function.name.value]
            roles = []
            for call in calls:
                argument = _call_argument(call, position, param.name)
                roles.append((call, ctx.roles.along_flow(argument) if argument is not None else None))
            if not any(role == TRAIN for _, role in roles):
                continue
            for call, role in roles:
                if is_eval(role):
                    yield self.report(call, message=(
                        f"`{function.name.value}` fits a new {fit.cls or 'transformer'} on every call, and "
                        "is called here on evaluation data after training data: the evaluation inputs are "
                        "scaled with their own statistics; fit once on the training data and only transform here"
                    ))

    def _message(self, ctx: FileContext, fit, earlier: cst.Call) -> str:
        line = ctx.position(earlier).start.line
        return (
            f"{fit.cls or 'transformer'} fitted on the training data (line {line}) is fitted again "
            f"(`{fit.method}`) on evaluation data, so the evaluation inputs get their own scale, "
            f"vocabulary or categories; use `{TRANSFORM_FOR.get(fit.method, 'transform')}` only"
        )

    def _fix(self, ctx: FileContext, fit):
        from trainlint.core.diagnostics import Fix

        if fit.method != "fit_transform" or not isinstance(fit.call.func, cst.Attribute):
            return None
        edit = ctx.replace_edit(fit.call.func.attr, "transform")
        return Fix(edits=(edit,), safe=False, description="Use transform instead of fit_transform")


def _is_transformer(fit) -> bool:
    return fit.category == "transformer" or fit.cls in LABEL_ENCODERS


def _param_position(function: cst.FunctionDef, name: str) -> int:
    params = [*function.params.posonly_params, *function.params.params]
    for index, param in enumerate(params):
        if param.name.value == name:
            return index
    return -1


def _call_argument(call: cst.Call, position: int, name: str):
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if 0 <= position < len(positional):
        return positional[position].value
    return None


__all__ = ["RefitOnTest"]
