"""The usage event handed from the Router (and other services) to Metering."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NANOS_PER_USD = 1_000_000_000


def usd_to_micros(usd: Decimal) -> int:
    """USD as integer micro-dollars, rounded half up."""
    return int((usd * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usd_to_nanos(usd: Decimal) -> int:
    """USD as integer nano-dollars (the unit of every stored amount), rounded half up.

    Token prices with up to three decimals per million tokens are whole nano-dollars per token, so token
    costs are exact; finer prices round once per record, and the ledger charges that same integer.
    """
    return int((usd * NANOS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def nanos_to_usd(nanos: int) -> Decimal:
    """Integer nano-dollars as an exact Decimal USD amount."""
    return Decimal(nanos).scaleb(-9).normalize() if nanos else Decimal(0)


@dataclass(frozen=True)
class UsageEvent:
    """One request's usage; `request_id` is unique and makes recording idempotent."""

    request_id: str
    time: dt.datetime
    account_id: str
    model: str
    app_id: str = ""
    key_id: str = ""
    target: str = ""
    kind: str = "chat"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    cost_micros: int = 0
    latency_ms: float = 0.0
    ttft_ms: float = 0.0
    status: str = "ok"
    reservation_id: str = ""
    cost_nanos: int = 0

    def __post_init__(self) -> None:
        if not self.cost_nanos and self.cost_micros:
            object.__setattr__(self, "cost_nanos", self.cost_micros * 1000)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (for spooling)."""
        d = asdict(self)
        d["time"] = self.time.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "UsageEvent":
        """Inverse of to_json."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "time": dt.datetime.fromisoformat(d["time"])})
