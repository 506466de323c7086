"""A gateway whose catalog points at the fake OpenAI, Anthropic and Gemini upstreams (shared by e2e modules)."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeServer
from tests.harness.gateway import Gateway

KIND_MODELS = {"openai": "t/openai", "anthropic": "t/anthropic", "gemini": "t/gemini"}
KEYS = {"openai": "sk-fake-openai", "anthropic": "sk-ant-fake", "gemini": "gk-fake"}


@dataclass
class Upstreams:
    """The running fakes and the gateway in front of them."""

    gateway: Gateway
    fakes: dict[str, FakeServer]

    def reset(self) -> None:
        for fake in self.fakes.values():
            fake.reset()

    def usage_record(self, request_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The usage_records row of a request (by its x-request-id), waiting for the batched sink to flush it."""
        db = self.gateway.workdir / "data" / "tokenyard.db"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                conn.row_factory = sqlite3.Row
                row = conn.execute("SELECT * FROM usage_records WHERE client_request_id = ?",
                                   (request_id,)).fetchone()
            if row is not None:
                return dict(row)
            time.sleep(0.1)
        return None


def _provider(kind: str, fake: FakeServer, **over: Any) -> dict[str, Any]:
    base = fake.base_url if isinstance(fake, FakeOpenAI) else fake.url
    spec = {"kind": kind, "base_url": base, "api_key_env": f"FAKE_{kind.upper()}_KEY", "max_retries": 2,
            "circuit_failures": 100, "timeouts": {"connect": 2, "first_byte": 5, "total": 20}}
    return {**spec, **over}


def config(fakes: dict[str, FakeServer]) -> dict[str, Any]:
    """Providers for each fake, plus variants for fallback, strict (no retries) and slow (short timeouts)."""
    oai, ant, gem, flaky = fakes["openai"], fakes["anthropic"], fakes["gemini"], fakes["flaky"]
    strict = {"max_retries": 0, "timeouts": {"connect": 2, "first_byte": 0.5, "total": 3}}
    return {
        "providers": {"fake-openai": _provider("openai", oai),
                      "fake-anthropic": _provider("anthropic", ant, api_version="2023-06-01"),
                      "fake-gemini": _provider("gemini", gem), "fake-flaky": _provider("openai", flaky, max_retries=1),
                      "fake-strict": _provider("openai", oai, **strict)},
        "models": [
            {"id": "t/openai", "type": "chat", "provider": "fake-openai", "upstream_model": "gpt-4o-mini"},
            {"id": "t/anthropic", "type": "chat", "provider": "fake-anthropic", "upstream_model": "claude-sonnet-4-5"},
            {"id": "t/gemini", "type": "chat", "provider": "fake-gemini", "upstream_model": "gemini-2.5-flash"},
            {"id": "t/flaky", "type": "chat", "provider": "fake-flaky", "upstream_model": "gpt-4o",
             "fallbacks": ["t/gemini"]},
            {"id": "t/strict", "type": "chat", "provider": "fake-strict", "upstream_model": "gpt-4o-mini"},
        ],
    }


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstreams]:
    """Fakes (requiring their API keys) and one all-in-one gateway configured for them."""
    fakes: dict[str, FakeServer] = {"openai": FakeOpenAI(require_api_key=KEYS["openai"]),
                                    "anthropic": FakeAnthropic(require_api_key=KEYS["anthropic"]),
                                    "gemini": FakeGemini(require_api_key=KEYS["gemini"]),
                                    "flaky": FakeOpenAI(require_api_key=KEYS["openai"])}
    for fake in fakes.values():
        fake.start()
    env = {f"FAKE_{k.upper()}_KEY": v for k, v in KEYS.items()}
    gw = Gateway(workdir=Path(tmp_path_factory.mktemp("upstreams")), config=config(fakes), env=env)
    try:
        gw.start()
        yield Upstreams(gw, fakes)
    finally:
        gw.stop()
        for fake in fakes.values():
            fake.stop()
