"""Evaluation-data anchors: random augmentation that may reach evaluation data (TL305),
evaluation data that may be the training data (TL306), a transformer that may be fitted
again (TL307).

Each of these rules has a few finding paths, and each path starts from a call (or an
assignment) of a shape it can be told by; that shape is the anchor. What a path then asks of
the data's role (`SplitFacts.role`, which follows names, string keys, split outputs and
assigned values) is left to the rule; the anchors look only at shapes, at what an import
resolves a callee to and, where the rule reads a name or a string directly, at that name or
string.

- `random_augmentation` (TL305 `_dataset`, `_split_of_augmented`, `_mapped`,
  `_assigned_transform`): a random transform `_is_random_op` accepts, and a place where a
  pipeline reaches data (`transform=` / `transforms=`, `ImageFolder` / `DatasetFolder` with
  two positional arguments, `<x>.map(f)`, `<x>.transform = ...`).
- `augmenting_generator` (TL305 `_generator`): `ImageDataGenerator(...)` with an augmentation
  argument, and a `.flow*(...)`.
- `validation_argument` (TL306 `_validation_arguments`): `fit(..., validation_data=)`,
  `fit(..., val_dataloaders=)` or `fit(a, b, c)`; `Trainer(eval_dataset=)`.
- `evaluation_loader` (TL306 `_loaders`): torch's `DataLoader` over a dataset, assigned to a
  name (or passed as a keyword) that reads as evaluation data.
- `labelled_score` (TL306 `_labelled_scores`): a scikit-learn metric or `.evaluate()` /
  `.score()` with positional data, assigned to names that read as evaluation data or in a
  statement with a string that mentions evaluation.
- `resplit` (TL306 `_resplits`): two `train_test_split` calls.
- `fit_data_score` (TL306 `_scores_on_fit_data`): a `.fit(X, y)` and a `.score(X, y)` or a
  scikit-learn classification metric.
- `repeated_slice` (TL306 `_repeated_slices`): one slice expression assigned to a name that
  reads as evaluation data and to one that does not.
- `refit` (TL307): a scikit-learn / Keras transformer constructor, a fit-like method call with
  data, and either another fit-like call (`_earlier_fit`) or that fit inside a function the
  file calls twice by name (`_helper_refits`).

Callees are resolved as `ImportTable.candidates` does, looser where a local name is imported
twice (every target counts; the table keeps one). Calls are looked up by their own last name
(`calls_named`), so a file costs one pass over its calls, and the rest is dictionary look-ups.
"""

from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple

from trainlint.semantic.imports import EQUIVALENT_PREFIXES
from trainlint.semantic.leakage import SAMPLER_LIBRARIES, TRANSFORMER_LIBRARIES, TRANSFORMERS
from trainlint.semantic.roles import name_role
from trainlint.semantic.splits import is_eval
from trainlint.gate.anchors.tree import FUNCTIONS, Fact, Predicate, SyntaxTree, dotted, keyword_value, last_name
from trainlint.rules.tl305_random_augmentation_in_eval import (
    AUGMENTING_GENERATOR_ARGS,
    FLOW_METHODS,
    RANDOM_ALBUMENTATIONS,
    RANDOM_TORCHVISION,
)
from trainlint.rules.tl306_train_val_overlap import DATALOADERS, EVAL_WORDS, EVALUATIONS, METRIC_PREFIX
from trainlint.rules.tl307_refit_on_test import LABEL_ENCODERS, REFITTING
from trainlint.semantic.overlap import CLASSIFICATION_FIGURES, FIT_DATA_SCORE, REPEATED_SLICE

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.context import FileContext

