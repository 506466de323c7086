"""Reading the caller's credential from an HTTP request and forwarding it as gRPC metadata."""
from __future__ import annotations

from fastapi import Request

from tokenyard.common.usage import correlation_id
from tokenyard.errors import ErrorKind, GatewayError


def credential(request: Request) -> str:
    """The bearer token (or `x-api-key`); 401 in OpenAI shape when absent."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    else:
        token = request.headers.get("x-api-key", "").strip()
    if not token:
        raise GatewayError(ErrorKind.UNAUTHENTICATED,
                           "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.")
    return token


def metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying the caller's credential and correlation id."""
    md = [("authorization", f"Bearer {credential(request)}")]
    rid = correlation_id(request.headers.get("x-request-id"))
    if rid:
        md.append(("x-request-id", rid))
    return tuple(md)
