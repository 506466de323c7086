"""The error model survives the gRPC hop and maps to the documented HTTP/OpenAI shapes."""
from __future__ import annotations

import grpc
import pytest

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import from_rpc_error, to_status

EXPECTED = {  # DESIGN.md's table
    ErrorKind.INVALID_REQUEST: (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", None),
    ErrorKind.UNAUTHENTICATED: (grpc.StatusCode.UNAUTHENTICATED, 401, "authentication_error", "invalid_api_key"),
    ErrorKind.PERMISSION_DENIED: (grpc.StatusCode.PERMISSION_DENIED, 403, "permission_error", None),
    ErrorKind.MODEL_NOT_FOUND: (grpc.StatusCode.NOT_FOUND, 404, "invalid_request_error", "model_not_found"),
    ErrorKind.MODEL_NOT_ALLOWED: (grpc.StatusCode.PERMISSION_DENIED, 403, "invalid_request_error",
                                  "model_not_allowed"),
    ErrorKind.DEPLOYMENT_NOT_READY: (grpc.StatusCode.FAILED_PRECONDITION, 409, "invalid_request_error",
                                     "deployment_not_ready"),
    ErrorKind.CONTEXT_TOO_LONG: (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error",
                                 "context_length_exceeded"),
    ErrorKind.RATE_LIMITED: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.INSUFFICIENT_QUOTA: (grpc.StatusCode.RESOURCE_EXHAUSTED, 402, "insufficient_quota",
                                   "insufficient_quota"),
    ErrorKind.PROVIDER_ERROR: (grpc.StatusCode.UNAVAILABLE, 502, "api_error", "provider_error"),
    ErrorKind.TIMEOUT: (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "api_error", "timeout"),
}


class _FakeCall(grpc.RpcError):
    def __init__(self, status: grpc.Status) -> None:
        self._s = status

    def code(self) -> grpc.StatusCode:
        return self._s.code

    def details(self) -> str:
        return self._s.details

    def trailing_metadata(self):  # type: ignore[no-untyped-def]
        return self._s.trailing_metadata


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_kind_has_its_documented_row(kind: ErrorKind) -> None:
    code, http, typ, oa_code = EXPECTED[kind]
    row = kind.value
    assert (row.grpc_code, row.http_status, row.openai_type, row.openai_code) == (code, http, typ, oa_code)


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_round_trip_through_grpc_status_keeps_kind_param_and_retry(kind: ErrorKind) -> None:
    err = GatewayError(kind, "boom", param="max_tokens", retry_after=2.5, metadata={"x-ratelimit-limit": "10"})
    status = to_status(err)
    assert status.code == kind.value.grpc_code
    back = from_rpc_error(_FakeCall(status))
    assert back.kind is kind
    assert (back.message, back.param, back.retry_after) == ("boom", "max_tokens", 2.5)
    assert back.metadata == {"x-ratelimit-limit": "10"}
    assert back.openai_body()["error"]["code"] == kind.value.openai_code


def test_bare_internal_status_hides_details() -> None:
    status = type("S", (), {"code": grpc.StatusCode.INTERNAL, "details": "secret stack", "trailing_metadata": ()})
    err = from_rpc_error(_FakeCall(status))
    assert err.kind is ErrorKind.INTERNAL and "secret" not in err.message
