"""Evaluation-data anchors: random augmentation near evaluation data (TL305), evaluation data
handed over in the shapes TL306 starts from, a transformer fitted more than once (TL307).

- `random_augmentation` / `augmenting_generator`: a random transform (a `Random…` /
  `random_…` call or one vocab/random_transforms.py names) / an augmenting
  `ImageDataGenerator`, and evaluation data in the file: something that may be validation
  or test data by its name or a string (a path), or a split whose outputs have roles by
  position.
- `imported_pipeline`: a transform given to data (`transform=` / `transforms=`, an
  `ImageFolder`'s second argument, `… .transform = …`) that names something imported from a
  module that is not a known library (the project index may know it is random), and
  evaluation data in the file.
- `validation_argument`: validation data passed to training (`validation_data=`,
  `val_dataloaders=`, `eval_dataset=`, or a `fit` with three positional arguments).
- `evaluation_loader`: a `DataLoader` kept under, or passed as, a name that may be
  evaluation data.
- `labelled_score`: a score (`.evaluate()` / `.score()`, a `…_score` function or a metric
  imported from scikit-learn) with positional data, kept under an evaluation name or in a
  statement whose strings mention evaluation.
- `resplit`: two `train_test_split` calls.
- `fit_data_score`: a `.fit(...)` and a score (`.score(...)` or a classification metric of
  vocab/evaluation.py) in one file.
- `repeated_slice`: one slice expression assigned twice, once to a name that may be
  evaluation data.
- `refit`: a transformer (the words TL307 requires) and two fit-like calls (`fit…`,
  `adapt`), or one inside a function the file calls twice.
"""

from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from typing import Dict, List, Optional, Tuple

from trainlint.gate.anchors.mentions import file_mentions_held_out
from trainlint.gate.anchors.splits import splitter_call
from trainlint.gate.anchors.tree import FUNCTIONS, Predicate, SyntaxTree, calls_where, dotted, named, positional
from trainlint.vocab.evaluation import CLASSIFICATION_FIGURES
from trainlint.vocab.random_transforms import AUGMENTING_GENERATOR_ARGS, RANDOM_ALBUMENTATIONS, RANDOM_TORCHVISION
from trainlint.vocab.words import TRANSFORMER_WORDS

_VALIDATION_KEYWORDS = {"validation_data", "val_dataloaders", "eval_dataset"}
_TRANSFORMERS = TRANSFORMER_WORDS + ("LabelEncoder", "LabelBinarizer")


# -- TL305 ------------------------------------------------------------------------------------


def _is_random_op(name: str) -> bool:
    return name.startswith(("Random", "random_")) or name in RANDOM_TORCHVISION or name in RANDOM_ALBUMENTATIONS


def _evaluation_data(tree: SyntaxTree) -> bool:
    return file_mentions_held_out(tree) or splitter_call(tree)


def random_augmentation(tree: SyntaxTree) -> bool:
    return bool(calls_where(tree, _is_random_op)) and _evaluation_data(tree)


def augmenting_generator(tree: SyntaxTree) -> bool:
    return any(keyword.arg in AUGMENTING_GENERATOR_ARGS
               for call in named(tree, ("ImageDataGenerator",)) for keyword in call.keywords) and _evaluation_data(tree)


_LIBRARIES = ("torch", "torchvision", "albumentations", "keras", "tensorflow", "timm", "transformers",
              "PIL", "numpy", "monai", "kornia")


def _from_imported(tree: SyntaxTree) -> Tuple[set, bool]:
    """Names imported with `from M import name` from a module that is not a known library,
    and whether such a module is star-imported."""
    names, star = set(), False
    for node in tree.of_type(ast.ImportFrom):
        if not node.level and (node.module or "").split(".")[0] in _LIBRARIES:
            continue
        for alias in node.names:
            if alias.name == "*":
                star = True
            else:
                names.add(alias.asname or alias.name)
    for node in tree.of_type(ast.Import):
        names.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                     if alias.name.split(".")[0] not in _LIBRARIES)
    return names, star


def _pipelines(tree: SyntaxTree) -> List[ast.AST]:
    """The transforms given to data: keyword values, an ImageFolder's second argument, and
    values assigned to a `.transform` attribute."""
    found: List[ast.AST] = [keyword.value for keyword in tree.of_type(ast.keyword)
                            if keyword.arg in ("transform", "transforms")]
    found += [positional(call)[1] for call in named(tree, ("ImageFolder", "DatasetFolder")) if len(positional(call)) >= 2]
    found += [value for _scope, target, value in tree.assignments
              if isinstance(target, ast.Attribute) and target.attr in ("transform", "transforms")]
    return found


def imported_pipeline(tree: SyntaxTree) -> bool:
    pipelines = _pipelines(tree)
    if not pipelines:
        return False
    names, star = _from_imported(tree)
    if not names and not star:
        return False
    for pipeline in pipelines:
        for node in ast.walk(pipeline):
            if isinstance(node, ast.Name) and (node.id in names or star):
                return _evaluation_data(tree)
    return False


# -- TL306 ------------------------------------------------------------------------------------


def validation_argument(tree: SyntaxTree) -> bool:
    if any(keyword.arg in _VALIDATION_KEYWORDS for keyword in tree.of_type(ast.keyword)):
        return True
    return any(len(positional(call)) >= 3 for call in named(tree, ("fit",)))


def _target_held_out(tree: SyntaxTree, target: ast.AST) -> bool:
    """A target that may name evaluation data: a dotted name or a string key that reads so;
    any other target is taken to (the semantic model may read its whole code)."""
    if isinstance(target, ast.Subscript):
        key = target.slice
        return not (isinstance(key, ast.Constant) and isinstance(key.value, str)) or tree.roles.held_out(key.value)
    name = dotted(target)
    return name is None or tree.roles.held_out(name)


