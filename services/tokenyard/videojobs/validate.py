"""Checks of a video request against the model's catalog limits; errors name the offending parameter."""
from __future__ import annotations

import math
import re

from tokenyard.catalog import ModelSpec
from tokenyard.errors import invalid

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
MAX_PROMPT_CHARS = 32_000
MIN_SIDE, MAX_SIDE = 16, 4096
FALLBACK_SECONDS, FALLBACK_SIZE = 4.0, "1280x720"


def check_prompt(prompt: str) -> str:
    """A non-empty prompt of reasonable length."""
    if not prompt.strip():
        raise invalid("Missing required parameter: 'prompt'", "prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid(f"'prompt' is too long ({len(prompt)} characters; at most {MAX_PROMPT_CHARS})",
                      "prompt")
    return prompt


def check_seconds(spec: ModelSpec, seconds: float) -> float:
    """The length to render: the model default for 0, else within (0, max_seconds]."""
    if seconds == 0:
        return spec.default_seconds or FALLBACK_SECONDS
    if not math.isfinite(seconds) or seconds < 0:
        raise invalid("'seconds' must be a positive number", "seconds")
    if spec.max_seconds and seconds > spec.max_seconds:
        raise invalid(f"'seconds' must be at most {spec.max_seconds:g} for model {spec.id} (got {seconds:g})",
                      "seconds")
    return seconds


def check_size(spec: ModelSpec, size: str) -> tuple[str, int, int]:
    """The size to render as (text, width, height): one of the model's sizes when it lists them."""
    size = size.strip().lower() or (spec.sizes[0] if spec.sizes else FALLBACK_SIZE)
    m = _SIZE.match(size)
    if spec.sizes and size not in spec.sizes:
        raise invalid(f"'size' {size!r} is not supported by model {spec.id}; use one of {list(spec.sizes)}",
                      "size")
    if m is None:
        raise invalid(f"'size' must look like WIDTHxHEIGHT, e.g. 1280x720 (got {size!r})", "size")
    width, height = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) or width % 2 or height % 2:
        raise invalid(f"'size' sides must be even and between {MIN_SIDE} and {MAX_SIDE} pixels", "size")
    return size, width, height
