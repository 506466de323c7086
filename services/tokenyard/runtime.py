"""Assembles the services one process runs: each dependency is a local object or a gRPC client (clients/).

A composition root: it may name every service package (the import check lets it). What it built is in
`Runtime.parts`, a typed `Parts` (None for what this process does not run)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import httpx

from tokenyard.auth.bootstrap import AdminKeyNotice, bootstrap_admin_key
from tokenyard.auth.service import AuthService
from tokenyard.auth.servicer import AuthServicer, registrar as auth_registrar
from tokenyard.catalog import Catalog, load_catalog
from tokenyard.clients.auth import AuthClient, account_exists
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.clients.auth_keys import LocalKeyIssuer, RemoteKeyIssuer
from tokenyard.clients.deployments import DeploymentCache, DeploymentClient
from tokenyard.clients.metering import MeteringClient, RateLimiter
from tokenyard.config.servicer import ConfigServicer, registrar as config_registrar
from tokenyard.deployments.wiring import start_deployments
from tokenyard.embeddings.service import EmbeddingsService
from tokenyard.embeddings.servicer import EmbeddingsServicer, registrar as embeddings_registrar
from tokenyard.embeddings.wiring import build_embeddings
from tokenyard.grpclimits import BodyLimits, max_message_bytes
from tokenyard.grpcutil import Registrar, bind_server, channel, start_server
from tokenyard.inference.app_policy import AppPolicy
from tokenyard.inference.credit_policy import CreditPolicy
from tokenyard.inference.deployment_policy import DeploymentPolicy
from tokenyard.inference.dispatch import Dispatcher
from tokenyard.inference.idempotency import IdempotencyStore
from tokenyard.inference.leases import BalanceLeases
from tokenyard.inference.metrics_policy import MetricsPolicy
from tokenyard.inference.ratelimit_policy import RateLimitPolicy
from tokenyard.inference.service import Router
from tokenyard.inference.servicer import InferenceServicer, registrar as inference_registrar
from tokenyard.listen import with_port
from tokenyard.metering.access import ConfigAppOwners
from tokenyard.metering.servicer import MeteringServicer, registrar as metering_registrar
from tokenyard.metering.wiring import UNLIMITED_ACCOUNTS, build_limiter, build_metering, build_sink, start_sweeper
from tokenyard.monitoring import tracing
from tokenyard.monitoring.metrics import init_series, show_tenant_labels
from tokenyard.monitoring.upstream import InstrumentedRegistry
from tokenyard.passthrough.service import Passthrough
from tokenyard.providers.upstream_pool import UpstreamClient
from tokenyard.settings import SERVICES, Settings
from tokenyard.storage.db import create_engine, migrate, sessionmaker
from tokenyard.telemetry import MetricsInterceptor
from tokenyard.tenancy import Tenancy, jwt_verifier

if TYPE_CHECKING:  # built lazily (see _videojobs, _chats) or only named here
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tokenyard.chats.service import ChatAppService
    from tokenyard.clients.usage_sink import UsageSink
    from tokenyard.deployments.service import DeploymentService
    from tokenyard.metering.service import MeteringService
    from tokenyard.videojobs.assemble import VideoJobs

log = logging.getLogger(__name__)
T = TypeVar("T")
DB_SERVICES = frozenset({"auth", "config", "metering", "videojobs", "inference"})  # inference: chats


@dataclass
class Parts:
    """What this process built, by name and type (None: this process does not run that part)."""

    sessions: async_sessionmaker | None = None
    auth_service: AuthService | None = None
    authenticator: CachedAuthenticator | None = None
    tenancy: Tenancy | None = None
    deployments: DeploymentService | None = None
    metering_service: MeteringService | None = None
    limiter: RateLimiter | None = None
    usage_sink: UsageSink | None = None
    providers: InstrumentedRegistry | None = None
    router: Router | None = None
    inference_servicer: InferenceServicer | None = None
    chats_service: ChatAppService | None = None
    embeddings_service: EmbeddingsService | None = None
    videojobs: VideoJobs | None = None
    passthrough: Passthrough | None = None
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    """gRPC channels to the services other processes run, by address (one per address)."""


def need(part: T | None, name: str) -> T:
    """A part the caller's branch guarantees was built (a wiring bug otherwise, not a user error)."""
    if part is None:
        raise RuntimeError(f"{name} was not built in this process")
    return part


