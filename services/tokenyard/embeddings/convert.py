"""OpenAI embeddings dicts <-> EmbeddingsService protos, and the base64 (little-endian float32) encoding."""
from __future__ import annotations

import array
import base64
import sys
from collections.abc import Iterable
from typing import Any

from tokenyard.common.v1 import common_pb2
from tokenyard.embeddings.v1 import embeddings_service_pb2 as pb
from tokenyard.embeddings.validate import parse_input
from tokenyard.errors import invalid


def float32_base64(values: Iterable[float]) -> str:
    """A vector as OpenAI's `encoding_format: base64`: little-endian float32 bytes, base64-encoded."""
    packed = array.array("f", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def request_to_pb(body: dict[str, Any], *, app_id: str = "", request_id: str = "") -> pb.EmbedRequest:
    """An OpenAI embeddings request body as an EmbedRequest (400 for an input of the wrong shape)."""
    inputs = [pb.EmbeddingInput(text=x) if isinstance(x, str)
              else pb.EmbeddingInput(tokens=pb.TokenIds(ids=x)) for x in parse_input(body.get("input"))]
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise invalid("'dimensions' must be a positive integer", "dimensions")
    return pb.EmbedRequest(model=body.get("model") or "", inputs=inputs, dimensions=dims or 0,
                           user=body.get("user") or "", app_id=app_id, request_id=request_id)


def request_to_dict(req: pb.EmbedRequest) -> dict[str, Any]:
    """An EmbedRequest as the OpenAI-format dict the service works on (`input` always a list)."""
    body: dict[str, Any] = {"input": [i.text if i.WhichOneof("input") == "text" else list(i.tokens.ids)
                                      for i in req.inputs]}
    if req.model:
        body["model"] = req.model
    if req.dimensions:
        body["dimensions"] = req.dimensions
    if req.user:
        body["user"] = req.user
    return body


def response_to_pb(result: dict[str, Any], *, estimated: bool = False, target: str = "") -> pb.EmbedResponse:
    """The service's result dict as an EmbedResponse."""
    usage = result.get("usage") or {}
    tokens = int(usage.get("prompt_tokens") or 0)
    return pb.EmbedResponse(
        data=[pb.Embedding(index=d["index"], values=d["embedding"]) for d in result["data"]],
        model=result.get("model", ""), target=target,
        usage=common_pb2.Usage(prompt_tokens=tokens, total_tokens=tokens, estimated=estimated))


def response_to_dict(resp: pb.EmbedResponse, encoding_format: str = "float") -> dict[str, Any]:
    """An EmbedResponse as the OpenAI embeddings list; `base64` encodes each vector as float32 bytes."""
    encode = float32_base64 if encoding_format == "base64" else list
    return {"object": "list",
            "data": [{"object": "embedding", "index": e.index, "embedding": encode(e.values)}
                     for e in resp.data],
            "model": resp.model,
            "usage": {"prompt_tokens": resp.usage.prompt_tokens, "total_tokens": resp.usage.total_tokens}}
