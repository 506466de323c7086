"""The calculator: exact rational results, and hostile expressions refused quickly without eval."""
from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import pytest

from tokenyard.chats.tools.base import ToolCallInfo, ToolError
from tokenyard.chats.tools.calculator import CalcError, CalculatorTool, evaluate, to_decimal

CALL = ToolCallInfo(chat_id="chat_x", tool_call_id="call_x")


@pytest.mark.parametrize(("expr", "value"), [
    ("0.1 + 0.2", Fraction(3, 10)),
    ("1/3 + 1/6", Fraction(1, 2)),
    ("2^10", Fraction(1024)),
    ("2 ** -3", Fraction(1, 8)),
    ("-2**2", Fraction(-4)),
    ("(1.1 + 2.2) * 3", Fraction(99, 10)),
    ("7 // 2 + 7 % 2", Fraction(4)),
    ("-7 % 3", Fraction(2)),
    ("1e-3 * 2", Fraction(1, 500)),
    ("1_000 × 3 ÷ 4", Fraction(750)),
    ("abs(-5) + max(1, 2, 3) - min(4, 5)", Fraction(4)),
    ("round(2.675, 2)", Fraction(267, 100) + Fraction(1, 100)),
    ("floor(-1.5) + ceil(1.2)", Fraction(0)),
    ("sqrt(16/9)", Fraction(4, 3)),
    ("12345678901234567890 * 98765432109876543210",
     Fraction(12345678901234567890 * 98765432109876543210)),
])
def test_exact_results(expr: str, value: Fraction) -> None:
    result, exact = evaluate(expr)
    assert result == value and exact


@pytest.mark.parametrize(("expr", "prefix"), [("sqrt(2)", "1.41421356237309504880168872421"),
                                              ("2 ** 0.5", "1.41421356237309504880168872421"),
                                              ("pi", "3.14159265358979323846264338328")])
def test_approximations_are_marked_inexact(expr: str, prefix: str) -> None:
    result = asyncio.run(CalculatorTool().run({"expression": expr}, CALL))
    assert result["result"] == prefix and result["exact"] is False and "fraction" not in result


def test_repeating_decimals_keep_the_exact_fraction() -> None:
    result = asyncio.run(CalculatorTool().run({"expression": "10/3"}, CALL))
    assert result == {"expression": "10/3", "result": "3.33333333333333333333333333333", "exact": False,
                      "fraction": "10/3"}


def test_terminating_decimals_are_exact_text() -> None:
    assert to_decimal(Fraction(-1, 8)) == ("-0.125", True)
    assert to_decimal(Fraction(1, 10**50))[0] == "0." + "0" * 49 + "1"


@pytest.mark.parametrize(("expr", "message"), [
    ("__import__('os')", "unknown function"),
    ("__import__('os').system('true')", "only simple function calls"),
    ("open('/etc/passwd').read()", "only simple function calls"),
    ("(1).__class__", "unsupported syntax"),
    ("x + 1", "unknown name"),
    ("[1, 2]", "unsupported syntax"),
    ("lambda: 1", "unsupported syntax"),
    ("'a' * 10", "only numbers"),
    ("True + 1", "only numbers"),
    ("1j * 2", "only numbers"),
    ("1 if 1 else 2", "unsupported syntax"),
    ("1 < 2", "unsupported syntax"),
    ("9**9**9**9", "too large"),
    ("2 ** 100000", "too large"),
    ("(10**1000) ** 1000", "too large"),
    ("10**1000 * 10**1000 * 10**1000 * 10**1000", "too large"),
    ("1e999999", "out of range"),
    ("1/0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("sqrt(-1)", "negative"),
    ("(-8) ** 0.5", "negative"),
    ("round(1, 0.5)", "whole number"),
    ("max()", "arguments"),
    ("sqrt(x=4)", "only simple function calls"),
    ("1 +", "not a valid"),
    ("", "empty"),
    ("1+" * 300 + "1", "longer than"),
    ("+".join(["1"] * 150), "more than"),
    ("(" * 60 + "1" + ")" * 60 + "/0", "division by zero"),
    ("-(" * 60 + "1" + ")" * 60, "nested"),
    ("-" * 45 + "1", "nested"),
    ("-" * 300 + "1", "more than"),
])
def test_hostile_or_invalid_expressions_are_refused(expr: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(CalcError) as info:
        evaluate(expr)
    assert message in str(info.value)
    assert time.monotonic() - started < 0.5
    assert isinstance(info.value, ToolError), "the model sees the message as a tool error"


def test_every_intermediate_value_is_bounded() -> None:
    started = time.monotonic()
    with pytest.raises(CalcError):
        evaluate("(2**999)**1 * (2**999) * (2**999) * (2**999) * (2**999)")
    assert time.monotonic() - started < 0.5
