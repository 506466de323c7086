"""Benchmark: insert N usage records (default 1,000,000) through MeteringService.record and time the usage queries.

    python bench/usage_query.py [--records 1000000] [--database-url URL]

Defaults to a fresh SQLite file in a temp folder. Prints insert throughput and, for each query behind
`GET /v1/{app_id}/ai/usage`, `GET /api/usage` and `/api/usage/remaining`, the median of several runs; for
comparison also the same per-app totals aggregated from the raw records instead of the daily rollups.

Measured on SQLite on the shared 2-core dev box (load ~8), 1,000,000 records: per-app usage by model over
90 days 36 ms (1 day: 1.5 ms), account totals 4.8 ms, a page of the latest 100 records 2.9 ms, balance 2.9 ms;
the same per-app totals aggregated from the raw records instead of the rollups: 1,270 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from tokenyard.common.usage import UsageEvent
from tokenyard.metering.credits import CreditStore
from tokenyard.metering.service import MeteringService
from tokenyard.metering.tables import UsageRecordRow
from tokenyard.storage.db import create_engine, migrate, sessionmaker

MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4.6", "google/gemini-2.5-flash"]
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def events(n: int, offset: int, rng: random.Random) -> list[UsageEvent]:
    """`n` records over 90 days, 50 accounts with 4 apps each; app_0_0 gets a large share."""
    out = []
    for i in range(offset, offset + n):
        account = rng.randrange(50)
        app = "app_0_0" if rng.random() < 0.3 else f"app_{account}_{rng.randrange(4)}"
        p, c = rng.randrange(10, 2000), rng.randrange(1, 800)
        out.append(UsageEvent(request_id=f"req_{i:09d}", time=START + dt.timedelta(seconds=rng.randrange(90 * 86400)),
                              account_id=f"acct_{account}", app_id=app, key_id="key_x", model=rng.choice(MODELS),
                              prompt_tokens=p, completion_tokens=c, cost_nanos=p * 150 + c * 600))
    return out


async def timed(label: str, fn, runs: int = 7) -> None:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t) * 1000)
    print(f"  {label:<58} {statistics.median(samples):8.2f} ms (median of {runs})")


async def main(records: int, url: str) -> None:
    await migrate(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    credits = CreditStore(sessions, {"free": Decimal(5)}, "free")
    metering = MeteringService(sessions, credits)
    rng = random.Random(7)
    t0 = time.perf_counter()
    batch = 5000
    for off in range(0, records, batch):
        await metering.record(events(min(batch, records - off), off, rng))
        if (off // batch) % 40 == 0:
            print(f"  inserted {off + batch:>9,} ({time.perf_counter() - t0:6.1f} s)", flush=True)
    took = time.perf_counter() - t0
    print(f"inserted {records:,} records (with rollups and ledger entries) in {took:.1f} s "
          f"({records / took:,.0f}/s)")
    start, end = dt.date(2025, 1, 1), dt.date(2025, 3, 31)
    print("queries:")
    await timed("app usage by model, 90 days (GET /v1/app_0_0/ai/usage)",
                lambda: metering.usage_by_model(start, end, app_id="app_0_0"))
    await timed("app usage by model, 1 day", lambda: metering.usage_by_model(start, start, app_id="app_0_0"))
    await timed("account totals, 90 days (GET /api/usage totals)",
                lambda: metering.usage_by_model(start, end, account_id="acct_3"))
    await timed("account's latest 100 records (GET /api/usage page)", lambda: metering.records_for("acct_3", 100))
    await timed("account's records in one day, page of 100",
                lambda: metering.records_for("acct_3", 100, start=START + dt.timedelta(days=40),
                                             end=START + dt.timedelta(days=41)))
    await timed("balance (GET /api/usage/remaining)", lambda: credits.balance("acct_3"))

    async def raw() -> None:
        r = UsageRecordRow
        q = (select(r.model, func.count(), func.sum(r.prompt_tokens), func.sum(r.completion_tokens),
                    func.sum(r.cost_nanos)).where(r.app_id == "app_0_0").group_by(r.model))
        async with sessions() as s:
            (await s.execute(q)).all()
    await timed("for comparison: the same app totals from raw records", raw, runs=3)
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tokenyard-bench-"))
    asyncio.run(main(args.records, args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"))
