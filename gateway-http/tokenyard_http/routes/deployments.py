"""Deployments: /v1/deployments... over the Config service."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from tokenyard.common.time import from_ts
from tokenyard.config.v1 import config_service_pb2 as pb

from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.schemas.deployments import (
    DeploymentCreate,
    DeploymentExtend,
    DeploymentKey,
    DeploymentKeyCreate,
    DeploymentList,
    DeploymentOut,
    UpstreamOut,
)

router = APIRouter(tags=["deployments"])
ERRORS = error_responses(400, 401, 403, 404, 409, 503)


def deployment_out(d: pb.Deployment, secret: str = "") -> DeploymentOut:
    """Proto -> wire model."""
    return DeploymentOut(id=d.id, owner=d.owner, model=d.model, state=d.state,  # type: ignore[arg-type]
                         upstream=UpstreamOut(kind=d.upstream_kind, base_url=d.base_url,
                                              api_key_env=d.api_key_env or None, has_api_key=d.has_api_key),
                         created_at=from_ts(d, "created_at"), ends_at=from_ts(d, "ends_at"),  # type: ignore[arg-type]
                         ready_at=from_ts(d, "ready_at"), finished_at=from_ts(d, "finished_at"),
                         last_error=d.last_error or None, default_key_id=d.default_key_id or None, key=secret or None)


@router.post("/v1/deployments", status_code=201, response_model=DeploymentOut, responses=ERRORS,
             summary="Register a deployment", openapi_extra=json_body(DeploymentCreate))
async def create_deployment(request: Request, c: Clients = Depends(clients)) -> JSONResponse:
    """Register a self-hosted instance; it stays `pending` until its `GET {base_url}/models` answers."""
    md = metadata(request)
    body = await read_json(request, DeploymentCreate)
    req = pb.CreateDeploymentRequest(model=body.model, upstream_kind=body.upstream.kind,
                                     base_url=body.upstream.base_url, api_key_env=body.upstream.api_key_env or "",
                                     api_key=body.upstream.api_key or "", hours=float(body.hours))
    resp = await c.config.CreateDeployment(req, metadata=md)
    return JSONResponse(deployment_out(resp.deployment).model_dump(mode="json"), status_code=201)


@router.get("/v1/deployments", response_model=DeploymentList, responses=ERRORS, summary="List deployments")
async def list_deployments(request: Request, c: Clients = Depends(clients)) -> DeploymentList:
    """The caller's deployments (admins: all), newest first."""
    resp = await c.config.ListDeployments(pb.ListDeploymentsRequest(), metadata=metadata(request))
    return DeploymentList(data=[deployment_out(d) for d in resp.deployments])


@router.get("/v1/deployments/{deployment_id}", response_model=DeploymentOut, responses=ERRORS,
            summary="Get a deployment")
async def get_deployment(deployment_id: str, request: Request, c: Clients = Depends(clients)) -> DeploymentOut:
    """The deployment; the owner's first read after `ready` also carries the default key's secret in `key`."""
    resp = await c.config.GetDeployment(pb.GetDeploymentRequest(id=deployment_id), metadata=metadata(request))
    return deployment_out(resp.deployment, resp.default_key_secret)


@router.post("/v1/deployments/{deployment_id}/keys", status_code=201, response_model=DeploymentKey,
             responses=ERRORS, summary="Create a key for a deployment", openapi_extra=json_body(DeploymentKeyCreate))
async def create_deployment_key(deployment_id: str, request: Request, c: Clients = Depends(clients)) -> JSONResponse:
    """One more key bound to a ready deployment (several may be active at once)."""
    md = metadata(request)
    body = await read_json(request, DeploymentKeyCreate) if await request.body() else DeploymentKeyCreate()
    resp = await c.config.CreateDeploymentKey(pb.CreateDeploymentKeyRequest(id=deployment_id, name=body.name),
                                              metadata=md)
    out = DeploymentKey(id=resp.key_id, deployment_id=deployment_id, prefix=resp.prefix, key=resp.secret)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.post("/v1/deployments/{deployment_id}/extend", response_model=DeploymentOut, responses=ERRORS,
             summary="Extend a deployment", openapi_extra=json_body(DeploymentExtend))
async def extend_deployment(deployment_id: str, request: Request, c: Clients = Depends(clients)) -> DeploymentOut:
    """Add hours to a live deployment; its id and keys stay the same."""
    md = metadata(request)
    body = await read_json(request, DeploymentExtend)
    resp = await c.config.ExtendDeployment(pb.ExtendDeploymentRequest(id=deployment_id, hours=float(body.hours)),
                                           metadata=md)
    return deployment_out(resp.deployment)


@router.post("/v1/deployments/{deployment_id}/stop", response_model=DeploymentOut, responses=ERRORS,
             summary="Stop a deployment")
@router.delete("/v1/deployments/{deployment_id}", response_model=DeploymentOut, responses=ERRORS,
               summary="Stop a deployment")
async def stop_deployment(deployment_id: str, request: Request, c: Clients = Depends(clients)) -> DeploymentOut:
    """Stop the deployment; every key bound to it is revoked for good (401 on every process within a second)."""
    resp = await c.config.StopDeployment(pb.StopDeploymentRequest(id=deployment_id), metadata=metadata(request))
    return deployment_out(resp.deployment)
