"""Media parts of OpenAI messages (images, videos): data: URI parsing and MIME types for translation."""
from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tokenyard.errors import invalid

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,(?P<data>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Media:
    """One image or video: inline base64 data (`data` set) or a URL to fetch (`url` set)."""

    kind: str
    mime: str
    data: str = ""
    url: str = ""


def _guess(url: str, kind: str) -> str:
    path = urllib.parse.urlparse(url).path
    mime, _ = mimetypes.guess_type(path)
    if mime and mime.startswith(kind + "/"):
        return mime
    return "image/jpeg" if kind == "image" else "video/mp4"


def media_of(part: dict[str, Any], param: str) -> Media:
    """The image or video of an `image_url` / `video_url` part; 400 naming `param` when malformed."""
    kind = "image" if part.get("type") == "image_url" else "video"
    holder = part.get(part.get("type") or "") or {}
    url = holder if isinstance(holder, str) else str(holder.get("url") or "")
    if url.startswith("data:"):
        m = _DATA_URI.match(url)
        if m is None:
            raise invalid(f"{param} must be a base64 data URI (data:<mime>;base64,<data>)", param)
        data = m.group("data").strip()
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"{param} is not valid base64", param) from None
        return Media(kind, m.group("mime") or ("image/png" if kind == "image" else "video/mp4"), data=data)
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "gs"):
        raise invalid(f"{param} must be an http(s) URL or a data: URI", param)
    return Media(kind, _guess(url, kind), url=url)