_AUGMENTATION_PACKAGES = ("torchvision", "albumentations", "keras", "tensorflow", "tf")
_KERAS_LAYERS = ("keras.layers", "tensorflow.keras.layers", "keras.layers.experimental")
_TRAIN_TEST_SPLIT = "sklearn.model_selection.train_test_split"
_TRAINERS = ("Trainer", "SFTTrainer", "Seq2SeqTrainer")
_DATA_KEYWORDS = ("X", "texts", "data", "x")  # LeakageFacts._fits: the data of a fit
_CONSTRUCTORS = TRANSFORMERS | LABEL_ENCODERS
_CONSTRUCTOR_LIBRARIES = TRANSFORMER_LIBRARIES + SAMPLER_LIBRARIES


# -- calls by name, import resolution -----------------------------------------------------------


def calls_named(tree: SyntaxTree) -> Dict[str, List[ast.Call]]:
    """Every call by its callee's own last name (`fit` for `model.fit(...)`, what libcst's
    `names.last_name` gives); calls of anything else (`f()()`, `x[0]()`) are left out: they
    have no last name and no qualified name."""

    def compute(tree: SyntaxTree) -> Dict[str, List[ast.Call]]:
        named: Dict[str, List[ast.Call]] = defaultdict(list)
        for call, _scope, _in_loop, _cls in tree.calls:
            func = call.func
            kind = type(func)
            if kind is ast.Attribute:
                named[func.attr].append(call)  # type: ignore[attr-defined]
            elif kind is ast.Name:
                named[func.id].append(call)  # type: ignore[attr-defined]
        return named

    return tree.memo("data.calls_named", compute)


def _named(tree: SyntaxTree, names: Iterable[str]) -> Iterable[ast.Call]:
    named = calls_named(tree)
    for name in names:
        yield from named.get(name, ())


@dataclass
class _Imports:
    targets: Dict[str, Set[str]]  # local name -> every qualified name it is imported as
    star_modules: List[str]

    def heads_from(self, roots: Tuple[str, ...]) -> Set[str]:
        """The local names imported from one of the packages `roots` (`T` for `import
        torchvision.transforms as T`): the only heads whose chains resolve there."""
        return {local for local, targets in self.targets.items()
                if any(target.split(".")[0] in roots for target in targets)}

    def stars_from(self, roots: Tuple[str, ...]) -> bool:
        return any(module.split(".")[0] in roots for module in self.star_modules)

    def locals_for(self, name: str) -> List[str]:
        """Local names a bare call may use for the function `name`: itself (star imports)
        and the names it is imported under (`tts` for `... import train_test_split as tts`)."""
        return [name] + [local for local, targets in self.targets.items()
                         if local != name and any(target.rsplit(".", 1)[-1] == name for target in targets)]


def _imports(tree: SyntaxTree) -> _Imports:
    def compute(tree: SyntaxTree) -> _Imports:
        targets: Dict[str, Set[str]] = defaultdict(set)
        star_modules: List[str] = []
        for node in tree.of_type(ast.Import):
            for alias in node.names:
                if alias.asname:
                    targets[alias.asname].add(alias.name)
                else:  # `import torch.nn` binds `torch`
                    head = alias.name.split(".")[0]
                    targets[head].add(head)
        for node in tree.of_type(ast.ImportFrom):
            if node.level or node.module is None:
                continue  # relative: ImportTable skips them
            for alias in node.names:
                if alias.name == "*":
                    star_modules.append(node.module)
                else:
                    targets[alias.asname or alias.name].add(f"{node.module}.{alias.name}")
        return _Imports(dict(targets), star_modules)

    return tree.memo("data.imports", compute)


def candidates(tree: SyntaxTree, node: ast.AST) -> List[str]:
    """The qualified names a callee (or a call's callee) may stand for, as
    `ImportTable.candidates`: its head resolved through the imports, or a bare name through
    `from m import *`; plus the re-exported spellings."""
    if isinstance(node, ast.Call):
        node = node.func
    name = dotted(node)
    if name is None:
        return []
    imports = _imports(tree)
    head, _, rest = name.partition(".")
    found: List[str] = []
    if head in imports.targets:
        found = [f"{target}.{rest}" if rest else target for target in imports.targets[head]]
    elif not rest:
        found = [f"{module}.{name}" for module in imports.star_modules]
    for qualified in list(found):
        for prefix, canonical in EQUIVALENT_PREFIXES:
            if qualified.startswith(prefix):
                found.append(canonical + qualified[len(prefix):])
    return found


