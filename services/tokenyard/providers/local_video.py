"""The built-in `local/test-pattern` video model: a real H.264 MP4 (PyAV, libx264), the prompt as caption."""
from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from fractions import Fraction
from typing import Any

import httpx

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.base import UpstreamTarget

FPS = 24
BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0), (0, 0, 192)]


class _Cancelled(Exception):
    """The job was cancelled while rendering."""


class _Painter:
    """Draws frames: colour bars, a caption with the prompt, a moving marker and a running time code."""

    def __init__(self, prompt: str, width: int, height: int, frames: int) -> None:
        from PIL import Image, ImageDraw, ImageFont

        self._image, self._draw_cls = Image, ImageDraw
        self.width, self.height, self.frames = width, height, frames
        self.font = ImageFont.load_default(size=max(10, height // 18))
        self.background = self._background(prompt)

    def _background(self, prompt: str) -> Any:
        w, h = self.width, self.height
        img = self._image.new("RGB", (w, h), (16, 16, 16))
        draw = self._draw_cls.Draw(img)
        bar_w = w / len(BARS)
        for i, colour in enumerate(BARS):
            draw.rectangle([int(i * bar_w), 0, int((i + 1) * bar_w), int(h * 0.6)], fill=colour)
        for x in range(0, w, max(1, w // 32)):
            shade = int(255 * x / max(1, w - 1))
            draw.rectangle([x, int(h * 0.6), x + w // 32, int(h * 0.68)], fill=(shade, shade, shade))
        size = self.font.size
        chars = max(8, int(w / (size * 0.55)))
        lines = textwrap.wrap(prompt, chars)[: max(1, int(h * 0.2 / (size * 1.2)))]
        y = int(h * 0.7)
        for line in lines:
            draw.text((size // 2, y), line, font=self.font, fill=(255, 255, 255))
            y += int(size * 1.2)
        return img

    def frame(self, index: int) -> Any:
        img = self.background.copy()
        draw = self._draw_cls.Draw(img)
        w, h, side = self.width, self.height, max(4, self.height // 10)
        x = int((w - side) * index / max(1, self.frames - 1))
        top = int(h * 0.6) - side - 2
        draw.rectangle([x, top, x + side, top + side], fill=(255, 255, 255), outline=(0, 0, 0))
        stamp = f"{index / FPS:5.2f}s  {index + 1}/{self.frames}"
        draw.text((w - self.font.size * 9, h - int(self.font.size * 1.4)), stamp, font=self.font,
                  fill=(255, 255, 0))
        return img


def encode_test_pattern(path: str, prompt: str, seconds: float, width: int, height: int, *,
                        pace: float = 0.0, progress: Any = None,
                        cancel: threading.Event | None = None) -> int:
    """Write an H.264 MP4 of `seconds` at FPS, spending `pace` wall seconds per video second; frame count."""
    import av

    frames = max(1, round(seconds * FPS))
    painter = _Painter(prompt, width, height, frames)
    start = time.monotonic()
    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.codec_context.options = {"preset": "veryfast", "crf": "30"}
        for i in range(frames):
            if cancel is not None and cancel.is_set():
                raise _Cancelled()
            frame = av.VideoFrame.from_image(painter.frame(i))
            frame.pts = i
            container.mux(stream.encode(frame))
            if progress is not None:
                progress(min(99, int(100 * (i + 1) / frames)))
            delay = start + pace * (i + 1) / FPS - time.monotonic()
            if delay > 0 and cancel is not None:
                cancel.wait(delay)
            elif delay > 0:
                time.sleep(delay)
        container.mux(stream.encode(None))
    return frames


class TestPatternRenderer:
    """Renders in a worker thread so the event loop never blocks; stops at the next frame when cancelled."""

    def __init__(self, http: httpx.AsyncClient | None = None, options: dict[str, Any] | None = None) -> None:
        self.pace = float((options or {}).get("render_pace", 0.0))

    async def render(self, target: UpstreamTarget, job: Any) -> None:
        """Encode `job` to `job.out`."""
        cancel = threading.Event()
        try:
            await asyncio.to_thread(encode_test_pattern, str(job.out), job.prompt, job.seconds, job.width,
                                    job.height, pace=self.pace, progress=job.progress, cancel=cancel)
        except (asyncio.CancelledError, _Cancelled):
            cancel.set()
            raise asyncio.CancelledError() from None
        except (OSError, ValueError) as exc:
            raise GatewayError(ErrorKind.PROVIDER_ERROR, f"local renderer failed: {exc}") from None
        finally:
            cancel.set()
