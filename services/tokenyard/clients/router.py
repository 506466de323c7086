"""The Router as the services hosted in its process reach it: the chat app and Embeddings.

Both always run next to the Router (in the all-in-one process and in the split Inference process), so there
is no gRPC variant: they use its in-process pipeline (`begin` / `stream` / `finish`: authentication, app
policy, limits, credits, metering) and, for Embeddings, its dispatcher and prompt estimate. This module is
the one place that names those Router parts for them; the facade reaches the Router through
`clients.inference` instead.
"""
from __future__ import annotations

from typing import Any

from tokenyard.chats.model import ModelStream
from tokenyard.inference.context import CallContext
from tokenyard.inference.convert import request_to_dict
from tokenyard.inference.dispatch import Dispatcher
from tokenyard.inference.estimate import prompt_estimate
from tokenyard.inference.service import Router
from tokenyard.protocol.openai_chat import chat_request_from_dict

__all__ = ["CallContext", "Dispatcher", "Router", "RouterModel", "prompt_estimate", "request_to_dict"]


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
