"""Config tables: apps, their AI configuration, and the change feed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.storage.types import Base, JSONList, UTCDateTime, utcnow


class AppRow(Base):
    """An app: a tenant's unit of AI configuration and keys."""

    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppConfigRow(Base):
    """Per-app AI configuration (absent row = defaults)."""

    __tablename__ = "app_configs"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    default_model: Mapped[str] = mapped_column(String(200), default="")
    max_tokens_per_request: Mapped[int] = mapped_column(Integer, default=0)
    allowed_models: Mapped[list[str]] = mapped_column(JSONList, default=list)
    rpm: Mapped[int] = mapped_column(Integer, default=0)
    tpm: Mapped[int] = mapped_column(Integer, default=0)
    enabled_tools: Mapped[list[str]] = mapped_column(JSONList, default=list)
    custom_tools_json: Mapped[str] = mapped_column(Text, default="")
    require_gateway_key: Mapped[bool] = mapped_column(Boolean, default=False)  # migration deployments_0002
    # migration config_0002_open_passthrough:
    allow_unauthenticated_passthrough: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConfigChange(Base):
    """One change caches must hear about; `seq` only grows."""

    __tablename__ = "config_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
