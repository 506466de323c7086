"""Passthrough building blocks: path splitting and escape checks, header filters, usage metering per provider."""
from __future__ import annotations

import gzip
import zlib

import orjson
import pytest
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.registry import usage_parser
from tokenyard.passthrough.meter import UsageMeter
from tokenyard.passthrough.paths import request_headers, response_headers, split_path, upstream_url


def test_split_keeps_the_raw_rest() -> None:
    p = split_path(b"/v1/user%7C1/app_1/openai/models/gpt%2D4o")
    assert (p.account_id, p.gateway_id, p.provider, p.rest) == ("user|1", "app_1", "openai", "models/gpt%2D4o")


@pytest.mark.parametrize("raw", [b"/v1/a/b", b"/v1/a/b/", b"/v2/a/b/c/d", b"/v1//b/c/d"])
def test_short_or_foreign_paths_are_not_found(raw: bytes) -> None:
    with pytest.raises(GatewayError) as exc:
        split_path(raw)
    assert exc.value.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize("rest", [b"", b"..", b"../x", b"a/../../x", b"%2e%2e/x", b"%2E%2e", b"%252e%252e/x",
                                  b".%2e/x", b"./x", b"a//b", b"/x", b"%2fetc", b"%2F%2Fevil.com", b"a\\b", b"%5c",
                                  b"http://evil.com", b"https:%2F%2Fevil", b"javascript:alert(1)", b"a%00b",
                                  b"a%0d%0ab", b"a b", b"caf\xc3\xa9", b"a\"b"])
def test_escapes_are_refused(rest: bytes) -> None:
    with pytest.raises(GatewayError) as exc:
        split_path(b"/v1/a/app_1/openai/" + rest)
    assert exc.value.kind is ErrorKind.INVALID_REQUEST


@pytest.mark.parametrize("rest", [b"chat/completions", b"v1beta/models/gemini-2.5-flash:streamGenerateContent",
                                  b"model/@cf/meta/llama-3", b"files/file-abc/content", b"a.b/c..d/~e"])
def test_normal_paths_pass(rest: bytes) -> None:
    assert split_path(b"/v1/a/app_1/openai/" + rest).rest == rest.decode()


def test_upstream_url_stays_under_the_base() -> None:
    url = upstream_url("https://api.example.com/v1/", "chat/completions", b"a=1&b=%2F")
    assert str(url) == "https://api.example.com/v1/chat/completions?a=1&b=%2F"
    assert str(upstream_url("https://api.example.com", "v1/messages", b"")) == "https://api.example.com/v1/messages"
    with pytest.raises(GatewayError):
        upstream_url("https://api.example.com/v1", "x", b"a=1\r\nHost: evil")
    with pytest.raises(GatewayError):
        upstream_url("https://api.example.com/v1", "x", b"a=#frag")


def test_header_filters() -> None:
    sent = [("host", "gw"), ("authorization", "Bearer byok"), ("x-api-key", "k"), ("cookie", "a=b"),
            ("tokenyard-authorization", "Bearer ty"), ("connection", "keep-alive, x-secret"), ("x-secret", "1"),
            ("keep-alive", "5"), ("te", "trailers"), ("transfer-encoding", "chunked"), ("upgrade", "h2c"),
            ("proxy-authorization", "p"), ("proxy-foo", "p"), ("content-length", "3"), ("x-ok", "1"),
            ("x-ok", "2"), ("accept", "*/*")]
    assert request_headers(sent) == [("authorization", "Bearer byok"), ("x-api-key", "k"), ("x-ok", "1"),
                                     ("x-ok", "2"), ("accept", "*/*")]
    back = [("content-type", "application/json"), ("set-cookie", "s=1"), ("transfer-encoding", "chunked"),
            ("x-request-id", "r"), ("connection", "close"), ("content-length", "10"), ("server", "up"), ("date", "d")]
    assert response_headers(back) == [("content-type", "application/json"), ("x-request-id", "r"),
                                      ("content-length", "10")]


def _sse(*docs: object) -> bytes:
    return b"".join(b"data: " + orjson.dumps(d) + b"\n\n" for d in docs) + b"data: [DONE]\n\n"


