"""Usage is never lost nor doubled: SIGKILL of the Metering or the Router process under load (split gateway)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.metering_helpers import Load, database_url, query, spooled, wait_until
from tests.harness.gateway import Gateway

pytestmark = pytest.mark.slow


def _records(gw: Gateway) -> list[str]:
    """The records' client request ids (unique per request sent; a doubled record shows twice)."""
    return [r[0] for r in query(database_url(gw), "SELECT client_request_id FROM usage_records")]


def test_metering_killed_mid_load_loses_and_doubles_nothing(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True)
    load = Load(gw, gw.admin_key).start()
    try:
        load.wait_for_successes(20)
        gw.kill("metering")
        load.wait_for_successes(30)  # answered while Metering is down: only the Router's spool has them
        assert spooled(gw) > 0
        gw.start_service("metering")
        load.wait_for_successes(20)
    finally:
        load.stop()
    ok = load.ok()
    assert wait_until(lambda: set(_records(gw)) >= ok, 30), "usage records missing after Metering restart"
    records = _records(gw)
    assert len(records) == len(set(records))
    assert set(records) <= set(load.outcomes)
    assert set(records) == ok  # nothing failed here: exactly one record per successful response
    assert wait_until(lambda: spooled(gw) == 0, 10)


def test_router_killed_mid_load_replays_its_spool_on_restart(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True)
    load = Load(gw, gw.admin_key).start()
    try:
        load.wait_for_successes(20)
        gw.kill("metering")  # nothing reaches Metering now: answered requests live only in the spool
        load.wait_for_successes(30)
        gw.kill("inference")  # SIGKILL mid-load, mid-spool
        pending = spooled(gw)
        assert pending > 0
        gw.start_service("metering")
        gw.start_service("inference")  # adopts the dead process's spool and replays it
        load.wait_for_successes(20)
    finally:
        load.stop()
    ok = load.ok()
    assert wait_until(lambda: set(_records(gw)) >= ok, 30), \
        f"lost {len(ok - set(_records(gw)))} usage records of successful responses"
    records = _records(gw)
    assert len(records) == len(set(records))
    assert set(records) <= set(load.outcomes)  # at most the requests cut by the kill on top, never others
    assert len(set(records) - ok) <= load.workers
    assert wait_until(lambda: spooled(gw) == 0, 10)
