"""Wires a process's tenancy parts: JWT verifier, revocation and config feeds (or followers), key-use tracking,
the app cache and the Config service."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.auth.platform_jwt import JwksSource, JwtVerifier
from tokenyard.auth.revocations import RevocationEvent, RevocationFeed
from tokenyard.auth.service import AuthService
from tokenyard.auth.usage import KeyUseTracker
from tokenyard.catalog import Catalog
from tokenyard.changefeed import StreamFollower
from tokenyard.clients.auth import AuthClient
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.clients.auth_keys import KeyIssuer, LocalKeyIssuer, RemoteKeyIssuer
from tokenyard.clients.chats import tool_names_reader
from tokenyard.clients.config import ConfigClient
from tokenyard.clients.config_cache import AppCache
from tokenyard.config.changes import ChangeEvent, ChangeFeed
from tokenyard.config.service import ConfigService
from tokenyard.principal import Principal
from tokenyard.settings import Settings


def jwt_verifier(settings: Settings) -> JwtVerifier:
    """The platform JWT verifier the settings describe (accepts nothing when neither secret nor JWKS is set)."""
    jwks = JwksSource(settings.jwks_url) if settings.jwks_url else None
    return JwtVerifier(settings.jwt_secret, jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


@dataclass
class Tenancy:
    """Keeps this process's credential and app caches fresh.

    With the Auth (Config) service local, the process polls its table every ~200 ms; without it, the process
    follows the service's WatchRevocations (WatchChanges) stream and clears its cache whenever the stream
    breaks, so a revoked key or changed app config is never served from a stale cache for more than ~1 s.
    """

    app_cache: AppCache
    config_service: ConfigService | None = None
    revocation_feed: RevocationFeed | None = None
    change_feed: ChangeFeed | None = None
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)

    @classmethod
    async def start(cls, *, settings: Settings, services: frozenset[str], catalog: Catalog,
                    sessions: async_sessionmaker | None, authenticator: CachedAuthenticator,
                    auth_service: AuthService | None,
                    channel: Callable[[str], grpc.aio.Channel]) -> Tenancy:
        """Build and start every background part this process needs."""
        config_service = None
        if "config" in services:
            keys: KeyIssuer = (LocalKeyIssuer(auth_service) if auth_service is not None
                               else RemoteKeyIssuer(channel("auth"), settings.internal_secret))
            config_service = ConfigService(sessions, catalog, tool_names=tool_names_reader(sessions),
                                           revoke_app_keys=keys.revoke_app)
        loader = (config_service.snapshot if config_service is not None
                  else ConfigClient(channel("config"), settings.internal_secret).snapshot)
        t = cls(app_cache=AppCache(loader, ttl=settings.key_cache_ttl_seconds), config_service=config_service)
        await t._start_auth(settings, sessions, authenticator, auth_service, channel)
        await t._start_config(settings, services, sessions, channel)
        if auth_service is not None:
            auth_service.set_app_owner(t.app_cache.owner)
        return t

    async def _start_auth(self, settings: Settings, sessions: async_sessionmaker | None,
                          authenticator: CachedAuthenticator, auth_service: AuthService | None,
                          channel: Callable[[str], grpc.aio.Channel]) -> None:
        def revoked(event: RevocationEvent) -> None:
            authenticator.invalidate(event.key_hash)

        if auth_service is not None and sessions is not None:
            self.revocation_feed = RevocationFeed(sessions, revoked)
            await self.revocation_feed.start()
            self._stoppers.append(self.revocation_feed.stop)
            tracker = KeyUseTracker(auth_service.record_key_use)
        else:
            client = AuthClient(channel("auth"), settings.internal_secret)
            follower = StreamFollower(client.watch_revocations, revoked, authenticator.clear)
            follower.start()
            self._stoppers.append(follower.stop)
            tracker = KeyUseTracker(client.record_key_use)
        authenticator.on_use = tracker.mark
        tracker.start()
        self._stoppers.insert(0, tracker.stop)

    async def _start_config(self, settings: Settings, services: frozenset[str],
                            sessions: async_sessionmaker | None, channel: Callable[[str], grpc.aio.Channel]) -> None:
        def changed(event: ChangeEvent) -> None:
            self.app_cache.invalidate(event.id)

        if self.config_service is not None and sessions is not None:
            self.change_feed = ChangeFeed(sessions, changed)
            await self.change_feed.start()
            self._stoppers.append(self.change_feed.stop)
        elif services & {"inference", "auth"}:
            client = ConfigClient(channel("config"), settings.internal_secret)
            follower = StreamFollower(client.watch_changes, changed, self.app_cache.clear)
            follower.start()
            self._stoppers.append(follower.stop)

    async def enabled_tools(self, principal: Principal, app_id: str) -> list[str] | None:
        """An app's `enabledTools` for the chat API (None for app-less calls or apps that set none)."""
        snap = await self.app_cache.get(app_id) if app_id else None
        if snap is None or not snap.config.enabled_tools:
            return None
        return list(snap.config.enabled_tools)

    async def default_model(self, principal: Principal, app_id: str) -> str:
        """An app's `defaultModel` for the chat API ('' for app-less calls or apps that set none)."""
        snap = await self.app_cache.get(app_id) if app_id else None
        return snap.config.default_model if snap is not None and snap.config.default_model else ""

    def close_streams(self) -> None:
        """End the watch streams this process serves (call before stopping the gRPC server)."""
        for feed in (self.revocation_feed, self.change_feed):
            if feed is not None:
                feed.broadcaster.close()

    async def stop(self) -> None:
        """Stop every background task (flushing pending key uses first)."""
        for stop in self._stoppers:
            await stop()
