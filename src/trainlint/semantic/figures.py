"""Where train-mode and eval-mode figures end up side by side (the facts behind TL103).

PyTorch: a figure is *train-mode* when it is accumulated in a training loop (backward and an
optimizer step on every pass) whose model is in train mode and has mode-dependent layers
(or may have: its make is not visible); it is *eval-mode* when accumulated in an evaluation
loop whose model is in eval mode. The tags follow assignments in source order (`acc =
correct / total`; a reassignment from something untagged ends them), returns of functions of
the same file (`train_loss, train_acc = train_one_epoch(...)`) and list appends. A statement
*reports them side by side* when one print / log / tracker call / dict / f-string / return
reads both, when one history dict receives both (`history["train_acc"].append(...)` and
`history["val_acc"].append(...)`), or when one plot (consecutive plot calls with no new
figure or subplot between) draws both.

Keras: `history.history["accuracy"]` (or `"loss"`, any metric) and `["val_accuracy"]` printed
or plotted together, when the file shows mode-dependent layers (Dropout, BatchNormalization,
noise or random augmentation layers, recurrent dropout, keras.applications models) or an
augmenting ImageDataGenerator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import libcst as cst

from trainlint.semantic.loops import report_kind
from trainlint.semantic.modes import EVAL, TRAIN
from trainlint.semantic.names import dotted_name, expression_key, last_name, string_value

TRAIN_TAG, EVAL_TAG = "train", "eval"
_COUNT = re.compile(r"\b(size|len|shape|numel|nelement)\b")
_FIGURE_BREAKS = {"figure", "subplot", "subplots", "show", "savefig", "close", "clf", "cla",
                  "add_subplot", "twinx", "sca"}
_KERAS_DEPENDENT = re.compile(
    r"^(Dropout|SpatialDropout[123]D|GaussianDropout|GaussianNoise|AlphaDropout|BatchNormalization"
    r"|Random(Flip|Rotation|Zoom|Translation|Contrast|Crop|Brightness|Height|Width)|RandAugment"
    r"|MixUp|CutMix)$"
)
_AUGMENT_KWARGS = {"rotation_range", "width_shift_range", "height_shift_range", "horizontal_flip",
                   "vertical_flip", "zoom_range", "shear_range", "brightness_range", "channel_shift_range"}


@dataclass(frozen=True)
class SideBySide:
    node: cst.CSTNode  # the statement (small statement or plot call statement) to report
    kind: str  # "statement" | "history" | "plot" | "keras"
    detail: str = ""


def side_by_side(ctx) -> List[SideBySide]:
    found = _pytorch(ctx)
    found += _keras(ctx)
    return found


# -- PyTorch ----------------------------------------------------------------------------------

def _loop_modes(ctx, loop) -> Tuple[Set[str], bool]:
    modes: Set[str] = set()
    dependent = False
    for call in loop.forward_calls:
        forward = ctx.models.forward_of(call)
        for _env, states in ctx.modes.forward_states(call):
            modes |= states
        if forward is not None and ctx.models.mode_dependent(forward.key, forward.scope) is not False:
            dependent = True
    return modes, dependent


def _seeds(ctx) -> Dict[cst.CSTNode, str]:
    """Accumulator statements -> the tag their figure carries."""
    seeds: Dict[cst.CSTNode, str] = {}
    for loop in ctx.loops.loops:
        modes, dependent = _loop_modes(ctx, loop)
        if loop.kind == "train" and loop.step_calls and TRAIN in modes and dependent:
            tag = TRAIN_TAG
        elif loop.kind == "eval" and EVAL in modes and TRAIN not in modes and loop.role != "train":
            tag = EVAL_TAG
        else:
            continue
        for accumulator in loop.accumulators:
            if type(accumulator.value) in (cst.Integer, cst.Float):
                continue  # a step counter
            if accumulator.value is not None and _COUNT.search(ctx.code(accumulator.value)) \
                    and type(accumulator.value) not in (cst.BinaryOperation, cst.Comparison) \
                    and "==" not in ctx.code(accumulator.value):
                continue  # a sample count (`total += y.size(0)`)
            seeds[accumulator.node] = tag
    return seeds


def _function_statements(ctx, function) -> List[cst.BaseSmallStatement]:
    grouped = getattr(ctx, "_tl103_statements", None)
    if grouped is None:
        grouped = {}
        for line in ctx.index.of_type(cst.SimpleStatementLine):
            grouped.setdefault(ctx.loops.function_of(line), []).extend(line.body)
        ctx._tl103_statements = grouped
    return grouped.get(function, [])


def _pytorch(ctx) -> List[SideBySide]:
    if not ctx.models.is_torch_file:
        return []
    seeds = _seeds(ctx)
    if not seeds:
        return []
    functions = [None] + list(ctx.index.of_type(cst.FunctionDef))
    returns: Dict[str, FrozenSet[str]] = {}
    found: Dict[cst.CSTNode, SideBySide] = {}
    # The names each function calls: a function runs again only when what a callee returns
    # changed since (a walk depends on nothing else that changes).
    called = {function: {last_name(call) for call in ctx.index.in_function(function, cst.Call)}
              for function in functions}
    pending = functions
    for _ in range(3):  # callees' return tags before callers
        before = dict(returns)
        for function in pending:
            for item in _walk_function(ctx, function, seeds, returns):
                found.setdefault(item.node, item)
        changed = {key.split("#")[0] for key, value in returns.items() if before.get(key) != value}
        if not changed:
            break  # a round that learnt nothing would only repeat itself
        pending = [function for function in functions if called[function] & changed]
    line_number = {line: i for i, line in enumerate(ctx.index.of_type(cst.SimpleStatementLine))}
    return sorted(found.values(), key=lambda s: line_number.get(ctx.index.statement_of(s.node), 0))


def _walk_function(ctx, function, seeds, returns) -> Iterator[SideBySide]:
    tags: Dict[str, FrozenSet[str]] = {}
    containers: Dict[str, Dict[str, cst.CSTNode]] = {}
    plots: List[Tuple[cst.CSTNode, FrozenSet[str], Optional[cst.CSTNode]]] = []
    for statement in _function_statements(ctx, function):
        read = _read_tags(ctx, statement, tags, returns)
        if statement in seeds:
            read = read | {seeds[statement]}
        if type(statement) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
            targets = _targets(ctx, statement)
            for target in targets:
                if type(statement) is cst.AugAssign:
                    tags[target] = tags.get(target, frozenset()) | read
                elif read:
                    tags[target] = read
                else:
                    tags.pop(target, None)
            _bind_returned_parts(ctx, statement, tags, returns)
            value = statement.value
            if type(value) is cst.Call and last_name(value.func) in _FIGURE_BREAKS:
                # `ax = fig.add_subplot(1, 2, 2)`: a new axis starts a new plot
                plots.append((statement, frozenset({"break"}), _block_of(ctx, statement)))
            if read >= {TRAIN_TAG, EVAL_TAG} and (_is_report_value(statement.value)):
                yield SideBySide(statement, "statement")
            for target_node in _target_nodes(statement):
                if type(target_node) is cst.Subscript and read:
                    _add_container(ctx, containers, target_node.value, read, statement)
            continue
        if type(statement) is cst.Return:
            if read and function is not None:
                name = function.name.value
                returns[name] = returns.get(name, frozenset()) | read
                for position, part in enumerate(_returned_parts(statement.value)):
                    part_tags = _read_tags(ctx, part, tags, returns)
                    key = f"{name}#{position}"
                    returns[key] = returns.get(key, frozenset()) | part_tags
            parts = [_read_tags(ctx, part, tags, returns) for part in _returned_parts(statement.value)]
            if read >= {TRAIN_TAG, EVAL_TAG} and not (parts and all(len(p) <= 1 for p in parts)):
                # a tuple of separate curves is not shown together here; its callers decide
                yield SideBySide(statement, "statement")
            continue
        call = statement.value if type(statement) is cst.Expr and type(statement.value) is cst.Call else None
        if call is None:
            continue
        kind = report_kind(ctx.imports, call)
        if kind == "plot":
            plots.append((statement, read, _block_of(ctx, statement)))
            continue
        if type(call.func) is cst.Attribute and last_name(call.func) in _FIGURE_BREAKS:
            plots.append((statement, frozenset({"break"}), _block_of(ctx, statement)))
            continue
        if kind == "append" and read:
            receiver = call.func.value  # type: ignore[union-attr]
            key = _key(ctx, receiver)
            if key:
                tags[key] = tags.get(key, frozenset()) | read
            if type(receiver) is cst.Subscript:
                _add_container(ctx, containers, receiver.value, read, statement)
            continue
        if kind and read >= {TRAIN_TAG, EVAL_TAG}:
            yield SideBySide(statement, "statement")
    plotted = list(_plot_groups(plots, {TRAIN_TAG}, {EVAL_TAG}))
    plotted_code = " ".join(ctx.code(item.node) for item in plotted)
    for name, container in containers.items():
        if TRAIN_TAG in container and EVAL_TAG in container and name not in plotted_code:
            yield SideBySide(container[TRAIN_TAG], "history")
    yield from plotted


def _plot_groups(plots, first: Set[str], second: Set[str]) -> Iterator[SideBySide]:
    group: List[Tuple[cst.CSTNode, FrozenSet[str]]] = []
    block = None

    def flush():
        train_plots = [node for node, tags in group if tags & first]
        if train_plots and any(tags & second for _node, tags in group):
            return [SideBySide(train_plots[0], "plot")]
        return []

    out: List[SideBySide] = []
    for node, tags, where in plots:
        if "break" in tags or where is not block:
            out += flush()
            group = []
            block = where
            if "break" in tags:
                continue
        group.append((node, tags))
    out += flush()
    return iter(out)


def _block_of(ctx, statement):
    line = ctx.index.parent(statement)
    return ctx.index.parent(line)


def _add_container(ctx, containers, root, read, statement) -> None:
    key = _key(ctx, root)
    if key is None:
        return
    entry = containers.setdefault(key, {})
    for tag in read:
        entry.setdefault(tag, statement)


def _is_report_value(value) -> bool:
    return type(value) in (cst.Dict, cst.FormattedString) or (
        type(value) is cst.Call and last_name(value.func) in ("format", "DataFrame"))


def _key(ctx, node) -> Optional[str]:
    name = dotted_name(node)
    if name:
        return name
    if type(node) is cst.Subscript:
        keys = ctx.__dict__.setdefault("_tl103_subscript_keys", {})  # code generation is slow: once a node
        if node not in keys:
            keys[node] = expression_key(ctx.module, node)
        return keys[node]
    return None


def _target_nodes(statement):
    if type(statement) is cst.Assign:
        for target in statement.targets:
            node = target.target
            if type(node) in (cst.Tuple, cst.List):
                for element in node.elements:
                    yield element.value
            else:
                yield node
    else:
        yield statement.target


def _targets(ctx, statement) -> List[str]:
    return [k for k in (_key(ctx, n) for n in _target_nodes(statement)) if k]


def _returned_parts(value) -> List[cst.BaseExpression]:
    """`return train_loss, val_loss, ...`: the positions of a returned tuple or list."""
    if type(value) in (cst.Tuple, cst.List) and not any(type(e) is cst.StarredElement for e in value.elements):
        return [e.value for e in value.elements]
    return []


def _bind_returned_parts(ctx, statement, tags, returns) -> None:
    """`hist = train(...)` / `a, b = train(...)` with `train` returning a tuple of curves:
    `hist[2]` (or `b`) carries the tags of that position only, not of the whole tuple."""
    value = statement.value if type(statement) in (cst.Assign, cst.AnnAssign) else None
    if type(value) is not cst.Call or type(value.func) not in (cst.Name, cst.Attribute):
        return
    name = last_name(value.func)
    if type(value.func) is cst.Attribute and dotted_name(value.func.value) != "self":
        return
    if f"{name}#0" not in returns:
        return
    parts = []
    while f"{name}#{len(parts)}" in returns:
        parts.append(returns[f"{name}#{len(parts)}"])
    for target_node in _target_nodes(statement):
        key = _key(ctx, target_node)
        if key is not None:
            for position, part in enumerate(parts):
                tags[f"{key}[{position}]"] = part
    if type(statement) is cst.Assign and len(statement.targets) == 1 and \
            type(statement.targets[0].target) in (cst.Tuple, cst.List):
        elements = statement.targets[0].target.elements
        if len(elements) == len(parts):
            for element, part in zip(elements, parts):
                key = _key(ctx, element.value)
                if key is not None:
                    if part:
                        tags[key] = part
                    else:
                        tags.pop(key, None)


def _is_size_read(node) -> bool:
    kind = type(node)
    return (kind is cst.Call and last_name(node.func) == "len") or (
        kind is cst.Attribute and node.attr.value in ("shape", "size"))


_READ_KINDS = frozenset({cst.Name, cst.Attribute, cst.Subscript})


def _items_by_container(tags: Dict[str, FrozenSet[str]]) -> Dict[str, List[FrozenSet[str]]]:
    """`hist` -> the tags of `hist[...]` keys: once per statement, not once per name read."""
    items: Dict[str, List[FrozenSet[str]]] = {}
    for tagged, carried in tags.items():
        container, bracket, _rest = tagged.partition("[")
        if bracket and container:
            items.setdefault(container, []).append(carried)
    return items


def _read_tags(ctx, statement, tags, returns) -> FrozenSet[str]:
    if not tags and not returns:
        return frozenset()  # nothing tagged yet: there is nothing to read
    roots = [statement.value] if type(statement) in (cst.Assign, cst.AnnAssign, cst.AugAssign) else [statement]
    if type(statement) is cst.AugAssign:
        roots.append(statement.target)
    found: Set[str] = set()
    items: Optional[Dict[str, List[FrozenSet[str]]]] = None  # `hist` -> what `hist[...]` carries
    for root in roots:
        if root is None:
            continue
        stack = [root]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind in _READ_KINDS:
                key = _key(ctx, node)
                if key in tags:
                    found |= tags[key]
                    continue
                if kind is cst.Name and type(ctx.index.parent(node)) is not cst.Subscript:
                    # the whole list whose items were accumulated: `hist[epoch] += ...; return hist`
                    if items is None:
                        items = _items_by_container(tags)
                    for carried in items.get(key, ()):
                        found |= carried
            if kind is cst.Call:
                name = last_name(node.func)
                if name in returns and type(node.func) is not cst.Attribute or (
                        type(node.func) is cst.Attribute and dotted_name(node.func.value) == "self"
                        and name in returns):
                    found |= returns[name]
            if kind is cst.Lambda or ((kind is cst.Call or kind is cst.Attribute) and _is_size_read(node)):
                continue  # `len(history[0])` is a number of epochs, not the figure
            stack.extend(ctx.index.children(node))
    return frozenset(found)


# -- Keras ------------------------------------------------------------------------------------

def _keras(ctx) -> List[SideBySide]:
    if not any(v.startswith(("keras", "tensorflow", "tf")) for v in ctx.imports.aliases.values()):
        return []
    if not _keras_mode_dependent(ctx):
        return []
    histories = _history_names(ctx)
    out: List[SideBySide] = []
    plots = []
    for line in ctx.index.of_type(cst.SimpleStatementLine):
        for statement in line.body:
            keys = _history_keys(ctx, statement, histories)
            call = statement.value if type(statement) is cst.Expr and type(statement.value) is cst.Call else None
            plotted_frame = call is not None and last_name(call.func) == "plot" and _plots_whole_history(ctx, call, histories)
            kind = report_kind(ctx.imports, call) if call is not None else None
            if plotted_frame or (call is not None and last_name(call.func) == "plot" and _paired(keys)):
                out.append(SideBySide(statement, "keras"))
                continue
            if kind == "plot":
                tags = frozenset({"train:" + k for k in keys if not k.startswith("val_")} |
                                 {"val:" + k[4:] for k in keys if k.startswith("val_")})
                plots.append((statement, tags, _block_of(ctx, statement)))
            elif call is not None and type(call.func) is cst.Attribute and last_name(call.func) in _FIGURE_BREAKS:
                plots.append((statement, frozenset({"break"}), _block_of(ctx, statement)))
            elif kind in ("print", "log") and _paired(keys):
                out.append(SideBySide(statement, "keras"))
    # consecutive plot calls: pair a metric with its val_ counterpart
    group_out = []
    for item in _keras_plot_groups(plots):
        group_out.append(item)
    return out + group_out


def _keras_plot_groups(plots) -> List[SideBySide]:
    out = []
    group = []
    block = None

    def flush():
        train = {t[6:]: node for node, tags in group for t in tags if t.startswith("train:")}
        val = {t[4:] for _node, tags in group for t in tags if t.startswith("val:")}
        common = [metric for metric in train if metric in val]
        if common:
            return [SideBySide(train[common[0]], "keras", common[0])]
        return []

    for node, tags, where in plots:
        if "break" in tags or where is not block:
            out += flush()
            group = []
            block = where
            if "break" in tags:
                continue
        group.append((node, tags))
    out += flush()
    return out


def _paired(keys: Set[str]) -> bool:
    return any(("val_" + key) in keys for key in keys if not key.startswith("val_"))


def _keras_mode_dependent(ctx) -> bool:
    for call in ctx.index.of_type(cst.Call):
        name = last_name(call.func) or ""
        qualified = ctx.imports.candidates(call.func)
        keras_call = any(q.startswith(("keras.", "tensorflow.")) for q in qualified) or \
            (type(call.func) is cst.Attribute and (dotted_name(call.func) or "").startswith(("layers.", "tf.", "keras.")))
        if not keras_call and not qualified:
            keras_call = type(call.func) is cst.Name and False
        if not keras_call:
            continue
        if _KERAS_DEPENDENT.match(name):
            return True
        if name in ("LSTM", "GRU", "SimpleRNN", "ConvLSTM2D"):
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value in ("dropout", "recurrent_dropout") and \
                        ctx.code(arg.value) not in ("0", "0.0"):
                    return True
        if name == "ImageDataGenerator" and any(a.keyword is not None and a.keyword.value in _AUGMENT_KWARGS for a in call.args):
            return True
        if any(q.startswith(("keras.applications.", "tensorflow.keras.applications.")) for q in qualified):
            return True
    return False


def _history_names(ctx) -> Set[str]:
    """Names holding a Keras History or its dict: `h = model.fit(...)`, `hist = h.history`."""
    names: Set[str] = set()
    for _ in range(2):
        for assign in ctx.index.of_type(cst.Assign):
            value = assign.value
            is_history = (type(value) is cst.Call and last_name(value.func) in ("fit", "fit_generator")) or (
                type(value) is cst.Attribute and value.attr.value == "history") or (
                type(value) is cst.Call and last_name(value.func) == "DataFrame" and value.args
                and _is_history_expr(value.args[0].value, names))
            if is_history:
                for target in assign.targets:
                    name = dotted_name(target.target)
                    if name:
                        names.add(name)
    return names


def _is_history_expr(node, names: Set[str]) -> bool:
    name = dotted_name(node)
    return name is not None and (name in names or name.endswith("history"))


def _history_keys(ctx, statement, histories: Set[str]) -> Set[str]:
    keys: Set[str] = set()
    stack = [statement]
    while stack:
        node = stack.pop()
        if type(node) is cst.Subscript and _is_history_expr(node.value, histories):
            for element in node.slice:
                index = element.slice
                if type(index) is cst.Index:
                    value = string_value(index.value)
                    if value:
                        keys.add(value)
                    elif type(index.value) in (cst.List, cst.Tuple):
                        for item in index.value.elements:
                            text = string_value(item.value)
                            if text:
                                keys.add(text)
        stack.extend(ctx.index.children(node))
    return keys


def _plots_whole_history(ctx, call: cst.Call, histories: Set[str]) -> bool:
    """`pd.DataFrame(history.history).plot()` / `hist_df.plot()`: every curve in one plot."""
    func = call.func
    if type(func) is not cst.Attribute:
        return False
    receiver = func.value
    if type(receiver) is cst.Call and last_name(receiver.func) == "DataFrame" and receiver.args:
        return _is_history_expr(receiver.args[0].value, histories)
    name = dotted_name(receiver)
    return name is not None and name in histories and not name.endswith("history") and _frame_name(ctx, name)


def _frame_name(ctx, name: str) -> bool:
    for assign in ctx.index.of_type(cst.Assign):
        if any(dotted_name(t.target) == name for t in assign.targets):
            return type(assign.value) is cst.Call and last_name(assign.value.func) == "DataFrame"
    return False
