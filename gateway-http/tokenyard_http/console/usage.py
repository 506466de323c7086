"""Console usage: per-day chart, per-model breakdown, CSV export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tokenyard_http.console.render import ConsoleRoute, api, render
from tokenyard_http.console.session import ApiFailed, ConsoleApi

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = 1000
MAX_PAGES = 50  # at most 50,000 records per view
CSV_FIELDS = ["date", "model", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd"]


@dataclass
class Totals:
    """Requests, tokens and exact cost of a group of usage records."""

    requests: int = 0
    prompt: int = 0
    completion: int = 0
    total: int = 0
    cost: Decimal = field(default_factory=Decimal)

    def add(self, r: dict[str, Any]) -> None:
        self.requests += 1
        self.prompt += int(r.get("promptTokens") or 0)
        self.completion += int(r.get("completionTokens") or 0)
        self.total += int(r.get("totalTokens") or 0)
        self.cost += Decimal(str(r.get("costUsd") or 0))


def _range(start: str, end: str) -> tuple[dt.date, dt.date]:
    """The requested UTC date range (default: the last 30 days); ApiFailed on a bad date."""
    try:
        last = dt.date.fromisoformat(end) if end else dt.datetime.now(dt.UTC).date()
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=29)
    except ValueError:
        raise ApiFailed(400, "Dates must be YYYY-MM-DD.") from None
    if first > last:
        raise ApiFailed(400, "The start date is after the end date.")
    if (last - first).days > 366:
        raise ApiFailed(400, "Choose a range of at most 366 days.")
    return first, last


async def _records(c: ConsoleApi, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Every usage record of the caller in the range, paging through GET /api/usage."""
    out: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        params = {"startDate": first.isoformat(), "endDate": last.isoformat(), "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        page = await c.json("GET", "/api/usage", params=params)
        out.extend(page["usage"])
        cursor = page.get("nextCursor") or ""
        if not cursor:
            break
    return out


def breakdown(records: list[dict[str, Any]], first: dt.date, last: dt.date
              ) -> tuple[dict[str, Totals], dict[str, Totals], dict[tuple[str, str], Totals]]:
    """Per-day (every day of the range, zeros included), per-model and per-(day, model) totals."""
    days = {(first + dt.timedelta(days=i)).isoformat(): Totals() for i in range((last - first).days + 1)}
    models: dict[str, Totals] = defaultdict(Totals)
    cells: dict[tuple[str, str], Totals] = defaultdict(Totals)
    for r in records:
        day = str(r["timestamp"])[:10]
        if day in days:
            days[day].add(r)
            models[r["model"]].add(r)
            cells[(day, r["model"])].add(r)
    return days, dict(sorted(models.items(), key=lambda kv: -kv[1].cost)), cells


async def _load(request: Request, c: ConsoleApi) -> tuple[dt.date, dt.date, str, list[dict[str, Any]]]:
    q = request.query_params
    first, last = _range(q.get("start", ""), q.get("end", ""))
    app = q.get("app", "")
    records = [r for r in await _records(c, first, last) if not app or r.get("appId") == app]
    return first, last, app, records


@router.get("/console/usage")
async def usage(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """Tokens and cost per day as a chart (and the same numbers as a table), and the breakdown by model."""
    first, last, app, records = await _load(request, c)
    days, models, _ = breakdown(records, first, last)
    series = {"labels": list(days), "tokens": [t.total for t in days.values()],
              "cost": [float(t.cost) for t in days.values()]}
    try:
        apps = await c.items("/v1/apps")
    except ApiFailed:
        apps = []
    total = Totals()
    for r in records:
        total.add(r)
    return render(request, "usage.html", {"title": "Usage", "page": "usage", "start": first.isoformat(),
                                          "end": last.isoformat(), "app": app, "apps": apps, "days": days,
                                          "models": models, "total": total, "series": json.dumps(series)})


@router.get("/console/usage.csv")
async def usage_csv(request: Request, c: ConsoleApi = Depends(api)) -> Response:
    """One row per day and model with requests, tokens and exact cost."""
    first, last, _, records = await _load(request, c)
    _, _, cells = breakdown(records, first, last)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for (day, model), t in sorted(cells.items()):
        writer.writerow([day, model, t.requests, t.prompt, t.completion, t.total, str(t.cost)])
    name = f"tokenyard-usage-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})