def _head(func: ast.AST) -> Optional[str]:
    """The name a callee's attribute chain starts from (`T` for `T.v2.RandomCrop`)."""
    while type(func) is ast.Attribute:
        func = func.value  # type: ignore[attr-defined]
    return func.id if type(func) is ast.Name else None  # type: ignore[attr-defined]


def _may_resolve(call: ast.Call, heads: Set[str], stars: bool) -> bool:
    """Whether `candidates(call)` may name something of the packages `heads` / `stars` were
    computed for: the chain starts from one of `heads`, or it is a bare name and one of those
    packages is star-imported."""
    head = _head(call.func)
    return head is not None and (head in heads or (stars and type(call.func) is ast.Name))


def _positional(call: ast.Call) -> List[ast.AST]:
    """`positional_args`: the arguments without a keyword, starred ones left out."""
    return [argument for argument in call.args if not isinstance(argument, ast.Starred)]


def _has_argument(call: ast.Call, position: int, keyword: str) -> bool:
    """`names.argument(call, position, keyword) is not None`."""
    return keyword_value(call, keyword) is not None or len(_positional(call)) > position


# -- TL305 ------------------------------------------------------------------------------------


def is_random_op(tree: SyntaxTree, call: ast.Call) -> bool:
    """TL305 `_is_random_op`, without its `p=0` exception: a random transform of torchvision,
    albumentations, Keras preprocessing layers or `tf.image.random_*`, by import resolution."""
    resolved = candidates(tree, call)
    if not resolved:
        return False
    name = last_name(call) or ""
    is_random = name.startswith("Random")
    for qualified in resolved:
        if qualified.startswith("tensorflow.image.random_"):
            return True
        if qualified.startswith("torchvision.transforms") and (is_random or name in RANDOM_TORCHVISION):
            return True
        if qualified.startswith("albumentations") and (is_random or name in RANDOM_ALBUMENTATIONS):
            return True
        if qualified.startswith(_KERAS_LAYERS) and is_random:
            return True
    return False


def _pipeline_reaches_data(tree: SyntaxTree) -> bool:
    """A place where TL305 looks for a random pipeline given to data: a call with
    `transform=` / `transforms=` or an `ImageFolder` / `DatasetFolder` with two positional
    arguments (`_dataset`, and the dataset `_split_of_augmented` splits), `<x>.map(f)`
    (`_mapped`), a single-target assignment to `<x>.transform(s)` (`_assigned_transform`)."""
    for call in _named(tree, ("map",)):
        if isinstance(call.func, ast.Attribute) and _has_argument(call, 0, "map_func"):
            return True
    for call in _named(tree, ("ImageFolder", "DatasetFolder")):
        if len(_positional(call)) >= 2:
            return True
    for keyword in tree.of_type(ast.keyword):
        if keyword.arg in ("transform", "transforms") and isinstance(tree.parent(keyword), ast.Call):
            return True
    for assign in tree.of_type(ast.Assign):
        target = assign.targets[0]
        if len(assign.targets) == 1 and isinstance(target, ast.Attribute) and target.attr in ("transform", "transforms"):
            return True
    return False


def random_augmentation(tree: SyntaxTree) -> bool:
    """A random transform (`is_random_op`) and a place where a pipeline reaches data."""
    imports = _imports(tree)
    heads, stars = imports.heads_from(_AUGMENTATION_PACKAGES), imports.stars_from(_AUGMENTATION_PACKAGES)
    if not heads and not stars:
        return False  # nothing resolves to an augmentation library
    if not any(_may_resolve(call, heads, stars) and is_random_op(tree, call)
               for call, _scope, _in_loop, _cls in tree.calls):
        return False
    return _pipeline_reaches_data(tree)


