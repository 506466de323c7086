"""Metering tables: usage records (one per request id), daily rollups, credit accounts, reservations, ledger."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.storage.types import Base, UTCDateTime


class UsageRecordRow(Base):
    """One request's usage. request_id is the idempotency key."""

    __tablename__ = "usage_records"

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    account_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32), default="chat")
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(32), default="ok")
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageDailyRow(Base):
    """Daily rollup of usage per account, app and model (kept in the same transaction as the records)."""

    __tablename__ = "usage_daily"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)


class CreditAccountRow(Base):
    """An account's credits in nano-USD: this period's plan allowance plus top-ups, minus what is reserved.

    Spendable = allowance + topup - reserved. Spending takes the allowance first. Only atomic UPDATEs
    change these columns; every change of allowance/topup has its ledger entry.
    """

    __tablename__ = "credit_accounts"

    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    plan: Mapped[str] = mapped_column(String(64), default="")
    unlimited: Mapped[bool] = mapped_column(Boolean, default=False)
    period: Mapped[str] = mapped_column(String(7), default="")
    allowance_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    topup_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_nanos: Mapped[int] = mapped_column(BigInteger, default=0)


class ReservationRow(Base):
    """Credits held for one in-flight request: held -> settled | released | expired."""

    __tablename__ = "credit_reservations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(100), default="")
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LedgerRow(Base):
    """One change of an account's credits (signed nano-USD): grant, expire, topup or usage (one per request)."""

    __tablename__ = "credit_ledger"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(200))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
