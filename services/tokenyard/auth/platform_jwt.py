"""Platform JWTs: HS256 with a shared secret or RS256 against a JWKS (URL or file); no other algorithm."""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

from tokenyard.errors import ErrorKind, GatewayError

ADMIN_CLAIM = "tokenyard_admin"
"""A JWT carrying `"tokenyard_admin": true` gets the admin scope (only the trusted issuer can mint it)."""
SUBJECT = re.compile(r"^[A-Za-z0-9._~@|:+=-]{1,200}$")
"""What a `sub` may be: it becomes an account id, which appears in paths (`/v1/{account}/{app}/...`) and
logs, so no '/', '%', whitespace, control or non-ASCII characters (emails, UUIDs, `auth0|...` all fit)."""


def _unauthenticated(message: str) -> GatewayError:
    return GatewayError(ErrorKind.UNAUTHENTICATED, message)


class JwksSource:
    """RS256 signing keys from a JWKS URL (fetched with httpx) or a local file, cached for `ttl` seconds.

    An unknown `kid` triggers one early refresh (key rotation), at most every `min_refresh` seconds.
    """

    def __init__(self, location: str, http: httpx.AsyncClient | None = None, *, ttl: float = 300.0,
                 min_refresh: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._location = location
        self._http = http
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._clock = clock
        self._keys: list[jwt.PyJWK] = []
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def is_url(self) -> bool:
        """True when the JWKS is fetched over HTTP(S)."""
        return self._location.startswith(("http://", "https://"))

    async def _fetch(self) -> dict[str, Any]:
        if self.is_url:
            if self._http is None:
                async with httpx.AsyncClient(timeout=5) as http:
                    resp = await http.get(self._location)
            else:
                resp = await self._http.get(self._location, timeout=5)
            resp.raise_for_status()
            return resp.json()
        text = await asyncio.to_thread(Path(self._location).read_text)
        return json.loads(text)

    async def _load(self, force: bool) -> list[jwt.PyJWK]:
        async with self._lock:
            now = self._clock()
            age = None if self._loaded_at is None else now - self._loaded_at
            if age is not None and (age < self._min_refresh or (not force and age < self._ttl)):
                return self._keys
            try:
                data = await self._fetch()
                self._keys = [k for k in jwt.PyJWKSet.from_dict(data).keys if k.key_type == "RSA"]
            except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError):
                if self._loaded_at is None:
                    raise _unauthenticated("JWT signing keys are unavailable") from None
            self._loaded_at = now
            return self._keys

    async def key(self, kid: str | None) -> Any:
        """The public key for `kid` (or the only key when the token names none)."""
        for force in (False, True):
            keys = await self._load(force)
            if kid is None and len(keys) == 1:
                return keys[0].key
            found = next((k for k in keys if k.key_id == kid), None) if kid is not None else None
            if found is not None:
                return found.key
        raise _unauthenticated("JWT signed by an unknown key")


class JwtVerifier:
    """Verifies platform JWTs. HS256 tokens are checked only against the secret and RS256 tokens only against
    the JWKS, so neither `alg: none` nor HS/RS confusion (an RSA public key used as an HMAC secret) passes."""

    def __init__(self, secret: str = "", jwks: JwksSource | None = None, *, issuer: str = "",
                 audience: str = "", leeway: float = 0.0) -> None:
        self._secret = secret
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    @property
    def configured(self) -> bool:
        """True when some JWT can be accepted."""
        return bool(self._secret or self._jwks)

    async def _key_for(self, header: dict[str, Any]) -> tuple[str, Any]:
        alg = header.get("alg")
        if alg == "HS256" and self._secret:
            return alg, self._secret
        if alg == "RS256" and self._jwks is not None:
            kid = header.get("kid")
            return alg, await self._jwks.key(kid if isinstance(kid, str) else None)
        raise _unauthenticated(f"JWT algorithm {alg!r} is not accepted")

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; UNAUTHENTICATED when malformed, badly signed, expired or missing `sub`/`exp`."""
        if not self.configured:
            raise _unauthenticated("JWT authentication is not configured")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthenticated("Malformed JWT") from None
        alg, key = await self._key_for(header)
        try:
            claims = jwt.decode(token, key, algorithms=[alg], issuer=self._issuer or None,
                                audience=self._audience or None, leeway=self._leeway,
                                options={"require": ["exp", "sub"], "verify_aud": bool(self._audience)})
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("JWT expired") from None
        except jwt.PyJWTError:
            raise _unauthenticated("Invalid JWT") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not SUBJECT.match(sub) or sub in (".", ".."):
            raise _unauthenticated("JWT `sub` must be 1 to 200 characters from A-Z a-z 0-9 . _ ~ @ | : + = -")
        return claims
