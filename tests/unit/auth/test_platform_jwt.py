"""Platform JWT verification: accepted algorithms, expiry, signatures, JWKS from a file and a URL."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from tokenyard.auth.platform_jwt import JwksSource, JwtVerifier
from tokenyard.errors import ErrorKind, GatewayError

from tests.jwt_helpers import JWT_SECRET, RsaSigner, hs256, unsigned


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(key: bytes, claims: dict) -> str:
    """An HS256 token signed with arbitrary key bytes (PyJWT refuses PEM keys as HMAC secrets, attackers don't)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


async def rejected(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(GatewayError) as info:
        await verifier.verify(token)
    assert info.value.kind is ErrorKind.UNAUTHENTICATED
    return info.value.message


async def test_hs256_token_gives_its_claims() -> None:
    claims = await JwtVerifier(JWT_SECRET).verify(hs256("alice"))
    assert claims["sub"] == "alice"


async def test_expired_wrong_secret_and_alg_none_are_rejected() -> None:
    v = JwtVerifier(JWT_SECRET)
    assert "expired" in await rejected(v, hs256("alice", ttl=-5))
    await rejected(v, hs256("alice", secret="another-secret-of-sufficient-length-123"))
    assert "'none'" in await rejected(v, unsigned("alice"))


async def test_tokens_without_sub_or_exp_are_rejected() -> None:
    import jwt

    v = JwtVerifier(JWT_SECRET)
    await rejected(v, jwt.encode({"exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256"))
    await rejected(v, jwt.encode({"sub": "x"}, JWT_SECRET, algorithm="HS256"))
    await rejected(v, "eyJhbGciOi.not-a.jwt")


async def test_rs256_against_a_jwks_file(tmp_path: Path) -> None:
    signer = RsaSigner()
    v = JwtVerifier(jwks=JwksSource(str(signer.write_jwks(tmp_path / "jwks.json"))))
    assert (await v.verify(signer.token("bob")))["sub"] == "bob"
    await rejected(v, RsaSigner().token("bob"))  # same kid, other key: bad signature
    assert "unknown key" in await rejected(v, signer.token("bob", kid="other"))
    assert "expired" in await rejected(v, signer.token("bob", ttl=-5))


async def test_hs_rs_algorithm_confusion_is_refused(tmp_path: Path) -> None:
    signer = RsaSigner()
    forged = forge_hs256(signer.public_pem, {"sub": "mallory", "exp": int(time.time()) + 60})
    only_jwks = JwtVerifier(jwks=JwksSource(str(signer.write_jwks(tmp_path / "jwks.json"))))
    assert "HS256" in await rejected(only_jwks, forged)
    both = JwtVerifier(JWT_SECRET, JwksSource(str(tmp_path / "jwks.json")))
    await rejected(both, forged)
    only_secret = JwtVerifier(JWT_SECRET)
    assert "RS256" in await rejected(only_secret, signer.token("bob"))


async def test_jwks_url_is_fetched_cached_and_refreshed_on_rotation() -> None:
    old, new = RsaSigner("old"), RsaSigner("new")
    served = {"doc": old.jwks(), "hits": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        served["hits"] += 1
        return httpx.Response(200, json=served["doc"])

    now = [1000.0]
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    v = JwtVerifier(jwks=JwksSource("https://issuer.example/jwks.json", http, min_refresh=10,
                                    clock=lambda: now[0]))
    assert (await v.verify(old.token("u1")))["sub"] == "u1"
    assert (await v.verify(old.token("u2")))["sub"] == "u2"
    assert served["hits"] == 1
    served["doc"] = new.jwks()
    now[0] += 11
    assert (await v.verify(new.token("u3")))["sub"] == "u3"
    assert served["hits"] == 2
    await http.aclose()


async def test_unconfigured_verifier_accepts_nothing() -> None:
    assert "not configured" in await rejected(JwtVerifier(), hs256("alice"))
