"""Upstream faults under concurrency (fake upstreams, real gateway): 5xx storms and the circuit, 429 with
Retry-After, connection resets, timeouts before/after the first byte, a slow-loris upstream. After each:
clean documented errors, recovery without restart, exact usage records, balanced books."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.metering_helpers import create_key
from tests.fakes import Fault
from tests.reliability.books import assert_books_balance, assert_usage_exact
from tests.reliability.traffic import USER, Outcome, assert_clean_error, burst, sse_events
from tests.reliability.upstream_fixture import ACCOUNT, Rig, rig  # noqa: F401 - fixture

SENT: list[str] = []


@pytest.fixture(autouse=True)
def _accounting(rig: Rig) -> Iterator[None]:  # noqa: F811
    """Reset the fakes; after the test, every response so far is metered exactly once and the books balance."""
    rig.storm.reset()
    rig.main.reset()
    yield
    ok = [o for o in SENT if o.startswith("ok:")]
    assert_usage_exact(rig.gw, [o[3:] for o in ok], [o[3:] for o in SENT])
    assert_books_balance(rig.gw, ACCOUNT)


def _fire(rig: Rig, model: str, n: int, stream: bool = False, concurrency: int = 32,  # noqa: F811
          key: str = "", **extra: object) -> list[Outcome]:
    body = {"model": model, "messages": USER, "stream": stream, **extra}
    out = burst(rig.gw, key or rig.key, [body] * n, concurrency=concurrency)
    SENT.extend(("ok:" if o.status == 200 else "ko:") + o.rid for o in out)
    return out


def _circuit(rig: Rig, provider: str) -> float:  # noqa: F811
    for line in httpx.get(f"{rig.gw.url}/metrics").text.splitlines():
        if line.startswith("tokenyard_circuit_state{") and f'provider="{provider}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no circuit gauge for {provider}")


def test_5xx_storm_fails_cleanly_opens_the_circuit_and_recovers(rig: Rig) -> None:  # noqa: F811
    # A real storm fails every tenant's calls: the shared circuit opens only on failures spread over several
    # accounts (circuit_min_accounts, 3), so three accounts send it (one tenant alone trips only its own).
    rig.storm.push_fault(Fault.status(503), times=10_000)
    keys = [rig.key, create_key(rig.gw, f"{ACCOUNT}-b")[1], create_key(rig.gw, f"{ACCOUNT}-c")[1]]
    failed = [o for key in keys for o in _fire(rig, "rel/storm", 22, key=key)]
    for o in failed:
        assert_clean_error(o, 502, "provider_error")
    assert len(rig.storm.requests) < 66 * 2, "the open circuit must stop hammering the failing upstream"
    assert _circuit(rig, "fake-storm") == 2
    rescued = _fire(rig, "rel/storm-fb", 32)
    assert all(o.status == 200 and o.headers["x-tokenyard-target"] == "fake-main" for o in rescued)
    rig.storm.clear_faults()
    time.sleep(1.6)  # circuit_reset_seconds: the next call is the half-open probe
    [probe] = _fire(rig, "rel/storm", 1)
    assert probe.status == 200 and _circuit(rig, "fake-storm") == 0
    healed = _fire(rig, "rel/storm", 32)
    assert all(o.status == 200 and o.headers["x-tokenyard-target"] == "fake-storm" for o in healed)


def test_429_storm_waits_for_retry_after_then_answers(rig: Rig) -> None:  # noqa: F811
    rig.main.push_fault(Fault.status(429, retry_after=1), times=16)
    started = time.monotonic()
    out = _fire(rig, "rel/main", 16, concurrency=16)
    assert [o.status for o in out] == [200] * 16
    assert time.monotonic() - started >= 0.9, "the upstream's Retry-After is honoured"
    rig.main.push_fault(Fault.status(429, retry_after=4), times=10_000)
    limited = _fire(rig, "rel/main", 8)
    for o in limited:
        assert_clean_error(o, 429, "rate_limit_exceeded")
        assert o.headers["retry-after"] == "4"
    rig.main.clear_faults()
    assert [o.status for o in _fire(rig, "rel/main", 8)] == [200] * 8


def test_connection_resets_are_retried_then_502_then_recover(rig: Rig) -> None:  # noqa: F811
    rig.main.push_fault(Fault.reset(), times=12)
    out = _fire(rig, "rel/main", 24, concurrency=24)
    assert [o.status for o in out] == [200] * 24, "one reset per request is absorbed by the retry"
    rig.main.push_fault(Fault.reset(), times=10_000)
    for o in _fire(rig, "rel/main", 8):
        assert_clean_error(o, 502, "provider_error")
    rig.main.clear_faults()
    assert [o.status for o in _fire(rig, "rel/main", 8)] == [200] * 8


def test_timeout_before_the_first_byte_is_retried_then_504(rig: Rig) -> None:  # noqa: F811
    rig.main.push_fault(Fault.delay(4), times=8)
    out = _fire(rig, "rel/main", 8)
    assert [o.status for o in out] == [200] * 8, "first_byte timeout (1 s) then a successful retry"
    rig.main.push_fault(Fault.delay(4), times=10_000)
    started = time.monotonic()
    for o in _fire(rig, "rel/main", 8):
        assert_clean_error(o, 504, "timeout")
    assert time.monotonic() - started < 3.5
    rig.main.clear_faults()


def _stream_outcome(o: Outcome) -> tuple[str, list[dict]]:
    events = sse_events(o.body)
    assert o.status == 200 and events and events[-1] == "[DONE]", o.body[-300:]
    payloads = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in payloads if c.get("choices"))
    return text, [p["error"] for p in payloads if "error" in p]


def test_timeout_after_the_first_byte_ends_the_stream_with_one_error(rig: Rig) -> None:  # noqa: F811
    rig.main.script_reply("one two three four five six", times=6)
    rig.main.push_fault(Fault.hang_stream(after=3), times=6)
    started = time.monotonic()
    out = _fire(rig, "rel/main", 6, stream=True)
    assert time.monotonic() - started < 6, "the total timeout (3 s) ends a hung stream"
    for o in out:
        text, errors = _stream_outcome(o)
        assert text.startswith("one") and "six" not in text
        assert len(errors) == 1 and errors[0]["code"] == "timeout", errors
        assert "Traceback" not in o.body
    assert len(rig.main.requests) == 6, "no retry once bytes reached the client"


def test_slow_loris_upstream_is_cut_and_starves_no_one(rig: Rig) -> None:  # noqa: F811
    rig.storm.script_reply(" ".join(f"w{i}" for i in range(40)), times=8)
    rig.storm.push_fault(Fault.slow_stream(seconds=0.4), times=8)
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(_fire, rig, "rel/storm", 8, True)
        time.sleep(0.5)
        started = time.monotonic()
        fast = _fire(rig, "rel/main", 32, stream=True)
        fast_took = time.monotonic() - started
        slow_out = slow.result(timeout=30)
    assert all(_stream_outcome(o)[1] == [] for o in fast) and fast_took < 5
    for o in slow_out:
        text, errors = _stream_outcome(o)
        assert text.startswith("w0") and "w39" not in text
        assert len(errors) == 1 and errors[0]["code"] == "timeout", errors
