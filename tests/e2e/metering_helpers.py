"""Helpers of the metering e2e tests: keys over gRPC, reading the gateway's database, a background load."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx

from tests.harness.gateway import Gateway

PRICED_MODEL = {"id": "test/priced", "type": "chat", "provider": "local", "upstream_model": "echo",
                "max_output_tokens": 200, "pricing": {"input_per_mtok_usd": "100", "output_per_mtok_usd": "200"}}


def priced_burst(gw: Gateway, key: str, count: int) -> list[int]:
    """`count` concurrent test/priced chat requests (max_tokens 200) with `key`; their statuses (200 or 402
    insufficient_quota)."""
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=gw.url, timeout=60, headers={"authorization": f"Bearer {key}"},
                                     limits=httpx.Limits(max_connections=count)) as http:
            async def one(i: int) -> int:
                r = await http.post("/v1/chat/completions", json={
                    "model": "test/priced", "max_tokens": 200,
                    "messages": [{"role": "user", "content": f"request number {i}"}]})
                assert r.status_code in (200, 402), r.text
                if r.status_code == 402:
                    assert r.json()["error"]["type"] == "insufficient_quota"
                return r.status_code
            return list(await asyncio.gather(*(one(i) for i in range(count))))
    return asyncio.run(run())


def grpc_addr(gw: Gateway, service: str) -> str:
    """Where a service of the gateway listens."""
    return f"127.0.0.1:{gw.service_ports.get(service, gw.grpc_port)}"


def create_key(gw: Gateway, account_id: str, *, scopes: tuple[str, ...] = ("ai:gateway",), rpm: int = 0,
               tpm: int = 0, app_id: str = "") -> tuple[str, str]:
    """A new key of `account_id` made by the admin through Auth's CreateKey; returns (key id, secret)."""
    from tokenyard.auth.v1 import auth_service_pb2 as pb
    from tokenyard.auth.v1 import auth_service_pb2_grpc as pb_grpc

    with grpc.insecure_channel(grpc_addr(gw, "auth")) as ch:
        resp = pb_grpc.AuthServiceStub(ch).CreateKey(
            pb.CreateKeyRequest(name="t", scopes=list(scopes), rpm=rpm, tpm=tpm, account_id=account_id,
                                app_id=app_id),
            metadata=(("authorization", f"Bearer {gw.admin_key}"),), timeout=30)
    return resp.key.id, resp.secret


def database_url(gw: Gateway) -> str:
    """The gateway's database URL."""
    return gw.env.get("TOKENYARD_DATABASE_URL") or f"sqlite+aiosqlite:///{gw.workdir / 'data' / 'tokenyard.db'}"


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one SQL query against the gateway's database (SQLite or PostgreSQL)."""
    from sqlalchemy import text
    from tokenyard.storage.db import create_engine

    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def spooled(gw: Gateway) -> int:
    """Usage events waiting in the gateway's local spool files (not yet committed by Metering)."""
    import sqlite3

    total = 0
    for path in (gw.workdir / "data" / "spool").glob("usage-*.spool"):
        with sqlite3.connect(path) as db:
            total += db.execute("SELECT count(*) FROM events").fetchone()[0]
    return total


def wait_until(check: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll `check()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@dataclass
class Load:
    """Chat requests from `workers` threads with unique x-request-ids until stopped; remembers outcomes."""

    gw: Gateway
    key: str
    workers: int = 4
    model: str = "local/echo"
    outcomes: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _work(self, n: int) -> None:
        with httpx.Client(base_url=self.gw.url, timeout=10,
                          headers={"authorization": f"Bearer {self.key}"}) as http:
            i = 0
            while not self._stop.is_set():
                rid = f"req_load{n}_{i}_{uuid.uuid4().hex[:8]}"
                i += 1
                try:
                    status = http.post("/v1/chat/completions", headers={"x-request-id": rid}, json={
                        "model": self.model, "messages": [{"role": "user", "content": f"load {n} {i}"}]}
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.outcomes[rid] = status
                if status != 200:
                    time.sleep(0.05)

    def start(self) -> "Load":
        """Start the workers."""
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop and wait for the workers."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def ok(self) -> set[str]:
        """Request ids answered 200."""
        with self._lock:
            return {rid for rid, s in self.outcomes.items() if s == 200}

    def wait_for_successes(self, n: int, timeout: float = 30.0) -> None:
        """Block until at least `n` more requests succeeded."""
        target = len(self.ok()) + n
        assert wait_until(lambda: len(self.ok()) >= target, timeout), "load made no progress"
