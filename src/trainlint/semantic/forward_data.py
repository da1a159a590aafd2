"""What data a model's forward pass runs on, and whether its result is trained on.

`ctx.forward_data` answers three questions for the mode rules (TL101, TL104):

- `role(call, scope, env)`: the role (train / validation / test) of the data a forward call
  runs on. `DataRoles.role_of` reads a name; a forward pass often runs on an *expression* of
  the data: `model(test_ds.data / 255.)`, `model(img.unsqueeze(0))`, `model(**inputs)`, or on
  a loop variable (`for x, y in test_loader: ... model(x)`, also read after the loop ended).
  The data names inside the expression are followed, each to its latest binding before the
  call in the same scope (an assignment or a `for` target), and their roles must agree.
- `hand_typed(call)`: the input is built from literals only (`torch.zeros(1, 3, 224, 224)`,
  `encode("hello")`, `torch.tensor([[1, 2]])`): a shape check or a demo, not an evaluation.
- `feeds_backward(call)`: the forward's result flows (through assignments in the same scope)
  into a `.backward()`: it is a training step, or gradients are wanted on purpose.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple, Union

import libcst as cst

from trainlint.semantic.names import assigned_targets, dotted_name, last_name, positional_args
from trainlint.semantic.reports import mentioned_keys, target_keys

# Tensors made from sizes alone (constant or random values), and tensors made from a value.
_SIZE_CONSTRUCTORS = {
    "zeros", "ones", "randn", "rand", "randint", "empty", "full", "arange", "linspace",
    "zeros_like", "ones_like", "randn_like", "rand_like", "eye", "normal",
}
_VALUE_CONSTRUCTORS = {"tensor", "LongTensor", "FloatTensor", "Tensor", "as_tensor", "array", "from_numpy"}
_LITERALS = (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
             cst.Imaginary)
# Wrappers of an iterable whose items are the data's items.
_ITERATION_WRAPPERS = {"enumerate", "tqdm", "trange", "iter", "tqdm_notebook", "islice", "zip"}

Scope = Optional[cst.CSTNode]
Definition = Union[cst.BaseExpression, cst.For]


class ForwardData:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.index = ctx.index
        self._definitions: Optional[Dict[Tuple[Scope, str], List[Tuple[int, Definition]]]] = None
        self._backward_calls: Optional[Dict[int, List[cst.Call]]] = None  # id(scope) -> `.backward()` calls

    # -- public -----------------------------------------------------------------------

    def data_argument(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        """The first positional argument, or the mapping of `model(**batch)`."""
        args = positional_args(call)
        if args:
            return args[0].value
        star = next((a for a in call.args if a.star == "**"), None)
        return star.value if star is not None else None

    def role(self, call: cst.Call, scope: Scope, env=None) -> Optional[str]:
        expr = self.data_argument(call)
        if expr is None:
            return None
        return self.expression_role(expr, scope, env or {}, self.index.order(call), 0)

    def _backward_calls_in(self, scope: Scope) -> List[cst.Call]:
        """The `.backward()` calls whose innermost function is `scope`, in source order
        (grouped once: each forward pass asks for those of its own scope)."""
        if self._backward_calls is None:
            self._backward_calls = {}
            for c in self.index.of_type(cst.Call):
                if last_name(c.func) == "backward":
                    self._backward_calls.setdefault(id(self.ctx.loops.function_of(c)), []).append(c)
        return self._backward_calls.get(id(scope), [])

    def hand_typed(self, call: cst.Call) -> bool:
        expr = self.data_argument(call)
        return expr is not None and self._hand_typed(expr, self.ctx.loops.function_of(call),
                                                     self.index.order(call), 0)

    def feeds_backward(self, call: cst.Call) -> bool:
        """The forward's result reaches a `.backward()` in the same scope (or the one of its
        loop): through assignments, `loss = criterion(out, y)`, `out[0, c].backward()`."""
        scope = self.ctx.loops.function_of(call)
        tainted = self._assigned_by(call)
        own_loop = self.ctx.loops.loop_of(call)
        statement_calls = [c for c in self._backward_calls_in(scope) if self._may_follow(c, call, own_loop)]
        if not statement_calls:
            return False
        # A backward in the very statement of the forward: `criterion(model(x), y).backward()`.
        statement = self.index.statement_of(call)
        if any(self.index.is_inside(c, statement) for c in statement_calls):
            return True
        tainted = self._derived(scope, tainted)
        for backward in statement_calls:
            receiver = backward.func.value if type(backward.func) is cst.Attribute else None
            read = mentioned_keys(receiver) if receiver is not None else set()
            for arg in backward.args:
                read |= mentioned_keys(arg.value)
            if read & tainted:
                return True
        return False

    def _may_follow(self, backward: cst.Call, call: cst.Call, own_loop) -> bool:
        """A backward that can see the forward's result: in the forward's own batch loop, or
        after it and not in another training loop (whose `loss` is another value)."""
        loop = self.ctx.loops.loop_of(backward)
        if own_loop is not None and loop is own_loop:
            return True
        if loop is not None and loop.kind == "train" and loop is not own_loop:
            return False
        return self.index.order(backward) > self.index.order(call)

    # -- roles ------------------------------------------------------------------------

    def expression_role(self, expr, scope: Scope, env, before: int, depth: int) -> Optional[str]:
        roles = {self._root_role(root, scope, env, before, depth) for root in self._data_roots(expr)}
        roles.discard(None)
        return roles.pop() if len(roles) == 1 else None

    def _data_roots(self, expr) -> List[cst.BaseExpression]:
        """The data expressions inside arithmetic, tensor methods and subscripts."""
        if type(expr) in (cst.Name, cst.Attribute, cst.Subscript):
            return [expr]
        if type(expr) is cst.BinaryOperation:
            return self._data_roots(expr.left) + self._data_roots(expr.right)
        if type(expr) is cst.UnaryOperation:
            return self._data_roots(expr.expression)
        if type(expr) is cst.Call:
            if type(expr.func) is cst.Attribute and not self._is_module_path(expr.func.value):
                return [expr] + self._data_roots(expr.func.value)  # `img.unsqueeze(0).to(device)`
            args = positional_args(expr)
            return [expr] + (self._data_roots(args[0].value) if args else [])
        if type(expr) is cst.SimpleString:
            return [expr]  # the file a reader loads: `np.load("windows_test.npy")`
        return []

    def _is_module_path(self, node) -> bool:
        """`torch`, `np`, `F`: a library, not a tensor (`torch.unsqueeze(x, 0)`)."""
        name = dotted_name(node)
        return name is not None and name.split(".")[0] in self.ctx.imports.aliases

    def _root_role(self, expr, scope: Scope, env, before: int, depth: int) -> Optional[str]:
        roles = self.ctx.roles
        if type(expr) is cst.SimpleString:
            return _file_role(roles, expr)
        if type(expr) is cst.Call and _is_transform(expr.func):
            return None  # `test_transform(photo)`: the pipeline's name, not the data's; the argument decides
        role = roles.role_of(expr, scope, env)
        if role is not None or depth > 3:
            return role
        if type(expr) in (cst.Attribute, cst.Subscript):
            # `test_ds.data`, `test_ds[i][0]`, `torch.from_numpy(np.load("x_test.npy"))[:500]`
            return self.expression_role(expr.value, scope, env, before, depth + 1)
        if type(expr) is cst.Name:
            definition = self._latest_definition(scope, expr.value, before)
            if type(definition) is cst.For:
                return self.expression_role(_iterated(definition.iter), scope, env,
                                            self.index.order(definition), depth + 1)
            if definition is not None:
                return self.expression_role(definition, scope, env, before, depth + 1)
        return None

    # -- bindings in source order -----------------------------------------------------

    def _latest_definition(self, scope: Scope, name: str, before: int) -> Optional[Definition]:
        """The last assignment value or `for` loop binding `name` in `scope` before `before`,
        skipping self-updates (`x = x.to(device)`)."""
        for order, definition in reversed(self._definitions_of(scope, name)):
            if order >= before:
                continue
            if type(definition) is not cst.For and name in mentioned_keys(definition):
                continue
            return definition
        return None

    def _definitions_of(self, scope: Scope, name: str) -> List[Tuple[int, Definition]]:
        if self._definitions is None:
            table: Dict[Tuple[Scope, str], List[Tuple[int, Definition]]] = {}
            function_of = self.ctx.loops.function_of
            for assign in self.index.of_type(cst.Assign):
                for target in assign.targets:
                    if type(target.target) in (cst.Name, cst.Attribute):
                        bound = dotted_name(target.target)
                        if bound:
                            table.setdefault((function_of(assign), bound), []).append(
                                (self.index.order(assign), assign.value))
            for loop in self.index.of_type(cst.For):
                for element in assigned_targets(loop.target):
                    bound = dotted_name(element)
                    if bound:
                        table.setdefault((function_of(loop), bound), []).append((self.index.order(loop), loop))
            for entries in table.values():
                entries.sort(key=lambda item: item[0])
            self._definitions = table
        return self._definitions.get((scope, name), [])

    # -- hand-typed inputs ------------------------------------------------------------

    def _hand_typed(self, expr, scope: Scope, before: int, depth: int) -> bool:
        if depth > 4:
            return False
        if type(expr) in _LITERALS:
            return True
        if type(expr) in (cst.List, cst.Tuple):
            return all(self._hand_typed(e.value, scope, before, depth + 1) for e in expr.elements)
        if type(expr) is cst.Name:
            if expr.value in ("True", "False", "None"):
                return True
            definition = self._latest_definition(scope, expr.value, before)
            if definition is None and scope is not None:
                definition = self._latest_definition(None, expr.value, 1 << 30)
            if definition is None or type(definition) is cst.For:
                return type(definition) is cst.For and self._hand_typed(
                    _iterated(definition.iter), scope, before, depth + 1)
            return self._hand_typed(definition, scope, before, depth + 1)
        if type(expr) is cst.Call:
            name = last_name(expr.func)
            args = [a.value for a in positional_args(expr)]
            if name in _SIZE_CONSTRUCTORS:
                return True  # `torch.zeros(1, 3, 224, 224)`, `torch.randn(4, 10)`
            if name in _VALUE_CONSTRUCTORS or self._is_local_function(expr.func) or _is_text_encoder(expr.func):
                # made from literals only: `torch.tensor([[1, 2]])`, `encode_word("cat")`
                return bool(args) and all(self._hand_typed(a, scope, before, depth + 1) for a in args)
            if type(expr.func) is cst.Attribute and not self._is_module_path(expr.func.value):
                return self._hand_typed(expr.func.value, scope, before, depth + 1)  # `.unsqueeze(0)`
        return False

    def _is_local_function(self, func) -> bool:
        return type(func) is cst.Name and any(
            f.name.value == func.value for f in self.index.of_type(cst.FunctionDef))

    # -- flows ------------------------------------------------------------------------

    def _assigned_by(self, call: cst.Call) -> Set[str]:
        parent = self.index.parent(call)
        keys: Set[str] = set()
        while parent is not None and not isinstance(parent, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            parent = self.index.parent(parent)
        if type(parent) is cst.Assign:
            for target in parent.targets:
                keys |= target_keys(target.target)
        elif type(parent) in (cst.AnnAssign, cst.AugAssign):
            keys |= target_keys(parent.target)
        return keys

    def _derived(self, scope: Scope, keys: Set[str]) -> Set[str]:
        writes = []
        for assign in self.index.of_type(cst.Assign):
            if self.ctx.loops.function_of(assign) is scope:
                defined: Set[str] = set()
                for target in assign.targets:
                    defined |= target_keys(target.target)
                writes.append((defined, mentioned_keys(assign.value)))
        for assign in self.index.of_type(cst.AugAssign):
            if self.ctx.loops.function_of(assign) is scope:
                writes.append((target_keys(assign.target), mentioned_keys(assign.value)))
        found = set(keys)
        for _ in range(6):
            grown = False
            for defined, read in writes:
                if defined - found and read & found:
                    found |= defined
                    grown = True
            if not grown:
                break
        return found


def _iterated(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`enumerate(test_loader)` -> `test_loader`."""
    for _ in range(3):
        if type(expr) is cst.Call and last_name(expr.func) in _ITERATION_WRAPPERS and positional_args(expr):
            expr = positional_args(expr)[0].value
        else:
            break
    return expr



def _is_text_encoder(func) -> bool:
    """`tokenizer("Hello, world", return_tensors="pt")`, `processor(text=...)`: the text in
    the call is what was typed; a file path to a loader is not."""
    name = (dotted_name(func) or "").lower()
    return "tokeniz" in name or name.endswith(("processor", ".encode", "encode_plus"))


def _file_role(roles, literal: cst.SimpleString) -> Optional[str]:
    """`"har/windows_test.npy"` -> test: the role in the file's own name (not its folder or
    its extension)."""
    value = literal.evaluated_value
    if not isinstance(value, str) or "." not in value:
        return None  # a path to a file only, not a key or a device name
    stem = value.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return roles.name_role(stem) if stem else None


def _is_transform(func) -> bool:
    name = (last_name(func) or "").lower()
    return "transform" in name or name.endswith(("tfm", "tfms", "preprocess", "augment"))
