"""A client's request id never decides billing (issue 16): every paid call gets its own usage record and charge
whatever `X-Request-Id` (or gRPC `request_id`) it sends; the client's id is only echoed, logged and stored as
`client_request_id`."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from tests.e2e.metering_helpers import PRICED_MODEL, create_key, database_url, query, wait_until
from tests.harness.gateway import Gateway

CONFIG = {"models": [PRICED_MODEL], "plans": [{"name": "free", "monthly_credits_usd": "1", "default": True}]}
NANOS = 1_000_000_000


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(workdir=tmp_path_factory.mktemp("request-ids"), config=CONFIG)
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def chat(gw: Gateway, key: str, rid: str | None, content: str = "hello there") -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **({"x-request-id": rid} if rid is not None else {})}
    r = httpx.post(f"{gw.url}/v1/chat/completions", headers=headers, timeout=60, json={
        "model": "test/priced", "max_tokens": 5, "messages": [{"role": "user", "content": content}]})
    assert r.status_code == 200, r.text
    return r


def records(gw: Gateway, account: str) -> list[tuple[Any, ...]]:
    """(request_id, client_request_id, cost_nanos) of the account's usage records."""
    return query(database_url(gw), "SELECT request_id, client_request_id, cost_nanos FROM usage_records "
                                   "WHERE account_id = :a", a=account)


def charges(gw: Gateway, account: str) -> list[int]:
    """The account's usage charges in the credit ledger (nano-USD, negative)."""
    return [r[0] for r in query(database_url(gw), "SELECT amount_nanos FROM credit_ledger WHERE account_id = :a "
                                                  "AND kind = 'usage'", a=account)]


def settled(gw: Gateway, account: str, count: int) -> list[tuple[Any, ...]]:
    """The account's records once there are `count` and nothing is reserved any more."""
    def check() -> list[tuple[Any, ...]] | None:
        rows = records(gw, account)
        held = query(database_url(gw), "SELECT COALESCE(SUM(reserved_nanos), 0) FROM credit_accounts "
                                       "WHERE account_id = :a", a=account)[0][0]
        return rows if len(rows) >= count and not held else None

    return wait_until(check, 30) or records(gw, account)


def spendable(gw: Gateway, account: str) -> int:
    """allowance + top-ups - reserved, nano-USD."""
    row = query(database_url(gw), "SELECT allowance_nanos + topup_nanos - reserved_nanos FROM credit_accounts "
                                  "WHERE account_id = :a", a=account)
    return int(row[0][0])


def test_five_identical_calls_with_one_request_id_make_five_records_and_five_charges(gw: Gateway) -> None:
    _, key = create_key(gw, "rid-five")
    rid = "retry-me-please-0001"
    for _ in range(5):
        r = chat(gw, key, rid)
        assert r.headers["x-request-id"] == rid, "the client's id is echoed"
    rows = settled(gw, "rid-five", 5)
    assert len(rows) == 5, f"one usage record per call, got {len(rows)}"
    assert {client for _, client, _ in rows} == {rid}, "the client's id is kept as client_request_id"
    ids = {own for own, _, _ in rows}
    assert len(ids) == 5 and rid not in ids and all(i.startswith("req_") for i in ids), "ids are the gateway's"
    costs = [cost for _, _, cost in rows]
    assert all(c > 0 for c in costs)
    assert sorted(charges(gw, "rid-five")) == sorted(-c for c in costs), "five charges in the ledger"
    assert spendable(gw, "rid-five") == NANOS - sum(costs)


def test_reusing_another_tenants_request_id_is_still_charged(gw: Gateway) -> None:
    _, alice = create_key(gw, "rid-alice")
    _, mallory = create_key(gw, "rid-mallory")
    rid = "req_seen-in-alices-logs"
    chat(gw, alice, rid)
    assert len(settled(gw, "rid-alice", 1)) == 1
    assert chat(gw, mallory, rid).headers["x-request-id"] == rid
    [(own, client, cost)] = settled(gw, "rid-mallory", 1)
    assert client == rid and own != rid and cost > 0
    assert charges(gw, "rid-mallory") == [-cost], "the second tenant pays for its call"
    assert spendable(gw, "rid-mallory") == NANOS - cost
    assert len(records(gw, "rid-alice")) == 1, "the first tenant's record is untouched"


def test_request_ids_are_bounded_and_a_missing_one_is_generated(gw: Gateway) -> None:
    _, key = create_key(gw, "rid-bounds")
    longest = "r" * 128
    assert chat(gw, key, longest).headers["x-request-id"] == longest
    generated = []
    for bad in ("r" * 129, "tab\there", None):
        echoed = chat(gw, key, bad).headers["x-request-id"]
        assert echoed.startswith("req_") and echoed != bad, "an unusable id is replaced, never stored"
        generated.append(echoed)
    rows = settled(gw, "rid-bounds", 4)
    assert sorted(client for _, client, _ in rows) == sorted([longest, *generated])
    assert not {own for own, _, _ in rows} & {longest, *generated}


def test_grpc_request_id_is_only_a_correlation_id(gw: Gateway) -> None:
    from tokenyard.inference import convert
    from tokenyard.inference.v1 import inference_service_pb2 as pb
    from tokenyard.inference.v1 import inference_service_pb2_grpc as pb_grpc

    _, key = create_key(gw, "rid-grpc")
    req = pb.ChatRequest(request=convert.request_to_pb({"model": "test/priced", "max_tokens": 5, "messages": [
        {"role": "user", "content": "over grpc"}]}), request_id="grpc-fixed-id")
    with grpc.insecure_channel(gw.grpc_addr) as ch:
        stub = pb_grpc.InferenceServiceStub(ch)
        for _ in range(3):
            stub.Chat(req, metadata=(("authorization", f"Bearer {key}"),), timeout=60)
    rows = settled(gw, "rid-grpc", 3)
    assert len(rows) == 3 and {client for _, client, _ in rows} == {"grpc-fixed-id"}
    assert len(charges(gw, "rid-grpc")) == 3


def test_usage_api_shows_the_client_request_id(gw: Gateway) -> None:
    _, key = create_key(gw, "rid-api", scopes=("ai:gateway", "usage:read"))
    chat(gw, key, "find-me-in-usage")
    settled(gw, "rid-api", 1)
    with httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key}"}) as http:
        usage = http.get("/api/usage").json()["usage"]
    [rec] = usage
    assert rec["clientRequestId"] == "find-me-in-usage" and rec["id"].startswith("req_")
