"""A durable local spool of usage events: written (fsync'd) before a request is acknowledged, replayed on restart.

Each process claims one spool file (SQLite, WAL) in the spool folder under an exclusive
`flock`. A process that dies (even by SIGKILL) releases its lock, so the next process to start adopts its
file and replays what was never confirmed by Metering. Writes are group-committed: every event appended
while a commit is in flight joins the next one, so one commit covers many requests.

Durability level (`sync`): "normal" (the default) commits to the WAL without fsync — a committed event
survives any crash or SIGKILL of the process (the data is in the kernel's page cache) but not a power loss
of the machine; "full" fsyncs every group commit and survives power loss too, at a few ms per commit.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tokenyard.common.usage import UsageEvent

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)"


class UsageSpool:
    """Append-only event log of one process; `ack` deletes entries Metering has committed."""

    def __init__(self, directory: Path, sync: str = "normal") -> None:
        if sync not in ("normal", "full"):
            raise ValueError("spool sync must be 'normal' or 'full'")
        self.sync = sync
        self.directory = Path(directory)
        self.path: Path | None = None
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-spool")
        self._waiting: list[tuple[UsageEvent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    # ----- opening: claim a file nobody else holds (adopting orphans) -----------------------------------
    def _claim(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        candidates = sorted(self.directory.glob("usage-*.spool"))
        candidates.append(self.directory / f"usage-{uuid.uuid4().hex}.spool")
        for path in candidates:
            fd = os.open(str(path) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._lock_fd, self.path = fd, path
            break
        assert self.path is not None
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        db.execute(_SCHEMA)
        self._db = db

    async def open(self) -> None:
        """Claim a spool file (an orphaned one first) and open it."""
        await asyncio.get_running_loop().run_in_executor(self._io, self._claim)
        log.info("usage spool %s (%d events waiting)", self.path, await self.count())

    # ----- appending: group commit -------------------------------------------------------------------------
    def append(self, event: UsageEvent) -> asyncio.Future[None]:
        """Queue one event; the returned future resolves once it is on disk (fsync'd)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="usage-spool-writer")
        return fut

    def _insert(self, bodies: list[str]) -> None:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT INTO events (body) VALUES (?)", [(b,) for b in bodies])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await loop.run_in_executor(self._io, self._insert, [json.dumps(e.to_json()) for e, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def drain(self) -> None:
        """Wait for queued appends to reach the disk."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    # ----- reading and acknowledging -----------------------------------------------------------------------
    def _read(self, limit: int) -> list[tuple[int, UsageEvent]]:
        assert self._db is not None
        rows = self._db.execute("SELECT seq, body FROM events ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, UsageEvent.from_json(json.loads(body))) for seq, body in rows]

    async def pending(self, limit: int) -> list[tuple[int, UsageEvent]]:
        """The oldest `limit` events not yet acknowledged, with their sequence numbers."""
        return await asyncio.get_running_loop().run_in_executor(self._io, self._read, limit)

    def _delete(self, last_seq: int) -> None:
        assert self._db is not None
        self._db.execute("DELETE FROM events WHERE seq <= ?", (last_seq,))

    async def ack(self, last_seq: int) -> None:
        """Drop every event up to `last_seq` (Metering has committed them)."""
        await asyncio.get_running_loop().run_in_executor(self._io, self._delete, last_seq)

    async def count(self) -> int:
        """Events waiting in the spool."""
        assert self._db is not None
        db = self._db
        return await asyncio.get_running_loop().run_in_executor(
            self._io, lambda: db.execute("SELECT count(*) FROM events").fetchone()[0])

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def close(self) -> None:
        """Finish pending writes and release the file (its unacknowledged events stay for the next process)."""
        await self.drain()
        await asyncio.get_running_loop().run_in_executor(self._io, self._close)
        self._io.shutdown(wait=False)
