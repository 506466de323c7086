"""Revocation reaches every gateway process within a second: two all-in-one gateways on one database, and split
mode where the inference process only has an Auth client. Also: the key table holds no usable secret."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.harness.gateway import Gateway

MSG = {"model": "local/echo", "messages": [{"role": "user", "content": "ping"}]}


def chat_status(gw: Gateway, key: str) -> int:
    return httpx.post(f"{gw.url}/v1/chat/completions", json=MSG, headers={"authorization": f"Bearer {key}"},
                      timeout=10).status_code


def new_key(gw: Gateway) -> dict:
    r = gw.http().post("/v1/keys", json={"name": "shared", "scopes": ["ai:gateway"]})
    assert r.status_code == 201, r.text
    return r.json()


def assert_fails_within(gw: Gateway, key: str, seconds: float) -> float:
    start = time.monotonic()
    while chat_status(gw, key) == 200:
        assert time.monotonic() - start < seconds, f"revoked key still accepted after {seconds} s"
        time.sleep(0.02)
    assert chat_status(gw, key) == 401
    return time.monotonic() - start


def test_key_revoked_on_one_gateway_fails_on_another_within_a_second(
        make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    env = {"TOKENYARD_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    a = make_gateway(env=env, name="a")
    b = make_gateway(env=env, name="b")
    created = new_key(a)
    secret = created["key"]
    assert chat_status(a, secret) == 200 and chat_status(b, secret) == 200  # now cached on both
    assert a.http().delete(f"/v1/keys/{created['id']}").status_code == 200
    assert_fails_within(b, secret, 1.0)
    assert chat_status(a, secret) == 401
    a.stop()
    b.stop()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("shared.db*"))
    body = secret.removeprefix("ty_sk_").encode()
    assert body[6:] not in raw and body[-20:] not in raw, "a usable secret is stored in the database"
    with sqlite3.connect(db) as conn:
        cells = [str(c) for row in conn.execute("SELECT * FROM api_keys") for c in row]
    assert created["prefix"] in cells and not any(secret in c for c in cells)


def test_split_mode_inference_process_drops_revoked_keys_within_a_second(
        make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True)
    created = new_key(gw)
    assert chat_status(gw, created["key"]) == 200
    assert gw.http().delete(f"/v1/keys/{created['id']}").status_code == 200
    assert_fails_within(gw, created["key"], 1.0)
    app = gw.http().post("/v1/apps", json={"name": "split"}).json()["id"]
    assert gw.http().put(f"/v1/{app}/ai/config", json={"maxTokensPerRequest": 3}).status_code == 200
    r = gw.http().post(f"/v1/{app}/chat/completions", json={**MSG, "messages": [
        {"role": "user", "content": "one two three four five"}]})
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
