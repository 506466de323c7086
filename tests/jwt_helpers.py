"""Test helpers: mint platform JWTs (HS256 and RS256) and write a JWKS file."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_SECRET = "test-platform-jwt-secret-0123456789abcdef"


def hs256(sub: str, *, secret: str = JWT_SECRET, ttl: float = 600, **claims: Any) -> str:
    """An HS256 token for `sub` expiring in `ttl` seconds (negative = already expired)."""
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, secret, algorithm="HS256")


class RsaSigner:
    """An RSA key pair with a kid, able to sign RS256 tokens and describe itself as a JWKS."""

    def __init__(self, kid: str = "k1") -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def token(self, sub: str, *, ttl: float = 600, kid: str | None = None, **claims: Any) -> str:
        """An RS256 token."""
        return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, self.private, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWKS document."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def write_jwks(self, path: Path) -> Path:
        """Write the JWKS to a file and return its path."""
        path.write_text(json.dumps(self.jwks()))
        return path


def unsigned(sub: str, ttl: float = 600) -> str:
    """An `alg: none` token."""
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl)}, None, algorithm="none")
