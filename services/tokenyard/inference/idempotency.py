"""Idempotent retries the Stripe way: an `Idempotency-Key` scoped to the caller's account replays the first answer.

The first request with a key claims it (`pending`), runs, and stores its answer (`done`) for 24 hours. A retry
with the same key and the same request gets that answer back without running or metering again; the same key
with another request is a 400 `idempotency_key_reused`; a retry while the first is still running is a 409
`idempotency_key_in_use`. A failed first request releases its key (nothing to replay; the retry runs). Keys of
different accounts never meet: the account is part of the primary key. Table `idempotency_keys` (migration
branch `inference`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import LargeBinary, String, Text, and_, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.common.idempotency import MAX_KEY_LENGTH
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.storage.db import shielded
from tokenyard.storage.types import Base, UTCDateTime, utcnow

TTL = dt.timedelta(hours=24)
PENDING_LOCK = dt.timedelta(minutes=10)  # a claim whose process died is taken over after this
MAX_STORED_BYTES = 1024 * 1024  # a bigger answer is not kept: its retries get a 409, never a second run
SWEEP_EVERY_SECONDS = 600.0
PENDING, DONE, TOO_LARGE = "pending", "done", "too_large"


class IdempotencyRow(Base):
    """One account's use of one key: the request's fingerprint and, once done, its answer."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    headers: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 of the request's parts (route, app, deterministic body bytes)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class Claim:
    """Outcome of `claim`: `replay` is None for a new claim (run the request), else the stored answer."""

    account_id: str
    key: str
    replay: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyStore:
    """Claims, completes and releases keys in the database; every step is one short transaction."""

    def __init__(self, sessions: async_sessionmaker, *, ttl: dt.timedelta = TTL,
                 max_bytes: int = MAX_STORED_BYTES, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._max_bytes = max_bytes
        self._clock = clock
        self._swept = 0.0

    async def claim(self, account_id: str, key: str, print_: str) -> Claim:
        """Claim `key` for a new run, or return the answer to replay; 400 when the key was used for another
        request, 409 while the first run is in flight (or its answer was too large to keep)."""
        await self._sweep()
        for _ in range(2):  # a concurrent first claim may win the insert between our statements
            try:
                return await self._claim(account_id, key, print_)
            except _Raced:
                continue
        raise _in_use()

    @shielded
    async def _claim(self, account_id: str, key: str, print_: str) -> Claim:
        now = self._clock()
        fresh = {"fingerprint": print_, "state": PENDING, "response": None, "headers": "", "created_at": now,
                 "locked_until": now + PENDING_LOCK, "expires_at": now + self._ttl}
        t = IdempotencyRow.__table__
        async with self._sessions() as s, s.begin():
            ins = _insert(s)(t).values(account_id=account_id, key=key, **fresh).on_conflict_do_nothing()
            if (await s.execute(ins)).rowcount == 1:
                return Claim(account_id, key)
            stale = or_(t.c.expires_at <= now, and_(t.c.state == PENDING, t.c.locked_until <= now))
            took = await s.execute(update(t).where(t.c.account_id == account_id, t.c.key == key, stale)
                                   .values(**fresh))
            if took.rowcount == 1:
                return Claim(account_id, key)
            row = await s.get(IdempotencyRow, (account_id, key))
        if row is None:
            raise _Raced()
        if row.fingerprint != print_:
            raise GatewayError(ErrorKind.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was already used with "
                               "another request; keys can only be retried with the same request",
                               param="Idempotency-Key")
        if row.state == PENDING:
            raise _in_use()
        if row.state == TOO_LARGE or row.response is None:
            raise GatewayError(ErrorKind.IDEMPOTENCY_KEY_IN_USE, "The request with this Idempotency-Key already "
                               "ran, but its answer was too large to keep for replay", param="Idempotency-Key")
        return Claim(account_id, key, row.response, json.loads(row.headers or "{}"))

    @shielded
    async def complete(self, claim: Claim, response: bytes, headers: dict[str, str]) -> None:
        """Store the answer of a claimed run (or only that it ran, when it is over the size cap)."""
        now = self._clock()
        big = len(response) > self._max_bytes
        t = IdempotencyRow.__table__
        async with self._sessions() as s, s.begin():
            await s.execute(update(t).where(t.c.account_id == claim.account_id, t.c.key == claim.key,
                                            t.c.state == PENDING)
                            .values(state=TOO_LARGE if big else DONE, response=None if big else response,
                                    headers=json.dumps(headers), expires_at=now + self._ttl))

    @shielded
    async def release(self, claim: Claim) -> None:
        """Forget a claimed run that failed: a retry with the same key runs it again."""
        t = IdempotencyRow.__table__
        async with self._sessions() as s, s.begin():
            await s.execute(delete(t).where(t.c.account_id == claim.account_id, t.c.key == claim.key,
                                            t.c.state == PENDING))

    async def _sweep(self) -> None:
        """Delete expired keys, at most every SWEEP_EVERY_SECONDS per process (bounded table)."""
        if time.monotonic() - self._swept < SWEEP_EVERY_SECONDS:
            return
        self._swept = time.monotonic()
        await self._delete_expired()

    @shielded
    async def _delete_expired(self) -> None:
        t = IdempotencyRow.__table__
        async with self._sessions() as s, s.begin():
            await s.execute(delete(t).where(t.c.expires_at <= self._clock()))


class _Raced(Exception):
    """Another claim inserted the key between our statements."""


def _in_use() -> GatewayError:
    return GatewayError(ErrorKind.IDEMPOTENCY_KEY_IN_USE, "A request with this Idempotency-Key is still being "
                        "processed; retry later", param="Idempotency-Key")


def _insert(s: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
