"""Wire models of the usage and billing routes."""
from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from tokenyard.common.usage import nanos_to_usd


def usd(nanos: int) -> float | int:
    """Nano-USD as a JSON number of USD (exact decimal digits; ints stay ints)."""
    d = nanos_to_usd(nanos)
    return int(d) if d == d.to_integral_value() else float(d)


class TopUpBody(BaseModel):
    """POST /v1/billing/topups."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=200)
    amount_usd: Decimal | str = Field(description="USD to add, e.g. 10 or \"2.50\" (at most 9 decimals).")
    note: str = Field("", max_length=200)


class PlanBody(BaseModel):
    """POST /v1/billing/plan."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=200)
    plan: str = Field(min_length=1, max_length=64)
