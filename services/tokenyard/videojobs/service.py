"""VideoJobs logic: validate and queue jobs, read, list, cancel and download them. No gRPC here."""
from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from tokenyard.catalog import Catalog, ModelSpec
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.common.usage import correlation_id
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.principal import Principal
from tokenyard.storage.types import utcnow
from tokenyard.videojobs import validate
from tokenyard.videojobs.billing import Credits, video_cost_micros
from tokenyard.videojobs.metrics import job_ended
from tokenyard.videojobs.queue import JobQueue
from tokenyard.videojobs.renderers import VideoRenderers
from tokenyard.videojobs.settlement import Settlement
from tokenyard.videojobs.store import ObjectNotFound, ObjectStore
from tokenyard.videojobs.tables import COMPLETED, FAILED, QUEUED, VideoJob

log = logging.getLogger(__name__)

MAX_PAGE = 100


@dataclass(frozen=True)
class VideoRequest:
    """A submit request as the caller sent it (seconds 0 and size '' mean the model's defaults)."""

    model: str
    prompt: str
    seconds: float = 0.0
    size: str = ""
    app_id: str = ""
    request_id: str = ""


def new_video_id() -> str:
    """A job id in the OpenAI style."""
    return f"video_{secrets.token_hex(16)}"


# The owning account of an app id (None when there is no such app).
AppOwnerLookup = Callable[[str], Awaitable[str | None]]


