"""Passthrough metering end to end: compressed upstream answers (br, zstd, gzip) come back byte for byte and are
metered; in the all-in-one process passthrough usage goes through the Router's durable spool, so it survives
a SIGKILL while Metering cannot write."""
from __future__ import annotations

import gzip
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from tests.e2e.metering_helpers import spooled
from tests.fakes import FakeServer
from tests.harness.gateway import Gateway

KEY = "sk-byok-compressing"


def compressor(encoding: str) -> Callable[[bytes], bytes]:
    """The compressor for a Content-Encoding (the test skips when its package is not installed)."""
    if encoding == "br":
        return pytest.importorskip("brotli").compress
    if encoding == "zstd":
        return pytest.importorskip("zstandard").ZstdCompressor().compress
    return gzip.compress


class CompressingUpstream(FakeServer):
    """An OpenAI-format upstream that compresses every answer with the client's first Accept-Encoding and
    remembers the exact bytes it sent."""

    provider = "compressing"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    def routes(self) -> list[BaseRoute]:
        return [self.route("/v1/chat/completions", self._chat, ["POST"])]

    async def _chat(self, request: Request) -> Response:
        body = self.body_of(request)
        encoding = request.headers.get("accept-encoding", "identity").split(",")[0].strip()
        usage = {"prompt_tokens": 13, "completion_tokens": 7, "total_tokens": 20}
        if body.get("stream"):
            events = [{"object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [
                {"index": 0, "delta": {"content": w}}], "usage": None} for w in ("one ", "two")]
            events.append({"object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [], "usage": usage})
            raw = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
            media = "text/event-stream"
        else:
            raw = orjson.dumps({"object": "chat.completion", "model": "gpt-4o-mini", "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "one two"}, "finish_reason": "stop"}]})
            media = "application/json"
        data = compressor(encoding)(raw) if encoding != "identity" else raw
        self.sent.append(data)

        async def pieces() -> Any:
            for i in range(0, len(data), 9):  # several writes: the meter must decode across chunk edges
                yield data[i:i + 9]

        return StreamingResponse(pieces(), media_type=media, headers={"content-encoding": encoding})


@pytest.fixture(scope="module")
def upstream() -> Iterator[CompressingUpstream]:
    with CompressingUpstream() as fake:
        yield fake


def start_gateway(make_gateway: Callable[..., Gateway], upstream: CompressingUpstream, **kw: Any) -> Gateway:
    return make_gateway(config={"providers": {"comp": {"kind": "openai", "base_url": f"{upstream.url}/v1"}}}, **kw)


def new_app(gw: Gateway) -> str:
    r = gw.http().post("/v1/apps", json={"name": "compressed"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def usage_rows(gw: Gateway, app_id: str) -> list[sqlite3.Row]:
    with sqlite3.connect(gw.workdir / "data" / "tokenyard.db") as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute("SELECT * FROM usage_records WHERE app_id = ? AND kind = 'passthrough'",
                                 (app_id,)))


def wait_rows(gw: Gateway, app_id: str, count: int, timeout: float = 15.0) -> list[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    while len(rows := usage_rows(gw, app_id)) < count:
        assert time.monotonic() < deadline, f"{len(rows)} passthrough usage rows, expected {count}"
        time.sleep(0.1)
    return rows


def call(gw: Gateway, app_id: str, encoding: str, stream: bool) -> tuple[httpx.Headers, bytes]:
    body = {"model": "gpt-4o-mini", "stream": stream, "messages": [{"role": "user", "content": "count"}]}
    with httpx.stream("POST", f"{gw.url}/v1/admin/{app_id}/comp/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {KEY}", "accept-encoding": encoding,
                               "tokenyard-authorization": f"Bearer {gw.admin_key}"}) as r:
        assert r.status_code == 200, r.read()
        return r.headers, b"".join(r.iter_raw())


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip"])
def test_compressed_answers_are_forwarded_unchanged_and_metered(make_gateway: Callable[..., Gateway],
                                                                upstream: CompressingUpstream, encoding: str) -> None:
    compressor(encoding)  # skip early when the codec is missing
    gw = start_gateway(make_gateway, upstream)
    app_id = new_app(gw)
    for stream in (False, True):
        headers, raw = call(gw, app_id, encoding, stream)
        assert headers["content-encoding"] == encoding
        assert raw == upstream.sent[-1], "the compressed bytes come back exactly as the upstream sent them"
    rows = wait_rows(gw, app_id, 2)
    assert len(rows) == 2
    assert {(r["prompt_tokens"], r["completion_tokens"], r["model"], r["target"]) for r in rows} == {
        (13, 7, "comp/gpt-4o-mini", "comp")}


def test_all_in_one_passthrough_usage_survives_a_crash_through_the_spool(make_gateway: Callable[..., Gateway],
                                                                         upstream: CompressingUpstream) -> None:
    gw = start_gateway(make_gateway, upstream)
    app_id = new_app(gw)
    db = sqlite3.connect(gw.workdir / "data" / "tokenyard.db", isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")  # Metering cannot commit usage now: it waits on the write lock
        call(gw, app_id, "identity", False)
        deadline = time.monotonic() + 10
        while spooled(gw) < 1:
            assert time.monotonic() < deadline, "passthrough usage never reached the Router's spool"
            time.sleep(0.05)
        gw.kill("gateway", signal.SIGKILL)
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
    assert usage_rows(gw, app_id) == []
    gw.start()  # the next process adopts the dead one's spool and replays it
    rows = wait_rows(gw, app_id, 1)
    assert [(r["prompt_tokens"], r["completion_tokens"], r["model"]) for r in rows] == [(13, 7, "comp/gpt-4o-mini")]
    deadline = time.monotonic() + 10
    while spooled(gw):
        assert time.monotonic() < deadline, "the replayed spool was never emptied"
        time.sleep(0.1)
