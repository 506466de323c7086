"""HTTP Range header parsing (RFC 9110 §14) for single byte ranges."""
from __future__ import annotations

import re
from typing import Literal

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, total: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """The inclusive (start, end) a Range header asks for; None to send everything (no header, a syntax
    the server may ignore, or several ranges); "unsatisfiable" for a valid range outside the content."""
    if not header:
        return None
    m = _RANGE.match(header)
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0 or total == 0:
            return "unsatisfiable"
        return max(0, total - suffix), total - 1
    start = int(first)
    end = int(last) if last else total - 1
    if last and end < start:
        return None
    if start >= total:
        return "unsatisfiable"
    return start, min(end, total - 1)