class VideoJobsService:
    """Jobs belong to the caller's account; other accounts' ids are NOT_FOUND, never FORBIDDEN."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, queue: JobQueue, store: ObjectStore,
                 credits: Credits, settlement: Settlement, renderers: VideoRenderers,
                 app_owner: AppOwnerLookup | None = None) -> None:
        self.catalog = catalog
        self._app_owner = app_owner
        self._auth = authenticator
        self.queue = queue
        self._store = store
        self._credits = credits
        self._settlement = settlement
        self._renderers = renderers

    async def _caller(self, credential: str, app_id: str = "") -> Principal:
        principal = await self._auth.authenticate(credential)
        if not principal.has("ai:gateway"):
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "video generation needs the ai:gateway scope")
        if app_id and not await self._sees_app(principal, app_id):
            raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}")
        return principal

    async def _sees_app(self, principal: Principal, app_id: str) -> bool:
        """An app key sees its own app; an admin every existing app; a user their own apps (like every other
        /v1/{app_id}/... route: anything else is not found)."""
        if principal.app_id:
            return principal.app_id == app_id
        if self._app_owner is None:
            return True
        owner = await self._app_owner(app_id)
        return owner is not None and (principal.is_admin or owner == principal.account_id)

    def _model(self, name: str) -> ModelSpec:
        if not name:
            raise invalid("Missing required parameter: 'model'", "model")
        spec = self.catalog.resolve(name)
        if spec is None:
            raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{name}` does not exist", param="model")
        if spec.type != "video":
            raise invalid(f"`{name}` is a {spec.type} model, not a video model", "model")
        target = spec.targets[0]
        if not self._renderers.supports(target.provider):
            raise invalid(f"`{name}` is served by provider {target.provider!r}, which cannot make videos",
                          "model")
        return spec

    async def submit(self, credential: str, req: VideoRequest) -> VideoJob:
        """Validate, reserve the job's credits and queue it."""
        principal = await self._caller(credential, req.app_id)
        spec = self._model(req.model)
        prompt = validate.check_prompt(req.prompt)
        seconds = validate.check_seconds(spec, req.seconds)
        size, _, _ = validate.check_size(spec, req.size)
        self._renderers.target(spec.targets[0].provider, spec.targets[0].upstream_model)  # credentials set?
        job_id, now, cost = new_video_id(), utcnow(), video_cost_micros(spec, seconds)
        reservation = await self._credits.reserve(principal.account_id, cost, job_id)
        correlation = correlation_id(req.request_id)[:100]  # the caller's X-Request-Id; billing uses job_id
        job = VideoJob(id=job_id, account_id=principal.account_id, app_id=req.app_id or principal.app_id,
                       key_id=principal.key_id, request_id=correlation or job_id, model=spec.id,
                       provider=spec.targets[0].provider, upstream_model=spec.targets[0].upstream_model,
                       prompt=prompt, seconds=seconds, size=size, status=QUEUED, progress=0, created_at=now,
                       updated_at=now, upstream_state={}, cost_micros=cost, reservation_id=reservation,
                       attempts=0, error="", error_code="", worker_id="", content_key="", content_length=0,
                       charged_micros=0, billing="reserved")
        try:
            return await self.queue.add(job)
        except BaseException:
            await self._credits.release(reservation)
            raise

    async def _owned(self, principal: Principal, job_id: str, app_id: str = "") -> VideoJob:
        job = await self.queue.get(job_id) if job_id else None
        app_id = app_id or principal.app_id
        visible = job is not None and (principal.is_admin or job.account_id == principal.account_id) and (
            not app_id or job.app_id == app_id)
        if not visible:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No video found with id '{job_id}'", param="video_id")
        return job  # type: ignore[return-value]

    async def get(self, credential: str, job_id: str, app_id: str = "") -> VideoJob:
        """One of the caller's jobs (of one app when `app_id` is given)."""
        return await self._owned(await self._caller(credential, app_id), job_id, app_id)

    async def list(self, credential: str, *, app_id: str = "", after: str = "", limit: int = 20
                   ) -> tuple[list[VideoJob], bool]:
        """The caller's jobs, newest first; `after` is the id of the last job of the previous page."""
        principal = await self._caller(credential, app_id)
        if limit < 0 or limit > MAX_PAGE:
            raise invalid(f"'limit' must be between 1 and {MAX_PAGE}", "limit")
        cursor = None
        if after:
            cursor = await self.queue.get(after)
            if cursor is None or cursor.account_id != principal.account_id:
                raise invalid(f"'after' names no video of yours ({after!r})", "after")
        return await self.queue.page(principal.account_id, app_id=app_id or principal.app_id, after=cursor,
                                     limit=limit or 20)

    async def cancel(self, credential: str, job_id: str, app_id: str = "") -> VideoJob:
        """Cancel a queued or running job (its credits are released); cancelling twice is harmless."""
        principal = await self._caller(credential, app_id)
        job = await self._owned(principal, job_id, app_id)
        cancelled = await self._cancel_live(job)
        if cancelled is not None:
            return cancelled
        job = await self._owned(principal, job_id, app_id)
        if job.status in (COMPLETED, FAILED):
            raise GatewayError(ErrorKind.CONFLICT,
                               f"Video '{job_id}' already {job.status}; it cannot be cancelled")
        return job

    async def _cancel_live(self, job: VideoJob) -> VideoJob | None:
        """Cancel a queued or running job and release its credits; None when it had already ended."""
        cancelled = await self.queue.cancel(job.id)
        if cancelled is not None:
            job_ended(cancelled, "cancelled")
            await self._settlement.finish(cancelled)
        return cancelled

    async def delete(self, credential: str, job_id: str, app_id: str = "") -> tuple[VideoJob, bool]:
        """Delete a finished job and its MP4 (True), as OpenAI's API does; a queued or running job is cancelled
        instead (False). 409 while an ended job's credits are still being settled."""
        principal = await self._caller(credential, app_id)
        job = await self._owned(principal, job_id, app_id)
        cancelled = await self._cancel_live(job)
        if cancelled is not None:
            return cancelled, False
        job = await self._owned(principal, job_id, app_id)
        if not await self._settlement.finish(job):  # idempotent; done once the job's usage is recorded
            raise GatewayError(ErrorKind.CONFLICT, f"Video '{job_id}' is still being settled; try again shortly")
        removed = await self.queue.delete(job.id)
        if removed is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No video found with id '{job_id}'", param="video_id")
        if removed.content_key:
            try:
                await self._store.delete(removed.content_key)
            except Exception:  # noqa: BLE001 - the job is gone; an orphaned object is only wasted space
                log.warning("deleting the MP4 of video %s failed", job_id, exc_info=True)
        return removed, True

    async def content(self, credential: str, job_id: str, offset: int = 0, length: int = 0, app_id: str = ""
                      ) -> tuple[int, AsyncIterator[bytes]]:
        """(total size, bytes [offset, offset+length)) of a completed job's MP4; length 0 = to the end."""
        job = await self._owned(await self._caller(credential, app_id), job_id, app_id)
        if job.status != COMPLETED:
            raise GatewayError(ErrorKind.CONFLICT, f"Video '{job_id}' is not ready (status: {job.status})",
                               metadata={"video_status": job.status})
        total = job.content_length
        if offset < 0 or offset > total:
            raise invalid(f"'offset' must be between 0 and {total}", "offset")
        if length < 0:
            raise invalid("'length' must not be negative", "length")
        span = min(length, total - offset) if length else total - offset
        if span == 0:
            return total, _empty()
        try:
            await self._store.size(job.content_key)
        except ObjectNotFound:
            raise GatewayError(ErrorKind.NOT_FOUND, f"The content of video '{job_id}' is gone") from None
        return total, self._store.read(job.content_key, offset, span)


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover
