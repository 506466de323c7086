"""Pluggable object store for finished MP4s: a local directory by default, S3-compatible as an option."""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,250}$")


class ObjectNotFound(Exception):
    """The key is not in the store."""


class ObjectStore(Protocol):
    """Durable blobs by key. Writes are all-or-nothing: a reader never sees a partial object."""

    async def put_file(self, key: str, path: Path) -> int:
        """Store the file's bytes under `key`; return the size in bytes."""
        ...

    async def size(self, key: str) -> int:
        """Size in bytes (ObjectNotFound when absent)."""
        ...

    def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """The bytes [offset, offset+length) in chunks (ObjectNotFound when absent)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object (no error when absent)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def check_key(key: str) -> str:
    """Keys are relative, plain paths; refuse anything that could escape the store."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid object key {key!r}")
    return key


class LocalDirStore:
    """Objects as files under one directory; written to a temp name and renamed into place (atomic)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put_file(self, key: str, path: Path) -> int:
        dest = self._path(key)

        def copy() -> int:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(path, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, dest)
            return dest.stat().st_size

        return await asyncio.to_thread(copy)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        try:
            f = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        try:
            await asyncio.to_thread(f.seek, offset)
            left = length
            while left is None or left > 0:
                data = await asyncio.to_thread(f.read, CHUNK if left is None else min(CHUNK, left))
                if not data:
                    break
                if left is not None:
                    left -= len(data)
                yield data
        finally:
            f.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def close(self) -> None:
        return None
