"""API key secrets: generation with a recognisable prefix, and the hash that is all we store."""
from __future__ import annotations

import hashlib
import secrets

SECRET_PREFIX = "ty_sk_"


def new_secret() -> str:
    """A fresh high-entropy key secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret; secrets are random, so no salt or slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """What a listing shows of a secret."""
    return secret[: len(SECRET_PREFIX) + 6]


def looks_like_jwt(credential: str) -> bool:
    """True for JWTs (three base64url segments, JSON header); everything else is treated as an API key."""
    return credential.startswith("eyJ") and credential.count(".") == 2
