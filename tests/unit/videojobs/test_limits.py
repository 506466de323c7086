"""Video request checks against catalog limits, pricing, Range parsing and the wire object."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tokenyard.catalog import load_catalog
from tokenyard.errors import GatewayError
from tokenyard.videojobs import validate
from tokenyard.videojobs.billing import video_cost_micros, video_cost_usd
from tokenyard.videojobs.convert import micros_to_usd
from tokenyard_http.ranges import parse_range
from tokenyard_http.schemas.videos import VideoCreateRequest

CAT = load_catalog()
PATTERN = CAT.resolve("local/test-pattern")
SORA = CAT.resolve("openai/sora-2")


def _param(fn, *args) -> str | None:  # type: ignore[no-untyped-def]
    with pytest.raises(GatewayError) as info:
        fn(*args)
    return info.value.param


def test_seconds_default_and_limits() -> None:
    assert validate.check_seconds(PATTERN, 0) == 4
    assert validate.check_seconds(PATTERN, 20) == 20
    assert validate.check_seconds(PATTERN, 1.5) == 1.5
    assert _param(validate.check_seconds, PATTERN, 20.5) == "seconds"
    assert _param(validate.check_seconds, PATTERN, -1) == "seconds"
    assert _param(validate.check_seconds, SORA, 13) == "seconds"


def test_sizes_must_be_listed_by_the_model() -> None:
    assert validate.check_size(PATTERN, "") == ("320x240", 320, 240)
    assert validate.check_size(SORA, "720x1280") == ("720x1280", 720, 1280)
    assert _param(validate.check_size, SORA, "320x240") == "size"
    assert _param(validate.check_size, PATTERN, "big") == "size"
    assert _param(validate.check_prompt, " ") == "prompt"


def test_price_is_per_call_plus_per_second_exactly() -> None:
    assert video_cost_usd(PATTERN, 2) == Decimal("0.002")
    assert video_cost_micros(SORA, 8) == 800_000
    assert micros_to_usd(2000) == "0.002" and micros_to_usd(0) == "0"


@pytest.mark.parametrize("value,expected", [(4, 4.0), ("8", 8.0), ("2.5", 2.5), (None, None)])
def test_seconds_accept_numbers_and_numeric_strings(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert VideoCreateRequest(model="m", prompt="p", seconds=value).seconds == expected


@pytest.mark.parametrize("value", ["four", "", "-3", True, "nan"])
def test_seconds_refuse_anything_else(value) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        VideoCreateRequest(model="m", prompt="p", seconds=value)


@pytest.mark.parametrize("header,expected", [
    (None, None), ("bytes=0-99", (0, 99)), ("bytes=100-", (100, 999)), ("bytes=-10", (990, 999)),
    ("bytes=900-5000", (900, 999)), ("bytes=-5000", (0, 999)), ("bytes=1000-", "unsatisfiable"),
    ("bytes=-0", "unsatisfiable"), ("bytes=5-1", None), ("items=0-1", None), ("bytes=0-1,5-9", None),
])
def test_range_header(header, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_range(header, 1000) == expected
