"""The one error model: internal error kinds and their gRPC, HTTP, OpenAI and chat-app forms (DESIGN.md)."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import grpc

ERROR_DOMAIN = "tokenyard.dev"


@dataclass(frozen=True)
class ErrorRow:
    """How one error kind appears on every surface."""

    grpc_code: grpc.StatusCode
    http_status: int
    openai_type: str
    openai_code: str | None
    chat_code: str


class ErrorKind(enum.Enum):
    """Every error a client can see. A new kind must choose its row here."""

    INVALID_REQUEST = ErrorRow(grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", None, "INVALID_REQUEST")
    UNAUTHENTICATED = ErrorRow(grpc.StatusCode.UNAUTHENTICATED, 401, "authentication_error", "invalid_api_key",
                               "UNAUTHORIZED")
    PERMISSION_DENIED = ErrorRow(grpc.StatusCode.PERMISSION_DENIED, 403, "permission_error", None, "FORBIDDEN")
    NOT_FOUND = ErrorRow(grpc.StatusCode.NOT_FOUND, 404, "invalid_request_error", "not_found", "NOT_FOUND")
    MODEL_NOT_FOUND = ErrorRow(grpc.StatusCode.NOT_FOUND, 404, "invalid_request_error", "model_not_found",
                               "INVALID_MODEL")
    MODEL_NOT_ALLOWED = ErrorRow(grpc.StatusCode.PERMISSION_DENIED, 403, "invalid_request_error",
                                 "model_not_allowed", "INVALID_MODEL")
    CONFLICT = ErrorRow(grpc.StatusCode.FAILED_PRECONDITION, 409, "invalid_request_error", "conflict", "CONFLICT")
    DEPLOYMENT_NOT_READY = ErrorRow(grpc.StatusCode.FAILED_PRECONDITION, 409, "invalid_request_error",
                                    "deployment_not_ready", "DEPLOYMENT_NOT_READY")
    CONTEXT_TOO_LONG = ErrorRow(grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error",
                                "context_length_exceeded", "CONTEXT_TOO_LONG")
    PAYLOAD_TOO_LARGE = ErrorRow(grpc.StatusCode.INVALID_ARGUMENT, 413, "invalid_request_error",
                                 "payload_too_large", "PAYLOAD_TOO_LARGE")
    RATE_LIMITED = ErrorRow(grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "rate_limit_error", "rate_limit_exceeded",
                            "RATE_LIMITED")
    INSUFFICIENT_QUOTA = ErrorRow(grpc.StatusCode.RESOURCE_EXHAUSTED, 402, "insufficient_quota",
                                  "insufficient_quota", "INSUFFICIENT_CREDITS")
    PROVIDER_NOT_CONFIGURED = ErrorRow(grpc.StatusCode.UNAVAILABLE, 503, "api_error", "provider_not_configured",
                                       "PROVIDER_ERROR")
    PROVIDER_ERROR = ErrorRow(grpc.StatusCode.UNAVAILABLE, 502, "api_error", "provider_error", "PROVIDER_ERROR")
    TIMEOUT = ErrorRow(grpc.StatusCode.DEADLINE_EXCEEDED, 504, "api_error", "timeout", "PROVIDER_ERROR")
    UNAVAILABLE = ErrorRow(grpc.StatusCode.UNAVAILABLE, 503, "api_error", "service_unavailable", "UNAVAILABLE")
    INTERNAL = ErrorRow(grpc.StatusCode.INTERNAL, 500, "api_error", "internal_error", "INTERNAL")
    IDEMPOTENCY_KEY_REUSED = ErrorRow(grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error",
                                      "idempotency_key_reused", "INVALID_REQUEST")
    IDEMPOTENCY_KEY_IN_USE = ErrorRow(grpc.StatusCode.ABORTED, 409, "invalid_request_error",
                                      "idempotency_key_in_use", "CONFLICT")

    @property
    def reason(self) -> str:
        """The ErrorInfo reason string."""
        return self.name


_BY_REASON = {k.name: k for k in ErrorKind}
_BY_GRPC_CODE: dict[grpc.StatusCode, ErrorKind] = {
    grpc.StatusCode.INVALID_ARGUMENT: ErrorKind.INVALID_REQUEST,
    grpc.StatusCode.UNAUTHENTICATED: ErrorKind.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: ErrorKind.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND: ErrorKind.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: ErrorKind.CONFLICT,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ErrorKind.RATE_LIMITED,
    grpc.StatusCode.DEADLINE_EXCEEDED: ErrorKind.TIMEOUT,
    grpc.StatusCode.UNAVAILABLE: ErrorKind.UNAVAILABLE,
}


def kind_for_reason(reason: str) -> ErrorKind | None:
    """The kind whose ErrorInfo reason is `reason`, if any."""
    return _BY_REASON.get(reason)


def kind_for_grpc_code(code: grpc.StatusCode) -> ErrorKind:
    """Best kind for a bare gRPC status without ErrorInfo."""
    return _BY_GRPC_CODE.get(code, ErrorKind.INTERNAL)


class GatewayError(Exception):
    """An error a client is meant to see. `param` names the offending field; `metadata` travels in ErrorInfo."""

    def __init__(self, kind: ErrorKind, message: str, *, param: str | None = None,
                 retry_after: float | None = None, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param
        self.retry_after = retry_after
        self.metadata = dict(metadata or {})

    def __repr__(self) -> str:
        return f"GatewayError({self.kind.name}, {self.message!r})"

    def openai_body(self) -> dict:
        """The OpenAI error JSON object."""
        row = self.kind.value
        return {"error": {"message": self.message, "type": row.openai_type, "param": self.param,
                          "code": row.openai_code}}

    def chat_body(self) -> dict:
        """The chat-app (`/api/...`) error JSON object."""
        details = {k: v for k, v in self.metadata.items()}
        if self.param:
            details["param"] = self.param
        return {"error": self.message, "code": self.kind.value.chat_code, "details": details}


def invalid(message: str, param: str | None = None) -> GatewayError:
    """Shorthand for a 400 naming the offending parameter."""
    return GatewayError(ErrorKind.INVALID_REQUEST, message, param=param)
