"""Build a graph of Values from an expression such as ``"tanh(a*b + c)"``, safely.

The text is parsed with ``ast`` and only a whitelist is accepted: numbers, names given a
value, ``+ - * / **``, unary minus and plus, and calls of the engine's one-input functions
(every op of the table with a ``method``, listed in :data:`FUNCTIONS`).
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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # a byte that is not text, passed through by the shell
        shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise ExpressionError(shown, f"character {e.start + 1} of the expression is not text "
                                     f"(a stray byte?)", e.start) from None
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
    builder = _Builder(text, values)
    try:
        out = builder.walk(tree.body)
    except RecursionError:
        raise ExpressionError(text[:40] + "…", "the expression is nested too deeply") from None
    if not isinstance(out, Value) or not builder.used:
        raise ExpressionError(text, "the expression has no names, so there is nothing to "
                                    "differentiate: use at least one name, e.g. x*2 x=3")
    unused = sorted(set(values) - builder.used)
    if unused:
        raise ExpressionError(text, f"{', '.join(unused)} given but not used in the expression")
    out.label = out.label or "out"
    return out


class _Builder:
    """Walks the syntax tree of ``text``, building Values; refuses anything not whitelisted."""

    def __init__(self, text: str, values: dict[str, float]):
        self.text = text
        self.leaves = {name: Value(float(v), label=name) for name, v in values.items()}
        self.used: set[str] = set()

    def column(self, node) -> int | None:
        """ast counts UTF-8 bytes; the caret counts characters."""
        offset = getattr(node, "col_offset", None)
        return None if offset is None else self._characters(offset)

    def _characters(self, offset: int) -> int:
        return len(self.text.encode()[:offset].decode(errors="ignore"))

    def fail(self, problem: str, node=None, column: int | None = None):
        where = column if column is not None else None if node is None else self.column(node)
        return ExpressionError(self.text, problem, where)

    def walk(self, node):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.walk(node.left), self.walk(node.right)
            if not isinstance(left, Value) and not isinstance(right, Value):
                # Numbers alone are still computed by the engine (IEEE: 1/0 is inf, 9**9**9
                # is inf at once), never by Python's own arithmetic.
                left = const(left)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refusal(node)

    def name(self, node: ast.Name) -> Value:
        if node.id in FUNCTIONS:
            raise self.fail(f"{node.id} is a function: write {node.id}(...)", node)
        if node.id not in self.leaves:
            raise self.fail(f"name {node.id!r} has no value: give it as {node.id}=NUMBER", node)
        self.used.add(node.id)
        return self.leaves[node.id]

    def call(self, node: ast.Call) -> Value:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            what = name or ast.unparse(node.func)
            raise self.fail(f"{what}(...) is not allowed; the functions are "
                            f"{', '.join(FUNCTIONS)}", node)
        if len(node.args) != 1 or node.keywords:
            raise self.fail(f"{name} takes exactly one argument", node)
        arg = self.walk(node.args[0])
        return getattr(arg if isinstance(arg, Value) else Value(arg), name)()

    def refusal(self, node) -> ExpressionError:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):  # a^2
            return self.fail("^ is not a power here: write ** for powers (a**2)", node)
        kinds = {ast.Attribute: "attribute access (.)", ast.Subscript: "indexing ([...])",
                 ast.Compare: "comparisons", ast.Lambda: "lambda", ast.BoolOp: "and/or",
                 ast.Constant: "this constant (only numbers)", ast.IfExp: "if … else",
                 ast.BinOp: "this operator", ast.UnaryOp: "this operator",
                 ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict",
                 ast.Set: "a set", ast.Starred: "*", ast.NamedExpr: ":="}
        what = next((v for k, v in kinds.items() if isinstance(node, k)), "this kind of "
                    "expression")
        where = self.column(node)
        if isinstance(node, ast.Attribute):  # point at the dot, not at the name before it
            where = self._characters(node.value.end_col_offset)
        return self.fail(f"not allowed in an expression: {what}; use numbers, names, "
                         f"+ - * / ** and {', '.join(FUNCTIONS)}", column=where)