def augmenting_generator(tree: SyntaxTree) -> bool:
    """`ImageDataGenerator(...)` with an augmentation argument (its value not checked), and a
    `<x>.flow(...)` / `flow_from_directory` / `flow_from_dataframe` (TL305 `_generator`)."""
    if not any(isinstance(call.func, ast.Attribute) for call in _named(tree, FLOW_METHODS)):
        return False
    return any(keyword.arg in AUGMENTING_GENERATOR_ARGS
               for call in _named(tree, ("ImageDataGenerator",)) for keyword in call.keywords)


def _random_augmentation_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.rules.tl305_random_augmentation_in_eval import RandomAugmentationInEval

    rule = RandomAugmentationInEval()
    if not any(rule._is_random_op(ctx, call) for call in ctx.index.of_type(cst.Call)):
        return False
    return _pipeline_reaches_data_fact(ctx)


def _pipeline_reaches_data_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.semantic.names import argument, keyword_value, last_name, positional_args

    for call in ctx.index.of_type(cst.Call):
        name = last_name(call)
        if name == "map" and isinstance(call.func, cst.Attribute) and argument(call, 0, "map_func") is not None:
            return True
        if keyword_value(call, "transform") is not None or keyword_value(call, "transforms") is not None:
            return True
        if name in ("ImageFolder", "DatasetFolder") and len(positional_args(call)) >= 2:
            return True
    for assign in ctx.index.of_type(cst.Assign):
        target = assign.targets[0].target
        if len(assign.targets) == 1 and isinstance(target, cst.Attribute) and (
                target.attr.value in ("transform", "transforms")):
            return True
    return False


def _augmenting_generator_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.semantic.names import last_name
    from trainlint.rules.tl305_random_augmentation_in_eval import _falsy

    calls = ctx.index.of_type(cst.Call)
    augmenting = any(
        last_name(call) == "ImageDataGenerator" and any(
            arg.keyword is not None and arg.keyword.value in AUGMENTING_GENERATOR_ARGS and not _falsy(arg.value)
            for arg in call.args)
        for call in calls)
    flows = any(last_name(call) in FLOW_METHODS and isinstance(call.func, cst.Attribute) for call in calls)
    return augmenting and flows


# -- TL306 ------------------------------------------------------------------------------------


def validation_argument(tree: SyntaxTree) -> bool:
    """`fit` with `validation_data=`, with `val_dataloaders=` or with three positional
    arguments; `Trainer` / `SFTTrainer` / `Seq2SeqTrainer` with `eval_dataset=`."""
    for call in _named(tree, ("fit",)):
        if (len(_positional(call)) >= 3 or keyword_value(call, "validation_data") is not None
                or keyword_value(call, "val_dataloaders") is not None):
            return True
    return any(keyword_value(call, "eval_dataset") is not None for call in _named(tree, _TRAINERS))


def evaluation_loader(tree: SyntaxTree) -> bool:
    """A call ImportTable resolves to torch's DataLoader, with a dataset argument, whose
    result `_assigned_role` reads as evaluation data (the `sampler=` exception ignored)."""
    if "DataLoader" not in tree.text:
        return False  # in the callee or in the import it resolves through
    imports = _imports(tree)
    for call in _named(tree, imports.locals_for("DataLoader")):
        if not DATALOADERS.intersection(candidates(tree, call)) or not _has_argument(call, 0, "dataset"):
            continue
        parent = tree.parent(call)
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            if _target_reads_as_eval(parent.targets[0]):
                return True
        elif isinstance(parent, ast.keyword) and _reads_as_eval(parent.arg):
            return True
    return False


def _reads_as_eval(name: Optional[str]) -> bool:
    return is_eval(name_role(name))


