"""Apps and their AI config: /v1/apps... and /v1/{app_id}/ai/config over the Config service."""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from tokenyard.common.time import from_ts
from tokenyard.config.v1 import config_service_pb2 as pb

from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.paging import AFTER, LIMIT, page_fields, page_request
from tokenyard_http.schemas.admin import App, AppConfigBody, AppCreate, AppList, Deleted, RateLimits

router = APIRouter(tags=["apps"])
ERRORS = error_responses(400, 401, 403, 404, 503)


def app_out(a: pb.App) -> App:
    """Proto app -> wire model."""
    return App(id=a.id, name=a.name, owner=a.owner, created_at=from_ts(a, "created_at"))


def config_out(c: pb.AppConfig) -> dict[str, object]:
    """Proto config -> the camelCase JSON of the REST API (null = not set)."""
    body = AppConfigBody(defaultModel=c.default_model or None, maxTokensPerRequest=c.max_tokens_per_request or None,
                         allowedModels=list(c.allowed_models), enabledTools=list(c.enabled_tools),
                         rateLimits=RateLimits(rpm=c.rpm or None, tpm=c.tpm or None),
                         customTools=json.loads(c.custom_tools_json) if c.custom_tools_json else [],
                         requireGatewayKey=c.require_gateway_key,
                         allowUnauthenticatedPassthrough=c.allow_unauthenticated_passthrough)
    return body.model_dump(by_alias=True)


def config_in(body: AppConfigBody) -> pb.AppConfig:
    """Wire config -> proto."""
    return pb.AppConfig(default_model=body.default_model or "", max_tokens_per_request=body.max_tokens_per_request or 0,
                        allowed_models=body.allowed_models, rpm=body.rate_limits.rpm or 0,
                        tpm=body.rate_limits.tpm or 0, enabled_tools=body.enabled_tools,
                        custom_tools_json=json.dumps(body.custom_tools) if body.custom_tools else "",
                        require_gateway_key=body.require_gateway_key,
                        allow_unauthenticated_passthrough=body.allow_unauthenticated_passthrough)


@router.post("/v1/apps", status_code=201, response_model=App, responses=ERRORS, summary="Create an app",
             openapi_extra=json_body(AppCreate))
async def create_app(request: Request, c: Clients = Depends(clients)) -> App:
    """A new app owned by the caller (needs apps:write)."""
    md = metadata(request)
    body = await read_json(request, AppCreate)
    resp = await c.config.CreateApp(pb.CreateAppRequest(name=body.name), metadata=md)
    return app_out(resp.app)


@router.get("/v1/apps", response_model=AppList, responses=ERRORS, summary="List apps")
async def list_apps(request: Request, limit: int = LIMIT, after: str = AFTER,
                    c: Clients = Depends(clients)) -> AppList:
    """The caller's apps (admins: all), newest first; page with `limit` and `after`."""
    req = pb.ListAppsRequest(page=page_request(limit, after))
    resp = await c.config.ListApps(req, metadata=metadata(request))
    return AppList(data=[app_out(a) for a in resp.apps],
                   **page_fields([a.id for a in resp.apps], resp.next_page_token))


@router.get("/v1/apps/{app_id}", response_model=App, responses=ERRORS, summary="Get an app")
async def get_app(app_id: str, request: Request, c: Clients = Depends(clients)) -> App:
    """One of the caller's apps; 404 for any other id."""
    resp = await c.config.GetApp(pb.GetAppRequest(id=app_id), metadata=metadata(request))
    return app_out(resp.app)


@router.delete("/v1/apps/{app_id}", response_model=Deleted, responses=ERRORS, summary="Delete an app")
async def delete_app(app_id: str, request: Request, c: Clients = Depends(clients)) -> Deleted:
    """Delete one of the caller's apps and its AI config, and revoke every key of the app (on every gateway
    process within a second)."""
    resp = await c.config.DeleteApp(pb.DeleteAppRequest(id=app_id), metadata=metadata(request))
    return Deleted(id=resp.app.id, object="app")


@router.get("/v1/{app_id}/ai/config", response_model=AppConfigBody, response_model_by_alias=True,
            responses=ERRORS, summary="Get an app's AI config")
async def get_config(app_id: str, request: Request, c: Clients = Depends(clients)) -> dict[str, object]:
    """The app's AI config (defaults when never set)."""
    resp = await c.config.GetAppConfig(pb.GetAppConfigRequest(app_id=app_id), metadata=metadata(request))
    return config_out(resp.config)


@router.put("/v1/{app_id}/ai/config", response_model=AppConfigBody, response_model_by_alias=True,
            responses=ERRORS, summary="Replace an app's AI config", openapi_extra=json_body(AppConfigBody))
async def put_config(app_id: str, request: Request, c: Clients = Depends(clients)) -> dict[str, object]:
    """Validate and store the app's AI config; a 400 names the first invalid field."""
    md = metadata(request)
    body = await read_json(request, AppConfigBody)
    req = pb.PutAppConfigRequest(app_id=app_id, config=config_in(body))
    resp = await c.config.PutAppConfig(req, metadata=md)
    return config_out(resp.config)
