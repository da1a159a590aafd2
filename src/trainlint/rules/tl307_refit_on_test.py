"""TL307 refit-on-test."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from trainlint.core.diagnostics import Fix, Severity
from trainlint.rules.base import Finding, Invalid, Rule, line_of
from trainlint.semantic.context import FileContext
from trainlint.semantic.leakage import Fit
from trainlint.semantic.refits import Refit, is_transformer
from trainlint.vocab.refitting import LABEL_ENCODERS, REFITTING, TRANSFORM_FOR
from trainlint.vocab.words import TRANSFORMER_LIBRARY_WORDS, TRANSFORMER_WORDS


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
        "data and again on evaluation data, and a helper that fits again the transformer it is "
        "passed (`def encode(frame, encoder): encoder.fit_transform(frame)`) when a call gives it "
        "evaluation data and a transformer already fitted on training data (also one returned "
        "by another helper of the file, or kept in a list or dict). Must not flag: a helper "
        "given a fresh, unfitted transformer; a helper called only with training data; a "
        "helper that only calls `transform`."
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
        Invalid(
            """\
from sklearn.feature_extraction.text import TfidfVectorizer

vectorizer = TfidfVectorizer(min_df=2)
X_train = vectorizer.fit_transform(train_texts)
X_val = vectorizer.fit_transform(val_texts)
""",
            line=5,
            message="TfidfVectorizer fitted on the training data (line 4) is fitted again (`fit_transform`) on",
        ),
        Invalid(
            """\
from tensorflow.keras.preprocessing.text import Tokenizer

tok = Tokenizer(num_words=5000)
tok.fit_on_texts(train_df["text"])
x_train = tok.texts_to_sequences(train_df["text"])
tok.fit_on_texts(test_df["text"])
x_test = tok.texts_to_sequences(test_df["text"])
""",
            line=6,
            message="Tokenizer fitted on the training data (line 4) is fitted again (`fit_on_texts`) on",
        ),
        Invalid(
            """\
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.2)
mm = MinMaxScaler()
mm.fit(X_a)
X_b = mm.fit(X_b).transform(X_b)
""",
            line=7,
            message="MinMaxScaler fitted on the training data (line 6) is fitted again (`fit`) on evaluation",
        ),
        Invalid(
            """\
from sklearn.preprocessing import StandardScaler

def scale(features):
    return StandardScaler().fit_transform(features)

X_train = scale(X_train)
X_test = scale(X_test)
""",
            line=7,
            message="`scale` fits a new StandardScaler on every call, and is called here on evaluation data",
        ),
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
        for refit in ctx.refits.refits:
            if refit.helper is not None:
                yield self.report(refit.node, message=(
                    f"`{refit.helper.name.value}` fits a new {refit.fit.cls or 'transformer'} on every call, and "
                    "is called here on evaluation data: it was called on training data before, and the evaluation inputs are "
                    "scaled with their own statistics; fit once on the training data and only transform here"
                ))
            elif refit.call_site is not None:
                yield self.report(refit.node, message=_passed_message(ctx, refit))
            else:
                yield self.report(refit.node, message=_message(ctx, refit), fix=_fix(ctx, refit.fit))


def _message(ctx: FileContext, refit: Refit) -> str:
    fit = refit.fit
    line = line_of(ctx, refit.earlier)  # type: ignore[arg-type]
    return (
        f"{fit.cls or 'transformer'} fitted on the training data ({line}) is fitted again "
        f"(`{fit.method}`) on evaluation data, so the evaluation inputs get their own scale, "
        f"vocabulary or categories; use `{TRANSFORM_FOR.get(fit.method, 'transform')}` only"
    )


def _passed_message(ctx: FileContext, refit: Refit) -> str:
    """A helper refits the transformer it is given, at a call with evaluation data."""
    fit, earlier = refit.fit, refit.earlier_fit
    function = ctx.index.enclosing_function(fit.call)
    name = function.name.value if function is not None else "this function"
    cls = (earlier.cls if earlier is not None else None) or "transformer"
    fitted_at = line_of(ctx, refit.earlier)  # type: ignore[arg-type]
    called_at = line_of(ctx, refit.call_site)  # type: ignore[arg-type]
    return (
        f"`{name}` refits (`{fit.method}`) the {cls} it is given, with evaluation data ({called_at}): "
        f"it was already fitted on the training data ({fitted_at}), and the evaluation "
        f"inputs get their own scale, vocabulary or categories; use "
        f"`{TRANSFORM_FOR.get(fit.method, 'transform')}` only"
    )


def _fix(ctx: FileContext, fit: Fit) -> Optional[Fix]:
    if fit.method != "fit_transform" or type(fit.call.func) is not cst.Attribute:
        return None
    edit = ctx.replace_edit(fit.call.func.attr, "transform")
    return Fix(edits=(edit,), safe=False, description="Use transform instead of fit_transform")


# Kept importable here for gate/anchors/data.py until its rewrite.
_is_transformer = is_transformer
__all__ = ["RefitOnTest", "LABEL_ENCODERS", "REFITTING"]
