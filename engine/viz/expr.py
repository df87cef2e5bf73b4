"""Build a graph of Values from an expression such as ``"tanh(a*b + c)"``, safely.

The text is parsed with ``ast`` and only a whitelist is accepted: numbers, names given a
value, ``+ - * / **``, unary minus and plus, and calls of the engine's one-input functions
(every op of the table with a ``method``: ``exp log tanh relu sigmoid softplus abs``).
Nothing is ever evaluated by Python: no ``eval``, no attributes, no other calls, so
``__import__('os')`` is an error, not a program.
"""

from __future__ import annotations

import ast

from engine.ops import OPS
from engine.value import Value, const

MAX_LENGTH = 10_000  # characters: plenty for a hand-written expression
FUNCTIONS = tuple(row.method for row in OPS.values() if row.method)
_BINARY = {ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y,
           ast.Mult: lambda x, y: x * y, ast.Div: lambda x, y: x / y,
           ast.Pow: lambda x, y: x ** y}


class ExpressionError(ValueError):
    """The expression is not one glassgrad can build; the message points at the problem."""

    def __init__(self, text: str, problem: str, column: int | None = None):
        if column is not None:
            column = min(max(column, 0), len(text))
        pointer = "" if column is None else f"\n  {text}\n  {' ' * column}^"
        super().__init__(f"{problem}{pointer}")
        self.column = column


def build(text: str, values: dict[str, float]) -> Value:
    """The Value of ``text`` with each name a leaf holding ``values[name]`` (labelled by name).

    >>> out = build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 10})
    >>> out.op, round(out.data, 6)
    ('tanh', 0.999329)
    """
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:40] + "…", f"the expression is {len(text):,} characters "
                                               f"long; the limit is {MAX_LENGTH:,}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExpressionError(text, f"not an expression: {e.msg}",
                              None if e.offset is None else e.offset - 1) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(text[:40] + "…", "the expression is nested too deeply") from None
    leaves = {name: Value(float(v), label=name) for name, v in values.items()}
    used: set[str] = set()

    def column(node) -> int | None:
        """ast counts UTF-8 bytes; the caret counts characters."""
        offset = getattr(node, "col_offset", None)
        return None if offset is None else len(text.encode()[:offset].decode(errors="ignore"))

    def walk(node):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(text, f"{node.id} is a function: write {node.id}(...)",
                                      column(node))
            if node.id not in leaves:
                raise ExpressionError(text, f"name {node.id!r} has no value: give it as "
                                            f"{node.id}=NUMBER", column(node))
            used.add(node.id)
            return leaves[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if not isinstance(left, Value) and not isinstance(right, Value):
                # Numbers alone are still computed by the engine (IEEE: 1/0 is inf, 9**9**9
                # is inf at once), never by Python's own arithmetic.
                left = const(left)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                what = name or ast.unparse(node.func)
                raise ExpressionError(text, f"{what}(...) is not allowed; the functions are "
                                            f"{', '.join(FUNCTIONS)}", column(node))
            if len(node.args) != 1 or node.keywords:
                raise ExpressionError(text, f"{name} takes exactly one argument",
                                      column(node))
            arg = walk(node.args[0])
            return getattr(arg if isinstance(arg, Value) else Value(arg), name)()
        return _refuse(node)

    def _refuse(node):
        kinds = {ast.Attribute: "attribute access (.)", ast.Subscript: "indexing ([...])",
                 ast.Compare: "comparisons", ast.Lambda: "lambda", ast.BoolOp: "and/or",
                 ast.Constant: "this constant (only numbers)"}
        what = next((v for k, v in kinds.items() if isinstance(node, k)),
                    type(node).__name__)
        where = column(node)
        if isinstance(node, ast.Attribute):  # point at the dot, not at the name before it
            where = len(text.encode()[:node.value.end_col_offset].decode(errors="ignore"))
        raise ExpressionError(text, f"not allowed in an expression: {what}; use numbers, "
                                    f"names, + - * / ** and {', '.join(FUNCTIONS)}", where)

    try:
        out = walk(tree.body)
    except RecursionError:
        raise ExpressionError(text[:40] + "…", "the expression is nested too deeply") from None
    if not isinstance(out, Value) or not used:
        raise ExpressionError(text, "the expression has no names, so there is nothing to "
                                    "differentiate: use at least one name, e.g. x*2 x=3")
    unused = sorted(set(values) - used)
    if unused:
        raise ExpressionError(text, f"{', '.join(unused)} given but not used in the expression")
    out.label = out.label or "out"
    return out
