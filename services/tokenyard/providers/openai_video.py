"""OpenAI-style upstream video API (`/videos`): submit, poll, download. Resumes a job from its upstream id."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.base import UpstreamError, UpstreamTarget, log_detail, status_error

log = logging.getLogger(__name__)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError) or (isinstance(exc, UpstreamError) and exc.retryable)


def _message(resp: httpx.Response) -> str:
    try:
        err = resp.json().get("error") or {}
        return str(err.get("message") or resp.reason_phrase)
    except (ValueError, AttributeError):
        return resp.reason_phrase or f"HTTP {resp.status_code}"


class OpenAIVideoRenderer:
    """Talks to `{base_url}/videos`. The upstream id is checkpointed, so a retried job never pays twice."""

    def __init__(self, http: httpx.AsyncClient, options: dict[str, Any] | None = None) -> None:
        opts = options or {}
        self._http = http
        self.poll_seconds = float(opts.get("upstream_poll_seconds", 5.0))
        self.max_wait = float(opts.get("upstream_max_wait_seconds", 3600.0))
        self.attempts = int(opts.get("upstream_attempts", 4))

    def _headers(self, target: UpstreamTarget) -> dict[str, str]:
        headers = dict(target.spec.headers)
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        return headers

    async def _call(self, target: UpstreamTarget, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{target.spec.base_url.rstrip('/')}{path}"
        t = target.spec.timeouts
        timeout = httpx.Timeout(t.total, connect=t.connect, read=t.first_byte)
        async for attempt in AsyncRetrying(retry=retry_if_exception(_retryable), reraise=True,
                                           stop=stop_after_attempt(self.attempts),
                                           wait=wait_exponential(multiplier=0.5, max=10)):
            with attempt:
                try:
                    resp = await self._http.request(method, url, headers=self._headers(target),
                                                    timeout=timeout, **kwargs)
                except httpx.TimeoutException:
                    raise UpstreamError(ErrorKind.TIMEOUT, "video upstream timed out",
                                        retryable=True) from None
                if resp.status_code >= 400:
                    err = status_error(resp.status_code, _message(resp), resp.headers, body=resp.content)
                    log_detail(log, target.provider_id, err, target.api_key)
                    raise err
                return resp
        raise AssertionError("unreachable")  # pragma: no cover

    async def _submit(self, target: UpstreamTarget, job: Any) -> str:
        body = {"model": target.upstream_model, "prompt": job.prompt, "seconds": f"{job.seconds:g}",
                "size": f"{job.width}x{job.height}"}
        resp = await self._call(target, "POST", "/videos", json=body)
        upstream_id = str(resp.json().get("id") or "")
        if not upstream_id:
            raise GatewayError(ErrorKind.PROVIDER_ERROR, "video upstream returned no job id")
        await job.checkpoint({"upstream_id": upstream_id})
        return upstream_id

    async def _wait(self, target: UpstreamTarget, job: Any, upstream_id: str) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            video = (await self._call(target, "GET", f"/videos/{upstream_id}")).json()
            status = video.get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled", "expired"):
                err = video.get("error") or {}
                reason = err.get("message") or "no reason given"
                raise GatewayError(ErrorKind.PROVIDER_ERROR, f"upstream video generation {status}: {reason}",
                                   metadata={"error_code": str(err.get("code") or "video_generation_failed")})
            job.progress(min(99, int(video.get("progress") or 0)))
            if time.monotonic() > deadline:
                raise GatewayError(ErrorKind.TIMEOUT, f"upstream video not ready after {self.max_wait:g}s")
            await asyncio.sleep(self.poll_seconds)

    async def _download(self, target: UpstreamTarget, job: Any, upstream_id: str) -> None:
        url = f"{target.spec.base_url.rstrip('/')}/videos/{upstream_id}/content"
        async with self._http.stream("GET", url, headers=self._headers(target),
                                     timeout=httpx.Timeout(target.spec.timeouts.total,
                                                           connect=target.spec.timeouts.connect)) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                err = status_error(resp.status_code, _message(resp), resp.headers, body=resp.content)
                log_detail(log, target.provider_id, err, target.api_key)
                raise err
            f = await asyncio.to_thread(open, job.out, "wb")
            try:
                async for block in resp.aiter_bytes(256 * 1024):
                    await asyncio.to_thread(f.write, block)
            finally:
                await asyncio.to_thread(f.close)

    async def render(self, target: UpstreamTarget, job: Any) -> None:
        """Submit (unless a previous attempt did), poll to completion, download the MP4."""
        upstream_id = str(job.state.get("upstream_id") or "")
        if upstream_id:
            log.info("video job %s resumes upstream job %s", job.job_id, upstream_id)
        else:
            upstream_id = await self._submit(target, job)
        await self._wait(target, job, upstream_id)
        await self._download(target, job, upstream_id)
