"""One tenant cannot open the circuit for everyone: a poisoned prompt trips only its sender's breaker, a real storm
over several accounts still opens the provider's circuit, connection failures open it from one account, and
upstream 429s never count (official openai SDK against a real gateway and a fake OpenAI upstream)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.metering_helpers import create_key
from tests.fakes import Fault, FakeOpenAI
from tests.harness.gateway import Gateway, free_port

POISON = "POISONED-PROMPT-7f3a"
PROVIDERS = ("poison-up", "storm-up", "limit-up")


def _provider(base_url: str) -> dict[str, Any]:
    return {"kind": "openai", "base_url": base_url, "api_key_env": "FAKE_OPENAI_KEY", "max_retries": 1,
            "circuit_failures": 5, "circuit_reset_seconds": 60, "timeouts": {"connect": 1, "first_byte": 5,
                                                                              "total": 10}}


def _config(fake: FakeOpenAI) -> dict[str, Any]:
    providers = {p: _provider(fake.base_url) for p in PROVIDERS}
    providers["dead-up"] = _provider(f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    return {"providers": providers,
            "models": [{"id": f"c/{p}", "type": "chat", "provider": p, "upstream_model": "gpt-4o-mini"}
                       for p in providers]}


@dataclass
class Rig:
    """The gateway and its fake upstream."""

    gw: Gateway
    fake: FakeOpenAI

    def client(self) -> openai.OpenAI:
        """An SDK client with a key of a fresh account."""
        _, key = create_key(self.gw, f"acct-{uuid.uuid4().hex[:8]}")
        return self.gw.openai(key)

    def circuit(self, provider: str) -> float:
        """tokenyard_circuit_state of a provider (0 closed, 1 half-open, 2 open)."""
        for line in httpx.get(f"{self.gw.url}/metrics").text.splitlines():
            if line.startswith("tokenyard_circuit_state{") and f'provider="{provider}"' in line:
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no circuit gauge for {provider}")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    fake = FakeOpenAI(require_api_key="sk-fake").start()
    gw = Gateway(workdir=Path(tmp_path_factory.mktemp("tenant-circuit")), config=_config(fake),
                 env={"FAKE_OPENAI_KEY": "sk-fake"})
    try:
        gw.start()
        yield Rig(gw, fake)
    finally:
        gw.stop()
        fake.stop()


def _ask(client: openai.OpenAI, model: str, text: str = "hello", stream: bool = False) -> str:
    if stream:
        chunks = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}],
                                                stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


def _fails(client: openai.OpenAI, model: str, text: str = "hello") -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as err:
        _ask(client, model, text)
    return err.value


def test_a_poisoned_prompt_trips_only_its_senders_breaker(rig: Rig) -> None:
    rig.fake.reset()
    rig.fake.push_fault(Fault.status(500, match_body=POISON), times=10_000)
    attacker, victim = rig.client(), rig.client()
    for _ in range(6):  # 2 attempts each: 12 upstream 500s, far past circuit_failures (5)
        assert _fails(attacker, "c/poison-up", f"please {POISON}").status_code == 502
    seen = len(rig.fake.requests)
    assert seen < 12, "the attacker's own breaker stops its requests from reaching the upstream"
    for i in range(8):
        assert _ask(victim, "c/poison-up", f"normal question {i}", stream=bool(i % 2)).startswith("echo:")
    assert rig.circuit("poison-up") == 0, "the provider's shared circuit stays closed"
    assert len(rig.fake.requests) == seen + 8, "every request of the other account reached the healthy upstream"
    err = _fails(attacker, "c/poison-up", "even a normal question")
    assert err.status_code == 502 and "this account" in str(err.message) and err.response.headers["retry-after"]
    assert len(rig.fake.requests) == seen + 8, "the attacker is fast-failed until its own breaker's reset"


def test_a_storm_seen_by_several_accounts_opens_the_shared_circuit(rig: Rig) -> None:
    rig.fake.reset()
    rig.fake.push_fault(Fault.status(503), times=10_000)
    for client in (rig.client(), rig.client(), rig.client()):
        assert _fails(client, "c/storm-up").status_code == 502  # 2 failures each: 6 from 3 accounts
    assert rig.circuit("storm-up") == 2
    seen = len(rig.fake.requests)
    err = _fails(rig.client(), "c/storm-up")
    assert err.status_code == 502 and "circuit open" in str(err.message)
    assert len(rig.fake.requests) == seen, "an account with no failure of its own is fast-failed too"


def test_connection_failures_open_the_shared_circuit_from_one_account(rig: Rig) -> None:
    client = rig.client()
    for _ in range(3):  # 2 connection failures each
        assert _fails(client, "c/dead-up").status_code == 502
    assert rig.circuit("dead-up") == 2, "unreachable is provider-wide, whoever saw it"


def test_upstream_429s_never_open_the_circuit(rig: Rig) -> None:
    rig.fake.reset()
    rig.fake.push_fault(Fault.status(429, retry_after=0), times=10_000)
    clients = [rig.client() for _ in range(3)]
    for _ in range(4):
        for client in clients:  # 8 rate-limited attempts per account, 24 in all
            assert _fails(client, "c/limit-up").status_code == 429
    assert rig.circuit("limit-up") == 0
    rig.fake.clear_faults()
    seen = len(rig.fake.requests)
    for client in clients:
        assert _ask(client, "c/limit-up").startswith("echo:"), "no breaker, shared or own, was tripped"
    assert len(rig.fake.requests) == seen + 3
