"""Deployment tables: the instances and the keys bound to each (so all can be revoked together)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.storage.types import Base, UTCDateTime, utcnow


class DeploymentRow(Base):
    """A self-hosted model instance. `pending_secret` holds the default key's secret only until it is read;
    `upstream_key` the owner's own key for the instance. Both are sealed (tokenyard.secretbox), never plaintext."""

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    upstream_kind: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(Text)
    api_key_env: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_check_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    default_key_id: Mapped[str] = mapped_column(String(64), default="")
    pending_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    keys_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    upstream_key: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeploymentKeyRow(Base):
    """One API key bound to a deployment."""

    __tablename__ = "deployment_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
