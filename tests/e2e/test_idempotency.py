"""Idempotent retries (issue 16): `Idempotency-Key` on POST /v1/chat/completions (and the app route) replays the
first answer of the same account and request and never meters twice; another request is a 400, another account
is independent, streams are refused clearly."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.metering_helpers import PRICED_MODEL, create_key
from tests.e2e.test_request_ids import charges, settled
from tests.harness.gateway import Gateway

# A small balance: $0.03 covers several small calls (~$0.002 held, ~$0.0016 charged each) but not one reservation
# of max_tokens=200 (~$0.041).
CONFIG = {"models": [PRICED_MODEL], "plans": [{"name": "free", "monthly_credits_usd": "0.03", "default": True}]}
BODY = {"model": "test/priced", "max_tokens": 5, "messages": [{"role": "user", "content": "pay me once"}]}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(workdir=tmp_path_factory.mktemp("idempotency"), config=CONFIG)
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def post(gw: Gateway, key: str, idem: str | None, body: dict[str, Any] = BODY, path: str = "/v1/chat/completions",
         **headers: str) -> httpx.Response:
    extra = {"Idempotency-Key": idem} if idem is not None else {}
    return httpx.post(f"{gw.url}{path}", json=body, timeout=60,
                      headers={"authorization": f"Bearer {key}", **extra, **headers})


def test_a_retry_replays_the_same_answer_and_is_charged_once(gw: Gateway) -> None:
    _, key = create_key(gw, "idem-once")
    first = post(gw, key, "order-42", **{"x-request-id": "attempt-1"})
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    again = post(gw, key, "order-42", **{"x-request-id": "attempt-2"})
    assert again.status_code == 200 and again.content == first.content, "the same body, byte for byte"
    assert again.headers["idempotent-replayed"] == "true"
    sdk = gw.openai(key=key).chat.completions.create(**BODY, extra_headers={"Idempotency-Key": "order-42"})
    assert sdk.model_dump(exclude_unset=True) == first.json(), "the SDK reads the same completion"
    rows = settled(gw, "idem-once", 1)
    assert len(rows) == 1 and rows[0][1] == "attempt-1", "one usage record: the first attempt's"
    assert len(charges(gw, "idem-once")) == 1, "one charge"


def test_the_same_key_with_another_request_is_a_400(gw: Gateway) -> None:
    _, key = create_key(gw, "idem-reuse")
    assert post(gw, key, "k-reuse").status_code == 200
    other = {**BODY, "messages": [{"role": "user", "content": "something else"}]}
    with pytest.raises(openai.BadRequestError) as err:
        gw.openai(key=key).chat.completions.create(**other, extra_headers={"Idempotency-Key": "k-reuse"})
    assert err.value.code == "idempotency_key_reused" and err.value.param == "Idempotency-Key"
    assert len(settled(gw, "idem-reuse", 1)) == 1 and len(charges(gw, "idem-reuse")) == 1


def test_keys_of_different_accounts_are_independent(gw: Gateway) -> None:
    _, alice = create_key(gw, "idem-alice")
    _, bob = create_key(gw, "idem-bob")
    a = post(gw, alice, "shared-key")
    b = post(gw, bob, "shared-key")
    assert a.status_code == b.status_code == 200
    assert "idempotent-replayed" not in b.headers and b.json()["id"] != a.json()["id"], "bob's own run"
    c = post(gw, bob, "shared-key")
    assert c.headers["idempotent-replayed"] == "true" and c.content == b.content, "bob replays his own answer"
    other = post(gw, alice, "another-key", {**BODY, "messages": [{"role": "user", "content": "alice's"}]})
    assert other.status_code == 200
    assert len(settled(gw, "idem-alice", 2)) == 2 and len(charges(gw, "idem-alice")) == 2
    assert len(settled(gw, "idem-bob", 1)) == 1 and len(charges(gw, "idem-bob")) == 1


def test_app_route_replays_and_a_key_is_bound_to_its_route(gw: Gateway) -> None:
    _, key = create_key(gw, "idem-app", scopes=("ai:gateway", "apps:write"))
    app = httpx.post(f"{gw.url}/v1/apps", json={"name": "idem"}, headers={"authorization": f"Bearer {key}"}).json()
    path = f"/v1/{app['id']}/chat/completions"
    first = post(gw, key, "app-key", path=path)
    assert first.status_code == 200, first.text
    again = post(gw, key, "app-key", path=path)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    elsewhere = post(gw, key, "app-key")  # same body on the app-less route: another request
    assert elsewhere.status_code == 400 and elsewhere.json()["error"]["code"] == "idempotency_key_reused"
    assert len(settled(gw, "idem-app", 1)) == 1


def test_streams_and_bad_keys_are_refused_clearly_and_meter_nothing(gw: Gateway) -> None:
    _, key = create_key(gw, "idem-refused")
    with pytest.raises(openai.BadRequestError) as err:
        gw.openai(key=key).chat.completions.create(**BODY, stream=True, extra_headers={"Idempotency-Key": "s-1"})
    assert err.value.param == "Idempotency-Key" and "stream" in err.value.message
    for bad in ("k" * 256, ""):
        r = post(gw, key, bad)
        assert r.status_code == 400 and r.json()["error"]["param"] == "Idempotency-Key", r.text
    assert post(gw, key, "k" * 255).status_code == 200
    assert len(settled(gw, "idem-refused", 1)) == 1


def test_a_failed_first_attempt_frees_its_key_for_the_retry(gw: Gateway) -> None:
    _, key = create_key(gw, "idem-poor")
    big = {**BODY, "max_tokens": 200}
    refused = post(gw, key, "after-topup", big)
    assert refused.status_code == 402 and refused.json()["error"]["type"] == "insufficient_quota"
    with gw.http() as admin:
        topup = admin.post("/v1/billing/topups", json={"account_id": "idem-poor", "amount_usd": "1"})
        assert topup.status_code == 200
    retried = post(gw, key, "after-topup", big)
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert post(gw, key, "after-topup", big).headers["idempotent-replayed"] == "true"
    assert len(settled(gw, "idem-poor", 1)) == 1 and len(charges(gw, "idem-poor")) == 1