def _target_reads_as_eval(target: ast.AST) -> bool:
    """`TrainValOverlap._assigned_role`: a dotted target read with dots as underscores, a
    subscript by its string key; any other target is accepted (libcst reads its code)."""
    if isinstance(target, ast.Subscript):
        key = target.slice
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and _reads_as_eval(key.value)
    name = dotted(target)
    if name is None:
        return True
    return _reads_as_eval(name.replace(".", "_"))


def resplit(tree: SyntaxTree) -> bool:
    """Two calls ImportTable resolves to scikit-learn's `train_test_split`."""
    if "train_test_split" not in tree.text:
        return False
    found = 0
    for call in _named(tree, _imports(tree).locals_for("train_test_split")):
        if _TRAIN_TEST_SPLIT in candidates(tree, call):
            found += 1
            if found == 2:
                return True
    return False


def labelled_score(tree: SyntaxTree) -> bool:
    """A scikit-learn metric (by import resolution) or a `.evaluate()` / `.score()` method
    (its "not an imported function" condition ignored), with positional data, whose figure
    `_labelled_evaluation` may take for an evaluation figure."""
    scores = [call for call in _named(tree, EVALUATIONS) if isinstance(call.func, ast.Attribute)]
    if "sklearn" in tree.text:  # a metric resolves through an import from sklearn
        imports = _imports(tree)
        heads, stars = imports.heads_from(("sklearn",)), imports.stars_from(("sklearn",))
        if heads or stars:
            scores += [call for call, _scope, _in_loop, _cls in tree.calls if _may_resolve(call, heads, stars) and any(
                qualified.startswith(METRIC_PREFIX) for qualified in candidates(tree, call))]
    if not scores:
        return False
    statements = _Statements(tree)
    for call in scores:
        if not _positional(call):
            continue
        parent = tree.parent(call)
        if isinstance(parent, ast.Assign):
            if _targets_read_as_eval(parent.targets):
                return True
        elif statements.mention_eval(call):
            return True
    return False


def _targets_read_as_eval(targets: List[ast.AST]) -> bool:
    """Every target's last part reads as one and the same evaluation role; a target that is
    not a dotted name is accepted (libcst reads its whole code)."""
    roles = set()
    for target in targets:
        name = dotted(target)
        if name is None:
            return True
        roles.add(name_role(name.rsplit(".", 1)[-1]))
    return len(roles) == 1 and is_eval(roles.pop())


def fit_data_score(tree: SyntaxTree) -> bool:
    """A `.fit(X, y)` method call with two positional arguments, and a `.score(X, y)` with
    two or a call ImportTable resolves to a scikit-learn classification metric
    (`OverlapFacts._scores_on_fit_data`: a model scored on the rows it was fitted on)."""
    if not any(isinstance(call.func, ast.Attribute) and len(_positional(call)) >= 2 for call in _named(tree, ("fit",))):
        return False
    if any(isinstance(call.func, ast.Attribute) and len(_positional(call)) == 2 for call in _named(tree, ("score",))):
        return True
    if "sklearn" not in tree.text:
        return False
    metrics = {METRIC_PREFIX + name for name in CLASSIFICATION_FIGURES}
    return any(metrics.intersection(candidates(tree, call)) for call, _scope, _in_loop, _cls in tree.calls)


