"""Fake OpenAI upstream: chat completions (JSON + SSE), embeddings, models and the videos API."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from .recording import sse
from .scripting import Reply, count_words, fake_embedding, float32_base64, json_pieces, last_user_text
from .scripting import native_finish, random_id, text_pieces
from .server import FakeServer

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 429: "requests", 500: "server_error", 503: "server_error"}
_ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
_DEFAULT_MESSAGES = {400: "Invalid request.", 401: "Incorrect API key provided.", 404: "Not found.",
                     429: "Rate limit reached for requests. Please try again in 1s.",
                     500: "The server had an error while processing your request. Sorry about that!",
                     503: "The engine is currently overloaded, please try again later."}
_EMBED_DIMS = {"text-embedding-3-large": 3072}


def _usage(reply: Reply) -> dict[str, Any]:
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


class FakeOpenAI(FakeServer):
    """OpenAI-compatible fake: /v1/chat/completions, /v1/embeddings, /v1/models, /v1/videos."""

    provider = "openai"
    health_paths = ("/v1/models",)

    def __init__(self, port: int = 0, host: str = "127.0.0.1", require_api_key: str | None = None,
                 models: list[str] | None = None, video_polls: int = 2,
                 video_content: bytes = b"\x00\x00\x00\x18ftypmp42FAKEVIDEO", video_fail: bool = False,
                 system_fingerprint: str = "fp_f4ke0001") -> None:
        self.models = models or ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "sora-2"]
        self.video_polls = video_polls
        self.video_content = video_content
        self.video_fail = video_fail
        self.system_fingerprint = system_fingerprint
        self.report_usage = True
        """False: answer like servers that report no usage (no `usage` in answers, no usage chunk)."""
        self.videos: dict[str, dict[str, Any]] = {}
        self._video_polls_seen: dict[str, int] = {}
        super().__init__(port, host, require_api_key)

    @property
    def base_url(self) -> str:
        """Base URL for OpenAI SDKs (``.../v1``)."""
        return f"{self.url}/v1"

    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/v1/chat/completions", self._chat, ["POST"]),
            self.route("/v1/embeddings", self._embeddings, ["POST"]),
            self.route("/v1/models", self._models, ["GET"]),
            self.route("/v1/models/{model:path}", self._model, ["GET"]),
            self.route("/v1/videos", self._video_create, ["POST"]),
            self.route("/v1/videos/{video_id}", self._video_get, ["GET", "DELETE"]),
            self.route("/v1/videos/{video_id}/content", self._video_content, ["GET"]),
        ]

    def error_payload(self, status: int, message: str | None, error_type: str | None) -> dict[str, Any]:
        return {"error": {"message": message or _DEFAULT_MESSAGES.get(status, "Request failed."),
                          "type": error_type or _ERROR_TYPES.get(status, "server_error"),
                          "param": None, "code": _ERROR_CODES.get(status)}}

    def auth_error(self, request: Request) -> Response | None:
        if self.require_api_key is None:
            return None
        auth = request.headers.get("authorization", "")
        if not auth:
            return self.error_response(401, "You didn't provide an API key. You need to provide your API key "
                                       "in an Authorization header using Bearer auth (i.e. Authorization: "
                                       "Bearer YOUR_KEY).")
        token = auth.removeprefix("Bearer ").strip()
        if token != self.require_api_key:
            return self.error_response(401, f"Incorrect API key provided: {token[:6]}****. You can find your "
                                       "API key at https://platform.openai.com/account/api-keys.")
        return None

    # ----- chat -----------------------------------------------------------------------
    async def _chat(self, request: Request) -> Response:
        body = self.body_of(request)
        if not isinstance(body, dict):
            return self.error_response(400, "We could not parse the JSON body of your request.")
        if not body.get("model"):
            return self.error_response(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error_response(400, "Invalid 'messages': empty array. Expected an array with "
                                       "minimum length 1, but got an empty array instead.")
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        reply = self.next_reply(messages, last_user_text(messages), max_tokens)
        head = {"id": random_id("chatcmpl-", 29), "created": int(time.time()), "model": body["model"]}
        if body.get("stream"):
            include_usage = self.report_usage and bool((body.get("stream_options") or {}).get("include_usage"))
            return self.stream(self._chunks(head, reply, include_usage))
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None,
                                   "annotations": []}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": tc.id or random_id("call_"), "type": "function",
                 "function": {"name": tc.name, "arguments": tc.arguments}} for tc in reply.tool_calls]
        answer = {
            "id": head["id"], "object": "chat.completion", "created": head["created"], "model": head["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": native_finish("openai", reply.finish)}],
            "usage": _usage(reply), "service_tier": "default", "system_fingerprint": self.system_fingerprint,
        }
        if not self.report_usage:
            del answer["usage"]
        return JSONResponse(answer)

    def _chunks(self, head: dict[str, Any], reply: Reply, include_usage: bool) -> list[bytes]:
        base = {"id": head["id"], "object": "chat.completion.chunk", "created": head["created"],
                "model": head["model"], "service_tier": "default",
                "system_fingerprint": self.system_fingerprint}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                         "finish_reason": finish}]}
            if include_usage:
                data["usage"] = None
            return sse(data)

        out = [chunk({"role": "assistant", "content": "" if reply.text else None, "refusal": None})]
        out += [chunk({"content": piece}) for piece in text_pieces(reply.text)]
        for index, tc in enumerate(reply.tool_calls):
            call = {"index": index, "id": tc.id or random_id("call_"), "type": "function",
                    "function": {"name": tc.name, "arguments": ""}}
            out.append(chunk({"tool_calls": [call]}))
            out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                    for piece in json_pieces(tc.arguments)]
        out.append(chunk({}, native_finish("openai", reply.finish)))
        if include_usage:
            out.append(sse({**base, "choices": [], "usage": _usage(reply)}))
        out.append(b"data: [DONE]\n\n")
        return out

    # ----- embeddings / models --------------------------------------------------------
    async def _embeddings(self, request: Request) -> Response:
        body = self.body_of(request)
        if not isinstance(body, dict) or body.get("input") in (None, "", []):
            return self.error_response(400, "'input' is a required property")
        model = str(body.get("model", "text-embedding-3-small"))
        raw = body["input"]
        items = [raw] if isinstance(raw, str) or (isinstance(raw, list) and isinstance(raw[0], int)) else raw
        dims = int(body.get("dimensions") or _EMBED_DIMS.get(model, 1536))
        b64 = body.get("encoding_format") == "base64"
        data, tokens = [], 0
        for index, item in enumerate(items):
            text = item if isinstance(item, str) else " ".join(str(t) for t in item)
            tokens += count_words(item) if isinstance(item, str) else len(item)
            vec = fake_embedding(text, dims)
            data.append({"object": "embedding", "index": index,
                         "embedding": float32_base64(vec) if b64 else vec})
        return JSONResponse({"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _model_obj(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_obj(m) for m in self.models]})

    async def _model(self, request: Request) -> Response:
        model = request.path_params["model"]
        if model not in self.models:
            return self.error_response(404, f"The model '{model}' does not exist", "invalid_request_error")
        return JSONResponse(self._model_obj(model))

    # ----- videos ---------------------------------------------------------------------
    async def _video_create(self, request: Request) -> Response:
        rec = request.scope["fake.ctx"].record
        params: dict[str, Any] = rec.json if isinstance(rec.json, dict) else dict(rec.form())
        if not params.get("prompt"):
            return self.error_response(400, "Missing required parameter: 'prompt'.")
        video_id = random_id("video_", 32)
        self.videos[video_id] = {
            "id": video_id, "object": "video", "created_at": int(time.time()), "status": "queued",
            "model": params.get("model") or "sora-2", "progress": 0, "prompt": params["prompt"],
            "seconds": str(params.get("seconds") or "4"), "size": params.get("size") or "720x1280",
            "completed_at": None, "expires_at": None, "error": None, "remixed_from_video_id": None,
        }
        self._video_polls_seen[video_id] = 0
        return JSONResponse(self.videos[video_id])

    async def _video_get(self, request: Request) -> Response:
        video_id = request.path_params["video_id"]
        video = self.videos.get(video_id)
        if video is None:
            return self.error_response(404, f"Video with id '{video_id}' not found.")
        if request.method == "DELETE":
            del self.videos[video_id]
            return JSONResponse({"id": video_id, "object": "video.deleted", "deleted": True})
        if video["status"] in ("queued", "in_progress"):
            seen = self._video_polls_seen[video_id] = self._video_polls_seen[video_id] + 1
            if seen >= self.video_polls:
                now = int(time.time())
                if self.video_fail:
                    video.update(status="failed", error={"code": "video_generation_failed",
                                                         "message": "Video generation failed."})
                else:
                    video.update(status="completed", progress=100, completed_at=now, expires_at=now + 3600)
            else:
                video.update(status="in_progress", progress=int(100 * seen / max(1, self.video_polls)))
        return JSONResponse(video)

    async def _video_content(self, request: Request) -> Response:
        video_id = request.path_params["video_id"]
        video = self.videos.get(video_id)
        if video is None:
            return self.error_response(404, f"Video with id '{video_id}' not found.")
        if video["status"] != "completed":
            return self.error_response(400, f"Video '{video_id}' is not ready (status: {video['status']}).")
        variant = request.query_params.get("variant", "video")
        media = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}.get(variant)
        if media is None:
            return self.error_response(400, f"Invalid variant '{variant}'.")
        return Response(self.video_content, 200, media_type=media)
