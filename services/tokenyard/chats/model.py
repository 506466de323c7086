"""How the chat app reaches models: one streamed call at a time (clients.router.RouterModel opens it through
the Router, like every other caller)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from tokenyard.protocol.models import Chunk


@dataclass
class ModelStream:
    """An admitted model call: response metadata (rate-limit state, target) and its typed chunks."""

    metadata: dict[str, str]
    chunks: AsyncIterator[Chunk]


class ChatModel(Protocol):
    """Opens one streamed model call; raises GatewayError when the call is refused."""

    async def open(self, credential: str, request: dict[str, Any], *, app_id: str,
                   request_id: str) -> ModelStream: ...
