"""Token estimates of media parts (images by size and detail, audio/video/files by bytes) from headers only.

Images follow OpenAI's tile formula: `low` = 85 tokens; `high`/`auto` = 85 + 170 per 512 px tile after the
image is scaled to fit 2048 x 2048 and then so that its shortest side is at most 768 px. The size comes from
the image header of a base64 data URI (PNG, JPEG, GIF, WebP), decoded a few bytes at a time, never the whole
image; an image whose size cannot be read (a remote URL, another format) counts as the largest high-detail
image (1445 tokens). Other media count conservatively by their decoded byte length.
"""
from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Any

LOW_DETAIL_TOKENS = 85
TILE_TOKENS = 170
MAX_IMAGE_TOKENS = LOW_DETAIL_TOKENS + TILE_TOKENS * 8  # 2048 x 768 after scaling: 4 x 2 tiles
AV_BYTES_PER_TOKEN = 16
"""Audio and video: one token per 16 bytes covers 32 tokens a second at 4 kbit/s (audio) or ~300 a second at
40 kbit/s (video), above what providers bill for media that small."""
FILE_BYTES_PER_TOKEN = 1
"""Files (PDFs, documents) may be text: one token per byte."""
UNKNOWN_MEDIA_TOKENS = 1_000_000
"""Audio, video or a file whose size is unknown (a URL, an uploaded file id); the context window caps it."""
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_MAX_JPEG_SEGMENTS = 256


class _Base64:
    """Random access to the bytes of a base64 string, decoding only the few bytes asked for."""

    def __init__(self, data: str, start: int = 0) -> None:
        self._data, self._start = data, start

    def read(self, offset: int, size: int) -> bytes:
        first, last = offset // 3, (offset + size + 2) // 3
        try:
            raw = base64.b64decode(self._data[self._start + first * 4:self._start + last * 4])
        except (binascii.Error, ValueError):
            return b""
        return raw[offset - first * 3:offset - first * 3 + size]


def _png(r: _Base64) -> tuple[int, int] | None:
    head = r.read(0, 24)
    if len(head) == 24 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    return None


def _gif(r: _Base64) -> tuple[int, int] | None:
    head = r.read(0, 10)
    if len(head) == 10 and head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    return None


def _webp(r: _Base64) -> tuple[int, int] | None:
    head = r.read(0, 30)
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    kind = head[12:16]
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    return None


def _jpeg(r: _Base64) -> tuple[int, int] | None:
    if r.read(0, 2) != b"\xff\xd8":
        return None
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        head = r.read(pos, 9)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_SOF:
            return (struct.unpack(">HH", head[5:9])[::-1]) if len(head) == 9 else None
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            pos += 2
            continue
        pos += 2 + struct.unpack(">H", head[2:4])[0]
    return None


def image_size(data: str, start: int = 0) -> tuple[int, int] | None:
    """(width, height) from the header of base64 image data (from `start` in `data`), or None when it is not
    a PNG, JPEG, GIF or WebP."""
    r = _Base64(data, start)
    for reader in (_png, _jpeg, _gif, _webp):
        size = reader(r)
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def tile_tokens(width: int, height: int, detail: str = "auto") -> int:
    """Tokens of one image by OpenAI's tile formula."""
    if detail == "low":
        return LOW_DETAIL_TOKENS
    w, h = float(width), float(height)
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return LOW_DETAIL_TOKENS + TILE_TOKENS * math.ceil(w / 512) * math.ceil(h / 512)


def _payload(url: str) -> int | None:
    """Where the base64 payload of a data URI starts (None for anything else); the URI is not copied."""
    if not url.startswith("data:"):
        return None
    at = url.find(";base64,", 0, 512)
    return at + 8 if at >= 0 else None


def _url_of(holder: Any) -> str:
    if isinstance(holder, str):
        return holder
    return str(holder.get("url") or "") if isinstance(holder, dict) else ""


def image_tokens(part: dict[str, Any]) -> int:
    """Tokens of an `image_url` part."""
    holder = part.get("image_url")
    detail = holder.get("detail") if isinstance(holder, dict) else None
    if detail == "low":
        return LOW_DETAIL_TOKENS
    url = _url_of(holder)
    start = _payload(url)
    size = image_size(url, start) if start is not None else None
    return tile_tokens(*size) if size else MAX_IMAGE_TOKENS


def _by_bytes(b64_chars: int | None, per_token: int) -> int:
    """Tokens of base64 media of `b64_chars` characters (None: unknown size)."""
    if b64_chars is None:
        return UNKNOWN_MEDIA_TOKENS
    return math.ceil(b64_chars * 3 // 4 / per_token)


def _data_uri_chars(url: str) -> int | None:
    start = _payload(url)
    return None if start is None else len(url) - start


def media_tokens(part: dict[str, Any]) -> int | None:
    """Tokens of a media content part (image, audio, video, file); None when `part` is not media."""
    kind = part.get("type")
    if kind == "image_url":
        return image_tokens(part)
    if kind == "video_url":
        return _by_bytes(_data_uri_chars(_url_of(part.get("video_url"))), AV_BYTES_PER_TOKEN)
    if kind == "input_audio":
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        return _by_bytes(len(data) if isinstance(data, str) else None, AV_BYTES_PER_TOKEN)
    if kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        if isinstance(data, str):  # a data URI, or bare base64
            chars = _data_uri_chars(data)
            return _by_bytes(len(data) if chars is None else chars, FILE_BYTES_PER_TOKEN)
        return UNKNOWN_MEDIA_TOKENS
    return None
