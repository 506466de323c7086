"""Shared fixtures: a running gateway (session-wide and per-test), service availability checks."""
from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.gateway import Gateway


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
HAVE_POSTGRES = _port_open(5432)
HAVE_REDIS = _port_open(6379)
needs_postgres = pytest.mark.skipif(not HAVE_POSTGRES, reason="PostgreSQL is not running on 127.0.0.1:5432")
needs_redis = pytest.mark.skipif(not HAVE_REDIS, reason="Redis is not running on 127.0.0.1:6379")


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One all-in-one gateway with the default catalog, shared by tests that only read or add their own data."""
    gw = Gateway(workdir=tmp_path_factory.mktemp("gateway"))
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Factory for gateways with their own config/env; all are stopped after the test."""
    started: list[Gateway] = []

    def make(config: dict[str, Any] | None = None, env: dict[str, str] | None = None, split: bool = False,
             name: str = "gw", start: bool = True) -> Gateway:
        gw = Gateway(workdir=tmp_path / f"{name}{len(started)}", config=config, env=dict(env or {}), split=split)
        started.append(gw)
        return gw.start() if start else gw

    yield make
    for gw in started:
        gw.stop()