def repeated_slice(tree: SyntaxTree) -> bool:
    """Two assignments of the same slice text (`a = rows[:cut]`, `b = rows[:cut]`) to single
    names, one that reads as evaluation data and one that does not (its training use is the
    facts' question, `OverlapFacts._repeated_slices`)."""
    seen: Dict[str, Set[str]] = defaultdict(set)
    for node in tree.of_type(ast.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        value = node.value
        if not isinstance(value, ast.Subscript) or not isinstance(value.slice, ast.Slice):
            continue
        role = name_role(node.targets[0].id)
        seen[ast.dump(value)].add("eval" if is_eval(role) else "other")  # "other": maybe trained on
    return any("other" in roles and "eval" in roles for roles in seen.values())


class _Statements:
    """Whether a string of `ModuleIndex.statement_of(call)` may match EVAL_WORDS. That
    statement is the call's simple statement line, or the whole compound statement when the
    call sits in its header or in a one-line suite (`if x: print(...)`). Taken loosely: every
    string that starts within the lines of that statement counts, matched by its value and
    by its source text (an f-string's text, implicitly concatenated parts)."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        # the lines `ast` counts (\n, \r\n, \r), for its byte offsets
        self.lines = tree.text.encode("utf-8", "surrogatepass").splitlines(keepends=True)
        strings: List[ast.AST] = [node for node in tree.of_type(ast.Constant) if isinstance(node.value, str)]
        strings += tree.of_type(ast.JoinedStr)
        strings.sort(key=lambda node: node.lineno)
        self.strings = strings
        self.string_lines = [node.lineno for node in strings]

    def mention_eval(self, call: ast.Call) -> bool:
        span = self._span(call)
        if span is None:
            return True
        first, last = span
        for node in self.strings[bisect_left(self.string_lines, first):bisect_right(self.string_lines, last)]:
            texts = [value.value for value in ast.walk(node)
                     if isinstance(value, ast.Constant) and isinstance(value.value, str)]
            texts.append(self._source(node))
            if any(EVAL_WORDS.search(text.replace("_", " ")) for text in texts):
                return True
        return False

    def _span(self, call: ast.Call) -> Optional[Tuple[int, int]]:
        """(first line, last line) of the libcst statement holding the call, decorators
        included; None for "do not know" (a statement sharing a line at module level)."""
        statement: Optional[ast.AST] = call
        while True:
            statement = next((node for node in self.tree.ancestors(statement) if isinstance(node, ast.stmt)), None)
            if statement is None:
                return None
            # Sharing a line with other code means a `;` line or a one-line suite: libcst's
            # statement is then the enclosing compound statement (or the `;` line, smaller).
            if not self._shares_a_line(statement):
                break
        first = statement.lineno
        for decorator in getattr(statement, "decorator_list", ()):
            first = min(first, decorator.lineno)
        return first, statement.end_lineno or statement.lineno

    def _shares_a_line(self, statement: ast.stmt) -> bool:
        last = statement.end_lineno or statement.lineno
        if last > len(self.lines):
            return True
        before = self.lines[statement.lineno - 1][:statement.col_offset]
        after = self.lines[last - 1][statement.end_col_offset or 0:].strip()
        return bool(before.strip()) or (bool(after) and not after.startswith(b"#"))

    def _source(self, node: ast.AST) -> str:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        if last >= len(self.lines):
            return self.tree.text
        if first == last:
            raw = self.lines[first][node.col_offset:node.end_col_offset]
        else:
            raw = self.lines[first][node.col_offset:] + b"".join(self.lines[first + 1:last]) \
                + self.lines[last][:node.end_col_offset]
        return raw.decode("utf-8", "replace")


def _validation_argument_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.semantic.names import keyword_value, last_name, positional_args

    for call in ctx.index.of_type(cst.Call):
        name = last_name(call)
        if name == "fit" and (keyword_value(call, "validation_data") is not None
                              or keyword_value(call, "val_dataloaders") is not None
                              or len(positional_args(call)) >= 3):
            return True
        if name in _TRAINERS and keyword_value(call, "eval_dataset") is not None:
            return True
    return False


def _evaluation_loader_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.semantic.names import argument
    from trainlint.rules.tl306_train_val_overlap import TrainValOverlap

    rule = TrainValOverlap()
    return any(ctx.imports.matches(call, DATALOADERS) and argument(call, 0, "dataset") is not None
               and is_eval(rule._assigned_role(ctx, call))
               for call in ctx.index.of_type(cst.Call))


def _labelled_score_fact(ctx: "FileContext") -> bool:
    import libcst as cst

    from trainlint.semantic.names import last_name, positional_args
    from trainlint.rules.tl306_train_val_overlap import TrainValOverlap

    rule = TrainValOverlap()
    for call in ctx.index.of_type(cst.Call):
        resolved = ctx.imports.candidates(call)
        is_metric = any(c.startswith(METRIC_PREFIX) for c in resolved)
        is_evaluation = last_name(call) in EVALUATIONS and isinstance(call.func, cst.Attribute) and not resolved
        if (is_metric or is_evaluation) and positional_args(call) and rule._labelled_evaluation(
                ctx, call, ctx.index.statement_of(call)):
            return True
    return False


# -- TL307 ------------------------------------------------------------------------------------


def refit(tree: SyntaxTree) -> bool:
    """A transformer constructor `LeakageFacts.classify` knows (a TRANSFORMERS or label
    encoder name resolving into a transformer or sampler library), a fit-like method call
    with data, and either a second call named like a fit (`_earlier_fit`) or that fit inside
    a function the file calls twice by its name (`_helper_refits`)."""
    fits = list(_named(tree, REFITTING))
    if not fits or not any(any(qualified.startswith(_CONSTRUCTOR_LIBRARIES) for qualified in candidates(tree, call))
                           for call in _named(tree, _CONSTRUCTORS)):
        return False
    with_data = [call for call in fits if isinstance(call.func, ast.Attribute) and (
        _positional(call) or any(keyword.arg in _DATA_KEYWORDS for keyword in call.keywords))]
    if not with_data:
        return False
    if len(fits) >= 2:
        return True
    # one fit: a helper's, called twice
    scopes = {call: scope for call, scope, _in_loop, _cls in tree.calls if call in with_data}
    named = calls_named(tree)
    return any(isinstance(scope, FUNCTIONS) and sum(
        1 for call in named.get(scope.name, ()) if isinstance(call.func, ast.Name)) >= 2 for scope in scopes.values())


def _refit_fact(ctx: "FileContext") -> bool:
    """A fit TL307 starts from (a transformer's `fit` / `fit_transform` / `fit_on_texts` /
    `adapt` with data), and what either path needs beside it."""
    import libcst as cst

    from trainlint.semantic.names import last_name
    from trainlint.rules.tl307_refit_on_test import _is_transformer

    fits = [fit for fit in ctx.leakage.fits if _is_transformer(fit) and fit.method in REFITTING and fit.data is not None]
    if not fits:
        return False
    calls = ctx.index.of_type(cst.Call)
    if sum(1 for call in calls if last_name(call) in REFITTING) >= 2:
        return True
    for fit in fits:
        function = ctx.index.enclosing_function(fit.call)
        if function is not None and sum(
                1 for call in calls if isinstance(call.func, cst.Name) and call.func.value == function.name.value) >= 2:
            return True
    return False


PREDICATES: Dict[str, Predicate] = {
    "random_augmentation": random_augmentation,
    "augmenting_generator": augmenting_generator,
    "validation_argument": validation_argument,
    "evaluation_loader": evaluation_loader,
    "labelled_score": labelled_score,
    "resplit": resplit,
    "fit_data_score": fit_data_score,
    "repeated_slice": repeated_slice,
    "refit": refit,
}
FACTS: Dict[str, Fact] = {
    "random_augmentation": _random_augmentation_fact,
    "augmenting_generator": _augmenting_generator_fact,
    "validation_argument": _validation_argument_fact,
    "evaluation_loader": _evaluation_loader_fact,
    "labelled_score": _labelled_score_fact,
    "resplit": lambda ctx: sum(1 for split in ctx.splits.splits if split.kind == "train_test_split") >= 2,
    "fit_data_score": lambda ctx: any(o.how == FIT_DATA_SCORE for o in ctx.overlap.overlaps),
    "repeated_slice": lambda ctx: any(o.how == REPEATED_SLICE for o in ctx.overlap.overlaps),
    "refit": _refit_fact,
}
