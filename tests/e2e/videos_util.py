"""Helpers for the video e2e tests: polling, PyAV inspection, keys for other accounts."""
from __future__ import annotations

import io
import sqlite3
import time
from typing import Any

import av
import grpc
import httpx

from tests.harness.gateway import Gateway
from tokenyard.auth.v1 import auth_service_pb2, auth_service_pb2_grpc


def wait_for(http: httpx.Client, video_id: str, statuses: tuple[str, ...] = ("completed", "failed", "cancelled"),
             timeout: float = 60, prefix: str = "/v1") -> dict[str, Any]:
    """Poll GET /v1/videos/{id} until its status is one of `statuses` (tolerating restarts: 5xx, refused)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            resp = http.get(f"{prefix}/videos/{video_id}")
            if resp.status_code == 200:
                last = resp.json()
                if last["status"] in statuses:
                    return last
            elif resp.status_code < 500:
                raise AssertionError(resp.text)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{video_id} never reached {statuses}; last seen {last}")


def inspect_mp4(data: bytes) -> dict[str, Any]:
    """Codec, size, duration (s) and decoded frame count of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {"format": container.format.name, "codec": stream.codec_context.name, "width": stream.width,
                "height": stream.height, "duration": float(stream.duration * stream.time_base), "frames": frames}


def user_key(gw: Gateway, account_id: str, addr: str | None = None) -> str:
    """A new ai:gateway key for another account, made by the admin over the Auth gRPC API."""
    port = gw.service_ports.get("auth", gw.grpc_port)
    with grpc.insecure_channel(addr or f"127.0.0.1:{port}") as ch:
        resp = auth_service_pb2_grpc.AuthServiceStub(ch).CreateKey(
            auth_service_pb2.CreateKeyRequest(name="videos", scopes=["ai:gateway"], account_id=account_id),
            metadata=(("authorization", f"Bearer {gw.admin_key}"),), timeout=10)
    return resp.secret


def db_rows(gw: Gateway, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows from the gateway's SQLite database."""
    with sqlite3.connect(gw.workdir / "data" / "tokenyard.db") as conn:
        return conn.execute(sql, args).fetchall()
