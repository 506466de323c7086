"""Console videos: the create form (posting to POST /v1/videos, as the SDK does), the job list with live
progress, and the MP4 player."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tokenyard_http.console.render import ConsoleRoute, api, flash, redirect, render
from tokenyard_http.console.session import ApiFailed, ConsoleApi, check_csrf

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FIELDS = ("model", "prompt", "seconds", "size")


async def _videos_page(request: Request, c: ConsoleApi, values: dict[str, str], errors: dict[str, str]
                       ) -> Response:
    data = (await c.json("GET", "/v1/videos", params={"limit": 100}))["data"]
    models = [m for m in (await c.json("GET", "/v1/public/models"))["data"] if m["type"] == "video"]
    usable = [m for m in models if m.get("available", True)] or models
    sizes = sorted({s for m in usable for s in m.get("sizes") or []})
    if not values.get("model") and usable:
        values = {**values, "model": usable[0]["id"]}
    return render(request, "videos.html", {"title": "Videos", "page": "videos", "videos": data,
                                           "models": usable, "sizes": sizes, "values": values,
                                           "errors": errors}, 400 if errors else 200)


@router.get("/console/videos")
async def videos(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """The create form and the video jobs with their status; completed ones play inline."""
    return await _videos_page(request, c, {}, {})


@router.post("/console/videos")
async def create_video(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """Submit a job through POST /v1/videos; a refusal is shown next to the field it names."""
    form = await check_csrf(request)
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    body: dict[str, Any] = {"model": values["model"], "prompt": values["prompt"]}
    if values["seconds"]:
        body["seconds"] = values["seconds"]  # a numeric string, as the SDK sends it
    if values["size"]:
        body["size"] = values["size"]
    try:
        job = await c.json("POST", "/v1/videos", json=body)
    except ApiFailed as err:
        if err.status >= 500:
            raise
        field = err.param if err.param in FIELDS else "_form"
        return await _videos_page(request, c, values, {field: err.message})
    response = redirect("/console/videos")
    flash(request, response, {"notice": f"Video {job['id']} queued."})
    return response


@router.get("/console/videos/{video_id}/content")
async def video_content(video_id: str, request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """The MP4 through the session credential (Range requests pass through for seeking)."""
    headers = {"range": request.headers["range"]} if "range" in request.headers else {}
    resp = await c.send("GET", f"/v1/videos/{video_id}/content", headers=headers)
    keep = ("content-type", "content-range", "accept-ranges", "content-disposition")
    out = {k: v for k, v in resp.headers.items() if k in keep}
    out["cache-control"] = "private, no-store"
    return Response(resp.content, status_code=resp.status_code, headers=out)
