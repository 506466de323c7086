"""S3-compatible object store: httpx transport, requests signed with botocore's SigV4 (path-style URLs)."""
from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx

from tokenyard.videojobs.store import CHUNK, ObjectNotFound, check_key


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class S3Store:
    """Objects in one bucket under an optional prefix. Works with AWS S3, MinIO, Ceph, R2 and the like."""

    def __init__(self, *, bucket: str, prefix: str = "", endpoint: str = "", region: str = "us-east-1",
                 access_key_id: str = "", secret_access_key: str = "",
                 http: httpx.AsyncClient | None = None) -> None:
        try:
            from botocore.credentials import Credentials
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ValueError("the s3 video store needs botocore (pip install 'tokenyard[s3]')") from exc
        self.bucket, self.prefix, self.region = bucket, prefix, region
        self.endpoint = (endpoint or f"https://s3.{region}.amazonaws.com").rstrip("/")
        self._creds = Credentials(access_key_id, secret_access_key)
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))

    def _url(self, key: str) -> str:
        name = f"{self.prefix}/{check_key(key)}" if self.prefix else check_key(key)
        return f"{self.endpoint}/{quote(self.bucket)}/{quote(name)}"

    def _signed(self, method: str, url: str, payload_sha256: str = "UNSIGNED-PAYLOAD",
                headers: dict[str, str] | None = None) -> dict[str, str]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        req = AWSRequest(method=method, url=url, headers={**(headers or {}),
                                                          "X-Amz-Content-SHA256": payload_sha256})
        S3SigV4Auth(self._creds, "s3", self.region).add_auth(req)
        return dict(req.headers.items())

    @staticmethod
    def _raise_for(resp: httpx.Response, key: str) -> None:
        if resp.status_code == 404:
            raise ObjectNotFound(key)
        if resp.status_code >= 300:
            raise OSError(f"object store answered {resp.status_code} for {key!r}")

    async def put_file(self, key: str, path: Path) -> int:
        digest = await asyncio.to_thread(_sha256_file, path)
        size = path.stat().st_size
        url = self._url(key)
        headers = self._signed("PUT", url, digest, {"Content-Type": "video/mp4", "Content-Length": str(size)})

        async def body() -> AsyncIterator[bytes]:
            f = await asyncio.to_thread(open, path, "rb")
            try:
                while block := await asyncio.to_thread(f.read, CHUNK):
                    yield block
            finally:
                f.close()

        resp = await self._http.put(url, content=body(), headers=headers)
        self._raise_for(resp, key)
        return size

    async def size(self, key: str) -> int:
        url = self._url(key)
        resp = await self._http.head(url, headers=self._signed("HEAD", url))
        self._raise_for(resp, key)
        return int(resp.headers.get("content-length", "0"))

    async def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        url = self._url(key)
        extra = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            extra["Range"] = f"bytes={offset}-{end}"
        async with self._http.stream("GET", url, headers=self._signed("GET", url, headers=extra)) as resp:
            if resp.status_code >= 300:
                await resp.aread()
                self._raise_for(resp, key)
            async for block in resp.aiter_bytes(CHUNK):
                yield block

    async def delete(self, key: str) -> None:
        url = self._url(key)
        resp = await self._http.delete(url, headers=self._signed("DELETE", url))
        if resp.status_code != 404:
            self._raise_for(resp, key)

    async def close(self) -> None:
        await self._http.aclose()
