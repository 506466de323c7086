"""The OpenAI videos API, app-less (/v1/videos...) and per app (/v1/{app_id}/videos...), over gRPC."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb
from tokenyard_http.auth import metadata
from tokenyard_http.body import parse_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses, openai_error, rpc_error, validation_error
from tokenyard_http.paging import page_fields, page_request
from tokenyard_http.ranges import parse_range
from tokenyard_http.schemas.videos import VideoCreateRequest, video_object

router = APIRouter(tags=["videos"])
ERRORS = error_responses(400, 401, 402, 403, 404, 503)
CREATE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": VideoCreateRequest.model_json_schema()},
    "multipart/form-data": {"schema": VideoCreateRequest.model_json_schema()}}}}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _create_body(request: Request) -> VideoCreateRequest:
    """The body as JSON or form fields; problems are 400s naming the parameter."""
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            raw: Any = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        else:
            raw = parse_json(await request.body() or b"null")  # a 400 itself when not JSON or too deep
    except (ValueError, AssertionError):
        raise invalid("Request body is not valid JSON or form data") from None
    if not isinstance(raw, dict):
        raise invalid("Request body must be a JSON object (send Content-Type: application/json)")
    try:
        return VideoCreateRequest.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise validation_error(RequestValidationError(errors)) from None


async def create(request: Request, c: Clients, app_id: str) -> Response:
    """Queue a job; 202 with the queued video object."""
    body = await _create_body(request)
    req = pb.SubmitVideoRequest(model=body.model, prompt=body.prompt, seconds=float(body.seconds or 0),
                                size=body.size or "", app_id=app_id,
                                request_id=request.headers.get("x-request-id", "")[:100])
    resp = await c.videojobs.SubmitVideo(req, metadata=metadata(request))
    return _json(video_object(resp.video), 202)


async def retrieve(request: Request, c: Clients, video_id: str, app_id: str) -> Response:
    """One job."""
    resp = await c.videojobs.GetVideo(pb.GetVideoRequest(id=video_id, app_id=app_id),
                                      metadata=metadata(request))
    return _json(video_object(resp.video))


async def listing(request: Request, c: Clients, app_id: str, after: str, limit: int) -> Response:
    """A page of the caller's jobs, newest first."""
    resp = await c.videojobs.ListVideos(pb.ListVideosRequest(page=page_request(limit, after), app_id=app_id),
                                        metadata=metadata(request))
    data = [video_object(v) for v in resp.videos]
    return _json({"object": "list", "data": data,
                  **page_fields([v["id"] for v in data], resp.next_page_token)})


async def delete(request: Request, c: Clients, video_id: str, app_id: str) -> Response:
    """Delete a finished job and its MP4 (OpenAI's `video.deleted` object); cancel a queued or running one (the
    cancelled video object)."""
    resp = await c.videojobs.DeleteVideo(pb.DeleteVideoRequest(id=video_id, app_id=app_id),
                                         metadata=metadata(request))
    if resp.deleted:
        return _json({"id": resp.video.id, "object": "video.deleted", "deleted": True})
    return _json(video_object(resp.video))


def _unsatisfiable(total: int) -> Response:
    resp = openai_error(GatewayError(ErrorKind.INVALID_REQUEST,
                                     f"Requested range not satisfiable (size {total})", param="range"))
    resp.status_code = 416
    resp.headers["content-range"] = f"bytes */{total}"
    return resp


