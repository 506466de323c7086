"""Upstream error mapping: 5xx bodies become status + request id, credentials are scrubbed from what is logged."""
from __future__ import annotations

import httpx
from tokenyard.providers.base import UpstreamError, scrub_detail, status_error, upstream_request_id, with_request_id


def test_request_id_from_headers_or_anthropics_body_and_never_unsafe() -> None:
    assert upstream_request_id(httpx.Headers({"x-request-id": "req_1", "request-id": "req_2"})) == "req_1"
    assert upstream_request_id(httpx.Headers({"request-id": "req_011C"})) == "req_011C"
    assert upstream_request_id(httpx.Headers(), b'{"type":"error","request_id":"req_body_7"}') == "req_body_7"
    assert upstream_request_id(httpx.Headers({"x-request-id": "<script>alert(1)</script>"})) == ""


def test_a_5xx_keeps_its_body_for_the_log_only() -> None:
    err = status_error(503, "db down at 10.0.0.7", httpx.Headers({"x-request-id": "r9"}), body=b'{"error":"db"}')
    assert err.message == "the upstream provider failed (HTTP 503; upstream request id r9)"
    assert err.detail == '{"error":"db"}' and err.retryable


def test_a_streamed_5xx_gets_the_request_id_of_its_response() -> None:
    err = status_error(500, "boom", httpx.Headers())
    with_request_id(err, httpx.Headers({"x-request-id": "r_stream"}))
    assert "r_stream" in err.message and "boom" not in err.message
    other = UpstreamError(err.kind, "a 4xx stays", status=400)
    with_request_id(other, httpx.Headers({"x-request-id": "r"}))
    assert other.message == "a 4xx stays"


def test_scrub_detail_removes_keys_and_credentials() -> None:
    text = ('password=hunter2 token: abc {"db_password": "hunter3", "api_key":"k9k9"} Bearer eyJz '
            'sk-proj-0123456789abcdef mykey-SECRET Authorization: Bearer zz77')
    out = scrub_detail(text, secret="mykey-SECRET")
    for leak in ("hunter2", "abc", "hunter3", "k9k9", "eyJz", "0123456789abcdef", "mykey-SECRET", "zz77"):
        assert leak not in out, out