def evaluation_loader(tree: SyntaxTree) -> bool:
    for call in named(tree, ("DataLoader",)):
        parent = tree.parent(call)
        if isinstance(parent, ast.Assign) and any(_target_held_out(tree, target) for target in parent.targets):
            return True
        if isinstance(parent, ast.keyword) and (parent.arg is None or tree.roles.held_out(parent.arg)):
            return True
    return False


def resplit(tree: SyntaxTree) -> bool:
    return len(named(tree, ("train_test_split",))) >= 2


def fit_data_score(tree: SyntaxTree) -> bool:
    if not any(isinstance(call.func, ast.Attribute) for call in named(tree, ("fit",))):
        return False
    return bool(named(tree, ("score", *CLASSIFICATION_FIGURES)))


def repeated_slice(tree: SyntaxTree) -> bool:
    held_out = tree.roles.held_out
    seen: Dict[str, List[bool]] = {}
    for _scope, target, value in tree.assignments:
        if type(value) is ast.Subscript and type(value.slice) is ast.Slice:  # type: ignore[attr-defined]
            seen.setdefault(ast.dump(value), []).append(
                any(held_out(dotted(node)) for node in ast.walk(target) if isinstance(node, (ast.Name, ast.Attribute))))
    return any(len(marks) >= 2 and any(marks) for marks in seen.values())


def _scores(tree: SyntaxTree) -> List[ast.Call]:
    """`.evaluate()` / `.score()`, `…_score(...)`, and calls of names imported from sklearn."""
    from_sklearn = {local for local, targets in tree.imported_as.items()
                    if any(target.startswith("sklearn") for target in targets)}
    scores = [call for call in named(tree, ("evaluate", "score")) if isinstance(call.func, ast.Attribute)]
    scores += calls_where(tree, lambda name: name.endswith("_score"))
    if from_sklearn:
        scores += [call for call, _scope, _in_loop, _cls in tree.calls if _head(call.func) in from_sklearn]
    return scores


def _head(func: ast.AST) -> Optional[str]:
    while type(func) is ast.Attribute:
        func = func.value  # type: ignore[attr-defined]
    return func.id if type(func) is ast.Name else None  # type: ignore[attr-defined]


def labelled_score(tree: SyntaxTree) -> bool:
    statements: Optional[_Statements] = None
    for call in _scores(tree):
        if not positional(call):
            continue
        parent = tree.parent(call)
        if isinstance(parent, ast.Assign) and any(
                dotted(target) is None or tree.roles.held_out(dotted(target)) for target in parent.targets):
            return True
        if statements is None:
            statements = _Statements(tree)
        if statements.mention_held_out(call):
            return True
    return False


class _Statements:
    """Whether a string of the statement holding a call may mention evaluation. libcst's
    statement is the call's simple statement line, or the whole compound statement when the
    call sits in its header or in a one-line suite (`if x: print(...)`); every string that
    starts within those lines counts, by its value and by its source text (an f-string)."""

    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        # the lines `ast` counts (\n, \r\n, \r), for its byte offsets
        self.lines = tree.text.encode("utf-8", "surrogatepass").splitlines(keepends=True)
        strings: List[ast.AST] = [node for node in tree.of_type(ast.Constant) if isinstance(node.value, str)]
        strings += tree.of_type(ast.JoinedStr)
        strings.sort(key=lambda node: node.lineno)
        self.strings = strings
        self.string_lines = [node.lineno for node in strings]

    def mention_held_out(self, call: ast.Call) -> bool:
        span = self._span(call)
        if span is None:
            return True
        first, last = span
        held_out = self.tree.roles.held_out
        for node in self.strings[bisect_left(self.string_lines, first):bisect_right(self.string_lines, last)]:
            texts = [value.value for value in ast.walk(node)
                     if isinstance(value, ast.Constant) and isinstance(value.value, str)]
            texts.append(self._source(node))
            if any(held_out(text) for text in texts):
                return True
        return False

    def _span(self, call: ast.Call) -> Optional[Tuple[int, int]]:
        """(first line, last line) of the statement holding the call, decorators included;
        None for "do not know" (a statement sharing a line at module level)."""
        statement: Optional[ast.AST] = call
        while True:
            statement = next((node for node in self.tree.ancestors(statement) if isinstance(node, ast.stmt)), None)
            if statement is None:
                return None
            if not self._shares_a_line(statement):  # else a `;` line or a one-line suite
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


# -- TL307 ------------------------------------------------------------------------------------


def _is_fit(name: str) -> bool:
    return name.startswith("fit") or name == "adapt"


def refit(tree: SyntaxTree) -> bool:
    if not calls_where(tree, lambda name: any(word in name for word in _TRANSFORMERS)):
        return False
    fits = calls_where(tree, _is_fit)
    if len(fits) >= 2:
        return True
    # one fit, in a helper the file calls twice
    scopes = {call: scope for call, scope, _in_loop, _cls in tree.calls if call in fits}
    return any(isinstance(scope, FUNCTIONS) and len(named(tree, (scope.name,))) >= 2 for scope in scopes.values())


PREDICATES: Dict[str, Predicate] = {
    "random_augmentation": random_augmentation,
    "augmenting_generator": augmenting_generator,
    "imported_pipeline": imported_pipeline,
    "validation_argument": validation_argument,
    "evaluation_loader": evaluation_loader,
    "labelled_score": labelled_score,
    "resplit": resplit,
    "fit_data_score": fit_data_score,
    "repeated_slice": repeated_slice,
    "refit": refit,
}
