"""What each provider kind can do, declared in one table; everything outside `providers/` asks here instead of
naming a kind. Imports nothing from the rest of tokenyard (the catalog validates kinds against it)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenyard.errors import ErrorKind, GatewayError

UsageParser = Callable[[dict[str, Any], Any], bool]
"""Folds one native answer document into `acc` (`prompt_tokens`, `completion_tokens`, `model`); True when the
document is in the provider's format (passthrough metering)."""


@dataclass(frozen=True)
class Capabilities:
    """One provider kind. `"module:name"` references are imported on first use."""

    adapter: str
    """The chat/stream/embed adapter class, constructed with the shared httpx client."""
    chat: bool = True
    stream: bool = True
    embed: bool = False
    video: str = ""
    """The video renderer class (constructed with the httpx client and options); empty: no videos."""
    passthrough: bool = False
    """Raw provider-native requests may be forwarded to its base URL (with the caller's own credentials)."""
    needs_key: bool = True
    """Calls need an API key (unless the provider names no `api_key_env`); False: built in, always configured."""
    in_process: bool = False
    """Runs inside the gateway (no upstream): e.g. its embedding models are loaded by the Embeddings service."""
    deployable: bool = False
    """May be the upstream of a user's deployment (`upstream.kind`)."""
    usage_parser: str = ""
    """`module:function` reading usage from native answers (a UsageParser); empty: passthrough is unmetered."""
    model_from_path: str = ""
    """`module:function` naming the model of a native request path (e.g. `models/{model}:generateContent`)."""


_P = "tokenyard.providers."
KINDS: dict[str, Capabilities] = {
    "local": Capabilities(f"{_P}local:LocalProvider", embed=True, video=f"{_P}local_video:TestPatternRenderer",
                          needs_key=False, in_process=True),
    "openai": Capabilities(f"{_P}openai:OpenAIProvider", embed=True, video=f"{_P}openai_video:OpenAIVideoRenderer",
                           passthrough=True, deployable=True, usage_parser=f"{_P}openai:merge_usage"),
    "anthropic": Capabilities(f"{_P}anthropic:AnthropicProvider", passthrough=True,
                              usage_parser=f"{_P}anthropic:merge_usage"),
    "gemini": Capabilities(f"{_P}gemini:GeminiProvider", embed=True, passthrough=True,
                           usage_parser=f"{_P}gemini:merge_usage", model_from_path=f"{_P}gemini:model_from_path"),
}

CAPABILITIES = ("chat", "stream", "embed", "video", "passthrough", "needs_key", "in_process", "deployable")


def known(kind: str) -> bool:
    """True for a provider kind this build has an adapter for."""
    return kind in KINDS


def capabilities(kind: str) -> Capabilities:
    """The declaration of a kind; INVALID_REQUEST naming the known kinds for anything else."""
    try:
        return KINDS[kind]
    except KeyError:
        raise GatewayError(ErrorKind.INVALID_REQUEST, f"Unknown provider kind {kind!r} (known: "
                           f"{', '.join(sorted(KINDS))})") from None


def can(kind: str, capability: str) -> bool:
    """Whether a kind has a capability (see CAPABILITIES); False for an unknown kind."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    return kind in KINDS and bool(getattr(KINDS[kind], capability))


def with_capability(capability: str) -> tuple[str, ...]:
    """The kinds that have a capability, in declaration order (e.g. for error messages and schemas)."""
    return tuple(k for k in KINDS if can(k, capability))


def load(ref: str) -> Any:
    """The object a `module:name` reference names."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def usage_parser(kind: str) -> UsageParser:
    """The kind's passthrough usage reader (one that recognises nothing when it declares none)."""
    ref = capabilities(kind).usage_parser
    return load(ref) if ref else (lambda acc, doc: False)


def model_from_path(kind: str, path: str) -> str:
    """The model a native request path names by the kind's own rule ('' when none or no rule)."""
    ref = capabilities(kind).model_from_path
    return str(load(ref)(path) or "") if ref else ""
