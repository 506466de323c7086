"""Time values shared by every service: proto Timestamps and the YYYY-MM-DD days of usage queries."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from google.protobuf import timestamp_pb2

from tokenyard.errors import invalid


def ts(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A datetime as a Timestamp (None stays unset)."""
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def from_ts(msg: object, field: str) -> dt.datetime | None:
    """A Timestamp field as an aware datetime (None when unset)."""
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return None
    return getattr(msg, field).ToDatetime(tzinfo=dt.UTC)


def parse_day(value: str, param: str) -> dt.date:
    """A YYYY-MM-DD date; 400 naming `param` otherwise."""
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid(f"`{param}` must be a date as YYYY-MM-DD, got {value!r}", param) from None


def date_range(start: str, end: str, *, default_days: int = 30,
               today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.timezone.utc).date()
               ) -> tuple[dt.date, dt.date]:
    """Inclusive [start, end] from optional strings (defaults: the last `default_days` days); 400 when
    malformed or start is after end."""
    end_d = parse_day(end, "endDate") if end else today()
    start_d = parse_day(start, "startDate") if start else end_d - dt.timedelta(days=default_days - 1)
    if start_d > end_d:
        raise invalid("`startDate` must not be after `endDate`", "startDate")
    return start_d, end_d
