"""Split gateway: the Auth, Config, Metering or Router process down for a few seconds. Requests answer as
documented in docs/reliability.md (200 from caches/spool, or a clean 503 service_unavailable; never a 500 or
a hang) and the gateway heals once the process is back, without restarting anything else. Usage of every
answered request is recorded exactly once."""
from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.e2e.metering_helpers import create_key, wait_until
from tests.harness.gateway import Gateway
from tests.reliability.books import assert_books_balance, assert_usage_exact
from tests.reliability.test_dependency_outages import CONFIG
from tests.reliability.traffic import USER, rid

# While each process is down: the status of (free model, priced model) for a key already in the caches.
# Auth: the facade/router drop cached keys when the revocation feed breaks (a revoked key must never be
# served from a stale cache), so every request is a 503 until Auth is back. Config: requests without an app
# are served from the local catalog. Metering: free calls go on (usage waits in the Router's spool), and so
# do priced ones, admitted against the balance lease the Router already holds (tokenyard.inference.leases;
# a new lease would need Metering). Router: nothing can answer chat.
EXPECTED = {"auth": (503, 503), "config": (200, 200), "metering": (200, 200), "inference": (503, 503)}


def _chat(gw: Gateway, key: str, model: str, outcomes: dict[str, int]) -> int:
    request_id = rid("svc")
    try:
        r = httpx.post(f"{gw.url}/v1/chat/completions", timeout=20, json={"model": model, "messages": USER},
                       headers={"authorization": f"Bearer {key}", "x-request-id": request_id})
    except httpx.HTTPError as exc:  # a hang or a dropped connection breaks the promise
        raise AssertionError(f"no answer while a service was down: {exc!r}") from exc
    outcomes[request_id] = r.status_code
    if r.status_code != 200:
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "service_unavailable" and "Traceback" not in r.text
        assert r.headers.get("retry-after") or "unavailable" in r.text
    return r.status_code


def test_each_service_down_for_seconds_answers_as_documented_and_heals(
        make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True, config=CONFIG)
    _, key = create_key(gw, "rel-svc")
    outcomes: dict[str, int] = {}

    def pair() -> tuple[int, int]:
        return _chat(gw, key, "local/echo", outcomes), _chat(gw, key, "rel/priced", outcomes)

    assert pair() == (200, 200)  # the key, the catalog and the account are now cached/warm
    for service, expected in EXPECTED.items():
        gw.kill(service)
        first = pair()
        time.sleep(1)
        assert (first, pair()) == (expected, expected), service
        gw.start_service(service)
        assert wait_until(lambda: pair() == (200, 200), 20), f"{service} is back but requests still fail"
    assert_usage_exact(gw, [r for r, s in outcomes.items() if s == 200], outcomes)
    assert_books_balance(gw, "rel-svc")
