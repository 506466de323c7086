"""Typed process settings, read from TOKENYARD_* environment variables (never at import time)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICES = ("auth", "config", "inference", "embeddings", "videojobs", "metering")


class Settings(BaseSettings):
    """Everything a tokenyard process needs to start; build with `Settings()` in main code only."""

    model_config = SettingsConfigDict(env_prefix="TOKENYARD_", extra="ignore")

    data_dir: Path = Field(Path(".tokenyard"), description="Local data folder (SQLite file, videos, spool).")
    database_url: str = Field("", description="SQLAlchemy async URL; default sqlite+aiosqlite in data_dir.")
    config: Path | None = Field(None, description="YAML file loaded on top of the default catalog.")
    admin_key: str = Field("", description="Bootstrap admin API key; generated and printed once if unset.")
    secret_key: str = Field("", description="Key material for secrets sealed in the database (default: admin key).")
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
    max_body_bytes: int = 4 * 1024 * 1024
    max_media_body_bytes: int = 32 * 1024 * 1024
    egress_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "info"
    log_prompts: bool = False
    tools_offline: bool = Field(False, description="Run no chat tool that calls out over the network (weather, "
                                "search), whatever the config file names: for sites without internet access.")
    key_cache_ttl_seconds: float = 30.0
    usage_spool_sync: Literal["normal", "full"] = Field(
        "normal", description="Usage spool durability: normal survives process crashes, full also power loss.")
    credit_holds: Literal["auto", "memory", "database"] = Field(
        "auto", description="Where credit reservations live: memory (no database write per request; one "
        "Metering process per database), database (any number of Metering replicas), or auto: memory on "
        "SQLite, database otherwise.")
    metrics_listen: str = Field("", description="HOST:PORT serving /metrics for processes without the facade.")
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
