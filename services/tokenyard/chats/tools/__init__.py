"""Tools the gateway runs for chats: built-ins (calculator, weather, search) and apps' webhook tools."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping

import httpx

from tokenyard.catalog import BUILTIN_TOOLS, ToolBackend
from tokenyard.chats.store import ChatStore
from tokenyard.chats.tools.base import Tool
from tokenyard.chats.tools.calculator import CalculatorTool
from tokenyard.chats.tools.search import SearchTool
from tokenyard.chats.tools.weather import WeatherTool
from tokenyard.chats.tools.webhook import WebhookTool
from tokenyard.egress import EgressPolicy
from tokenyard.principal import Principal

BUILTIN_NAMES = frozenset(BUILTIN_TOOLS)
EnabledTools = Callable[[Principal, str], Awaitable[Iterable[str] | None]]
"""An app's `enabledTools` (None when the app sets none, or for app-less calls: the defaults apply)."""


async def no_app_config(principal: Principal, app_id: str) -> None:
    """Default source of enabled tools until app configs carry `enabledTools`."""
    return None


def builtin_tools(backends: Mapping[str, ToolBackend], http: httpx.AsyncClient,
                  env: Mapping[str, str] | None = None, *, offline: bool = False) -> dict[str, Tool]:
    """The built-ins this deployment can run: calculator always; weather/search when the catalog names their
    backend (`tools: {weather: {url, geocoding_url}, search: {url}}`; weather defaults to Open-Meteo) and the
    site is not `offline` (TOKENYARD_TOOLS_OFFLINE: no tool that calls out over the network)."""
    env = env if env is not None else os.environ
    if offline:
        backends = {}

    def key(b: ToolBackend) -> str:
        return env.get(b.api_key_env, "") if b.api_key_env else ""

    out: dict[str, Tool] = {"calculator": CalculatorTool()}
    if "weather" in backends:
        b = backends["weather"]
        out["weather"] = WeatherTool(http, b.url, b.geocoding_url, key(b))
    if "search" in backends:
        out["search"] = SearchTool(http, backends["search"].url, key(backends["search"]))
    return out


def not_configured(name: str) -> str | None:
    """The tool result for a call to a built-in this gateway does not run (None for other names)."""
    if name not in BUILTIN_NAMES:
        return None
    return (f"the {name} tool is not configured on this gateway: an operator enables it with "
            f"`tools: {{{name}: {{url: ...}}}}` in the config file (and without TOKENYARD_TOOLS_OFFLINE)")


class Toolbox:
    """Which tools a caller's chat may use: the enabled built-ins plus the webhook tools of its app.

    With no `enabledTools` (app-less calls, or apps that set none) every available built-in is enabled:
    calculator always, weather and search when the operator configured their backends.
    """

    def __init__(self, builtins: Mapping[str, Tool], store: ChatStore, http: httpx.AsyncClient,
                 egress: EgressPolicy, enabled: EnabledTools = no_app_config) -> None:
        self.builtins = dict(builtins)
        self._store = store
        self._http = http
        self.egress = egress
        self._enabled = enabled

    async def enabled_builtins(self, principal: Principal, app_id: str) -> list[str]:
        """Names of the built-ins enabled for this caller."""
        names = await self._enabled(principal, app_id)
        chosen = set(self.builtins) if names is None else set(names) & set(self.builtins)
        return sorted(chosen)

    async def for_caller(self, principal: Principal, app_id: str) -> dict[str, Tool]:
        """Tool name -> tool, for one turn."""
        tools: dict[str, Tool] = {n: self.builtins[n] for n in await self.enabled_builtins(principal, app_id)}
        for row in await self._store.tools(principal.account_id, app_id):
            tools[row.name] = WebhookTool(row, self._http, self.egress)
        return tools
