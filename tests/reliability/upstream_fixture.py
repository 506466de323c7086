"""A gateway on priced models served by fake OpenAI upstreams, and a metered (non-admin) key for it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.metering_helpers import create_key
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

PRICING = {"input_per_mtok_usd": "10", "output_per_mtok_usd": "20"}
ACCOUNT = "rel-upstream"


def _provider(fake: FakeOpenAI, **over: Any) -> dict[str, Any]:
    return {"kind": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_OPENAI_KEY", "max_retries": 1,
            "circuit_failures": 1000, "timeouts": {"connect": 2, "first_byte": 1, "total": 3}, **over}


def _model(mid: str, provider: str, **over: Any) -> dict[str, Any]:
    return {"id": mid, "type": "chat", "provider": provider, "upstream_model": "gpt-4o-mini",
            "max_output_tokens": 100, "pricing": PRICING, **over}


def config(storm: FakeOpenAI, main: FakeOpenAI) -> dict[str, Any]:
    """rel/storm opens its circuit after 5 failures for 1.5 s; rel/storm-fb falls back to rel/main."""
    return {
        "providers": {"fake-storm": _provider(storm, circuit_failures=5, circuit_reset_seconds=1.5),
                      "fake-main": _provider(main)},
        "models": [_model("rel/storm", "fake-storm"),
                   _model("rel/storm-fb", "fake-storm", fallbacks=["rel/main"]),
                   _model("rel/main", "fake-main"),
                   _model("rel/embed", "fake-main", type="embedding", upstream_model="text-embedding-3-small")],
        "plans": [{"name": "free", "monthly_credits_usd": "100", "default": True}],
    }


@dataclass
class Rig:
    """The gateway, its fake upstreams, and a metered key of ACCOUNT."""

    gw: Gateway
    storm: FakeOpenAI
    main: FakeOpenAI
    key: str


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    storm, main = FakeOpenAI(require_api_key="sk-fake"), FakeOpenAI(require_api_key="sk-fake")
    storm.start()
    main.start()
    gw = Gateway(workdir=Path(tmp_path_factory.mktemp("rel-upstream")), config=config(storm, main),
                 env={"FAKE_OPENAI_KEY": "sk-fake"})
    try:
        gw.start()
        _, key = create_key(gw, ACCOUNT)
        yield Rig(gw, storm, main, key)
    finally:
        gw.stop()
        storm.stop()
        main.stop()
