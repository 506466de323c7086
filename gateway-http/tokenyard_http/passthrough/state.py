"""What the passthrough routes need, built once per facade process: catalog, pooled HTTP client, the app cache
(Config, kept fresh by its change stream), the credential cache (Auth, kept fresh by revocations), usage sink, and
Metering's rate limiter (for apps that allow passthrough without a tokenyard key)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tokenyard.catalog import Catalog, ProviderSpec, load_catalog
from tokenyard.changefeed import StreamFollower
from tokenyard.clients.auth import AuthClient
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.clients.config import ConfigClient
from tokenyard.clients.config_cache import AppCache
from tokenyard.clients.metering import MeteringClient
from tokenyard.clients.usage_sink import UsageSink
from tokenyard.config.model import AppSnapshot
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import channel
from tokenyard.settings import Settings

PASSTHROUGH_KINDS = ("openai", "anthropic", "gemini")


@dataclass
class Passthrough:
    """Shared state of the passthrough routes (on `app.state.passthrough`)."""

    catalog: Catalog
    http: httpx.AsyncClient
    apps: AppCache
    auth: CachedAuthenticator
    sink: UsageSink
    limits: MeteringClient | None = None
    unauthenticated_rpm: int = 60
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings, catalog: Catalog | None = None, sink: UsageSink | None = None
              ) -> Passthrough:
        """Connect to Config, Auth and Metering with the internal credential and start following their feeds.

        `sink`: a running usage sink owned by the caller (in the all-in-one process, the Router's, which spools
        every event durably before handing it to Metering). Without one, usage goes to Metering over gRPC
        through a sink of our own: batched, retried with backoff while Metering is down, kept in memory."""
        channels: dict[str, Any] = {}

        def ch(service: str) -> Any:
            addr = settings.service_addr(service)
            channels.setdefault(addr, channel(addr))
            return channels[addr]

        config = ConfigClient(ch("config"), settings.internal_secret)
        apps = AppCache(config.snapshot, ttl=settings.key_cache_ttl_seconds)
        auth_client = AuthClient(ch("auth"), settings.internal_secret)
        auth = CachedAuthenticator(auth_client.authenticate, ttl=settings.key_cache_ttl_seconds)
        followers = [StreamFollower(config.watch_changes, lambda e: apps.invalidate(e.id), apps.clear),
                     StreamFollower(auth_client.watch_revocations, lambda e: auth.invalidate(e.key_hash), auth.clear)]
        own_sink = sink is None
        if sink is None:
            sink = UsageSink(MeteringClient(ch("metering"), settings.internal_secret).record)
        http = httpx.AsyncClient(timeout=None, trust_env=False, follow_redirects=False,
                                 limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200))
        for f in followers:
            f.start()
        if own_sink:
            sink.start()
        limits = MeteringClient(ch("metering"), settings.internal_secret)
        state = cls(catalog or load_catalog(settings.config), http, apps, auth, sink, limits,
                    settings.passthrough_unauthenticated_rpm)
        state._closers = [*(f.stop for f in followers), *([sink.stop] if own_sink else []), http.aclose,
                          *(c.close for c in channels.values())]
        return state

    async def close(self) -> None:
        """Flush usage and close everything."""
        for close in self._closers:
            await close()

    def provider(self, provider_id: str) -> ProviderSpec:
        """A configured provider reachable by passthrough; 404 for anything else (no open proxy)."""
        spec = self.catalog.providers.get(provider_id)
        if spec is None or spec.kind not in PASSTHROUGH_KINDS or not spec.base_url:
            raise GatewayError(ErrorKind.NOT_FOUND, f"Unknown provider {provider_id!r} for passthrough",
                               param="provider")
        return spec

    async def gateway(self, account_id: str, gateway_id: str) -> AppSnapshot:
        """The app `gateway_id` of `account_id`; 404 unless the account owns it."""
        snap = await self.apps.get(gateway_id) if gateway_id.startswith("app_") else None
        if snap is None or snap.app.owner != account_id:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No gateway {gateway_id!r} for account {account_id!r}")
        return snap
