"""Fake Anthropic upstream: /v1/messages (JSON + SSE events), count_tokens and models, Anthropic errors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from .faults import Fault
from .recording import sse
from .scripting import Reply, count_words, json_pieces, last_user_text, native_finish, random_id
from .scripting import text_pieces
from .server import FakeServer

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                529: "overloaded_error"}
_DEFAULT_MESSAGES = {"overloaded_error": "Overloaded", "api_error": "Internal server error",
                     "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
                     "authentication_error": "invalid x-api-key", "not_found_error": "Not found",
                     "invalid_request_error": "Invalid request", "permission_error": "Permission denied",
                     "request_too_large": "Request exceeds the maximum allowed number of bytes."}


def _usage(reply: Reply, output_tokens: int | None = None) -> dict[str, Any]:
    out = reply.completion_tokens if output_tokens is None else output_tokens
    return {"input_tokens": reply.prompt_tokens, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": out, "service_tier": "standard"}


class FakeAnthropic(FakeServer):
    """Anthropic Messages API fake (``x-api-key`` + ``anthropic-version`` checked when a key is required)."""

    provider = "anthropic"
    health_paths = ("/v1/models",)

    def __init__(self, port: int = 0, host: str = "127.0.0.1", require_api_key: str | None = None,
                 models: list[str] | None = None) -> None:
        self.models = models or ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
        super().__init__(port, host, require_api_key)

    # ----- presets ----------------------------------------------------------------------
    @staticmethod
    def context_too_long(**kw: Any) -> Fault:
        """400 invalid_request_error 'prompt is too long: 250000 tokens > 200000 maximum'."""
        return Fault.status(400, "prompt is too long: 250000 tokens > 200000 maximum",
                            "invalid_request_error", **kw)

    @staticmethod
    def overloaded(**kw: Any) -> Fault:
        """529 overloaded_error (Anthropic's real 'Overloaded' response)."""
        return Fault.status(529, "Overloaded", "overloaded_error", **kw)

    # ----- hooks ------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/v1/messages", self._messages, ["POST"]),
            self.route("/v1/messages/count_tokens", self._count_tokens, ["POST"]),
            self.route("/v1/models", self._models, ["GET"]),
        ]

    def error_payload(self, status: int, message: str | None, error_type: str | None) -> dict[str, Any]:
        etype = error_type or _ERROR_TYPES.get(status, "api_error")
        error = {"type": etype, "message": message or _DEFAULT_MESSAGES.get(etype, etype)}
        return {"type": "error", "error": error, "request_id": random_id("req_011C", 20)}

    def stream_error_chunk(self, fault: Fault) -> bytes:
        payload = self.error_payload(fault.status_code, fault.message, fault.error_type)
        return sse({"type": "error", "error": payload["error"]}, event="error")

    def auth_error(self, request: Request) -> Response | None:
        if self.require_api_key is None:
            return None
        key = request.headers.get("x-api-key")
        if key is None and request.headers.get("authorization", "").startswith("Bearer "):
            key = request.headers["authorization"][7:]
        if key != self.require_api_key:
            return self.error_response(401, "invalid x-api-key", "authentication_error")
        if not request.headers.get("anthropic-version"):
            return self.error_response(400, "anthropic-version: header is required", "invalid_request_error")
        return None

    # ----- endpoints --------------------------------------------------------------------
    def _validate(self, body: Any, need_max_tokens: bool) -> Response | None:
        if not isinstance(body, dict):
            return self.error_response(400, "Request body must be a JSON object")
        for name in ("model", "messages") + (("max_tokens",) if need_max_tokens else ()):
            if name not in body:
                return self.error_response(400, f"{name}: Field required")
        if not isinstance(body["messages"], list):
            return self.error_response(400, "messages: Input should be a valid list")
        return None

    async def _messages(self, request: Request) -> Response:
        body = self.body_of(request)
        invalid = self._validate(body, need_max_tokens=True)
        if invalid is not None:
            return invalid
        prompt = {k: body[k] for k in ("system", "messages") if k in body}
        reply = self.next_reply(prompt, last_user_text(body["messages"]), body.get("max_tokens"))
        msg_id, model = random_id("msg_01", 22), body["model"]
        tool_ids = [tc.id or random_id("toolu_01", 22) for tc in reply.tool_calls]
        if body.get("stream"):
            return self.stream(self._events(msg_id, model, reply, tool_ids))
        content: list[dict[str, Any]] = []
        if reply.text or not tool_ids:
            content.append({"type": "text", "text": reply.text})
        content += [{"type": "tool_use", "id": tid, "name": tc.name, "input": tc.args}
                    for tid, tc in zip(tool_ids, reply.tool_calls)]
        return JSONResponse({"id": msg_id, "type": "message", "role": "assistant", "model": model,
                             "content": content, "stop_reason": native_finish("anthropic", reply.finish),
                             "stop_sequence": None, "usage": _usage(reply)})

    def _events(self, msg_id: str, model: str, reply: Reply, tool_ids: list[str]) -> list[bytes]:
        def ev(kind: str, **data: Any) -> bytes:
            return sse({"type": kind, **data}, event=kind)

        message = {"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": _usage(reply, output_tokens=1)}
        out = [ev("message_start", message=message)]
        index = 0
        if reply.text or not tool_ids:
            out.append(ev("content_block_start", index=0, content_block={"type": "text", "text": ""}))
            out.append(ev("ping"))
            out += [ev("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
                    for piece in text_pieces(reply.text)]
            out.append(ev("content_block_stop", index=0))
            index = 1
        for tid, tc in zip(tool_ids, reply.tool_calls):
            block = {"type": "tool_use", "id": tid, "name": tc.name, "input": {}}
            out.append(ev("content_block_start", index=index, content_block=block))
            if index == 0:
                out.append(ev("ping"))
            out += [ev("content_block_delta", index=index,
                       delta={"type": "input_json_delta", "partial_json": p})
                    for p in ["", *json_pieces(tc.arguments)]]
            out.append(ev("content_block_stop", index=index))
            index += 1
        out.append(ev("message_delta", delta={"stop_reason": native_finish("anthropic", reply.finish),
                                              "stop_sequence": None},
                      usage={"output_tokens": reply.completion_tokens}))
        out.append(ev("message_stop"))
        return out

    async def _count_tokens(self, request: Request) -> Response:
        body = self.body_of(request)
        invalid = self._validate(body, need_max_tokens=False)
        if invalid is not None:
            return invalid
        prompt = {k: body[k] for k in ("system", "messages") if k in body}
        return JSONResponse({"input_tokens": max(1, count_words(prompt))})

    async def _models(self, request: Request) -> Response:
        data = [{"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                 "created_at": "2025-05-22T00:00:00Z"} for m in self.models]
        ids = [m["id"] for m in data] or [None]
        return JSONResponse({"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]})
