"""64 concurrent clients on a mixed workload against the PostgreSQL and Redis backends: no error that is the
gateway's fault, no memory growth, every answer metered once. ~10 s in CI; 60 s with TOKENYARD_LONG_TESTS=1
(`make reliability-long`)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.metering_helpers import create_key
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway
from tests.reliability.books import assert_books_balance, assert_usage_exact
from tests.reliability.deps import RedisServer, pg_database
from tests.reliability.load import MIX, LoadReport, rss_bytes, run_load
from tests.reliability.upstream_fixture import config as upstream_config

LONG = os.environ.get("TOKENYARD_LONG_TESTS") == "1"
ACCOUNT = "rel-load"


@pytest.fixture
def loaded_gateway(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    """A gateway on a fresh PostgreSQL database and a private redis-server, with fake upstreams."""
    with pg_database() as url, FakeOpenAI(require_api_key="sk-fake") as main, \
            FakeOpenAI(require_api_key="sk-fake") as storm:
        redis_server = RedisServer(tmp_path / "redis").start()
        config = upstream_config(storm, main)
        config["plans"] = [{"name": "free", "monthly_credits_usd": "1000", "default": True}]
        gw = Gateway(workdir=tmp_path / "gw", config=config,
                     env={"FAKE_OPENAI_KEY": "sk-fake", "TOKENYARD_DATABASE_URL": url,
                          "TOKENYARD_REDIS_URL": redis_server.url, "TOKENYARD_REDIS_PREFIX": "rel-load:",
                          "TOKENYARD_LOG_LEVEL": "warning"})
        try:
            gw.start()
            _, key = create_key(gw, ACCOUNT, scopes=("ai:gateway", "usage:read"), rpm=10_000_000,
                                tpm=1_000_000_000)  # limits on: Redis is used
            yield gw, key
        finally:
            gw.stop()
            redis_server.stop()


def _soak(gw: Gateway, key: str, warmup: float, seconds: float) -> tuple[LoadReport, int, int]:
    pid = gw.procs["gateway"].pid
    report = run_load(gw, key, warmup)
    warm = rss_bytes(pid)
    run_load(gw, key, seconds, report=report)
    return report, warm, rss_bytes(pid)


def _assert_healthy(gw: Gateway, report: LoadReport, warm: int, after: int, slack: float) -> None:
    assert not report.failures, f"{len(report.failures)} failures, e.g. {report.failures[:3]}"
    kinds = report.by_kind()
    assert set(kinds) == {k for k, *_ in MIX} and min(kinds.values()) >= 5, kinds
    assert after <= warm * slack, f"RSS grew from {warm >> 20} MiB to {after >> 20} MiB"
    assert_usage_exact(gw, report.ok_metered(), report.outcomes, timeout=60)
    assert_books_balance(gw, ACCOUNT, timeout=60)
    print(f"load: {len(report.outcomes)} requests {dict(kinds)}; RSS {warm >> 20} -> {after >> 20} MiB")


def test_mixed_load_short(loaded_gateway: tuple[Gateway, str]) -> None:
    gw, key = loaded_gateway
    report, warm, after = _soak(gw, key, warmup=2, seconds=6)
    _assert_healthy(gw, report, warm, after, slack=1.15)


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="set TOKENYARD_LONG_TESTS=1 (or run `make reliability-long`)")
@pytest.mark.timeout(300)
def test_mixed_load_64_clients_60_seconds(loaded_gateway: tuple[Gateway, str]) -> None:
    gw, key = loaded_gateway
    report, warm, after = _soak(gw, key, warmup=15, seconds=60)
    _assert_healthy(gw, report, warm, after, slack=1.10)
