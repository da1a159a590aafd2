"""Small helpers to read names and literal values off CST expressions, and the one walk
over a subtree that the semantic modules share."""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from trainlint.semantic.kinds import kinds


def dotted_name(node: Optional[cst.CSTNode]) -> Optional[str]:
    """`a.b.c` for Name/Attribute chains, else None."""
    # `type(...) is` rather than isinstance: libcst's node classes are ABCs, whose
    # isinstance goes through ABCMeta in Python; these helpers run ~100k times per file.
    parts: List[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)  # type: ignore[union-attr]
        node = node.value  # type: ignore[union-attr]
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def call_name(call: cst.Call) -> Optional[str]:
    return dotted_name(call.func)


def last_name(node: Optional[cst.CSTNode]) -> Optional[str]:
    """The rightmost identifier of a name, attribute or call: `torch.nn.Dropout(...)` → Dropout."""
    kind = type(node)
    if kind is cst.Call:
        node = node.func  # type: ignore[union-attr]
        kind = type(node)
    if kind is cst.Attribute:
        return node.attr.value  # type: ignore[union-attr]
    if kind is cst.Name:
        return node.value  # type: ignore[union-attr]
    return None


def keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def keyword_value(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    arg = keyword(call, name)
    return arg.value if arg is not None else None


def positional_args(call: cst.Call) -> List[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def argument(call: cst.Call, position: int, name: str) -> Optional[cst.BaseExpression]:
    """The argument passed by keyword `name` or at `position` (0-based)."""
    value = keyword_value(call, name)
    if value is not None:
        return value
    positional = positional_args(call)
    if position < len(positional):
        return positional[position].value
    return None


def string_value(node: Optional[cst.CSTNode]) -> Optional[str]:
    if type(node) is cst.SimpleString:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if type(node) is cst.ConcatenatedString:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def subscript_string(subscript: cst.Subscript) -> Optional[str]:
    """The string key of `d["val"]`, else None."""
    if len(subscript.slice) != 1:
        return None
    element = subscript.slice[0].slice
    return string_value(element.value) if type(element) is cst.Index else None


def is_zero(node: Optional[cst.CSTNode]) -> bool:
    """A numeric literal equal to zero: `0`, `0.0`."""
    return type(node) in (cst.Integer, cst.Float) and node.evaluated_value == 0


def is_none(node: Optional[cst.CSTNode]) -> bool:
    return type(node) is cst.Name and node.value == "None"


def bool_value(node: Optional[cst.CSTNode]) -> Optional[bool]:
    if type(node) is cst.Name and node.value in ("True", "False"):
        return node.value == "True"
    return None


def assigned_targets(target: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """Flatten tuple/list unpacking targets: `a, (b, c)` → a, b, c (starred kept as is)."""
    if type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            value = element.value
            if type(element) is cst.StarredElement:
                yield value
            else:
                yield from assigned_targets(value)
    else:
        yield target


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of a subtree in source order (pre-order), without libcst's rebuilding
    visitor. Where order does not matter, `nodes_in` is several times cheaper."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


_NODE_TYPES = kinds(cst.CSTNode)
_SEQUENCES = (tuple, list)
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def nodes_in(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of a subtree, `node` first, in no particular order: read from the node's
    dataclass fields. libcst's `children` (what `walk` uses) runs a visitor that rebuilds the
    node to list them."""
    stack = [node]
    node_types, sequences, fields_of = _NODE_TYPES, _SEQUENCES, _FIELDS
    while stack:
        current = stack.pop()
        yield current
        kind = type(current)
        names = fields_of.get(kind)
        if names is None:
            names = fields_of[kind] = tuple(field.name for field in dataclasses.fields(kind))
        for name in names:
            value = getattr(current, name)
            value_type = type(value)
            if value_type in node_types:
                stack.append(value)
            elif value_type in sequences:
                stack.extend(item for item in value if type(item) in node_types)


def literal_texts(node: cst.CSTNode) -> Iterator[str]:
    """The text of every string literal in a subtree, f-string parts included (a
    concatenation yields its whole value and then its parts)."""
    for current in walk(node):
        value = string_value(current)
        if value is not None:
            yield value
        elif type(current) is cst.FormattedStringText:
            yield current.value


def expression_key(module: cst.Module, node: cst.CSTNode) -> str:
    """A whitespace-insensitive text key for comparing expressions (`df['y']` == `df[ 'y' ]`)."""
    if type(node) is cst.Name and not node.lpar:
        return node.value  # the common case, without a codegen
    code = module.code_for_node(node)
    return "".join(code.split()).replace('"', "'")
