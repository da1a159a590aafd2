"""Model selection: which held-out data drives a choice, and whether the chosen figure is
reported as the result.

A `Selection` is one place where a validation or test figure decides something: a
checkpoint or early-stopping rule (`if val_acc > best_acc:`, Keras/Lightning callbacks, HF
`load_best_model_at_end`), a learning-rate schedule stepped on a figure
(`ReduceLROnPlateau.step(metric)`), a hyperparameter search (`GridSearchCV.best_score_`), or a
comparison that picks the best of several candidates (`max(scores, key=scores.get)`). For each
one the facts record the role of the data behind it, whether it keeps the best model or figure
(`picks_best`), the report that shows the chosen figure (linked by data flow), and the
held-out evaluations of the file, so that TL401 (test data drives the choice) and TL402 (the
selection figure is reported as final) only compare facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.names import (
    argument, bool_value, dotted_name, keyword_value, last_name, nodes_in, positional_args, string_value,
)
from trainlint.semantic.reports import ReportFlow, mentioned_keys, target_keys
from trainlint.semantic.roles import HELD_OUT, TEST, VALIDATION, DataRoles
from trainlint.vocab.evaluation import FIGURE_WORDS, STATE_SAVES
from trainlint.vocab.roles import name_tokens

# Kinds of selection.
BEST_IF = "best-if"                # if metric > best: best = metric (+ save / deepcopy)
LR_PLATEAU = "lr-plateau"          # ReduceLROnPlateau.step(metric)
KERAS_CALLBACK = "keras-callback"  # fit(validation_data=..., callbacks=[ModelCheckpoint...])
HF_TRAINER = "hf-trainer"          # TrainingArguments(load_best_model_at_end=True) + Trainer
HF_SEARCH = "hf-search"            # best_run = trainer.hyperparameter_search(...)
LIGHTNING = "lightning"            # ModelCheckpoint(monitor=...) + trainer.fit/validate
SEARCH = "search"                  # GridSearchCV / RandomizedSearchCV
COMPARISON = "comparison"          # max(scores, key=...), np.argmax(scores), df[col].idxmax()

SEARCHES = {
    "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
    "BayesSearchCV",
}
NESTED_CV = {"cross_val_score", "cross_validate", "cross_val_predict"}
HF_ARGUMENTS = {"TrainingArguments", "Seq2SeqTrainingArguments"}
LIGHTNING_PREFIX = "lightning.pytorch."
KERAS_CALLBACKS = {
    "keras.callbacks.ModelCheckpoint": "checkpoint",
    "keras.callbacks.EarlyStopping": "early-stopping",
    "keras.callbacks.ReduceLROnPlateau": "plateau",
}
MODEL_LOADS = {"load_model", "load", "from_pretrained", "load_from_checkpoint", "clone_model"}


# Calls whose data arguments are not an evaluation of that data.
NOT_EVALUATION = {
    "DataLoader", "TensorDataset", "Dataset", "Subset", "random_split", "len", "print", "fit",
    "fit_transform", "fit_generator", "train_test_split", "transform", "append", "extend",
    "shuffle", "from_tensor_slices", "batch", "map", "ImageFolder", "open", "to", "cuda", "cpu",
    "save", "format", "str", "int", "float", "range", "zip", "list", "tuple", "dict", "set",
    "isinstance", "type", "iter", "next", "array", "asarray", "tensor", "Tensor", "from_numpy",
    "concatenate", "stack", "cat", "reshape", "astype", "copy", "deepcopy", "info", "log",
    "warning", "debug", "write", "dump", "sort_values", "head", "describe", "value_counts",
    "filter", "select", "remove_columns", "rename_column", "set_format", "read_csv", "tokenize",
    "pad_sequences", "to_categorical", "flow", "flow_from_directory", "flow_from_dataframe",
    "prefetch", "cache", "Trainer", "TrainingArguments", "Seq2SeqTrainingArguments", "plot",
    "scatter", "hist", "imshow", "title", "xlabel", "ylabel", "legend", "set_title", "step",
    "add_scalar", "add_scalars", "log_metric", "log_metrics", "update", "items", "keys",
    "values", "get", "enumerate", "tqdm", "sorted", "round", "dropna", "drop", "reset_index",
    "set_description", "set_postfix", "add", "max", "min", "sum", "mean", "abs", "float32",
    "unsqueeze", "squeeze", "view", "permute", "numpy", "item", "detach", "torch", "zeros",
    "ones", "CSVLogger", "DataFrame", "Series", "savefig", "show", "subplots", "figure",
    # building and preparing a data set is not evaluating it
    "tokenizer", "processor", "image_processor", "feature_extractor", "add_column", "from_dict",
    "from_pandas", "from_list", "with_transform", "set_transform", "cast_column", "rename_columns",
}


@dataclass(frozen=True)
class Evaluation:
    """A held-out set evaluated: a call that receives it, or a loop over it."""

    node: cst.CSTNode
    role: str
    key: Optional[str]


@dataclass(frozen=True)
class Selection:
    kind: str
    role: str                         # VALIDATION or TEST: the data behind the choice
    node: cst.CSTNode                 # what TL401 reports
    selection_node: cst.CSTNode       # what TL402 reports (the selecting statement)
    picks_best: bool                  # keeps the best model/figure (not only stops or decays)
    data_key: Optional[str]           # which held-out set drove it
    report: Optional[cst.CSTNode]     # where the chosen figure (or the chosen model on the
                                      # same data) is reported
    start: cst.CSTNode                # evaluations after this one "follow" the selection
    final_report: Optional[cst.CSTNode] = None  # report after the selection completed
    # Names the chosen model lives under afterwards (the search, the fitted Keras model, the
    # Trainer), when one object is chosen and known; None when the analysis cannot tell.
    model_keys: Optional[Tuple[str, ...]] = None


class SelectionFacts:
    def __init__(self, index: ModuleIndex, imports: ImportTable, roles: DataRoles, reports: ReportFlow) -> None:
        self.index = index
        self.imports = imports
        self.roles = roles
        self.flow = reports
        self._bindings = self._collect_bindings()
        self.evaluations: List[Evaluation] = list(self._find_evaluations())
        self.selections: List[Selection] = [
            *self._best_ifs(), *self._lr_plateaus(), *self._keras(), *self._hugging_face(),
            *self._lightning(), *self._searches(), *self._comparisons(),
        ]

    # -- questions the rules ask ------------------------------------------------------------

    def has_test_evaluation(self) -> bool:
        return any(evaluation.role == TEST for evaluation in self.evaluations)

    def chosen_model_tested(self, selection: Selection) -> bool:
        """The model this selection chose is evaluated on test data afterwards. Judged per
        selection: a notebook that tests one model does not test the others. When the chosen
        model's names are unknown, any test evaluation of the file counts."""
        if selection.model_keys is None:
            return self.has_test_evaluation()
        if self._tested_after(selection.model_keys, selection.start):
            return True
        # `def fit_and_evaluate(model, ...)`: the model its callers passed in, tested by them
        function = self.index.enclosing(selection.start, cst.FunctionDef)
        if function is None:
            return False
        for call, argument in self._passed_models(function, selection.model_keys):
            keys = tuple(sorted(mentioned_keys(argument)))
            if keys and self._tested_after(keys, call):
                return True
        return False

    def _tested_after(self, model_keys: Tuple[str, ...], start: cst.CSTNode) -> bool:
        """A test evaluation of `model_keys` (or a name derived from them) after `start`,
        before they are rebound. Names local to a function (its parameters and assignments)
        are that function's own: a test of another `model` elsewhere does not count."""
        scope = self.flow.scope_of(start)
        names = self.flow.derived(scope, model_keys, after=start)  # `best = search.best_estimator_`
        still_bound = self._while_bound(model_keys, start)
        function = self.index.enclosing(start, cst.FunctionDef)
        local = function is not None and any(_root(key) in _local_names(function) for key in model_keys)
        return any(
            evaluation.role == TEST and still_bound(evaluation.node) and mentioned_keys(evaluation.node) & names
            and (not local or self.index.is_inside(evaluation.node, function))
            for evaluation in self.evaluations
        )

    def _passed_models(self, function: cst.FunctionDef, model_keys: Tuple[str, ...]
                       ) -> Iterator[Tuple[cst.Call, cst.BaseExpression]]:
        """(call, argument) for each call of `function` in this file, where the argument is
        bound to the parameter that holds the chosen model."""
        params = function.params
        positional = [*params.posonly_params, *params.params]
        wanted = {_root(key) for key in model_keys}
        for call in self.index.of_type(cst.Call):
            if not (type(call.func) is cst.Name and call.func.value == function.name.value):
                continue
            if self.index.is_inside(call, function):
                continue
            for position, param in enumerate(positional):
                if param.name.value in wanted:
                    value = argument(call, position, param.name.value)
                    if value is not None:
                        yield call, value

    def in_unit_test(self, selection: Selection, path: str) -> bool:
        """The selection runs inside a pytest test function (`def test_grid_search(...)` in
        `test_*.py`): what it prints checks the library, it is not a result."""
        base = path.replace("\\", "/").rsplit("/", 1)[-1]
        if not (base.startswith("test_") or base.endswith("_test.py")):
            return False
        function = self.index.enclosing(selection.start, cst.FunctionDef)
        return function is not None and function.name.value.startswith("test_")

    def _while_bound(self, keys: Tuple[str, ...], start: cst.CSTNode) -> Callable[[cst.CSTNode], bool]:
        """A test for nodes after `start` and before `keys` are given a new object."""
        until = self._rebinding_after(keys, start)

        def still_bound(node: cst.CSTNode) -> bool:
            return self.flow.is_after(node, start) and (
                until is None or self.index.order(node) <= self.index.order(until))
        return still_bound

    def _rebinding_after(self, keys: Tuple[str, ...], start: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The first later assignment that gives one of `keys` a new object (a notebook's next
        variant reuses `model`); reloading the saved best model, or `hs = hs.fit(...)`, keeps
        the same model."""
        scope = self.flow.scope_of(start)
        for assign in self.index.of_type(cst.Assign):
            if self.flow.scope_of(assign) is not scope or not self.flow.is_after(assign, start):
                continue
            if type(assign.value) is cst.Call and last_name(assign.value) in MODEL_LOADS:
                continue
            if mentioned_keys(assign.value) & set(keys):
                continue  # `hs = hs.fit(X, y)`: the same object
            defined: Set[str] = set()
            for target in assign.targets:
                defined |= target_keys(target.target)
            if defined & set(keys):
                return assign
        return None

    def other_test_evaluation_after(self, selection: Selection) -> bool:
        """A test set other than the one that drove the choice is evaluated afterwards."""
        for evaluation in self.evaluations:
            if evaluation.role != TEST or evaluation.key is None or not selection.data_key:
                continue
            if evaluation.key != selection.data_key and self.flow.is_after(evaluation.node, selection.start):
                return True
        return False

    def held_out_evaluation_after(self, node: cst.CSTNode) -> bool:
        return any(self.flow.is_after(e.node, node) for e in self.evaluations)

    # -- bindings ---------------------------------------------------------------------------

    def _collect_bindings(self) -> Dict[str, List[cst.BaseExpression]]:
        """Dotted name -> values assigned (`cb = ModelCheckpoint(...)`, `self.sched = ...`)."""
        bindings: Dict[str, List[cst.BaseExpression]] = {}
        for assign in self.index.of_type(cst.Assign):
            for target in assign.targets:
                name = dotted_name(target.target)
                if name is not None:
                    bindings.setdefault(name, []).append(assign.value)
        return bindings

    def _bound_name(self, node: cst.CSTNode) -> Optional[str]:
        parent = self.index.parent(node)
        if type(parent) is cst.Assign and len(parent.targets) == 1:
            return dotted_name(parent.targets[0].target)
        return None

    def _resolve_calls(self, node: Optional[cst.CSTNode], depth: int = 0) -> List[cst.Call]:
        """The constructor calls an expression stands for: `[es, ModelCheckpoint(...)]`,
        `callbacks` bound to a list, `base + [es]`."""
        if node is None or depth > 3:
            return []
        if type(node) is cst.Call:
            return [node]
        if type(node) in (cst.List, cst.Tuple):
            return [c for e in node.elements for c in self._resolve_calls(e.value, depth + 1)]
        if type(node) is cst.BinaryOperation:
            return self._resolve_calls(node.left, depth + 1) + self._resolve_calls(node.right, depth + 1)
        name = dotted_name(node)
        if name is not None:
            found = [c for v in self._bindings.get(name, []) for c in self._resolve_calls(v, depth + 1)]
            for call in self.index.of_type(cst.Call):  # callbacks.append(es)
                if last_name(call) == "append" and type(call.func) is cst.Attribute \
                        and dotted_name(call.func.value) == name and call.args:
                    found.extend(self._resolve_calls(call.args[0].value, depth + 1))
            return found
        return []

    def _calls_on(self, owner: str, method: str) -> List[cst.Call]:
        return [
            call for call in self.index.of_type(cst.Call)
            if type(call.func) is cst.Attribute and call.func.attr.value == method
            and dotted_name(call.func.value) == owner
        ]

    # -- evaluations ------------------------------------------------------------------------

    def _find_evaluations(self) -> Iterator[Evaluation]:
        for call in self.index.of_type(cst.Call):
            name = last_name(call)
            if name is None or name in NOT_EVALUATION:
                continue
            if name == "test" and type(call.func) is cst.Attribute and self._is_lightning_trainer(call.func.value):
                yield Evaluation(call, TEST, self.roles.key(_first_data_arg(call)) or "test")
                continue
            found = [(self.roles.held_out(arg.value), arg.value) for arg in call.args]
            roles = {role for role, _ in found if role is not None}
            if len(roles) == 1:
                role = roles.pop()
                data = next(value for found_role, value in found if found_role == role)
                yield Evaluation(call, role, self.roles.key(data))
        for loop in self.index.of_type(cst.For):
            role = self.roles.held_out(loop.iter)
            if role is not None:
                yield Evaluation(loop, role, self.roles.key(_loop_data(loop.iter)))

    def _reported_evaluation(
        self, role: str, key: Optional[str], after: cst.CSTNode
    ) -> Optional[cst.CSTNode]:
        """A report of an evaluation of the same held-out set, after `after`."""
        for evaluation in self.evaluations:
            if evaluation.role != role or not self.flow.is_after(evaluation.node, after):
                continue
            if key is not None and evaluation.key is not None and evaluation.key != key:
                continue
            if type(evaluation.node) is cst.Call:
                report = self.flow.result_reported(evaluation.node)
                if report is not None:
                    return report
        return None

    # -- PyTorch-style loops, manual hyperparameter loops -------------------------------------

    def _best_ifs(self) -> Iterator[Selection]:
        for if_node in self.index.of_type(cst.If):
            match = self._best_comparison(if_node)
            if match is None:
                continue
            metric, best_keys = match
            role = self._metric_role(metric, if_node)
            if role not in HELD_OUT or not _is_figure(metric):
                continue
            yield self._loop_selection(BEST_IF, role, if_node, metric, best_keys, picks_best=True)
        for assign in self.index.of_type(cst.Assign):  # best = max(best, val_acc)
            value = assign.value
            if not (type(value) is cst.Call and type(value.func) is cst.Name
                    and value.func.value in ("max", "min") and len(value.args) == 2):
                continue
            defined = set()
            for target in assign.targets:
                defined |= target_keys(target.target)
            sides = [arg.value for arg in value.args]
            others = [side for side in sides if not (mentioned_keys(side) & defined)]
            if len(others) != 1 or len(others) == len(sides):
                continue
            role = self._metric_role(others[0], assign)
            if role in HELD_OUT and _is_figure(others[0]):
                statement = self.index.statement_of(assign)
                yield self._loop_selection(BEST_IF, role, statement, others[0], defined, picks_best=True)

    def _best_comparison(self, if_node: cst.If) -> Optional[Tuple[cst.BaseExpression, Set[str]]]:
        """`metric > best` in the test, with `best = metric` in a branch: (metric, best keys)."""
        writes: List[Tuple[Set[str], Set[str]]] = []
        branches = [if_node.body]
        if type(if_node.orelse) is cst.Else:
            branches.append(if_node.orelse.body)
        for branch in branches:
            for statement in _direct_statements(branch):
                if type(statement) is cst.Assign:
                    defined: Set[str] = set()
                    for target in statement.targets:
                        defined |= target_keys(target.target)
                    writes.append((defined, mentioned_keys(statement.value)))
        if not writes:
            return None
        for comparison in _comparisons(if_node.test):
            left, target = comparison.left, comparison.comparisons[0]
            if type(target.operator) not in (cst.GreaterThan, cst.LessThan, cst.GreaterThanEqual,
                                                cst.LessThanEqual):
                continue
            right = target.comparator
            for metric, best in ((left, right), (right, left)):
                metric_keys, best_keys = mentioned_keys(metric), mentioned_keys(best)
                for defined, read in writes:
                    hit = defined & best_keys
                    if hit and read & metric_keys and not (defined & metric_keys):
                        return metric, hit
        return None

    def _metric_role(self, metric: cst.BaseExpression, at: cst.CSTNode) -> Optional[str]:
        role = self.roles.computed_on(metric)
        if role is not None:
            return role
        # `if phase == "val" and epoch_acc > best_acc:` / inside `if phase == "val":`
        for node in [at, *self.index.ancestors(at)]:
            if type(node) is cst.If:
                guarded = _guard_role(node.test, self.roles)
                if guarded is not None:
                    return guarded
            if type(node) in (cst.FunctionDef, cst.ClassDef):
                break
        # `def validate(epoch):` whose only held-out data is one set: its figures are of it
        function = self.index.enclosing(at, cst.FunctionDef)
        if function is None:
            return None
        evaluated = {e.role for e in self.evaluations if self.index.is_inside(e.node, function)}
        return evaluated.pop() if len(evaluated) == 1 and not self._trains_in(function) else None

    def _trains_in(self, function: cst.CSTNode) -> bool:
        """The function takes optimizer steps or calls backward (it trains as well)."""
        return any(last_name(call) in ("backward", "step", "fit") for call in self.index.inside(function, cst.Call))

    def _loop_selection(
        self, kind: str, role: str, node: cst.CSTNode, metric: cst.BaseExpression,
        best_keys: Set[str], picks_best: bool,
    ) -> Selection:
        scope = self.flow.scope_of(node)
        outer = _outermost_loop(self.index, node) or node
        metric_keys = mentioned_keys(metric)
        final = self.flow.reaching_report(scope, best_keys, after=outer)
        if final is None and scope is not None and best_keys & _globals_of(scope):
            # `global best_acc` in `def test(epoch):`: the script reports it at module level
            final = self.flow.reaching_report(None, best_keys & _globals_of(scope), after=scope)
        if final is None and picks_best and self._saves_state(node):
            final = self._reported_evaluation(role, self.roles.key(metric), outer)
        report = final
        if report is None and role == TEST:
            report = self.flow.reaching_report(scope, best_keys | metric_keys) \
                or self._reported_evaluation(role, self.roles.key(metric), node)
        return Selection(kind, role, node, node, picks_best, self.roles.key(metric),
                         report, outer, final)

    def _saves_state(self, node: cst.CSTNode) -> bool:
        return any(last_name(call) in STATE_SAVES for call in self.index.inside(node, cst.Call))

    def _lr_plateaus(self) -> Iterator[Selection]:
        for call in self.index.of_type(cst.Call):
            if last_name(call) != "step" or type(call.func) is not cst.Attribute:
                continue
            owner = dotted_name(call.func.value)
            constructors = self._bindings.get(owner or "", [])
            if not any(last_name(value) == "ReduceLROnPlateau" for value in constructors):
                continue
            metric = argument(call, 0, "metrics")
            role = self.roles.held_out(metric) if metric is not None else None
            if role is None:
                continue
            scope = self.flow.scope_of(call)
            report = self.flow.reaching_report(scope, mentioned_keys(metric)) \
                or self._reported_evaluation(role, self.roles.key(metric), call)
            statement = self.index.statement_of(call)
            yield Selection(LR_PLATEAU, role, statement, statement, False, self.roles.key(metric),
                            report, _outermost_loop(self.index, call) or statement)

    # -- Keras ------------------------------------------------------------------------------

    def _keras(self) -> Iterator[Selection]:
        for call in self.index.of_type(cst.Call):
            if last_name(call) not in ("fit", "fit_generator") or type(call.func) is not cst.Attribute:
                continue
            callbacks = [
                (KERAS_CALLBACKS[name], cb) for cb in self._resolve_calls(keyword_value(call, "callbacks"))
                for name in self.imports.candidates(cb) if name in KERAS_CALLBACKS
            ]
            choosing = [(kind, cb) for kind, cb in callbacks if _keras_monitors_held_out(kind, cb)
                        and not (kind == "checkpoint" and bool_value(keyword_value(cb, "save_best_only")) is not True)]
            if not choosing:
                continue
            data = keyword_value(call, "validation_data")
            if data is not None:
                role, key = self.roles.held_out(data), self.roles.key(data)
            elif keyword_value(call, "validation_split") is not None:
                role, key = VALIDATION, None
            else:
                continue
            if role is None:
                continue
            picks_best = any(
                (kind == "checkpoint") or
                (kind == "early-stopping" and bool_value(keyword_value(cb, "restore_best_weights")) is True)
                for kind, cb in choosing
            )
            statement = self.index.statement_of(call)
            report = self._keras_history_report(call, statement)
            if report is None and key is not None:
                report = self._reported_evaluation(role, key, statement)
            model = dotted_name(call.func.value)
            yield Selection(KERAS_CALLBACK, role, call, call, picks_best, key, report, statement, report,
                            model_keys=(model,) if model else None)

    def _keras_history_report(self, fit: cst.Call, statement: cst.CSTNode) -> Optional[cst.CSTNode]:
        """`max(history.history["val_accuracy"])` reported after the fit."""
        history = self._bound_name(fit)
        if history is None:
            return None
        keys: Set[str] = set()
        for subscript in self.index.of_type(cst.Subscript):
            if dotted_name(subscript.value) != f"{history}.history":
                continue
            column = _subscript_text(subscript)
            if column is None or not column.startswith("val_") or not self.flow.is_after(subscript, statement):
                continue
            direct = self.flow.reported_directly(subscript)
            if direct is not None:
                return direct
            owner = self.index.statement_of(subscript)
            if type(owner) is cst.SimpleStatementLine:
                for small in owner.body:
                    if type(small) is cst.Assign:
                        for target in small.targets:
                            keys |= target_keys(target.target)
        if keys:
            return self.flow.reaching_report(self.flow.scope_of(fit), keys, after=statement)
        return None

    # -- Hugging Face -----------------------------------------------------------------------

    def _hugging_face(self) -> Iterator[Selection]:
        for call in self.index.of_type(cst.Call):
            name = last_name(call)
            if name is None or not name.endswith("Trainer") or keyword_value(call, "eval_dataset") is None:
                continue
            if not self._from_library(call, ("transformers.", "trl.", "setfit.")) and not self._defined_here(name):
                continue
            arguments = self._hf_arguments(argument(call, 1, "args"))
            callbacks = [last_name(cb) for cb in self._resolve_calls(keyword_value(call, "callbacks"))]
            picks_best = arguments is not None and bool_value(keyword_value(arguments, "load_best_model_at_end")) is True
            eval_dataset = keyword_value(call, "eval_dataset")
            role = self.roles.held_out(eval_dataset)
            if role is None:
                continue
            key = self.roles.key(eval_dataset)
            trainer = self._bound_name(call)
            statement = self.index.statement_of(call)
            if trainer is not None:
                yield from self._hf_searches(trainer, role, key, statement)
            if not picks_best and "EarlyStoppingCallback" not in callbacks:
                continue
            report = None
            if trainer is not None:
                report = self._hf_report(trainer, key, statement)
                for other in self._hf_other_predictions(trainer, key):
                    self.evaluations.append(Evaluation(other, TEST, "__other__"))
            selection_node = arguments if arguments is not None and picks_best else call
            yield Selection(HF_TRAINER, role, call, selection_node, picks_best, key, report, statement, report,
                            model_keys=(trainer,) if trainer else None)

    def _hf_searches(self, trainer: str, role: str, key: Optional[str],
                     after: cst.CSTNode) -> Iterator[Selection]:
        """`best_run = trainer.hyperparameter_search(...)`: the trials are ranked by the
        figure on the Trainer's eval_dataset, and `best_run.objective` is that figure."""
        same_trainer = self._while_bound((trainer,), after)  # not another Trainer by that name
        for call in self._calls_on(trainer, "hyperparameter_search"):
            if not same_trainer(call):
                continue
            report = self.flow.result_reported(call)
            statement = self.index.statement_of(call)
            yield Selection(HF_SEARCH, role, call, report or call, True, key, report, statement, report,
                            model_keys=(trainer,))

    def _hf_arguments(self, node: Optional[cst.BaseExpression]) -> Optional[cst.Call]:
        for value in self._resolve_calls(node):
            if last_name(value) in HF_ARGUMENTS or (last_name(value) or "").endswith(("Arguments", "Config")):
                return value
        return None

    def _hf_report(self, trainer: str, key: Optional[str], after: cst.CSTNode) -> Optional[cst.CSTNode]:
        for method in ("evaluate", "predict"):
            for call in self._calls_on(trainer, method):
                if not self.flow.is_after(call, after):
                    continue
                data = argument(call, 0, "eval_dataset" if method == "evaluate" else "test_dataset")
                if data is not None and self.roles.key(data) != key:
                    continue
                if data is None and method == "predict":
                    continue
                report = self.flow.result_reported(call)
                if report is not None:
                    return report
        return self.flow.reaching_report(self.flow.scope_of(after), {f"{trainer}.state.best_metric"}, after=after)

    def _hf_other_predictions(self, trainer: str, key: Optional[str]) -> Iterator[cst.Call]:
        """`trainer.predict(predict_dataset)` on another set: the HF scripts' test pass."""
        for method in ("evaluate", "predict"):
            for call in self._calls_on(trainer, method):
                data = argument(call, 0, "eval_dataset" if method == "evaluate" else "test_dataset")
                if data is not None and self.roles.key(data) != key and self.roles.computed_on(data) != VALIDATION:
                    yield call

    # -- Lightning --------------------------------------------------------------------------

    def _is_lightning(self, call: cst.CSTNode, name: str) -> bool:
        return any(c.startswith(LIGHTNING_PREFIX) and c.endswith(name) for c in self.imports.candidates(call))

    def _is_lightning_trainer(self, node: cst.CSTNode) -> bool:
        name = dotted_name(node)
        return any(self._is_lightning(value, "Trainer") for value in self._bindings.get(name or "", []))

    def _lightning(self) -> Iterator[Selection]:
        for trainer_call in self.index.of_type(cst.Call):
            if not self._is_lightning(trainer_call, "Trainer"):
                continue
            monitors = [
                cb for cb in self._resolve_calls(keyword_value(trainer_call, "callbacks"))
                if self._lightning_monitor(cb) is not None
            ]
            trainer = self._bound_name(trainer_call)
            if not monitors or trainer is None:
                continue
            checkpoint = next((cb for cb in monitors if self._is_lightning(cb, "ModelCheckpoint")), None)
            for fit in self._calls_on(trainer, "fit"):
                val_data = argument(fit, 2, "val_dataloaders")
                role = self.roles.held_out(val_data) if val_data is not None else None
                if role is None:
                    monitored = {self.roles.name_role(self._lightning_monitor(cb)) for cb in monitors}
                    role = monitored.pop() if len(monitored) == 1 else None
                if role not in HELD_OUT:
                    continue
                key = self.roles.key(val_data) if val_data is not None else None
                statement = self.index.statement_of(fit)
                report = self._lightning_report(trainer, checkpoint, key, statement)
                node = fit if val_data is not None else (checkpoint or fit)
                selection_node = checkpoint if checkpoint is not None else fit
                yield Selection(LIGHTNING, role, node, selection_node, checkpoint is not None, key,
                                report, statement, report)

    def _lightning_monitor(self, callback: cst.Call) -> Optional[str]:
        """The monitored figure of a Lightning ModelCheckpoint / EarlyStopping, if literal."""
        if self._is_lightning(callback, "ModelCheckpoint"):
            return string_value(keyword_value(callback, "monitor"))
        if self._is_lightning(callback, "EarlyStopping"):
            return string_value(argument(callback, 0, "monitor"))
        return None

    def _lightning_report(self, trainer: str, checkpoint: Optional[cst.Call], key: Optional[str],
                          after: cst.CSTNode) -> Optional[cst.CSTNode]:
        for method in ("validate", "test"):
            for call in self._calls_on(trainer, method):
                if string_value(keyword_value(call, "ckpt_path")) != "best" or not self.flow.is_after(call, after):
                    continue
                data = argument(call, 1, "dataloaders")
                if method == "test" and (data is None or self.roles.key(data) != key):
                    continue
                report = self.flow.result_reported(call)
                if report is not None:
                    return report
        names = {f"{trainer}.checkpoint_callback.best_model_score"}
        if checkpoint is not None and self._bound_name(checkpoint):
            names.add(f"{self._bound_name(checkpoint)}.best_model_score")
        return self.flow.reaching_report(self.flow.scope_of(after), names, after=after)

    # -- scikit-learn searches ----------------------------------------------------------------

    def _searches(self) -> Iterator[Selection]:
        for call in self.index.of_type(cst.Call):
            if last_name(call) not in SEARCHES:
                continue
            if not self._from_library(call, ("sklearn.", "skopt.")):
                continue
            search = self._bound_name(call)
            if search is None:
                continue
            statement = self.index.statement_of(call)
            if self._nested(search, statement):
                continue
            fit_key, fit_call = None, None
            for fit in self._calls_on(search, "fit"):
                if self.roles.held_out(argument(fit, 0, "X")) == TEST:
                    fit_key, fit_call = self.roles.key(argument(fit, 0, "X")), fit
            # the best score is the selection figure; the table of all candidates is a log
            # unless nothing else is shown
            scope = self.flow.scope_of(call)
            report = self.flow.reaching_report(scope, {f"{search}.best_score_"}, after=statement) \
                or self.flow.reaching_report(scope, {f"{search}.cv_results_"}, after=statement)
            if fit_call is not None:
                report = report or self._reported_evaluation(TEST, fit_key, statement)
                yield Selection(SEARCH, TEST, fit_call, fit_call, True, fit_key, report, statement, report)
            elif report is not None:
                yield Selection(SEARCH, VALIDATION, report, report, True, None, report, statement, report,
                                model_keys=(search,))

    def _nested(self, search: str, statement: cst.CSTNode) -> bool:
        """This search itself is cross-validated (nested CV) or passed on to another search,
        before its name is given to another search."""
        same_search = self._while_bound((search,), statement)
        for call in self.index.of_type(cst.Call):
            if last_name(call) in NESTED_CV | SEARCHES and same_search(call):
                first = argument(call, 0, "estimator")
                if first is not None and dotted_name(first) == search:
                    return True
        return False

    # -- comparisons ----------------------------------------------------------------------

    def _comparisons(self) -> Iterator[Selection]:
        for call in self.index.of_type(cst.Call):
            candidates = _compared(call)
            if candidates is None:
                continue
            role = self.roles.held_out(candidates)
            if role is None:
                continue
            statement = self.index.statement_of(call)
            report = self._pick_reported(call, candidates, statement)
            yield Selection(COMPARISON, role, call, call, True, self.roles.key(candidates),
                            report, statement, report)

    def _pick_reported(self, call: cst.Call, candidates: cst.BaseExpression,
                       statement: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The report of the picked figure. `max(val_accs)` is the figure itself; the winner
        of `max(scores, key=scores.get)` is only a name, so its report must also read the
        scores (`scores[winner]`), unless the statement already took the row
        (`df.loc[df["f1"].idxmax()]`)."""
        if _returns_figure(call):
            return self.flow.result_reported(call)
        container = mentioned_keys(candidates)
        direct = self.flow.reported_directly(call)
        if direct is not None:
            return direct if container & _keys_outside(direct, call) else None
        parent = self.index.parent(call)
        if type(parent) is not cst.Assign and type(statement) is cst.SimpleStatementLine:
            parent = next((small for small in statement.body if type(small) is cst.Assign), None)
        if type(parent) is not cst.Assign:
            return None
        winner: Set[str] = set()
        for target in parent.targets:
            winner |= target_keys(target.target)
        scope = self.flow.scope_of(call)
        if container & _keys_outside(parent.value, call):
            return self.flow.reaching_report(scope, winner, after=statement)
        return self.flow.reaching_report(scope, winner, after=statement, also_reads=container)

    # -- helpers ------------------------------------------------------------------------

    def _from_library(self, call: cst.Call, prefixes: Tuple[str, ...]) -> bool:
        return any(c.startswith(prefixes) for c in self.imports.candidates(call))

    def _defined_here(self, class_name: str) -> bool:
        return any(node.name.value == class_name for node in self.index.of_type(cst.ClassDef))


def _globals_of(scope: cst.CSTNode) -> Set[str]:
    """Names a function declares `global`."""
    if type(scope) is not cst.FunctionDef or type(scope.body) is not cst.IndentedBlock:
        return set()
    return {
        item.name.value
        for line in scope.body.body if type(line) is cst.SimpleStatementLine
        for small in line.body if type(small) is cst.Global
        for item in small.names
    }


def _direct_statements(block: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    body = block.body if type(block) is cst.IndentedBlock else [block]
    for line in body:
        if type(line) is cst.SimpleStatementLine:
            yield from line.body
        elif type(line) is cst.SimpleStatementSuite:
            yield from line.body
        elif type(line) is cst.If:  # `if save: best = ...` one level down still counts
            yield from _direct_statements(line.body)


def _comparisons(test: cst.BaseExpression) -> Iterator[cst.Comparison]:
    if type(test) is cst.Comparison and len(test.comparisons) == 1:
        yield test
    elif type(test) is cst.BooleanOperation:
        yield from _comparisons(test.left)
        yield from _comparisons(test.right)


def _guard_role(test: cst.BaseExpression, roles: DataRoles) -> Optional[str]:
    """`phase == "val"` / `split == 'test'` / `mode == "eval"` in a condition."""
    for comparison in _all_comparisons(test):
        if type(comparison.comparisons[0].operator) is cst.Equal:
            for side in (comparison.left, comparison.comparisons[0].comparator):
                role = roles.name_role(string_value(side))
                if role in HELD_OUT:
                    return role
    return None


def _all_comparisons(test: cst.BaseExpression) -> Iterator[cst.Comparison]:
    if type(test) is cst.Comparison and len(test.comparisons) == 1:
        yield test
    elif type(test) is cst.BooleanOperation:
        yield from _all_comparisons(test.left)
        yield from _all_comparisons(test.right)


def _outermost_loop(index: ModuleIndex, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    outer = None
    for ancestor in index.ancestors(node):
        if type(ancestor) in (cst.FunctionDef, cst.ClassDef):
            break
        if type(ancestor) in (cst.For, cst.While):
            outer = ancestor
    return outer


def _keras_monitors_held_out(kind: str, callback: cst.Call) -> bool:
    monitor = keyword_value(callback, "monitor")
    if monitor is None and kind == "early-stopping" and positional_args(callback):
        monitor = positional_args(callback)[0].value
    if monitor is None:
        return True  # every one of these monitors "val_loss" by default
    text = string_value(monitor)
    return text is not None and text.startswith("val_")


def _compared(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The candidates a picking call chooses among, or None when it is not one. Picking the
    class of a prediction (`outputs.argmax(1)`) is not a choice between candidates."""
    func = call.func
    args = positional_args(call)
    if type(func) is cst.Name and func.value in ("max", "min"):
        if keyword_value(call, "key") is not None and len(args) == 1:
            first = args[0].value
            if type(first) is cst.Call and last_name(first) in ("items", "keys", "values") \
                    and type(first.func) is cst.Attribute:
                return first.func.value
            return first if type(first) in (cst.Name, cst.Attribute) else None
        if len(call.args) == 1 and len(args) == 1 and type(args[0].value) is cst.Name and _is_figure(args[0].value):
            return args[0].value
        return None
    if len(call.args) > 1 or any(arg.keyword is not None for arg in call.args):
        return None  # an axis / dim: a prediction, not a pick
    name = last_name(call)
    if name in ("argmax", "argmin", "nanargmax", "nanargmin", "idxmax", "idxmin"):
        candidates = args[0].value if args else (func.value if type(func) is cst.Attribute else None)
        if type(candidates) is cst.Subscript and last_name(candidates.value) == "history":
            return None  # Keras history: judged with the fit's callbacks
        if candidates is not None and _is_figure(candidates):
            return candidates
    return None


def _returns_figure(call: cst.Call) -> bool:
    """`max(val_accs)` returns a score; `max(d, key=...)`, `argmax`, `idxmax` a position."""
    return type(call.func) is cst.Name and keyword_value(call, "key") is None


def _keys_outside(node: cst.CSTNode, excluded: cst.CSTNode) -> Set[str]:
    """Names read in `node` outside the subtree `excluded`."""
    if node is excluded:
        return set()
    if type(node) in (cst.Name, cst.Attribute):
        return mentioned_keys(node)
    found: Set[str] = set()
    for child in node.children:
        found |= _keys_outside(child, excluded)
    return found


def words_of(name: str) -> Set[str]:
    return set(name_tokens(name)) | {part for part in re.split(r"[^a-z0-9]+", name.lower()) if part}


def _is_figure(node: cst.CSTNode) -> bool:
    """Whether an expression names a score (`val_acc`, `scores`, `df["test_f1"]`)."""
    words: Set[str] = set()
    for key in mentioned_keys(node):
        words |= words_of(key.rsplit(".", 1)[-1])
    if type(node) is cst.Subscript:
        text = _subscript_text(node)
        if text:
            words |= words_of(text)
    return bool(words & FIGURE_WORDS) or any(
        word.endswith(tuple(FIGURE_WORDS)) for word in words if len(word) > 4)


def _first_data_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    data = keyword_value(call, "dataloaders") or keyword_value(call, "datamodule")
    if data is not None:
        return data
    args = positional_args(call)
    return args[1].value if len(args) > 1 else None


def _loop_data(node: cst.BaseExpression) -> cst.BaseExpression:
    """`enumerate(tqdm(test_loader))` → test_loader."""
    while type(node) is cst.Call and last_name(node) in ("enumerate", "tqdm", "zip", "iter") and node.args:
        node = node.args[0].value
    return node


def _subscript_text(node: cst.Subscript) -> Optional[str]:
    if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
        return None
    return string_value(node.slice[0].slice.value)


__all__ = ["Evaluation", "Selection", "SelectionFacts", "BEST_IF", "LR_PLATEAU", "KERAS_CALLBACK",
           "HF_TRAINER", "HF_SEARCH", "LIGHTNING", "SEARCH", "COMPARISON"]


def _root(key: str) -> str:
    """`model` of the key `model.best_estimator_`."""
    return key.split(".", 1)[0].split("[", 1)[0]


def _local_names(function: cst.FunctionDef) -> Set[str]:
    """Parameters and names assigned in `function` (not declared global)."""
    params = function.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    declared_global: Set[str] = set()
    for node in nodes_in(function.body):
        if type(node) is cst.Global:
            declared_global |= {item.name.value for item in node.names}
        elif type(node) in (cst.Assign, cst.AugAssign, cst.AnnAssign):
            targets = node.targets if type(node) is cst.Assign else [node]
            for target in targets:
                if type(target.target) is cst.Name:
                    names.add(target.target.value)
    return names - declared_global
