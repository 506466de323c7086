"""The `calculator` tool: exact rational arithmetic over a whitelisted Python AST (no eval), bounded."""
from __future__ import annotations

import ast
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any

from tokenyard.chats.tools.base import ToolCallInfo, ToolError

MAX_CHARS = 500          # expression length
MAX_NODES = 200          # AST nodes
MAX_DEPTH = 40           # nesting of operations
MAX_BITS = 4096          # numerator / denominator size of every intermediate value (~1233 digits)
MAX_EXPONENT = 1000      # |n| in x ** n
DIGITS = 30              # significant digits shown for non-terminating results
_PREC = 50               # working precision of the (inexact) functions and constants

_SPELLINGS = {"×": "*", "÷": "/", "−": "-", "^": "**"}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


class CalcError(ToolError):
    """The expression is invalid or out of bounds."""


def _check(q: Fraction) -> Fraction:
    if q.numerator.bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
        raise CalcError(f"result too large (limit {MAX_BITS} bits)")
    return q


def _approx(value: Decimal) -> Fraction:
    return _check(Fraction(value))


def _sqrt(x: Fraction) -> tuple[Fraction, bool]:
    if x < 0:
        raise CalcError("square root of a negative number")
    n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
    if n * n == x.numerator and d * d == x.denominator:
        return Fraction(n, d), True
    with localcontext() as ctx:
        ctx.prec = _PREC
        return _approx(Decimal(x.numerator).sqrt() / Decimal(x.denominator).sqrt()), False


def _round(x: Fraction, ndigits: Fraction = Fraction(0)) -> Fraction:
    if ndigits.denominator != 1 or abs(ndigits) > 100:
        raise CalcError("round() takes a whole number of digits between -100 and 100")
    return Fraction(round(x, int(ndigits)))


_EXACT_FUNCS: dict[str, tuple[Callable[..., Fraction], int, int]] = {
    "abs": (abs, 1, 1),
    "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
    "round": (_round, 1, 2),
    "min": (min, 1, 20),
    "max": (max, 1, 20),
}
_CONSTANTS = {
    "pi": Decimal("3.14159265358979323846264338327950288419716939937510"),
    "e": Decimal("2.71828182845904523536028747135266249775724709369995"),
}


