"""Helpers of the reservation e2e tests: a gateway on a fake OpenAI with priced models, balances, PNG data."""
from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.metering_helpers import database_url, query
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

FAKE_KEY = "sk-fake-reserve"
ALLOWANCE_USD = Decimal("0.01")
NANOS = 1_000_000_000


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    """The fake OpenAI upstream of a test module (import this fixture with `gw`)."""
    with FakeOpenAI(require_api_key=FAKE_KEY) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> Iterator[Gateway]:
    """A gateway on `fake` with the priced models and the one-cent default plan, for one test module."""
    gateway = Gateway(workdir=tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]),
                      config=config(fake), env=env())
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def config(fake: FakeOpenAI) -> dict[str, Any]:
    """Models priced like real ones on the fake OpenAI upstream, and a default plan of one cent a month."""
    provider = {"kind": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_OPENAI_KEY",
                "max_retries": 0}
    return {
        "providers": {"fake": provider},
        "models": [
            {"id": "t/gpt", "type": "chat", "provider": "fake", "upstream_model": "gpt-4o",
             "context_window": 128000, "max_output_tokens": 16384,
             "pricing": {"input_per_mtok_usd": "2.5", "output_per_mtok_usd": "10"}},
            {"id": "t/vision", "type": "chat", "provider": "fake", "upstream_model": "gpt-4o",
             "context_window": 128000, "max_output_tokens": 4096,
             "pricing": {"input_per_mtok_usd": "10", "output_per_mtok_usd": "30"}},
            {"id": "t/embed", "type": "embedding", "provider": "fake",
             "upstream_model": "text-embedding-3-small",
             "dimensions": 1536, "context_window": 8191, "pricing": {"input_per_mtok_usd": "0.13"}},
        ],
        "plans": [{"name": "free", "monthly_credits_usd": str(ALLOWANCE_USD), "default": True}],
    }


def env() -> dict[str, str]:
    """The gateway's environment: the fake's API key."""
    return {"FAKE_OPENAI_KEY": FAKE_KEY}


def balance(gw: Gateway, account: str) -> dict[str, Any]:
    """The account's balance as the admin sees it."""
    with gw.http() as http:
        r = http.get("/v1/billing/balance", params={"account_id": account})
    assert r.status_code == 200, r.text
    return r.json()


def top_up(gw: Gateway, account: str, usd: str) -> None:
    """Add credits to an account."""
    with gw.http() as http:
        r = http.post("/v1/billing/topups", json={"account_id": account, "amount_usd": usd})
    assert r.status_code == 200, r.text


def usage_cost_nanos(gw: Gateway, account: str) -> int:
    """What the account's usage records cost, in nano-USD."""
    rows = query(database_url(gw), "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records "
                                   "WHERE account_id = :a", a=account)
    return int(rows[0][0])


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + kind + data + crc


def png(width: int, height: int, padding: int = 0) -> bytes:
    """A valid black RGB PNG of that size; `padding` bytes of tEXt make the file that much larger."""
    rows = (b"\x00" + b"\x00" * (3 * width)) * height
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if padding:
        out += _chunk(b"tEXt", b"pad\x00" + b"x" * padding)
    return out + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")


def image_part(data: bytes, detail: str = "high") -> dict[str, Any]:
    """A chat content part carrying a PNG as a base64 data URI."""
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}
