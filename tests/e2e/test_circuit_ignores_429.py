"""A provider that answers 429 is up but busy: its rate limits never count against the circuit breaker, so
the next call after the 429s goes through (the breaker opens on 5xx, timeouts and resets only)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fakes import Fault, FakeOpenAI
from tests.harness.gateway import Gateway

BODY = {"model": "busy/model", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(require_api_key="sk-busy") as server:
        yield server


def _circuit(gw: Gateway, provider: str) -> float:
    for line in httpx.get(f"{gw.url}/metrics").text.splitlines():
        if line.startswith("tokenyard_circuit_state{") and f'provider="{provider}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no circuit gauge for {provider}")


def test_429s_do_not_open_the_circuit(make_gateway: Callable[..., Gateway], fake: FakeOpenAI) -> None:
    provider = {"kind": "openai", "base_url": fake.base_url, "api_key_env": "BUSY_KEY", "max_retries": 0,
                "circuit_failures": 2, "circuit_min_accounts": 1, "circuit_reset_seconds": 600}
    gw = make_gateway(config={"providers": {"busy": provider},
                              "models": [{"id": "busy/model", "type": "chat", "provider": "busy",
                                          "upstream_model": "gpt-4o-mini"}]},
                      env={"BUSY_KEY": "sk-busy"})
    fake.push_fault(Fault.status(429), times=5)
    with gw.http() as http:
        for _ in range(5):
            resp = http.post("/v1/chat/completions", json=BODY)
            assert resp.status_code == 429, resp.text
        assert _circuit(gw, "busy") == 0
        fake.clear_faults()
        resp = http.post("/v1/chat/completions", json=BODY)
        assert resp.status_code == 200, resp.text
    assert _circuit(gw, "busy") == 0
