"""Headers every error response carries, in either error shape (OpenAI JSON or the chat-app envelope)."""
from __future__ import annotations

from tokenyard.errors import GatewayError


def error_headers(err: GatewayError) -> dict[str, str]:
    """Headers an error carries (Retry-After, rate-limit state)."""
    headers = {k: v for k, v in err.metadata.items() if k.startswith("x-")}
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, int(err.retry_after + 0.999)))
    return headers
