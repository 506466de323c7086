"""A gateway with platform JWTs enabled (HS256 secret and an RS256 JWKS file) and helpers to act as users."""
from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.harness.gateway import Gateway
from tests.jwt_helpers import RsaSigner, hs256


@dataclass
class JwtGateway:
    """The running gateway plus the RSA signer its JWKS file trusts."""

    gw: Gateway
    signer: RsaSigner

    def user(self, sub: str) -> httpx.Client:
        """An HTTP client authenticated as platform user `sub` (HS256 JWT)."""
        return self.gw.http(hs256(sub))

    def key(self, key: str) -> httpx.Client:
        """An HTTP client using an API key."""
        return self.gw.http(key)


def new_app(client: httpx.Client, name: str = "app", **config: object) -> str:
    """Create an app (and optionally PUT its config); returns its id."""
    r = client.post("/v1/apps", json={"name": name})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    if config:
        r = client.put(f"/v1/{app_id}/ai/config", json=config)
        assert r.status_code == 200, r.text
    return app_id


def new_key(client: httpx.Client, **body: object) -> dict:
    """Create an API key; returns the 201 body (with the secret in `key`)."""
    r = client.post("/v1/keys", json={"name": "k", **body})
    assert r.status_code == 201, r.text
    return r.json()
