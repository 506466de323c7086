"""Body bytes -> request proto for the fast inference routes: one parse, the checks the pydantic schemas did.

`decode_chat` is the one place that turns a chat completions body into the Router's request message: the typed
core's `decode_chat_request` (one msgspec parse, the 400s the FastAPI route gives), then the proto. Embeddings
bodies that `plain_embeddings` cannot vouch for go through the pydantic model, so every bad input keeps exactly
the 400 it had.
"""
from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from tokenyard.embeddings import convert as embed_convert
from tokenyard.embeddings.v1 import embeddings_service_pb2 as epb
from tokenyard.inference import convert
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.protocol.openai_chat import decode_chat_request
from tokenyard.settings import Settings
from tokenyard_http.body import check_media_cap, parse_json, validate
from tokenyard_http.errors import validation_error
from tokenyard_http.fastpath.check import plain_embeddings
from tokenyard_http.schemas.embeddings import EmbeddingRequest


def decode_chat(raw: bytes, settings: Settings) -> pb.ChatCompletionRequest:
    """A chat completions body as the Router's request; GatewayError (400/413) as the FastAPI route had it."""
    if len(raw) > settings.max_body_bytes:  # past the plain cap only media may take the room
        check_media_cap(raw, parse_json(raw), settings)
    return convert.request_to_pb(decode_chat_request(raw))


def decode_embeddings(raw: bytes, settings: Settings, app_id: str, request_id: str) -> tuple[epb.EmbedRequest, str]:
    """An embeddings body as the Embeddings service's request, and the encoding format of the answer."""
    data = _load(raw, settings)
    if not plain_embeddings(data):
        data = _validated(data, EmbeddingRequest)
    req = embed_convert.request_to_pb(data, app_id=app_id, request_id=request_id)
    return req, data.get("encoding_format") or "float"


def _load(raw: bytes, settings: Settings) -> Any:
    """Parsed once; beyond the plain body cap only media may take the room (same rule as body.read_json)."""
    data = parse_json(raw)
    check_media_cap(raw, data, settings)
    return data


def _validated(data: Any, model: type[BaseModel]) -> dict[str, Any]:
    """The pydantic model's verdict: its 400 for a bad body, else the body as the route used to see it."""
    try:
        return validate(model, data).model_dump(exclude_unset=True)
    except RequestValidationError as exc:
        raise validation_error(exc) from None
