"""Console pages for the model catalog and apps with their AI config form."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from tokenyard_http.console.render import ConsoleRoute, api, redirect, render
from tokenyard_http.console.session import ApiFailed, ConsoleApi, check_csrf
from tokenyard_http.errors import validation_error
from tokenyard_http.schemas.admin import AppConfigBody

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LIST_FIELDS = ("allowedModels", "enabledTools")
INT_FIELDS = ("maxTokensPerRequest", "rpm", "tpm")


@router.get("/console/models")
async def models(request: Request, type: str = "", provider: str = "", c: ConsoleApi = Depends(api)) -> Response:
    """The public catalog with prices, filtered by type and provider."""
    data = (await c.json("GET", "/v1/public/models"))["data"]
    types = sorted({m["type"] for m in data})
    providers = sorted({m["provider"] for m in data})
    shown = [m for m in data if (not type or m["type"] == type) and (not provider or m["provider"] == provider)]
    return render(request, "models.html", {"title": "AI models", "page": "models", "models": shown,
                                           "types": types, "providers": providers, "type": type,
                                           "provider": provider})


@router.get("/console/apps")
async def apps(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """The caller's apps and the create form."""
    return await _apps_page(request, c, {}, None)


async def _apps_page(request: Request, c: ConsoleApi, values: dict[str, Any], error: str | None) -> Response:
    data = await c.items("/v1/apps")
    return render(request, "apps.html", {"title": "Apps", "page": "apps", "apps": data, "values": values,
                                         "error": error}, 400 if error else 200)


@router.post("/console/apps")
async def create_app(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """Create an app, then open its AI config."""
    form = await check_csrf(request)
    try:
        app = await c.json("POST", "/v1/apps", json={"name": str(form.get("name") or "")})
    except ApiFailed as err:
        return await _apps_page(request, c, form, err.message)
    return redirect(f"/console/apps/{app['id']}")


@router.get("/console/apps/{app_id}")
async def app_config(app_id: str, request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """One app and its AI config form."""
    app = await c.json("GET", f"/v1/apps/{app_id}")
    config = await c.json("GET", f"/v1/{app_id}/ai/config")
    return await _config_page(request, c, app, form_values(config), {}, saved=bool(request.query_params.get("saved")))


async def _config_page(request: Request, c: ConsoleApi, app: dict[str, Any], values: dict[str, str],
                       errors: dict[str, str], saved: bool = False) -> Response:
    models = (await c.json("GET", "/v1/public/models"))["data"]
    return render(request, "app_config.html", {"title": f"App {app['name']}", "page": "apps", "app": app,
                                               "values": values, "errors": errors, "saved": saved,
                                               "model_names": [m["id"] for m in models]},
                  400 if errors else 200)


def form_values(config: dict[str, Any]) -> dict[str, str]:
    """The API config as form field strings."""
    limits = config.get("rateLimits") or {}
    return {"defaultModel": config.get("defaultModel") or "",
            "maxTokensPerRequest": str(config.get("maxTokensPerRequest") or ""),
            "allowedModels": ", ".join(config.get("allowedModels") or []),
            "enabledTools": ", ".join(config.get("enabledTools") or []),
            "rpm": str(limits.get("rpm") or ""), "tpm": str(limits.get("tpm") or ""),
            "customTools": json.dumps(config["customTools"], indent=2) if config.get("customTools") else "",
            "allowUnauthenticatedPassthrough": "on" if config.get("allowUnauthenticatedPassthrough") else ""}


def _number(raw: str) -> Any:
    """An integer when the text is one; otherwise the text itself, so the API's own validation rejects it."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def config_body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form fields -> the PUT /v1/{app_id}/ai/config body, and errors the form can find on its own."""
    nums = {k: _number(values.get(k, "")) for k in INT_FIELDS}
    lists = {k: [s.strip() for s in values.get(k, "").split(",") if s.strip()] for k in LIST_FIELDS}
    body: dict[str, Any] = {"defaultModel": values.get("defaultModel", "").strip() or None,
                            "maxTokensPerRequest": nums["maxTokensPerRequest"], **lists,
                            "rateLimits": {"rpm": nums["rpm"], "tpm": nums["tpm"]},
                            "allowUnauthenticatedPassthrough":
                                values.get("allowUnauthenticatedPassthrough") == "on",
                            "customTools": []}
    errors: dict[str, str] = {}
    tools = values.get("customTools", "").strip()
    if tools:
        try:
            body["customTools"] = json.loads(tools)
        except (ValueError, RecursionError) as exc:
            errors["customTools"] = f"Not valid JSON: {str(exc).split(':')[0]}"
    return body, errors


def field_of(param: str | None) -> str:
    """The form field an API error parameter belongs to (`rateLimits.rpm` -> rpm, `allowedModels[1]` -> ...)."""
    if not param:
        return "_form"
    head = param.split("[")[0]
    if head.startswith("rateLimits."):
        return head.split(".")[1]
    return head.split(".")[0]


def schema_errors(body: dict[str, Any]) -> dict[str, str]:
    """Every field the API's own body schema refuses (the API answers the first one only), worded as the API
    words it, so a form with several bad fields shows them all at once."""
    try:
        AppConfigBody.model_validate(body)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            err = validation_error(RequestValidationError([{**e, "loc": ("body", *e["loc"])}]))
            errors.setdefault(field_of(err.param), err.message)
        return errors
    return {}


@router.post("/console/apps/{app_id}")
async def save_config(app_id: str, request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """Validate with the API; on a 400 the message is shown next to the field it names."""
    form = await check_csrf(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf"}
    app = await c.json("GET", f"/v1/apps/{app_id}")
    body, errors = config_body(values)
    errors = {**schema_errors(body), **errors}
    if not errors:
        try:
            await c.json("PUT", f"/v1/{app_id}/ai/config", json=body)
            return redirect(f"/console/apps/{app_id}?saved=1")
        except ApiFailed as err:
            if err.status != 400:
                raise
            errors[field_of(err.param)] = err.message
    return await _config_page(request, c, app, values, errors)