@dataclass
class Runtime:
    """The running gRPC side of a process. Build with `await Runtime.start(settings, services)`."""

    settings: Settings
    catalog: Catalog
    services: frozenset[str]
    server: grpc.aio.Server | None = None
    port: int = 0
    admin_key_notice: AdminKeyNotice | None = None
    parts: Parts = field(default_factory=Parts)
    _closers: list[Any] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings, services: Iterable[str] = SERVICES,
                    catalog: Catalog | None = None) -> "Runtime":
        """Open the database (migrating it), build every requested service and serve them on one server."""
        rt = cls(settings=settings, catalog=catalog or load_catalog(settings.config),
                 services=frozenset(services))
        try:
            await rt._build()
        except BaseException:
            await rt.stop()  # close what was built (engine, workers, spool) so the process can exit
            raise
        return rt

    def _channel(self, service: str) -> grpc.aio.Channel:
        addr = self.settings.service_addr(service)
        if addr not in self.parts.channels:
            self.parts.channels[addr] = channel(addr)
            self._closers.append(self.parts.channels[addr].close)
        return self.parts.channels[addr]

    def _bind(self) -> None:
        """Bind the gRPC port before anything is built: with port 0 the OS picks it, and every client this
        process makes (its own services, the facade) must dial the port actually bound (`self.settings`)."""
        s = self.settings
        interceptors = [MetricsInterceptor(), *tracing.server_interceptors(), BodyLimits(s.max_body_bytes)]
        max_message = max_message_bytes(s.max_body_bytes, s.max_media_body_bytes)
        self.server, self.port = bind_server(s.grpc_listen, interceptors, max_message)
        self.settings = s.model_copy(update={"grpc_listen": with_port(s.grpc_listen, self.port)})

    async def _build(self) -> None:
        self._bind()
        s, local = self.settings, self.services
        sessions = None
        if local & DB_SERVICES:
            url = s.resolved_database_url()
            await migrate(url)
            engine = create_engine(url)
            self._closers.append(engine.dispose)
            sessions = sessionmaker(engine)
            self.parts.sessions = sessions
        registrars: list[Registrar] = []
        if "auth" in local:
            auth_service = AuthService(sessions, jwt=jwt_verifier(s))
            self.admin_key_notice = await bootstrap_admin_key(auth_service, s.admin_key, s.data_dir)
            self.parts.auth_service = auth_service
            backend = auth_service.authenticate
        else:
            backend = AuthClient(self._channel("auth")).authenticate
        authenticator = CachedAuthenticator(backend, ttl=s.key_cache_ttl_seconds)
        self.parts.authenticator = authenticator
        tenancy = await Tenancy.start(settings=s, services=local, catalog=self.catalog, sessions=sessions,
                                      authenticator=authenticator, auth_service=self.parts.auth_service,
                                      channel=self._channel)
        self._closers.insert(0, tenancy.stop)
        self.parts.tenancy = tenancy
        if "auth" in local:
            registrars.append(auth_registrar(AuthServicer(need(self.parts.auth_service, "auth"), authenticator,
                                                          feed=tenancy.revocation_feed,
                                                          internal_secret=s.internal_secret)))
        if "config" in local:
            keys = (LocalKeyIssuer(self.parts.auth_service) if self.parts.auth_service is not None
                    else RemoteKeyIssuer(self._channel("auth"), s.internal_secret))
            deployments, closers = start_deployments(s, sessions, keys)
            self._closers[:0] = closers
            self.parts.deployments = deployments
            registrars.append(config_registrar(ConfigServicer(self.catalog, authenticator, tenancy.config_service,
                                                              tenancy.change_feed, deployments,
                                                              internal_secret=s.internal_secret)))
        if "metering" in local:
            metering = build_metering(self.catalog, sessions, s.resolved_credit_holds())
            self.parts.metering_service = metering
            sweeper = start_sweeper(metering.credits)
            self._closers.append(sweeper.cancel)
            registrars.append(metering_registrar(MeteringServicer(
                metering, authenticator, app_owners=ConfigAppOwners(self._channel("config")),
                limiter=self._limiter(), internal_secret=s.internal_secret,
                accounts=functools.partial(account_exists, sessions))))
        if "inference" in local:
            router = await self._router(authenticator)
            self.parts.inference_servicer = InferenceServicer(router, IdempotencyStore(sessions),
                                                              passthrough=self._passthrough(authenticator))
            registrars.append(inference_registrar(self.parts.inference_servicer))
            registrars.append(self._chats(router, authenticator, sessions))
        if "embeddings" in local:
            registrars.append(embeddings_registrar(EmbeddingsServicer(await self._embeddings(authenticator))))
        if "videojobs" in local:
            registrars.append(self._videojobs(authenticator))
        show_tenant_labels(s.metrics_tenant_labels)
        init_series(self.catalog)
        await start_server(self.server, registrars)
        log.info("gRPC services %s listening on port %d", sorted(local), self.port)

    def _limiter(self) -> RateLimiter:
        if self.parts.limiter is None:
            self.parts.limiter = build_limiter(self.settings)
            self._closers.append(self.parts.limiter.close)
        return self.parts.limiter

    async def _router(self, authenticator: CachedAuthenticator) -> Router:
        http = UpstreamClient(max_connections=1000, keepalive_expiry=60)  # aiohttp for the adapters' JSON/SSE
        self._closers.append(http.aclose)
        local = "metering" in self.services
        metering = need(self.parts.metering_service, "metering") if local else MeteringClient(
            self._channel("metering"), self.settings.internal_secret)
        sink = await build_sink(self.settings, metering.record)
        self._closers.insert(0, sink.stop)
        # split: holds are admitted against balance leases, with no Metering round trip per request
        credits = metering.credits if local else BalanceLeases(metering, owner=sink.spool_name,
                                                                    delivered=sink.delivered)
        if isinstance(credits, BalanceLeases):
            credits.start()
            self._closers.insert(0, credits.close)  # runs after the server stopped: nothing is in flight
        self.parts.usage_sink = sink
        providers = InstrumentedRegistry(self.catalog, http)
        self.parts.providers = providers
        policies = [MetricsPolicy(log_prompts=self.settings.log_prompts),  # first: its finish runs last
                    AppPolicy(need(self.parts.tenancy, "tenancy").app_cache),
                    self._deployment_policy(),
                    RateLimitPolicy(self._limiter(), self.settings.default_rpm, self.settings.default_tpm),
                    CreditPolicy(credits, exempt=UNLIMITED_ACCOUNTS)]  # last: nothing refuses after it reserves
        router = Router(self.catalog, authenticator, Dispatcher(providers), sink, policies=policies)
        self.parts.router = router
        return router

    def _deployment_policy(self) -> DeploymentPolicy:
        """The Router's deployment policy, reading deployments in-process or from the Config service."""
        service = self.parts.deployments
        resolve = (service.resolve if service is not None
                   else DeploymentClient(self._channel("config"), self.settings.internal_secret).resolve)
        return DeploymentPolicy(DeploymentCache(resolve))

    def _passthrough(self, authenticator: CachedAuthenticator) -> Passthrough:
        """Passthrough on the Router's parts: its catalog, caches, limiter, usage sink and provider HTTP pool."""
        apps = need(self.parts.tenancy, "tenancy").app_cache
        service = Passthrough(self.catalog, apps, need(self.parts.providers, "providers").http,
                              need(self.parts.usage_sink, "usage sink"),
                              authenticate=authenticator.authenticate, limiter=self._limiter(),
                              unauthenticated_rpm=self.settings.passthrough_unauthenticated_rpm)
        self.parts.passthrough = service
        return service

    def _videojobs(self, authenticator: CachedAuthenticator) -> Registrar:
        from tokenyard.videojobs.assemble import build_videojobs
        from tokenyard.videojobs.billing import GrpcCredits, LocalCredits
        from tokenyard.videojobs.servicer import registrar as videojobs_registrar

        if "metering" in self.services:
            metering = need(self.parts.metering_service, "metering")
            credits, recorder = LocalCredits(metering), metering.record
        else:
            credits = GrpcCredits(self._channel("metering"), self.settings.internal_secret)
            recorder = MeteringClient(self._channel("metering"), self.settings.internal_secret).record
        videojobs = build_videojobs(self.settings, self.catalog, need(self.parts.sessions, "sessions"), authenticator,
                                    credits, recorder, app_owner=need(self.parts.tenancy, "tenancy").app_cache.owner)
        videojobs.pool.start()
        self._closers.insert(0, videojobs.stop)
        self.parts.videojobs = videojobs
        return videojobs_registrar(videojobs.servicer)

    def _chats(self, router: Router, authenticator: CachedAuthenticator, sessions: Any) -> Registrar:
        """The chat app sub-service, hosted next to the Router (see tokenyard.chats)."""
        from tokenyard.chats.wiring import build_chats

        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200), timeout=20.0)
        self._closers.append(http.aclose)
        tenancy = need(self.parts.tenancy, "tenancy")
        service, register = build_chats(self.settings, self.catalog, router, authenticator, sessions, http,
                                        enabled_tools=tenancy.enabled_tools, app_default_model=tenancy.default_model)
        self.parts.chats_service = service
        return register

    async def _embeddings(self, authenticator: CachedAuthenticator) -> EmbeddingsService:
        """The Embeddings service on the Router's pipeline (policies, usage sink) and provider adapters."""
        router = self.parts.router or await self._router(authenticator)
        service = build_embeddings(self.settings, self.catalog, router, need(self.parts.providers, "providers").http)
        self.parts.embeddings_service = service
        self._closers.insert(0, service.close)
        return service

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving (letting in-flight RPCs finish within `grace`), then close everything."""
        if self.parts.tenancy is not None:
            self.parts.tenancy.close_streams()
        if self.server is not None:
            await self.server.stop(grace)
        for close in self._closers:
            try:
                result = close()
                if hasattr(result, "__await__"):
                    await result
            except Exception:  # noqa: BLE001
                log.warning("error while closing", exc_info=True)
