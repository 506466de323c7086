"""Console sessions: the credential cookie, CSRF checks, and the in-process client of the REST API.

Security model (why forms are CSRF-safe):
- The credential (API key or platform JWT) lives only in the `ty_console` cookie: HttpOnly (no script can read
  it), SameSite=Strict (browsers never attach it to a request started by another site), Path=/console, and
  Secure when the console is served over HTTPS.
- Every state-changing request is a POST that must carry a `csrf` form field equal to the `ty_csrf` cookie
  (double-submit token, compared in constant time). Another site can neither read that cookie nor set it, so
  it cannot forge the field. When the browser sends an `Origin` header it must also be this site's origin.
- A request failing either check is answered 403 and changes nothing.
The console never handles the credential in JavaScript: pages call the REST API server-side with it.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request
from starlette.responses import Response

SESSION_COOKIE = "ty_console"
CSRF_COOKIE = "ty_csrf"
FLASH_COOKIE = "ty_flash"
COOKIE_PATH = "/console"
MAX_CREDENTIAL = 4000  # a cookie holds ~4 KiB; longer JWTs cannot be kept


class LoginRequired(Exception):
    """No (or no longer valid) credential: the route answers with a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """A POST without a matching CSRF token or from another origin: the route answers 403."""


class ApiFailed(Exception):
    """The REST API refused a console call; carries its status, message and parameter."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Strict cookie scoped to the console."""
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=_secure(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Delete a console cookie."""
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request))


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's CSRF token and whether it is new (then the caller must set the cookie)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) >= 32:
        return token, False
    return secrets.token_urlsafe(32), True


async def check_csrf(request: Request) -> dict[str, Any]:
    """The POSTed form after the origin and double-submit checks; raises CsrfFailed otherwise."""
    origin = request.headers.get("origin")
    scheme = "https" if _secure(request) else request.url.scheme  # TLS may end at Envoy in front
    if origin is not None and origin != f"{scheme}://{request.url.netloc}":
        raise CsrfFailed("cross-origin form post")
    form = await request.form()
    sent, cookie = str(form.get("csrf") or ""), request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise CsrfFailed("missing or wrong CSRF token")
    return {k: (form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k)) for k in form}


@dataclass
class ConsoleApi:
    """Calls the facade's own REST API in-process (same validation, same errors) with the session credential."""

    client: httpx.AsyncClient

    @classmethod
    def for_request(cls, request: Request, credential: str) -> ConsoleApi:
        transport = httpx.ASGITransport(app=request.app)
        headers = {"authorization": f"Bearer {credential}"}
        return cls(httpx.AsyncClient(transport=transport, base_url="http://console.internal", headers=headers,
                                     timeout=60.0))

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response; 401 means the credential is gone (LoginRequired)."""
        resp = await self.client.request(method, path, **kwargs)
        if resp.status_code == 401:
            raise LoginRequired()
        return resp

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Decoded JSON of a successful call; ApiFailed with the API's message and param otherwise."""
        resp = await self.send(method, path, **kwargs)
        body: Any = None
        try:
            body = resp.json()
        except ValueError:
            pass
        if resp.status_code >= 400:
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                raise ApiFailed(resp.status_code, str(err.get("message") or ""), err.get("param"))
            message = err if isinstance(err, str) else f"HTTP {resp.status_code}"
            raise ApiFailed(resp.status_code, message)
        return body

    async def items(self, path: str, max_pages: int = 50) -> list[Any]:
        """Every item of a paginated list (following `has_more`/`last_id`, 100 a page, at most `max_pages`)."""
        out: list[Any] = []
        params = {"limit": 100}
        for _ in range(max_pages):
            page = await self.json("GET", path, params=params)
            out += page["data"]
            if not page.get("has_more") or not page.get("last_id"):
                break
            params = {"limit": 100, "after": page["last_id"]}
        return out

    async def close(self) -> None:
        """Release the client."""
        await self.client.aclose()


def credential(request: Request) -> str:
    """The session credential; LoginRequired when there is none."""
    cred = request.cookies.get(SESSION_COOKIE, "")
    if not cred:
        raise LoginRequired()
    return cred
