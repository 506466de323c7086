"""Console sign-in and sign-out, the landing redirect and the vendored static files."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from tokenyard_http.console.render import ConsoleRoute, redirect, render
from tokenyard_http.console.session import (
    MAX_CREDENTIAL,
    SESSION_COOKIE,
    ConsoleApi,
    LoginRequired,
    check_csrf,
    clear_cookie,
    set_cookie,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
STATIC = StaticFiles(directory=str(Path(__file__).parent.parent / "static" / "console"))
SESSION_SECONDS = 12 * 3600


def _safe_next(target: str) -> str:
    """Only console paths: never an open redirect."""
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/models"


@router.get("/console")
@router.get("/console/")
async def landing(request: Request) -> Response:
    """The models page (or sign-in when signed out)."""
    return redirect("/console/models" if request.cookies.get(SESSION_COOKIE) else "/console/login")


@router.get("/console/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    """Chart.js and the console's own CSS/JS (vendored, no CDN)."""
    return await STATIC.get_response(path, request.scope)


@router.get("/console/login")
async def login_page(request: Request, next: str = "") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"title": "Sign in", "next": _safe_next(next), "error": None})


@router.post("/console/login")
async def login(request: Request) -> Response:
    """Check the credential against the API; keep it in the HttpOnly session cookie."""
    form = await check_csrf(request)
    cred, target = str(form.get("credential") or "").strip(), _safe_next(str(form.get("next") or ""))
    error = None
    if not cred:
        error = "Enter an API key or a platform token."
    elif len(cred) > MAX_CREDENTIAL or not cred.isascii() or any(c.isspace() for c in cred):
        error = "That does not look like an API key or a token."
    else:
        api = ConsoleApi.for_request(request, cred)
        try:
            await api.send("GET", "/v1/models")
        except LoginRequired:
            error = "This key or token was not accepted: it is unknown, revoked or expired."
        finally:
            await api.close()
    if error:
        return render(request, "login.html", {"title": "Sign in", "next": target, "error": error}, 401)
    response = redirect(target)
    set_cookie(request, response, SESSION_COOKIE, cred, max_age=SESSION_SECONDS)
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    """Forget the credential."""
    await check_csrf(request)
    response = redirect("/console/login")
    clear_cookie(request, response, SESSION_COOKIE)
    return response
