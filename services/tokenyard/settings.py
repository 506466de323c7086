"""Typed process settings, read from TOKENYARD_* environment variables (never at import time)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICES = ("auth", "config", "inference", "embeddings", "videojobs", "metering")


class Settings(BaseSettings):
    """Everything a tokenyard process needs to start; build with `Settings()` in main code only."""

    model_config = SettingsConfigDict(env_prefix="TOKENYARD_", extra="ignore")

    data_dir: Path = Field(Path(".tokenyard"), description="Local data folder (SQLite file, videos, spool).")
    database_url: str = Field("", description="SQLAlchemy async URL; default sqlite+aiosqlite in data_dir.")
    config: Path | None = Field(None, description="YAML file loaded on top of the default catalog.")
    admin_key: str = Field("", description="Bootstrap admin API key; generated and printed once if unset.")
    secret_key: str = Field("", description="Key material for secrets sealed in the database (deployment upstream "
                            "keys); default: a random key kept in data_dir/secret.key (0600).")
    internal_secret: str = Field("", description="Secret the services present to each other (never the admin key); "
                                 "required and the same on every process when split, random in memory all-in-one.")
    deploy_key_envs: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=dict, description='JSON {"TOKENYARD_DEPLOY_X": ["account", ...]}: the accounts whose '
        "deployments may name that env var as `upstream.api_key_env`.")
    grpc_listen: str = "127.0.0.1:50051"
    http_listen: str = "127.0.0.1:8080"
    redis_url: str = ""
    redis_prefix: str = Field("tokenyard:", description="Prefix of every Redis key (rate limits).")
    default_rpm: int = Field(60_000, ge=0, description="Requests per minute of a key (or JWT user) when neither "
                             "it nor its app sets rpm; 0 = no default limit (and no request rate-limit headers).")
    default_tpm: int = Field(60_000_000, ge=0, description="Tokens per minute of a key (or JWT user) when "
                             "neither it nor its app sets tpm; 0 = no default limit.")
    jwt_secret: str = ""
    jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    http_keep_alive_seconds: int = Field(75, ge=1, description="Idle keep-alive of facade connections; "
                                         "longer than any proxy's idle timeout in front (Envoy: 60 s).")
    http_header_timeout_seconds: float = Field(15.0, gt=0, description="A connection (or a request on a "
                                               "kept-alive one) must send its complete headers this soon.")
    http_body_timeout_seconds: float = Field(60.0, gt=0, description="A request body must arrive completely "
                                             "this soon after its headers (else 408, connection closed).")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1, description="Largest request body (HTTP and gRPC).")
    max_media_body_bytes: int = Field(32 * 1024 * 1024, ge=1, description="Largest body of an inference "
                                      "request whose excess over max_body_bytes is media parts (data URIs).")
    egress_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "info"
    log_prompts: bool = False
    tools_offline: bool = Field(False, description="Run no chat tool that calls out over the network (weather, "
                                "search), whatever the config file names: for sites without internet access.")
    key_cache_ttl_seconds: float = 30.0
    passthrough_unauthenticated_rpm: int = Field(
        60, ge=1, description="Requests per minute of an app's passthrough calls without a tokenyard key (apps "
        "with allowUnauthenticatedPassthrough) when the app's rateLimits set none.")
    usage_spool_sync: Literal["normal", "full"] = Field(
        "normal", description="Usage spool durability: normal survives process crashes, full also power loss.")
    credit_holds: Literal["auto", "memory", "database"] = Field(
        "auto", description="Where credit reservations live: memory (no database write per request; one "
        "Metering process per database), database (any number of Metering replicas), or auto: memory on "
        "SQLite, database otherwise.")
    metrics_listen: str = Field("", description="HOST:PORT serving /metrics for processes without the facade.")
    metrics_token: str = Field("", description="When set, /metrics answers only `Authorization: Bearer <token>` "
                                "(Prometheus: `authorization: {credentials: ...}`).")
    metrics_tenant_labels: bool = Field(False, description="Put app ids and private deployments (ids, model "
                                        "names) in metric labels; off: they show as 'hidden' / 'deployment'.")
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="Trace exporter: none (default), console or otlp (OTEL_EXPORTER_OTLP_* env).")
    # Video jobs: workers per process running the videojobs service, lease of a claimed job, where MP4s live.
    video_workers: int = Field(2, ge=0, description="Concurrent video jobs per videojobs process (0 = none).")
    video_lease_seconds: float = Field(30.0, gt=0, description="A job whose worker is silent this long is retried.")
    video_max_attempts: int = Field(3, ge=1, description="Claims of one job before it is failed as lost.")
    video_store: str = Field("", description="Object store URL for MP4s: empty = data_dir/videos, "
                                             "file:///path, or s3://bucket/prefix.")
    video_s3_endpoint: str = Field("", description="S3-compatible endpoint URL (empty = AWS for the region).")
    video_s3_region: str = "us-east-1"
    video_s3_access_key_id: str = ""
    video_s3_secret_access_key: str = ""
    video_render_pace: float = Field(0.25, ge=0, description="Wall seconds the local test-pattern model spends "
                                                            "per second of video (realistic progress).")
    video_upstream_poll_seconds: float = Field(5.0, gt=0, description="Polling interval of upstream video jobs.")
    # Embeddings: the local model runner (micro-batching) and per-request limits.
    embeddings_preload: bool = Field(False, description="Load local embedding models at start-up.")
    embeddings_batch_size: int = Field(32, ge=1, description="Most inputs per local embedding model call.")
    embeddings_batch_wait_ms: float = Field(2.0, ge=0, description="Longest wait for a local batch to fill.")
    embeddings_threads: int = Field(0, ge=0, description="CPU threads of local models (0 = torch default).")
    embeddings_max_inputs: int = Field(2048, ge=1, description="Most inputs per embeddings request.")
    embeddings_max_request_tokens: int = Field(300_000, ge=1, description="Most tokens per request.")
    # Addresses of the gRPC services; empty means "the all-in-one server" (grpc_listen).
    auth_addr: str = ""
    config_addr: str = ""
    inference_addr: str = ""
    embeddings_addr: str = ""
    videojobs_addr: str = ""
    metering_addr: str = ""

    @field_validator("internal_secret")
    @classmethod
    def _long_secret(cls, v: str, info: ValidationInfo) -> str:
        if v and len(v) < 32:
            raise ValueError("must be at least 32 characters (e.g. python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\")")
        if v and v == info.data.get("admin_key"):
            raise ValueError("must differ from TOKENYARD_ADMIN_KEY")
        return v

    @field_validator("deploy_key_envs", mode="before")
    @classmethod
    def _json_object(cls, v: object) -> object:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else {}
            except ValueError:
                raise ValueError('must be a JSON object such as {"TOKENYARD_DEPLOY_X": ["account"]}') from None
        return v

    @field_validator("deploy_key_envs")
    @classmethod
    def _deploy_env_names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = [name for name in v if not re.fullmatch(r"TOKENYARD_DEPLOY_[A-Z0-9_]{1,100}", name)]
        if bad:
            raise ValueError(f"keys must be env var names starting with TOKENYARD_DEPLOY_ (A-Z, 0-9, _): {bad}")
        return v

    @field_validator("egress_allow", "cors_origins", mode="before")
    @classmethod
    def _split_csv(cls, v: object) -> object:
        if isinstance(v, str):
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    def service_addr(self, service: str) -> str:
        """gRPC address at which `service` is reached from this process."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        return getattr(self, f"{service}_addr") or self.grpc_listen

    def resolved_credit_holds(self) -> str:
        """`credit_holds` with auto resolved by the database backend."""
        if self.credit_holds != "auto":
            return self.credit_holds
        return "memory" if self.resolved_database_url().startswith("sqlite") else "database"

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tokenyard.db').resolve()}"
