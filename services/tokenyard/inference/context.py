"""The state of one inference call as it moves through policies, dispatch and metering."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msgspec import UNSET

from tokenyard.catalog import ModelSpec
from tokenyard.principal import Principal
from tokenyard.protocol.models import ChatRequest

if TYPE_CHECKING:
    from tokenyard.config.model import AppConfig, AppInfo
    from tokenyard.inference.estimate import PromptEstimate
    from tokenyard.metering.ratelimit import Limit
    from tokenyard.monitoring.upstream import UpstreamClock


def request_param(request: ChatRequest | dict[str, Any], name: str) -> Any:
    """A top-level field of a chat (typed) or embeddings (dict) request; None when absent."""
    if isinstance(request, dict):
        return request.get(name)
    value = getattr(request, name, None)
    return None if value is UNSET else value


@dataclass
class CallContext:
    """Everything known about one request. Policies may edit `request` before dispatch."""

    request_id: str
    """The gateway-generated id of this call and of its one usage record."""
    principal: Principal
    request: ChatRequest | dict[str, Any]
    """The typed request of a chat; an embeddings request is still a dict."""
    app_id: str = ""
    kind: str = "chat"
    """The model type the call needs (chat, embedding): what policies and dispatch go by."""
    route: str = ""
    """The wire route the call came by when it is not `kind` itself (`responses`, `messages`): the usage
    record's kind and the metrics' route label."""
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
    reservation_share_nanos: int = 0
    """When `reservation_id` is a balance lease (leases.py): the part of it this call's usage record takes."""
    response_metadata: dict[str, str] = field(default_factory=dict)
    app: AppInfo | None = None
    """The app of an app route (set by the AppPolicy)."""
    app_config: AppConfig | None = None
    """That app's AI config: rpm/tpm for rate limits, allowed models, enabled tools."""
    upstream_model: str = ""
    """The model name the last upstream attempt was sent."""
    retries: int = 0
    """Attempts repeated on the same target."""
    fallbacks: int = 0
    """Fallback models tried."""
    upstream_clock: UpstreamClock | None = None
    """Time spent waiting on upstreams (started at admission), for the overhead metric."""
    rate_limits: tuple[list[Limit], int] | None = None
    """The rate limits this call was counted against and the prompt tokens counted at admission."""
    explicit_target: Any = None
    """An `UpstreamTarget` a policy pinned the call to (e.g. a deployment); the Dispatcher then tries only it."""

    def param(self, name: str) -> Any:
        """A top-level request field (None when absent), for policies that serve every kind of call."""
        return request_param(self.request, name)

    def set_param(self, name: str, value: Any) -> None:
        """Set a top-level request field (e.g. the app's default model)."""
        if isinstance(self.request, dict):
            self.request[name] = value
        else:
            setattr(self.request, name, value)

    @property
    def usage_kind(self) -> str:
        """The usage record's kind and the metrics' route: the wire route, else the model kind."""
        return self.route or self.kind

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
