"""Every fixable fixture, in every line-ending and whitespace variant, fixed as a file is by
`--fix` (issue 22.4): the fixes are those of the plain LF file, they land on the same code
(the fixed file, with the variant undone, is the LF file's fix), the findings they target are
gone, a second `--fix` changes nothing, the file's line endings are kept, and it parses.

FIXABLE lists the fixtures with a fix under `--unsafe-fixes`, found by running the fixer over
fixtures/ (`test_fixable_lists_every_fixable_fixture` keeps the list honest)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Optional

import libcst as cst
import pytest

from conftest import FIXTURES
from trainlint.core.config import Config
from trainlint.core.lines import LINE_BREAK, default_newline, split_lines
from trainlint.fix.apply import fix_text
from trainlint.fix.autofix import fix_files
from trainlint.run.engine import lint_file, lint_source

FIXABLE = [
    "projects/models_package/train.py",
    "tabular/ambiguous_target.py", "tabular/credit_default_xgb.py", "tabular/iris_species_alias.py",
    "tabular/keras_tabular_binary.py", "tabular/sentiment_tfidf_logreg.py",
    "tl1/autoencoder_features_for_forest.py", "tl1/cifar_globals_rewrite.py",
    "tl1/cifar_single_script.py", "tl1/class_trainer_eval_then_train.py",
    "tl1/class_trainer_missing_eval.py", "tl1/ddp_train.py", "tl1/decorated_no_grad_eval.py",
    "tl1/epoch_loop_never_back_to_train.py", "tl1/midepoch_validation.py", "tl1/seq2seq_train_once.py",
    "tl1/step_based_iter_next.py", "tl1/train_acc_by_eval_pass.py",
    "tl2/torch_positional_weights_upper_names.py", "tl2/torch_weighted_ce_seed.py",
    "tl3/churn_random_forest.py", "tl3/final_refit_and_helpers.py",
    "tl3/forward_selector_inner_split.py", "tl3/hf_sarcasm_lists_unstratified.py",
    "tl3/kfold_manual_loop.py", "tl3/labels_through_tensors_and_loaders.py", "tl3/news_tfidf_refit.py",
    "tl3/rewrite_creditcard_fraud_smote.py", "tl3/rewrite_titanic_cleaning.py",
    "tl3/single_frame_split.py", "tl3/split_inside_method_callers.py",
    "tl3/torch_penguins_crossentropy.py",
]
# Three fixtures (the fixes of TL101, TL102, TL104 and TL301) run in the fast suite; all of
# them (with TL201's and TL307's unsafe fixes) take about a minute and are `slow`.
FAST = {"tl1/decorated_no_grad_eval.py", "tl1/class_trainer_eval_then_train.py", "tl3/single_frame_split.py"}
CONFIG = Config()
PAGE_BREAK = "\x0c\n"
SEPARATOR_COMMENT = "# \x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\n"  # all that str.splitlines() breaks on


class Variant(NamedTuple):
    make: Callable[[str, int], Optional[str]]  # (LF text, first fixed line) -> variant, or None
    undo: Callable[[str], str]  # the fixed variant -> what the fixed LF text must be


def _endings(text: str, choose: Callable[[int], str]) -> str:
    lines = split_lines(text, keepends=True)
    return "".join(line.rstrip("\n") + (choose(n) if line.endswith("\n") else "") for n, line in enumerate(lines))


def _insert_line(text: str, line: int, inserted: str) -> str:
    """`inserted` as a line above `line`, at its indentation."""
    lines = split_lines(text, keepends=True)
    indentation = re.match(r"[ \t]*", lines[line - 1]).group()
    return "".join(lines[:line - 1] + [indentation + inserted] + lines[line - 1:])


def _prefix_line(text: str, line: int, prefix: str) -> str:
    lines = split_lines(text, keepends=True)
    lines[line - 1] = prefix + lines[line - 1]
    return "".join(lines)


def _tabs(text: str) -> Optional[str]:
    if any(len(m.group()) % 4 for m in re.finditer(r"^ +", text, re.M)):
        return None  # indentation that is not in units of four (hanging indents): no tab variant
    return re.sub(r"^(?:    )+", lambda m: "\t" * (len(m.group()) // 4), text, flags=re.M)


VARIANTS: Dict[str, Variant] = {
    "lf": Variant(lambda t, _: t, lambda t: t),
    "crlf": Variant(lambda t, _: t.replace("\n", "\r\n"), lambda t: t.replace("\r\n", "\n")),
    "cr": Variant(lambda t, _: t.replace("\n", "\r"), lambda t: t.replace("\r", "\n")),
    # CRLF first (so the file's own ending is CRLF), LF on every other line
    "mixed": Variant(lambda t, _: _endings(t, lambda n: "\n" if n % 2 else "\r\n"), lambda t: t.replace("\r\n", "\n")),
    "bom": Variant(lambda t, _: "\ufeff" + t, lambda t: t),  # written as bytes: see _write
    "form-feed-top": Variant(lambda t, _: "\x0c" + t, lambda t: t[1:] if t.startswith("\x0c") else t),
    "form-feed-above": Variant(lambda t, line: _insert_line(t, line, PAGE_BREAK),
                               lambda t: re.sub(r"^[ \t]*" + PAGE_BREAK, "", t, count=1, flags=re.M)),
    "form-feed-inline": Variant(lambda t, line: _prefix_line(t, line - 1, "\x0c") if line > 1 else None,
                                lambda t: t.replace("\x0c", "", 1)),
    "separators-above": Variant(lambda t, line: _insert_line(t, line, SEPARATOR_COMMENT),
                                lambda t: re.sub(r"^[ \t]*" + re.escape(SEPARATOR_COMMENT), "", t, count=1,
                                                 flags=re.M)),
    "tabs": Variant(lambda t, _: _tabs(t), lambda t: re.sub(r"^\t+", lambda m: "    " * len(m.group()), t, flags=re.M)),
    "no-final-newline": Variant(lambda t, _: t.rstrip("\n"), lambda t: t + "\n"),
}


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))  # a leading \ufeff is the UTF-8 byte order mark


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # keeps a BOM as \ufeff, and every line break


def _codes(diagnostics) -> Counter:
    return Counter(d.code for d in diagnostics)


class Baseline(NamedTuple):
    """The LF fixture fixed: its text, the codes of the fixes applied and of the findings
    left (a fix may reveal another finding: TL101's eval() makes a train-mode figure TL103),
    and the first line fixed."""
    text: str
    applied: Counter
    remaining: Counter
    first_line: int


_baselines: Dict[str, Baseline] = {}


def _baseline(name: str) -> Baseline:
    if name not in _baselines:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        result, remaining = fix_text(text, lambda source: lint_source(source, name, CONFIG), unsafe=True)
        assert result.applied, f"{name} has no fix any more: update FIXABLE"
        _baselines[name] = Baseline(result.text, _codes(result.applied), _codes(remaining),
                                    min(d.line for d in result.applied))
    return _baselines[name]


def _fix_file(path: Path):
    outcome = fix_files(lint_file(path, CONFIG), CONFIG, unsafe=True, write=True)
    assert not [m for m in outcome.messages if "not written" in m], outcome.messages
    return outcome


def _check_line_endings(before: str, after: str) -> None:
    """The file's own endings stay: only its first one is added, no other kind appears."""
    own, old, new = default_newline(before), Counter(LINE_BREAK.findall(before)), Counter(LINE_BREAK.findall(after))
    assert {kind: count for kind, count in new.items() if kind != own} == \
        {kind: count for kind, count in old.items() if kind != own}
    assert new[own] >= old[own]


def _parses(text: str) -> None:
    cst.parse_module(text.lstrip("\ufeff"))
    compile(text.lstrip("\ufeff"), "<fixed>", "exec")


CASES = [pytest.param(name, variant, id=f"{name}-{variant}",
                      marks=() if name in FAST else pytest.mark.slow)
         for name in FIXABLE for variant in VARIANTS]


@pytest.mark.parametrize("name, variant", CASES)
def test_fix_on_every_line_ending_and_whitespace_variant(name, variant, tmp_path):
    baseline = _baseline(name)
    original = (FIXTURES / name).read_text(encoding="utf-8")
    text = VARIANTS[variant].make(original, baseline.first_line)
    if text is None:
        pytest.skip(f"no {variant} variant of this fixture")
    try:
        _parses(text)
    except SyntaxError:
        pytest.skip(f"the {variant} variant of this fixture is not valid Python")
    except cst.ParserSyntaxError:  # a form feed before an indented line inside a block
        pytest.skip(f"libcst cannot parse the {variant} variant of this fixture (CPython can)")
    path = tmp_path / Path(name).name
    _write(path, text)
    before = lint_file(path, CONFIG)
    assert _codes(before) == _codes(lint_source(original, name, CONFIG)), "the variant changes the findings"

    outcome = _fix_file(path)
    after = _read(path)
    assert _codes(outcome.fixed) == baseline.applied  # the same fixes as on the LF file
    assert VARIANTS[variant].undo(after.lstrip("\ufeff")) == baseline.text  # ... landing on the same code
    remaining = _codes(lint_file(path, CONFIG))
    for code, fixed in baseline.applied.items():  # the targeted findings are gone
        assert remaining[code] == _codes(before)[code] - fixed
    assert remaining == baseline.remaining
    assert after.startswith("\ufeff") == text.startswith("\ufeff")
    _check_line_endings(text, after)
    _parses(after)

    again = _fix_file(path)
    assert not again.fixed and _read(path) == after  # idempotent


@pytest.mark.slow  # runs the fixer over every fixture (about 10 s)
def test_fixable_lists_every_fixable_fixture():
    fixable = []
    for path in sorted(FIXTURES.rglob("*.py")):
        name = path.relative_to(FIXTURES).as_posix()
        result, _ = fix_text(path.read_text(encoding="utf-8"),
                             lambda source: lint_source(source, name, CONFIG), unsafe=True)
        if result.applied:
            fixable.append(name)
    assert fixable == sorted(FIXABLE)
