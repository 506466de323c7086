"""The Idempotency-Key contract shared by the facade and the Router: which keys are valid, and the header that
marks a replayed answer."""
from __future__ import annotations

from tokenyard.errors import invalid

MAX_KEY_LENGTH = 255
REPLAYED = "idempotent-replayed"  # response header (gRPC initial metadata) of a replayed answer


def check_key(key: str) -> str:
    """The key when it is 1 to 255 printable ASCII characters; a 400 naming `Idempotency-Key` otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
                      "Idempotency-Key")
    return key
