"""A dead PostgreSQL or Redis for a few seconds under load: requests fail with a clean 503 (or degrade as
documented) and the gateway recovers by itself; no usage record lost or doubled, books balance."""
from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.metering_helpers import Load, create_key
from tests.harness.gateway import Gateway
from tests.reliability.books import assert_books_balance, assert_usage_exact
from tests.reliability.deps import RedisServer, block_postgres, pg_database
from tests.reliability.traffic import USER, Outcome, assert_clean_error, rid
from tests.reliability.upstream_fixture import PRICING

CONFIG = {"models": [{"id": "rel/priced", "type": "chat", "provider": "local", "upstream_model": "echo",
                      "max_output_tokens": 50, "pricing": PRICING}],
          "plans": [{"name": "free", "monthly_credits_usd": "100", "default": True}]}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def _probe(load: Load) -> httpx.Response:
    """One request outside the load's workers, recorded among its outcomes."""
    request_id = rid("probe")
    r = httpx.post(f"{load.gw.url}/v1/chat/completions", timeout=15, json={"model": "rel/priced", "messages": USER},
                   headers={"authorization": f"Bearer {load.key}", "x-request-id": request_id})
    with load._lock:
        load.outcomes[request_id] = r.status_code
    return r


def _during(fault: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fault, daemon=True)
    thread.start()
    return thread


def test_postgres_down_for_seconds_is_a_clean_503_and_heals(make_gateway: Callable[..., Gateway],
                                                           pg_url: str) -> None:
    gw = make_gateway(config=CONFIG, env={"TOKENYARD_DATABASE_URL": pg_url})
    _, key = create_key(gw, "rel-pg")
    load = Load(gw, key, model="rel/priced").start()
    try:
        load.wait_for_successes(20)
        outage = _during(lambda: block_postgres(pg_url, 3))
        time.sleep(1)
        down = _probe(load)
        outage.join()
        load.wait_for_successes(30)  # recovered with no restart
    finally:
        load.stop()
    assert_clean_error_response(down, 503, "service_unavailable")
    assert down.headers["retry-after"] == "1"
    statuses = Counter(load.outcomes.values())
    assert set(statuses) <= {200, 503}, statuses
    assert_usage_exact(gw, load.ok(), load.outcomes)
    assert_books_balance(gw, "rel-pg")


def assert_clean_error_response(r: httpx.Response, status: int, code: str) -> None:
    assert_clean_error(Outcome("", r.status_code, r.text, dict(r.headers)), status, code)


def test_redis_stopped_then_killed_degrades_and_heals(make_gateway: Callable[..., Gateway],
                                                     redis_server: RedisServer) -> None:
    gw = make_gateway(config=CONFIG, env={"TOKENYARD_REDIS_URL": redis_server.url,
                                          "TOKENYARD_REDIS_PREFIX": "rel:"})
    _, key = create_key(gw, "rel-redis", rpm=1_000_000)  # a limit applies: every request goes to Redis
    load = Load(gw, key, model="rel/priced").start()
    try:
        load.wait_for_successes(20)
        redis_server.signal(signal.SIGSTOP)  # hung Redis: accepts nothing, answers nothing
        time.sleep(1)
        hung = _probe(load)
        time.sleep(2)
        redis_server.signal(signal.SIGCONT)
        load.wait_for_successes(20)
        redis_server.stop()  # dead Redis: connection refused
        time.sleep(0.5)
        dead = _probe(load)
        time.sleep(1)
        redis_server.start()
        load.wait_for_successes(30)
        headers = _probe(load).headers
    finally:
        load.stop()
    for r in (hung, dead):
        assert r.status_code == 200 and r.elapsed.total_seconds() < 2, (r.status_code, r.text[:200])
        assert "x-ratelimit-limit-requests" not in r.headers, "no limit headers while the limit is unknown"
    assert headers["x-ratelimit-limit-requests"] == "1000000", "limits are enforced again once Redis is back"
    statuses = Counter(load.outcomes.values())
    assert set(statuses) == {200}, statuses
    assert_usage_exact(gw, load.ok(), load.outcomes)
    assert_books_balance(gw, "rel-redis")
