"""The Router's aiohttp pool reads Server-Sent Events exactly as httpx_sse does, however the bytes are cut."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx_sse._decoders import SSEDecoder

from tokenyard.errors import ErrorKind
from tokenyard.providers.upstream_pool import events, network_error

STREAM = (b": comment\r\nevent: ping\r\ndata: {\"a\": 1}\r\n\r\ndata: line one\ndata:line two\nid: 7\nretry: 250\n\n"
          b"data: \xc3\xa9t\xc3\xa9\n\nevent: x\nunknown: y\nretry: soon\n\n\n\ndata: [DONE]\n\ndata: cut off")


def _reference(raw: bytes) -> list[tuple[str, str, str, Any]]:
    dec, out = SSEDecoder(), []
    for line in raw.decode().replace("\r\n", "\n").split("\n")[:-1]:  # the unterminated tail is dropped
        sse = dec.decode(line)
        if sse is not None:
            out.append((sse.event, sse.data, sse.id, sse.retry))
    return out


class _Content:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def iter_any(self) -> AsyncIterator[bytes]:
        for p in self.pieces:
            yield p


class _Resp:
    def __init__(self, pieces: list[bytes]) -> None:
        self.content = _Content(pieces)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
async def test_events_match_httpx_sse(size: int) -> None:
    pieces = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    got = [(s.event, s.data, s.id, s.retry) async for s in events(_Resp(pieces), "p")]  # type: ignore[arg-type]
    assert got == _reference(STREAM)
    assert got[0] == ("ping", '{"a": 1}', "", None) and got[2][1] == "été"


def test_network_errors_keep_their_kinds() -> None:
    import aiohttp

    assert network_error(aiohttp.ConnectionTimeoutError(), "p").kind is ErrorKind.TIMEOUT
    assert network_error(aiohttp.SocketTimeoutError(), "p").message.endswith("timed out while waiting")
    err = network_error(aiohttp.ServerDisconnectedError(), "p")
    assert err.kind is ErrorKind.PROVIDER_ERROR and err.retryable
