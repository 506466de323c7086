"""Wire models of the OpenAI videos API, and the video object built from the gRPC message."""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr, field_validator
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb

STATUS = {pb.VIDEO_STATUS_QUEUED: "queued", pb.VIDEO_STATUS_IN_PROGRESS: "in_progress",
          pb.VIDEO_STATUS_COMPLETED: "completed", pb.VIDEO_STATUS_FAILED: "failed",
          pb.VIDEO_STATUS_CANCELLED: "cancelled"}


class VideoCreateRequest(BaseModel):
    """POST /v1/videos body (JSON, or the multipart form the OpenAI SDK sends); unknown fields accepted."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr
    prompt: StrictStr
    seconds: StrictInt | StrictFloat | StrictStr | None = None
    size: StrictStr | None = None

    @field_validator("seconds")
    @classmethod
    def _number(cls, v: Any) -> float | None:
        """A number or a numeric string ("4", "2.5")."""
        if v is None:
            return None
        try:
            value = float(v)
        except ValueError:
            raise ValueError("must be a number or a numeric string such as \"4\"") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


def _unix(ts: Any, present: bool) -> int | None:
    return int(ts.seconds) if present else None


def video_object(v: pb.Video) -> dict[str, Any]:
    """A job as the OpenAI video object, plus `charged_credits_usd` once completed."""
    status = STATUS.get(v.status, "queued")
    obj: dict[str, Any] = {
        "id": v.id, "object": "video", "model": v.model, "status": status, "progress": v.progress,
        "created_at": _unix(v.created_at, v.HasField("created_at")),
        "completed_at": _unix(v.completed_at, v.HasField("completed_at")), "expires_at": None,
        "seconds": f"{v.seconds:g}", "size": v.size, "prompt": v.prompt, "remixed_from_video_id": None,
        "error": {"code": v.error_code or "video_generation_failed", "message": v.error} if status == "failed"
        else None,
    }
    if status == "completed":
        obj["charged_credits_usd"] = float(Decimal(v.charged_credits_usd or "0"))
    return obj