class _Evaluator:
    """Walks a parsed expression; `exact` turns False once an approximation (sqrt, pi, x**0.5) is used."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.exact = True

    def eval(self, node: ast.AST, depth: int = 0) -> Fraction:
        if depth > MAX_DEPTH:
            raise CalcError("expression nested too deeply")
        if isinstance(node, ast.Constant):
            return self._literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.eval(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
            left, right = self.eval(node.left, depth + 1), self.eval(node.right, depth + 1)
            return _check(self._binop(node.op, left, right))
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            self.exact = False
            return _approx(_CONSTANTS[node.id])
        if isinstance(node, ast.Name):
            raise CalcError(f"unknown name {node.id!r}; only numbers, pi and e are allowed")
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise CalcError(f"unsupported syntax: {type(node).__name__}")

    def _literal(self, node: ast.Constant) -> Fraction:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CalcError("only numbers are allowed")
        if isinstance(value, int):
            return _check(Fraction(value))
        text = (ast.get_source_segment(self.source, node) or repr(value)).replace("_", "")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise CalcError(f"bad number {text!r}") from None
        if not dec.is_finite() or abs(dec.adjusted()) > MAX_EXPONENT:
            raise CalcError(f"number {text!r} out of range")
        return _check(Fraction(dec))

    def _binop(self, op: ast.operator, a: Fraction, b: Fraction) -> Fraction:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Pow):
            return self._pow(a, b)
        if b == 0:
            raise CalcError("division by zero")
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.FloorDiv):
            return Fraction(a // b)
        return a % b

    def _pow(self, base: Fraction, exp: Fraction) -> Fraction:
        if exp.denominator != 1:
            if base < 0:
                raise CalcError("fractional power of a negative number")
            if base == 0:
                return Fraction(0)
            self.exact = False
            with localcontext() as ctx:
                ctx.prec = _PREC
                value = Decimal(base.numerator) / Decimal(base.denominator)
                result = value ** (Decimal(exp.numerator) / Decimal(exp.denominator))
            if abs(result.adjusted()) > MAX_EXPONENT:
                raise CalcError("result too large")
            return _approx(result)
        n = exp.numerator
        if base == 0 and n < 0:
            raise CalcError("division by zero")
        if base in (0, 1, -1):
            return base ** n
        if abs(n) > MAX_EXPONENT:
            raise CalcError(f"exponent too large (limit {MAX_EXPONENT})")
        size = max(base.numerator.bit_length(), base.denominator.bit_length())
        if (size - 1) * abs(n) > MAX_BITS:
            raise CalcError(f"result too large (limit {MAX_BITS} bits)")
        return base ** n

    def _call(self, node: ast.Call, depth: int) -> Fraction:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise CalcError("only simple function calls like sqrt(x) are allowed")
        name = node.func.id
        if name != "sqrt" and name not in _EXACT_FUNCS:
            raise CalcError(f"unknown function {name!r}; available: sqrt, {', '.join(_EXACT_FUNCS)}")
        args = [self.eval(a, depth + 1) for a in node.args]
        if name == "sqrt":
            if len(args) != 1:
                raise CalcError("sqrt() takes 1 argument")
            value, exact = _sqrt(args[0])
            self.exact = self.exact and exact
            return value
        fn, lo, hi = _EXACT_FUNCS[name]
        if not lo <= len(args) <= hi:
            raise CalcError(f"{name}() takes {lo} to {hi} arguments")
        return _check(fn(*args))


def evaluate(expression: str) -> tuple[Fraction, bool]:
    """The exact value of an arithmetic expression and whether it is exact (raises CalcError)."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalcError("empty expression")
    if len(expression) > MAX_CHARS:
        raise CalcError(f"expression longer than {MAX_CHARS} characters")
    text = expression.strip()
    for spelled, op in _SPELLINGS.items():
        text = text.replace(spelled, op)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalcError(f"not a valid arithmetic expression: {expression!r}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalcError(f"expression has more than {MAX_NODES} parts")
    evaluator = _Evaluator(text)
    value = evaluator.eval(tree.body)
    return value, evaluator.exact


def to_decimal(q: Fraction, digits: int = DIGITS, approximate: bool = False) -> tuple[str, bool]:
    """Decimal text of q: exact when the expansion terminates, else rounded to `digits` significant digits."""
    if approximate:
        return _rounded(q, digits), False
    d, twos, fives = q.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d == 1:
        places = max(twos, fives)
        scaled = abs(q.numerator) * 10 ** places // q.denominator
        sign = "-" if q < 0 else ""
        if places == 0:
            return f"{sign}{scaled}", True
        digits_text = str(scaled).rjust(places + 1, "0")
        return f"{sign}{digits_text[:-places]}.{digits_text[-places:]}", True
    return _rounded(q, digits), False


def _rounded(q: Fraction, digits: int) -> str:
    with localcontext() as ctx:
        ctx.prec = digits
        value = (Decimal(q.numerator) / Decimal(q.denominator)).normalize()
    return format(value, "f") if abs(value.adjusted()) < 40 else str(value)


class CalculatorTool:
    """Exact arithmetic: + - * / // % ** (or ^), parentheses, sqrt, abs, round, floor, ceil, min, max, pi."""

    name = "calculator"
    description = ("Evaluate an arithmetic expression exactly (rational arithmetic, no floating-point "
                   "error). Supports + - * / // % ** (or ^), parentheses, sqrt, abs, round, floor, ceil, "
                   "min, max, pi and e.")
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. (1.1 + 2.2) * 3 / 7",
                                      "maxLength": MAX_CHARS}},
        "required": ["expression"],
        "additionalProperties": False,
    }

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> dict[str, Any]:
        """Evaluate `args["expression"]`."""
        expression = args["expression"]
        value, exact = evaluate(expression)
        text, terminates = to_decimal(value, approximate=not exact)
        out: dict[str, Any] = {"expression": expression, "result": text, "exact": exact and terminates}
        if exact and value.denominator != 1:
            out["fraction"] = f"{value.numerator}/{value.denominator}"
        return out
