"""The state of one inference call as it moves through policies, dispatch and metering."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokenyard.catalog import ModelSpec
from tokenyard.principal import Principal

if TYPE_CHECKING:
    from tokenyard.inference.estimate import PromptEstimate


@dataclass
class CallContext:
    """Everything known about one request. Policies may edit `request` before dispatch."""

    request_id: str
    """The gateway-generated id of this call and of its one usage record."""
    principal: Principal
    request: dict[str, Any]
    app_id: str = ""
    kind: str = "chat"
    client_request_id: str = ""
    """The caller's correlation id (its `X-Request-Id`): logged and stored on the usage record, nothing more."""
    model: ModelSpec | None = None
    requested_model: str = ""
    target: str = ""
    started: float = field(default_factory=time.perf_counter)
    first_byte: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False
    prompt_estimate: PromptEstimate | None = None
    """The prompt's tokens counted before the call (estimate.py), once, for credits, limits and metering."""
    status: str = "ok"
    reservation_id: str = ""
    response_metadata: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    explicit_target: Any = None
    """An `UpstreamTarget` a policy pinned the call to (e.g. a deployment); the Dispatcher then tries only it."""

    @property
    def account_id(self) -> str:
        """The account charged for this call."""
        return self.principal.account_id

    def elapsed_ms(self) -> float:
        """Milliseconds since the call started."""
        return (time.perf_counter() - self.started) * 1000.0

    def ttft_ms(self) -> float:
        """Milliseconds to the first streamed byte (0 when not streamed)."""
        return (self.first_byte - self.started) * 1000.0 if self.first_byte else 0.0
