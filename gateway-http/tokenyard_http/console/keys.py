"""Console pages for API keys and deployments (My instances); new secrets are shown exactly once."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from tokenyard.principal import SCOPES

from tokenyard_http.console.render import ConsoleRoute, api, flash, redirect, render
from tokenyard_http.console.session import ApiFailed, ConsoleApi, check_csrf

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
USER_SCOPES = [s for s in SCOPES if s != "admin"]


async def _optional(c: ConsoleApi, path: str) -> list[dict[str, Any]]:
    """A list the key may not be allowed to read (then empty)."""
    try:
        return await c.items(path)
    except ApiFailed:
        return []


async def _keys_page(request: Request, c: ConsoleApi, values: dict[str, Any], error: str | None) -> Response:
    keys = await c.items("/v1/keys")
    apps = await _optional(c, "/v1/apps")
    deployments = [d for d in await _optional(c, "/v1/deployments") if d["state"] == "ready"]
    return render(request, "keys.html", {"title": "API keys", "page": "keys", "keys": keys, "apps": apps,
                                         "deployments": deployments, "scopes": USER_SCOPES, "values": values,
                                         "error": error}, 400 if error else 200)


@router.get("/console/keys")
async def keys(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """The caller's keys (never secrets) and the create form; a just-created secret shows once."""
    return await _keys_page(request, c, {}, None)


def _scopes(form: dict[str, Any]) -> list[str]:
    raw = form.get("scopes") or []
    return [str(s) for s in (raw if isinstance(raw, list) else [raw])]


@router.post("/console/keys")
async def create_key(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """A personal, app or deployment key; the secret goes to the next page once, then is gone."""
    form = await check_csrf(request)
    name, target = str(form.get("name") or ""), str(form.get("target") or "")
    try:
        if target.startswith("deployment:"):
            dep = target.split(":", 1)[1]
            created = await c.json("POST", f"/v1/deployments/{dep}/keys", json={"name": name})
        else:
            body: dict[str, Any] = {"name": name, "scopes": _scopes(form) or ["ai:gateway"]}
            if target.startswith("app:"):
                body["app_id"] = target.split(":", 1)[1]
            created = await c.json("POST", "/v1/keys", json=body)
    except ApiFailed as err:
        if err.status >= 500:
            raise
        return await _keys_page(request, c, {**form, "scopes": _scopes(form)}, err.message)
    response = redirect("/console/keys")
    flash(request, response, {"secret": created["key"], "secret_name": name or created["id"]})
    return response


@router.post("/console/keys/{key_id}/revoke")
async def revoke_key(key_id: str, request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """Revoke a key (it stops working within a second)."""
    await check_csrf(request)
    await c.json("DELETE", f"/v1/keys/{key_id}")
    response = redirect("/console/keys")
    flash(request, response, {"notice": f"Key {key_id} revoked."})
    return response


@router.get("/console/instances")
async def instances(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """The caller's deployments with their state and actions."""
    data = (await c.json("GET", "/v1/deployments"))["data"]
    return render(request, "instances.html", {"title": "My instances", "page": "instances", "deployments": data})


@router.post("/console/instances/{dep_id}/{action}")
async def instance_action(dep_id: str, action: str, request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """extend (by `hours`), stop, or keys (a new bound key, shown once)."""
    form = await check_csrf(request)
    response = redirect("/console/instances")
    try:
        if action == "extend":
            hours = _hours(str(form.get("hours") or ""))
            await c.json("POST", f"/v1/deployments/{dep_id}/extend", json={"hours": hours})
            flash(request, response, {"notice": f"Instance {dep_id} extended by {hours} h."})
        elif action == "stop":
            await c.json("POST", f"/v1/deployments/{dep_id}/stop")
            flash(request, response, {"notice": f"Instance {dep_id} stopped; its keys no longer work."})
        elif action == "keys":
            created = await c.json("POST", f"/v1/deployments/{dep_id}/keys", json={"name": "console"})
            flash(request, response, {"secret": created["key"], "secret_name": f"key for {dep_id}"})
        else:
            raise ApiFailed(404, f"Unknown action {action!r}.")
    except ApiFailed as err:
        if err.status >= 500:
            raise
        flash(request, response, {"alert": err.message})
    return response


def _hours(raw: str) -> Any:
    """A number of hours, or the text itself so the API's validation answers."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return int(value) if value.is_integer() else value
