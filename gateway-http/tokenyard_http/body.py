"""Strict JSON request bodies: orjson parsing (rejects invalid UTF-8 and lone surrogates), a depth cap,
the media allowance check, then pydantic models.

Routes that take a body use `read_json(request, Model)` and declare `openapi_extra=json_body(Model)`, so the
schema still shows in /openapi.json (`install_schemas` adds the models to the components).
"""
from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.payload import check_depth, media_bytes
from tokenyard.settings import Settings

M = TypeVar("M", bound=BaseModel)
REF = "#/components/schemas/{model}"
_MODELS: dict[str, type[BaseModel]] = {}  # body models declared by routes, for the OpenAPI components


async def read_json(request: Request, model: type[M]) -> M:
    """The body parsed and validated; a 400 naming the parameter otherwise."""
    raw = await request.body()
    data = parse_json(raw)
    check_media_allowance(request, raw, data)
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    """`data` as `model`; RequestValidationError (a 400 naming the parameter) otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


async def read_media_body(request: Request) -> bytes:
    """The raw JSON body of a media-capable route, for a typed decoder to parse once: past the plain cap the
    bytes outside media parts must still fit (parsed here only then)."""
    raw = await request.body()
    if len(raw) > request.app.state.settings.max_body_bytes:
        check_media_allowance(request, raw, parse_json(raw))
    return raw


def parse_json(raw: bytes) -> Any:
    """A JSON body, parsed: a 400 when it is not JSON or nests deeper than MAX_JSON_DEPTH."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"Request body is not valid JSON: {str(exc).split(':')[0]}") from None
    check_depth(data, raw=raw)
    return data


def check_media_allowance(request: Request, raw: bytes, data: Any) -> None:
    """A 413 unless everything beyond the plain body cap is media. BodyLimit lets only the media routes read
    past `max_body_bytes`; here, once parsed, the bytes outside real media parts must fit under that cap."""
    check_media_cap(raw, data, request.app.state.settings)


def check_media_cap(raw: bytes, data: Any, settings: Settings) -> None:
    """check_media_allowance with the settings at hand (the fast routes have no Request)."""
    cap = settings.max_body_bytes
    if len(raw) > cap and len(raw) - media_bytes(data) > cap:
        raise GatewayError(ErrorKind.PAYLOAD_TOO_LARGE,
                           f"Request body exceeds {cap} bytes outside media parts (data URIs in image, "
                           f"audio, video and file parts may take it to {settings.max_media_body_bytes} bytes)")


async def read_body(request: Request) -> bytes:
    """A body relayed as bytes (passthrough): past the plain cap, it must be JSON whose excess is media."""
    raw = await request.body()
    if len(raw) > request.app.state.settings.max_body_bytes:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        check_media_allowance(request, raw, data)
    return raw


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the JSON request body."""
    _MODELS[model.__name__] = model
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": REF.format(model=model.__name__)}}}}}


def install_schemas(app: FastAPI) -> None:
    """Make /openapi.json include the body models declared with json_body."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in _MODELS.values():
            full = model.model_json_schema(ref_template=REF)
            comps.update(full.pop("$defs", {}))
            comps[model.__name__] = full
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
