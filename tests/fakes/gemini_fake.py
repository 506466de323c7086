"""Fake Gemini upstream: generateContent / streamGenerateContent, embeddings, countTokens, Google errors."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from .recording import sse
from .scripting import Reply, count_words, fake_embedding, native_finish, random_id, text_pieces
from .server import FakeServer

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
           503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_DEFAULT_MESSAGES = {429: "Resource has been exhausted (e.g. check quota).",
                     500: "An internal error has occurred. Please retry or report in "
                          "https://developers.generativeai.google/guide/troubleshooting",
                     503: "The model is overloaded. Please try again later."}
_GENERATE_ACTIONS = ("generateContent", "streamGenerateContent")


def _parts_text(content: Any) -> str:
    parts = content.get("parts", []) if isinstance(content, dict) else []
    return " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _last_user_text(contents: list[dict[str, Any]]) -> str:
    for content in reversed(contents):
        if content.get("role", "user") == "user":
            text = _parts_text(content)
            if text:
                return text
    return ""


class FakeGemini(FakeServer):
    """Gemini API fake under ``/v1beta/models/{model}:{action}`` (``/v1/...`` accepted too)."""

    provider = "gemini"
    health_paths = ("/v1beta/models", "/v1/models")

    def __init__(self, port: int = 0, host: str = "127.0.0.1", require_api_key: str | None = None,
                 models: list[str] | None = None) -> None:
        self.models = models or ["gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"]
        super().__init__(port, host, require_api_key)

    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/{version}/models", self._models, ["GET"]),
            self.route("/{version}/models/{target:path}", self._dispatch_model, ["GET", "POST"]),
        ]

    def error_payload(self, status: int, message: str | None, error_type: str | None) -> dict[str, Any]:
        text = message or _DEFAULT_MESSAGES.get(status, "Request failed.")
        code = error_type or _STATUS.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": text, "status": code}}

    def auth_error(self, request: Request) -> Response | None:
        if self.require_api_key is None:
            return None
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if key is None:
            return self.error_response(403, "Method doesn't allow unregistered callers (callers without "
                                       "established identity). Please use API Key or other form of API "
                                       "consumer identity to call this API.")
        if key != self.require_api_key:
            payload = self.error_payload(400, "API key not valid. Please pass a valid API key.", None)
            payload["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                                            "metadata": {"service": "generativelanguage.googleapis.com"}}]
            return JSONResponse(payload, 400)
        return None

    # ----- routing --------------------------------------------------------------------
    async def _dispatch_model(self, request: Request) -> Response:
        target: str = request.path_params["target"]
        model, _, action = target.partition(":")
        if request.method == "GET" and not action:
            if model not in self.models:
                return self.error_response(404, f"models/{model} is not found for API version "
                                           f"{request.path_params['version']}")
            return JSONResponse(self._model_obj(model))
        body = self.body_of(request)
        if request.method != "POST" or not isinstance(body, dict):
            return self.error_response(400, "Invalid JSON payload received.")
        if action in _GENERATE_ACTIONS:
            return self._generate(model, body, action == "streamGenerateContent",
                                  request.query_params.get("alt") == "sse")
        if action == "embedContent":
            return JSONResponse({"embedding": self._embed(model, body)})
        if action == "batchEmbedContents":
            reqs = body.get("requests")
            if not isinstance(reqs, list) or not reqs:
                return self.error_response(400, "* BatchEmbedContentsRequest.requests: must not be empty")
            return JSONResponse({"embeddings": [self._embed(model, r) for r in reqs]})
        if action == "countTokens":
            return JSONResponse({"totalTokens": max(1, count_words(body.get("contents", [])))})
        return self.error_response(404, f"Unknown method '{action}' for models/{model}")

    # ----- generation -----------------------------------------------------------------
    def _generate(self, model: str, body: dict[str, Any], stream: bool, alt_sse: bool) -> Response:
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return self.error_response(400, "* GenerateContentRequest.contents: contents is not specified")
        config = body.get("generationConfig") or {}
        prompt = {"contents": contents, "systemInstruction": body.get("systemInstruction")}
        reply = self.next_reply(prompt, _last_user_text(contents), config.get("maxOutputTokens"))
        response_id = random_id("", 22)
        if not stream:
            return JSONResponse(self._response(model, response_id, reply, self._all_parts(reply), True))
        groups = [[{"text": piece}] for piece in text_pieces(reply.text)]
        groups += [[self._call_part(tc)] for tc in reply.tool_calls]
        groups = groups or [[{"text": ""}]]
        events = [self._response(model, response_id, reply, parts, i == len(groups) - 1)
                  for i, parts in enumerate(groups)]
        if alt_sse:
            return self.stream([sse(e) for e in events])
        chunks = [("[" if i == 0 else ",\r\n") + json.dumps(e) for i, e in enumerate(events)]
        return self.stream([c.encode() for c in chunks] + [b"]"], media_type="application/json")

    @staticmethod
    def _call_part(tc: Any) -> dict[str, Any]:
        call: dict[str, Any] = {"name": tc.name, "args": tc.args}
        if tc.id:
            call["id"] = tc.id
        return {"functionCall": call}

    def _all_parts(self, reply: Reply) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text or not reply.tool_calls else []
        return parts + [self._call_part(tc) for tc in reply.tool_calls]

    @staticmethod
    def _response(model: str, response_id: str, reply: Reply, parts: list[dict[str, Any]],
                  final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        usage: dict[str, Any] = {"promptTokenCount": reply.prompt_tokens,
                                 "totalTokenCount": reply.prompt_tokens}
        if final:
            candidate["finishReason"] = native_finish("gemini", reply.finish)
            usage.update(candidatesTokenCount=reply.completion_tokens, totalTokenCount=reply.total_tokens)
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.prompt_tokens}]
        candidate["index"] = 0
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
                "responseId": response_id}

    # ----- embeddings / models --------------------------------------------------------
    @staticmethod
    def _embed(model: str, req: dict[str, Any]) -> dict[str, Any]:
        name = str(req.get("model") or model).removeprefix("models/")
        dims = int(req.get("outputDimensionality") or (3072 if "gemini-embedding" in name else 768))
        return {"values": fake_embedding(_parts_text(req.get("content")), dims)}

    @staticmethod
    def _model_obj(model: str) -> dict[str, Any]:
        embed = "embedding" in model
        methods = ["embedContent", "batchEmbedContents"] if embed else ["generateContent", "countTokens"]
        return {"name": f"models/{model}", "version": "001", "displayName": model,
                "inputTokenLimit": 2048 if embed else 1048576, "outputTokenLimit": 1 if embed else 65536,
                "supportedGenerationMethods": methods}

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"models": [self._model_obj(m) for m in self.models]})