def _meter(kind: str, body: bytes, ctype: str, encoding: str = "", split: int = 7) -> dict | None:
    meter = UsageMeter(usage_parser(kind), ctype, encoding)
    for i in range(0, len(body), split):
        meter.feed(body[i:i + split])
    return meter.result()


def test_openai_body_and_stream() -> None:
    body = orjson.dumps({"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 3,
                                                                                   "completion_tokens": 9}})
    assert _meter("openai", body, "application/json") == {"model": "gpt-4o", "prompt_tokens": 3, "completion_tokens": 9}
    assert _meter("openai", gzip.compress(body), "application/json", "gzip")["completion_tokens"] == 9
    stream = _sse({"object": "chat.completion.chunk", "model": "m", "choices": [], "usage": None},
                  {"object": "chat.completion.chunk", "model": "m", "choices": [], "usage": {"prompt_tokens": 2,
                                                                                               "completion_tokens": 5}})
    assert _meter("openai", stream, "text/event-stream; charset=utf-8") == {"model": "m", "prompt_tokens": 2,
                                                                            "completion_tokens": 5}
    assert _meter("openai", b"<html>nope</html>", "text/html") is None
    assert _meter("openai", orjson.dumps({"hello": 1}), "application/json") is None
    assert _meter("openai", body, "application/json", "compress") is None  # an encoding it cannot read
    assert _meter("openai", body, "application/json", "gzip") is None  # not the encoding it claims


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip", "deflate"])
def test_compressed_bodies_and_streams_are_metered(encoding: str) -> None:
    compress = {"gzip": gzip.compress, "deflate": zlib.compress,
                "br": lambda b: pytest.importorskip("brotli").compress(b),
                "zstd": lambda b: pytest.importorskip("zstandard").ZstdCompressor().compress(b)}[encoding]
    body = orjson.dumps({"object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 3,
                                                                                   "completion_tokens": 9}})
    assert _meter("openai", compress(body), "application/json", encoding.upper(), split=5)["completion_tokens"] == 9
    stream = _sse({"object": "chat.completion.chunk", "model": "m", "choices": [], "usage": {
        "prompt_tokens": 2, "completion_tokens": 5}})
    assert _meter("openai", compress(stream), "text/event-stream", encoding, split=3)["prompt_tokens"] == 2
    assert _meter("openai", b"\x00not compressed at all\xff" * 4, "application/json", encoding) is None


def test_zstd_body_of_several_frames() -> None:
    zstandard = pytest.importorskip("zstandard")
    stream = _sse({"object": "chat.completion.chunk", "model": "m", "choices": [], "usage": {
        "prompt_tokens": 4, "completion_tokens": 6}})
    half = len(stream) // 2
    frames = b"".join(zstandard.ZstdCompressor().compress(part) for part in (stream[:half], stream[half:]))
    assert _meter("openai", frames, "text/event-stream", "zstd", split=4) == {"model": "m", "prompt_tokens": 4,
                                                                             "completion_tokens": 6}


def test_anthropic_message_and_stream() -> None:
    body = orjson.dumps({"type": "message", "model": "claude", "usage": {"input_tokens": 10, "output_tokens": 4,
                                                                         "cache_read_input_tokens": 2}})
    got = _meter("anthropic", body, "application/json")
    assert (got["prompt_tokens"], got["completion_tokens"], got["model"]) == (12, 4, "claude")
    stream = b"event: message_start\n" + _sse(
        {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 7, "output_tokens": 1}}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "usage": {"output_tokens": 6}}, {"type": "message_stop"})
    got = _meter("anthropic", stream, "text/event-stream")
    assert (got["prompt_tokens"], got["completion_tokens"]) == (7, 6)


def test_gemini_body_json_array_stream_and_sse() -> None:
    doc = {"candidates": [], "modelVersion": "gemini-2.5-flash",
           "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3, "thoughtsTokenCount": 2}}
    got = _meter("gemini", orjson.dumps(doc), "application/json")
    assert (got["prompt_tokens"], got["completion_tokens"], got["model"]) == (4, 5, "gemini-2.5-flash")
    array = orjson.dumps([{"candidates": []}, doc])
    assert _meter("gemini", array, "application/json")["completion_tokens"] == 5
    assert _meter("gemini", _sse({"candidates": []}, doc), "text/event-stream")["prompt_tokens"] == 4
