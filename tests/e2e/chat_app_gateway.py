"""A gateway whose default providers (openai, anthropic, google) point at fakes, plus tool backends."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from tests.e2e.tool_backends import ToolBackends
from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeServer
from tests.harness.gateway import Gateway
from tokenyard.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

KEYS = {"openai": "sk-fake-openai", "anthropic": "sk-ant-fake", "gemini": "gk-fake"}
ALIASES = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4", "gemini": "gemini-2-flash"}


@dataclass
class ChatApp:
    """The running gateway, its fake upstreams and tool backends."""

    gateway: Gateway
    fakes: dict[str, FakeServer]
    tools: ToolBackends

    def reset(self) -> None:
        for fake in self.fakes.values():
            fake.reset()
        self.tools.requests.clear()
        self.tools.webhook_status = 200
        self.tools.webhook_answer = {"ok": True}

    def http(self, key: str | None = None) -> httpx.Client:
        return self.gateway.http(key)

    def create_key(self, account_id: str, scopes: tuple[str, ...] = ("ai:gateway",)) -> str:
        """A key for another account, minted by the admin through the Auth gRPC API."""
        with grpc.insecure_channel(f"127.0.0.1:{self.gateway.grpc_port}") as channel:
            stub = auth_service_pb2_grpc.AuthServiceStub(channel)
            req = auth_service_pb2.CreateKeyRequest(name=account_id, scopes=list(scopes),
                                                    account_id=account_id)
            md = [("authorization", f"Bearer {self.gateway.admin_key}")]
            resp = stub.CreateKey(req, metadata=md, timeout=10)
        return resp.secret


@dataclass
class Turn:
    """One POST /api/chat answer."""

    status: int
    headers: httpx.Headers
    events: list[dict[str, Any]]
    body: Any = None

    @property
    def text(self) -> str:
        return "".join(e["textDelta"] for e in self.events if e["type"] == "text-delta")

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def send(http: httpx.Client, body: dict[str, Any]) -> Turn:
    """POST /api/chat and collect the SSE events (or the JSON error)."""
    with http.stream("POST", "/api/chat", json=body) as r:
        if not r.headers.get("content-type", "").startswith("text/event-stream"):
            r.read()
            return Turn(r.status_code, r.headers, [], r.json())
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return Turn(r.status_code, r.headers, [json.loads(line[6:]) for line in lines])


def _provider(kind: str, fake: FakeServer, **over: Any) -> dict[str, Any]:
    base = fake.base_url if isinstance(fake, FakeOpenAI) else fake.url
    spec = {"kind": kind, "base_url": base, "api_key_env": f"FAKE_{kind.upper()}_KEY", "max_retries": 1,
            "circuit_failures": 100, "timeouts": {"connect": 2, "first_byte": 5, "total": 20}}
    return {**spec, **over}


def config(fakes: dict[str, FakeServer], tools: ToolBackends) -> dict[str, Any]:
    """The default catalog with its providers redirected to the fakes, plus test models and tool backends."""
    strict = {"max_retries": 0}
    return {
        "providers": {"openai": _provider("openai", fakes["openai"]),
                      "anthropic": _provider("anthropic", fakes["anthropic"], api_version="2023-06-01"),
                      "google": _provider("gemini", fakes["gemini"]),
                      "strict": _provider("openai", fakes["openai"], **strict)},
        "models": [
            {"id": "t/tiny", "type": "chat", "provider": "openai", "upstream_model": "gpt-4o-mini",
             "context_window": 60},
            {"id": "t/strict", "type": "chat", "provider": "strict", "upstream_model": "gpt-4o-mini"},
        ],
        "tools": {"weather": {"url": f"{tools.url}/v1/forecast", "geocoding_url": f"{tools.url}/v1/search"},
                  "search": {"url": f"{tools.url}/search"}},
    }


@pytest.fixture(scope="module", name="app")
def chat_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatApp]:
    """Fakes (requiring their keys), tool backends and one all-in-one gateway allowed to reach loopback."""
    fakes: dict[str, FakeServer] = {"openai": FakeOpenAI(require_api_key=KEYS["openai"]),
                                    "anthropic": FakeAnthropic(require_api_key=KEYS["anthropic"]),
                                    "gemini": FakeGemini(require_api_key=KEYS["gemini"])}
    tools = ToolBackends().start()
    for fake in fakes.values():
        fake.start()
    env = {f"FAKE_{k.upper()}_KEY": v for k, v in KEYS.items()}
    env["TOKENYARD_EGRESS_ALLOW"] = "127.0.0.1"
    gw = Gateway(workdir=Path(tmp_path_factory.mktemp("chatapp")), config=config(fakes, tools), env=env)
    try:
        gw.start()
        yield ChatApp(gw, fakes, tools)
    finally:
        gw.stop()
        for fake in fakes.values():
            fake.stop()
        tools.stop()
