"""Auth tables: accounts (platform users) and API keys (hashes only)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.storage.types import Base, JSONList, UTCDateTime, utcnow


class Account(Base):
    """A platform user; its id is the JWT `sub` (the bootstrap admin is `admin`)."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    plan: Mapped[str] = mapped_column(String(64), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONList, default=list)
    app_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    deployment_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rpm: Mapped[int] = mapped_column(Integer, default=0)
    tpm: Mapped[int] = mapped_column(Integer, default=0)
    parent_key_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    """The key that created this one (for its own account); revoking it revokes this key too."""


class Revocation(Base):
    """One key revocation; `seq` only grows, so every gateway process can follow the table."""

    __tablename__ = "key_revocations"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
