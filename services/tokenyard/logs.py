"""Structured JSON logging for every process (no secrets, no prompts unless enabled)."""
from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from contextvars import ContextVar

import orjson
from opentelemetry import trace

REQUEST_ID: ContextVar[str] = ContextVar("tokenyard_request_id", default="")
"""The request id of the request this task serves; added to every log line written meanwhile."""

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# API keys (ty_sk_...), bearer tokens and JWT-looking strings never reach a log line.
_SECRETS = re.compile(r"(ty_sk_)[A-Za-z0-9_\-]{4,}|(?i:(bearer)\s+)\S+|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]+")


def redact(text: str) -> str:
    """`text` with anything that looks like a credential masked."""
    return _SECRETS.sub(lambda mt: f"{mt.group(1) or ''}{mt.group(2) or ''}{' ' if mt.group(2) else ''}***",
                        text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request/trace ids and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(),
               "level": record.levelname.lower(), "logger": record.name, "msg": redact(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if "request_id" not in out and REQUEST_ID.get():
            out["request_id"] = REQUEST_ID.get()
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            out["trace_id"] = f"{span.trace_id:032x}"
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__
            out["trace"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(out, default=str).decode()


def setup(level: str = "info") -> None:
    """Send JSON logs to stderr at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
