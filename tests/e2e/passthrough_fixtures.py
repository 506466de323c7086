"""Fakes that remember the exact bytes they sent, and a gateway whose providers point at them (passthrough tests)."""
from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeServer
from tests.harness.gateway import Gateway

BYOK = {"openai": "sk-byok-openai", "anthropic": "sk-ant-byok", "gemini": "gk-byok", "model": "sk-byok-model"}


class Capturing:
    """Mixin: `sent[i]` holds the response body bytes of `requests[i]`, exactly as written to the socket."""

    sent: list[bytes]

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        buf = bytearray()
        recorded = False

        async def capture(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.body":
                buf.extend(message.get("body", b""))
                if not message.get("more_body", False):  # recorded before the client can have read the end
                    self.sent.append(bytes(buf))
                    recorded = True
            await send(message)

        try:
            await super()._asgi(scope, receive, capture)  # type: ignore[misc]
        finally:
            if scope["type"] == "http" and not recorded:
                self.sent.append(bytes(buf))

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self.sent.clear()


class CapOpenAI(Capturing, FakeOpenAI):
    sent: list[bytes]


class CapAnthropic(Capturing, FakeAnthropic):
    sent: list[bytes]


class CapGemini(Capturing, FakeGemini):
    sent: list[bytes]


class ModelServer(Capturing, FakeServer):
    """A model-specific (non-OpenAI) API: POST /v1/model/{model_id} with {"prompt", "max_tokens"}."""

    provider = "model"
    sent: list[bytes]

    def routes(self) -> list[BaseRoute]:
        return [self.route("/v1/model/{model_id:path}", self._run, ["POST"])]

    async def _run(self, request: Request) -> Response:
        body = self.body_of(request)
        if request.headers.get("authorization") != f"Bearer {BYOK['model']}":
            return JSONResponse({"errors": ["bad token"]}, 401)
        words = str(body.get("prompt", "")).split()
        return JSONResponse({"result": {"response": " ".join(reversed(words))}, "success": True,
                             "usage": {"prompt_tokens": len(words), "completion_tokens": int(body["max_tokens"])}})


@dataclass
class Env:
    gw: Gateway
    fakes: dict[str, Any]

    @property
    def key(self) -> dict[str, str]:
        """The `tokenyard-authorization` header with a key of the apps' account (admin owns them)."""
        return {"tokenyard-authorization": f"Bearer {self.gw.admin_key}"}

    def usage(self, app_id: str, count: int, timeout: float = 6.0) -> list[dict[str, Any]]:
        """The passthrough usage rows of an app, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            with sqlite3.connect(self.gw.workdir / "data" / "tokenyard.db") as conn:
                conn.row_factory = sqlite3.Row
                rows = [dict(r) for r in conn.execute(
                    "SELECT * FROM usage_records WHERE app_id = ? AND kind = 'passthrough' ORDER BY time", (app_id,))]
            if len(rows) >= count:
                return rows
            time.sleep(0.1)
        return rows

    def app(self, **config: Any) -> str:
        admin = self.gw.http()
        r = admin.post("/v1/apps", json={"name": "passthrough"})
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        if config:
            assert admin.put(f"/v1/{app_id}/ai/config", json=config).status_code == 200
        return app_id


def raw_status(port: int, target: str, method: str = "GET", gateway_key: str = "") -> int:
    """Send a request line exactly as written (no client-side path normalisation); return the status."""
    extra = f"tokenyard-authorization: Bearer {gateway_key}\r\n" if gateway_key else ""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BYOK['openai']}\r\n{extra}"
                  f"Content-Length: 0\r\nConnection: close\r\n\r\n".encode("latin-1"))
        head = s.recv(64).decode("latin-1")
    return int(head.split(" ")[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    fakes = {"openai": CapOpenAI(require_api_key=BYOK["openai"]), "anthropic": CapAnthropic(require_api_key=BYOK[
        "anthropic"]), "gemini": CapGemini(require_api_key=BYOK["gemini"]), "model": ModelServer()}
    for f in fakes.values():
        f.sent = []
        f.start()
    config = {
        "providers": {
            "p-openai": {"kind": "openai", "base_url": fakes["openai"].base_url},
            "p-anthropic": {"kind": "anthropic", "base_url": fakes["anthropic"].url},
            "p-gemini": {"kind": "gemini", "base_url": fakes["gemini"].url},
            "p-model": {"kind": "openai", "base_url": f"{fakes['model'].url}/v1"},
            "op-openai": {"kind": "openai", "base_url": fakes["openai"].base_url, "api_key_env": "OP_OPENAI_KEY"},
            "op-anthropic": {"kind": "anthropic", "base_url": fakes["anthropic"].url, "api_key_env": "OP_ANT_KEY"},
        },
        "models": [
            {"id": "t/openai", "type": "chat", "provider": "op-openai", "upstream_model": "gpt-4o-mini"},
            {"id": "t/claude", "type": "chat", "provider": "op-anthropic", "upstream_model": "claude-sonnet-4-5"},
        ],
    }
    gw = Gateway(workdir=tmp_path_factory.mktemp("passthrough"), config=config,
                 env={"OP_OPENAI_KEY": BYOK["openai"], "OP_ANT_KEY": BYOK["anthropic"]})
    try:
        gw.start()
        yield Env(gw, fakes)
    finally:
        gw.stop()
        for f in fakes.values():
            f.stop()
