"""Rendering console pages: Jinja2 templates, the CSRF cookie, one-time flash messages, and the route class."""
from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from tokenyard_http.console.session import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    ApiFailed,
    ConsoleApi,
    CsrfFailed,
    LoginRequired,
    clear_cookie,
    credential,
    csrf_token,
    set_cookie,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
NAV = [("models", "AI models"), ("apps", "Apps"), ("keys", "API keys"), ("instances", "My instances"),
       ("usage", "Usage"), ("videos", "Videos")]


def flash(request: Request, response: Response, data: dict[str, Any]) -> None:
    """Keep `data` (e.g. a new key's secret) for the next page only, in an HttpOnly cookie."""
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    set_cookie(request, response, FLASH_COOKIE, raw, max_age=120)


def _take_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page with the nav, the CSRF token and any flash; the flash cookie is deleted once shown."""
    token, new = csrf_token(request)
    message = _take_flash(request)
    ctx = {"request": request, "csrf": token, "nav": NAV, "flash": message or {},
           "signed_in": bool(request.cookies.get(SESSION_COOKIE)), **context}
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)
    response.headers["cache-control"] = "no-store"
    response.headers["x-frame-options"] = "DENY"
    response.headers["content-security-policy"] = ("default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                                   "style-src 'self'; frame-ancestors 'none'; form-action 'self'")
    if new:
        set_cookie(request, response, "ty_csrf", token)
    if message is not None:
        clear_cookie(request, response, FLASH_COOKIE)
    return response


def redirect(path: str) -> RedirectResponse:
    """POST-redirect-GET."""
    return RedirectResponse(path, status_code=303)


class ConsoleRoute(APIRoute):
    """LoginRequired -> redirect to sign-in (dropping a dead session); CsrfFailed -> 403; ApiFailed -> error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = "/console/login"
                if request.method == "GET" and request.url.path != "/console/login":
                    target += f"?next={request.url.path}"
                response = redirect(target)
                clear_cookie(request, response, SESSION_COOKIE)
                return response
            except ApiFailed as exc:
                return render(request, "error.html", {"title": "Not possible", "message": exc.message},
                              exc.status if 400 <= exc.status < 600 else 502)
            except CsrfFailed as exc:
                return render(request, "error.html", {"title": "Forbidden", "message":
                              f"This form could not be accepted ({exc}). Reload the page and try again."}, 403)

        return guarded


async def api(request: Request) -> AsyncIterator[ConsoleApi]:
    """FastAPI dependency: the REST API client for the signed-in browser."""
    client = ConsoleApi.for_request(request, credential(request))
    try:
        yield client
    finally:
        await client.close()