async def content(request: Request, c: Clients, video_id: str, app_id: str, variant: str) -> Response:
    """The MP4, whole (200) or one byte range (206); 409 until the job completed, 416 for a bad range."""
    if variant != "video":
        return openai_error(invalid(f"Unsupported variant {variant!r}; only 'video' is available", "variant"))
    md = metadata(request)
    got = await c.videojobs.GetVideo(pb.GetVideoRequest(id=video_id, app_id=app_id), metadata=md)
    video = got.video
    if video.status != pb.VIDEO_STATUS_COMPLETED:
        status = video_object(video)["status"]
        return openai_error(GatewayError(ErrorKind.CONFLICT,
                                         f"Video '{video_id}' is not ready (status: {status})"))
    total = video.content_length
    span = parse_range(request.headers.get("range"), total)
    if span == "unsatisfiable":
        return _unsatisfiable(total)
    start, end = span if isinstance(span, tuple) else (0, total - 1)
    call = c.videojobs.DownloadVideo(pb.DownloadVideoRequest(id=video_id, app_id=app_id, offset=start,
                                                             length=end - start + 1), metadata=md)
    try:
        first = await call.read()
    except grpc.RpcError as exc:
        return openai_error(rpc_error(exc))
    headers = {"content-length": str(end - start + 1), "accept-ranges": "bytes",
               "content-disposition": f'inline; filename="{video_id}.mp4"'}
    if isinstance(span, tuple):
        headers["content-range"] = f"bytes {start}-{end}/{total}"

    async def body() -> AsyncIterator[bytes]:
        try:
            msg = first
            while msg is not grpc.aio.EOF:
                yield msg.data
                msg = await call.read()
        finally:
            call.cancel()

    return StreamingResponse(body(), status_code=206 if isinstance(span, tuple) else 200,
                             media_type="video/mp4", headers=headers)


@router.post("/v1/videos", status_code=202, responses=ERRORS, openapi_extra=CREATE_BODY,
             summary="Create a video")
async def create_video(request: Request, c: Clients = Depends(clients)) -> Response:
    """Queue a video job (`model`, `prompt`, `seconds`, `size`)."""
    return await create(request, c, "")


@router.get("/v1/videos", responses=ERRORS, summary="List videos")
async def list_videos(request: Request, after: str = "", limit: int = Query(20, ge=1, le=100),
                      c: Clients = Depends(clients)) -> Response:
    """The caller's jobs, newest first; `after` = last id of the previous page."""
    return await listing(request, c, "", after, limit)


@router.get("/v1/videos/{video_id}", responses=ERRORS, summary="Retrieve a video")
async def get_video(video_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """Status, progress, error and, once completed, the credits charged."""
    return await retrieve(request, c, video_id, "")


@router.get("/v1/videos/{video_id}/content", responses=error_responses(401, 404, 409, 416),
            summary="Download a video")
async def video_content(video_id: str, request: Request, variant: str = "video",
                        c: Clients = Depends(clients)) -> Response:
    """The MP4 (Range requests supported)."""
    return await content(request, c, video_id, "", variant)


@router.delete("/v1/videos/{video_id}", responses=error_responses(401, 404, 409),
               summary="Delete (or cancel) a video")
async def delete_video(video_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """Delete a finished job and its MP4; a queued or running job is cancelled."""
    return await delete(request, c, video_id, "")


@router.post("/v1/{app_id}/videos", status_code=202, responses=ERRORS, openapi_extra=CREATE_BODY,
             summary="Create a video for an app")
async def app_create_video(app_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """The same, for one app."""
    return await create(request, c, app_id)


@router.get("/v1/{app_id}/videos", responses=ERRORS, summary="List an app's videos")
async def app_list_videos(app_id: str, request: Request, after: str = "",
                          limit: int = Query(20, ge=1, le=100), c: Clients = Depends(clients)) -> Response:
    """The caller's jobs of one app."""
    return await listing(request, c, app_id, after, limit)


@router.get("/v1/{app_id}/videos/{video_id}", responses=ERRORS, summary="Retrieve an app's video")
async def app_get_video(app_id: str, video_id: str, request: Request,
                        c: Clients = Depends(clients)) -> Response:
    """One job of one app."""
    return await retrieve(request, c, video_id, app_id)


@router.get("/v1/{app_id}/videos/{video_id}/content", responses=error_responses(401, 404, 409, 416),
            summary="Download an app's video")
async def app_video_content(app_id: str, video_id: str, request: Request, variant: str = "video",
                            c: Clients = Depends(clients)) -> Response:
    """The MP4 of one app's job."""
    return await content(request, c, video_id, app_id, variant)


@router.delete("/v1/{app_id}/videos/{video_id}", responses=error_responses(401, 404, 409),
               summary="Delete (or cancel) an app's video")
async def app_delete_video(app_id: str, video_id: str, request: Request,
                           c: Clients = Depends(clients)) -> Response:
    """Delete one app's finished job; cancel it while queued or running."""
    return await delete(request, c, video_id, app_id)
