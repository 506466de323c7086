"""Gateways for the issue-19 API tests: platform JWTs on, the OpenAI provider on a fake, Anthropic keyless."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.fakes import FakeAnthropic, FakeOpenAI
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET, hs256

FAKE_KEY = "sk-fake-api19-0123456789"


@dataclass
class Api19:
    """The running gateway and its fake upstreams (OpenAI as `openai`, Anthropic as `fake-anthropic`)."""

    gw: Gateway
    fake: FakeOpenAI
    anthropic: FakeAnthropic

    def user(self, prefix: str = "u") -> tuple[str, httpx.Client]:
        """A fresh platform user (account id, HTTP client signed in with an HS256 JWT)."""
        sub = f"{prefix}-{uuid.uuid4().hex[:8]}"
        return sub, self.gw.http(hs256(sub))


def api19_gateway(workdir: object, config: dict | None = None, env: dict[str, str] | None = None) -> Gateway:
    """A gateway whose `openai` provider is the fake (key set) and whose Anthropic/Gemini keys are unset."""
    return Gateway(workdir=workdir, config=config,  # type: ignore[arg-type]
                   env={"TOKENYARD_JWT_SECRET": JWT_SECRET, "API19_OPENAI_KEY": FAKE_KEY,
                        "TOKENYARD_EGRESS_ALLOW": "127.0.0.1", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
                        "GOOGLE_API_KEY": "", "OPENAI_API_KEY": "", **(env or {})})


def fake_provider_config(fake: FakeOpenAI, anthropic: FakeAnthropic | None = None) -> dict:
    """The default catalog with its `openai` provider pointed at the fake (and `t/claude` on a fake Anthropic)."""
    config: dict = {"providers": {"openai": {"kind": "openai", "base_url": fake.base_url,
                                             "api_key_env": "API19_OPENAI_KEY", "max_retries": 0}},
                    "models": [{"id": "t/pricey", "type": "chat", "provider": "openai", "upstream_model": "gpt-4o-mini",
                                "pricing": {"input_per_mtok_usd": 0, "output_per_mtok_usd": 1_000_000}}]}
    if anthropic is not None:
        config["providers"]["fake-anthropic"] = {"kind": "anthropic", "base_url": anthropic.url,
                                                 "api_key_env": "API19_OPENAI_KEY", "api_version": "2023-06-01",
                                                 "max_retries": 0}
        config["models"] += [{"id": "t/claude", "type": "chat", "provider": "fake-anthropic",
                             "upstream_model": "claude-haiku-4-5", "pricing": {"input_per_mtok_usd": 1,
                                                                               "output_per_mtok_usd": 5}}]
    return config


@pytest.fixture(scope="module")
def api19(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api19]:
    fake, anthropic = FakeOpenAI(require_api_key=FAKE_KEY), FakeAnthropic(require_api_key=FAKE_KEY)
    fake.start()
    anthropic.start()
    gw = api19_gateway(tmp_path_factory.mktemp("api19"), fake_provider_config(fake, anthropic))
    try:
        gw.start()
        yield Api19(gw, fake, anthropic)
    finally:
        gw.stop()
        fake.stop()
        anthropic.stop()
