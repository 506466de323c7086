"""JWT confusion beyond tests/unit/auth: embedded keys (jwk/jku/x5u), hostile kids, odd `alg` spellings."""
from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from tokenyard.auth.platform_jwt import JwksSource, JwtVerifier

from tests.jwt_helpers import JWT_SECRET, RsaSigner
from tests.unit.auth.test_platform_jwt import _b64, forge_hs256, rejected

CLAIMS = {"sub": "mallory", "exp": int(time.time()) + 3600}


def _with_alg(alg: str) -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(CLAIMS).encode())}."


@pytest.fixture
def verifier(tmp_path: Path) -> tuple[JwtVerifier, RsaSigner]:
    trusted = RsaSigner("k1")
    return JwtVerifier(JWT_SECRET, JwksSource(str(trusted.write_jwks(tmp_path / "jwks.json")))), trusted


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", "HS384", "HS512", "RS512", "PS256", "ES256",
                                 "EdDSA"])
async def test_every_other_alg_is_refused(verifier: tuple[JwtVerifier, RsaSigner], alg: str) -> None:
    await rejected(verifier[0], _with_alg(alg))


async def test_keys_embedded_in_the_header_are_never_trusted(verifier: tuple[JwtVerifier, RsaSigner],
                                                            tmp_path: Path) -> None:
    v, _ = verifier
    attacker = RsaSigner("k1")
    jwk = attacker.jwks()["keys"][0]
    jwks_file = attacker.write_jwks(tmp_path / "attacker.json")
    for extra in ({"jwk": jwk}, {"jku": f"file://{jwks_file}"}, {"x5u": "https://evil.example.com/cert.pem"},
                  {"jku": "https://evil.example.com/jwks.json", "kid": "k1"}):
        token = jwt.encode(CLAIMS, attacker.private, algorithm="RS256", headers={"kid": "k1", **extra})
        await rejected(v, token)


async def test_hostile_kids_and_jwk_json_as_hmac_secret(verifier: tuple[JwtVerifier, RsaSigner]) -> None:
    v, trusted = verifier
    for kid in ("../../../../dev/null", "k1' OR '1'='1", "\x00", "k1/../k1", "K1"):
        await rejected(v, trusted.token("mallory", kid=kid))
    jwk_json = json.dumps(trusted.jwks()["keys"][0]).encode()
    await rejected(v, forge_hs256(jwk_json, CLAIMS))
    await rejected(v, forge_hs256(b"", CLAIMS))
