"""API keys: POST/GET /v1/keys and DELETE /v1/keys/{id} over the Auth service."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from tokenyard.auth.v1 import auth_service_pb2 as pb
from tokenyard.common.time import from_ts, ts

from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.paging import AFTER, ID_PATTERN, LIMIT, page_fields, page_request
from tokenyard_http.schemas.admin import Deleted, Key, KeyCreate, KeyCreated, KeyList

router = APIRouter(tags=["keys"])
ERRORS = error_responses(400, 401, 403, 404, 503)


def key_fields(k: pb.ApiKey) -> dict[str, object]:
    """Proto key -> wire fields (never the secret)."""
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": list(k.scopes), "app_id": k.app_id or None,
            "created_at": from_ts(k, "created_at"), "last_used_at": from_ts(k, "last_used_at"),
            "expires_at": from_ts(k, "expires_at"), "revoked_at": from_ts(k, "revoked_at"), "rpm": k.rpm or None,
            "tpm": k.tpm or None}


@router.post("/v1/keys", status_code=201, response_model=KeyCreated, responses=ERRORS, summary="Create an API key",
             openapi_extra=json_body(KeyCreate))
async def create_key(request: Request, c: Clients = Depends(clients)) -> KeyCreated:
    """A personal key (or, with `app_id`, an app key); the secret is in `key`, shown only here."""
    md = metadata(request)
    body = await read_json(request, KeyCreate)
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    req = pb.CreateKeyRequest(name=body.name, scopes=list(body.scopes), app_id=body.app_id or "",
                              expires_at=ts(expires), rpm=body.rpm or 0, tpm=body.tpm or 0)
    resp = await c.auth.CreateKey(req, metadata=md)
    return KeyCreated(**key_fields(resp.key), key=resp.secret)


@router.get("/v1/keys", response_model=KeyList, responses=ERRORS, summary="List API keys")
async def list_keys(request: Request, limit: int = LIMIT, after: str = AFTER,
                    include_revoked: bool = Query(False, description="Also list revoked keys (with `revoked_at`)."),
                    app_id: str = Query("", max_length=64, pattern=ID_PATTERN, description="Only the keys of this app."),
                    c: Clients = Depends(clients)) -> KeyList:
    """The caller's keys, newest first: prefix, name, scopes, app, created, last used, expiry, revocation; never
    the secret. Live keys only unless `include_revoked`; page with `limit` and `after`."""
    req = pb.ListKeysRequest(page=page_request(limit, after), include_revoked=include_revoked, app_id=app_id)
    resp = await c.auth.ListKeys(req, metadata=metadata(request))
    return KeyList(data=[Key(**key_fields(k)) for k in resp.keys],
                   **page_fields([k.id for k in resp.keys], resp.next_page_token))


@router.delete("/v1/keys/{key_id}", response_model=Deleted, responses=ERRORS, summary="Revoke an API key")
async def revoke_key(key_id: str, request: Request, c: Clients = Depends(clients)) -> Deleted:
    """Revoke one of the caller's keys; it stops working on every gateway process within a second."""
    resp = await c.auth.RevokeKey(pb.RevokeKeyRequest(id=key_id), metadata=metadata(request))
    return Deleted(id=resp.key.id, object="api_key")
