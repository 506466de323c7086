"""How the chat app reaches models: through the Router (begin + stream), like every other caller."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from tokenyard.inference.service import Router
from tokenyard.protocol.openai_chat import chat_request_from_dict


@dataclass
class ModelStream:
    """An admitted model call: response metadata (rate-limit state, target) and its OpenAI chunks."""

    metadata: dict[str, str]
    chunks: AsyncIterator[dict[str, Any]]


class ChatModel(Protocol):
    """Opens one streamed model call; raises GatewayError when the call is refused."""

    async def open(self, credential: str, request: dict[str, Any], *, app_id: str,
                   request_id: str) -> ModelStream: ...


class RouterModel:
    """The in-process Router (the chat app lives in the Inference process): policies, dispatch and
    metering apply to every step exactly as to /v1/chat/completions."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def open(self, credential: str, request: dict[str, Any], *, app_id: str,
                   request_id: str) -> ModelStream:
        """Authenticate and admit the call; the chunks must be consumed (that is what meters it)."""
        ctx = await self._router.begin(credential, chat_request_from_dict(request), app_id=app_id,
                                       client_request_id=request_id)  # the chat app builds OpenAI dicts
        return ModelStream(ctx.response_metadata, self._router.stream(ctx))
