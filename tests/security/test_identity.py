"""Identity: reserved and malformed JWT subjects, usage:read on the caller's own usage, keys minted by keys."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
import pytest

from tests.jwt_helpers import hs256
from tests.security.conftest import SecEnv

ADMIN_ROUTES = [("GET", "/v1/keys", None), ("DELETE", "/v1/keys/key_admin", None),
                ("GET", "/v1/billing/balance", None), ("GET", "/api/usage", None), ("GET", "/v1/apps", None),
                ("POST", "/v1/chat/completions", {"model": "local/echo", "messages": [{"role": "user",
                                                                                      "content": "free?"}]})]


def _admin_key_works(sec: SecEnv) -> bool:
    with sec.gw.http() as admin:
        r = admin.get("/v1/keys", params={"include_revoked": True, "limit": 100})
        return r.status_code == 200 and any(k["id"] == "key_admin" and k["revoked_at"] is None
                                            for k in r.json()["data"])


@pytest.mark.parametrize("sub", ["admin", "ADMIN", "Admin"])
def test_a_jwt_claiming_the_admin_subject_without_the_admin_claim_is_refused(sec: SecEnv, sub: str) -> None:
    with sec.gw.http(hs256(sub)) as mallory:
        for method, path, body in ADMIN_ROUTES:
            r = mallory.request(method, path, json=body)
            assert r.status_code == 401, (path, r.status_code, r.text[:300])
            assert "reserved" in r.text, r.text
    with sec.gw.http(hs256(sub, tokenyard_admin=False)) as still_not:
        assert still_not.get("/v1/keys").status_code == 401
    assert _admin_key_works(sec), "the bootstrap admin key must survive the attempt to revoke it"
    with sec.gw.http() as admin:
        assert admin.get("/v1/billing/balance").json()["unlimited"] is True


def test_only_an_admin_token_acts_as_the_bootstrap_account(sec: SecEnv) -> None:
    with sec.gw.http(hs256("admin", tokenyard_admin=True)) as root:
        bal = root.get("/v1/billing/balance").json()
        assert bal["account_id"] == "admin" and bal["unlimited"] is True
    other = f"ops-{uuid.uuid4().hex[:6]}"
    with sec.gw.http(hs256(other, tokenyard_admin=True)) as ops:
        bal = ops.get("/v1/billing/balance").json()
        assert bal["account_id"] == other and bal["unlimited"] is False, "admin scope is not unlimited credit"
        assert ops.get("/v1/billing/balance", params={"account_id": "admin"}).status_code == 200  # admin scope
    with sec.gw.http(hs256("Admin", tokenyard_admin=True)) as confusable:
        assert confusable.get("/v1/keys").status_code == 401


@pytest.mark.parametrize("sub", ["", "a/b", "../admin", "admin/app_x", ".", "..", "a b", "tab\there", "x" * 201,
                                 "caf\u00e9", "a%2Fb", "a?b", "a#b", "back\\slash", "nul\x00"])
def test_odd_subjects_are_refused(sec: SecEnv, sub: str) -> None:
    with sec.gw.http(hs256(sub)) as client:
        r = client.get("/v1/keys")
    assert r.status_code == 401, (sub, r.status_code, r.text[:200])
    assert r.json()["error"]["type"] == "authentication_error"


def test_ordinary_subject_shapes_still_sign_in(sec: SecEnv) -> None:
    tail = uuid.uuid4().hex[:6]
    for sub in (f"auth0|{tail}", f"user.{tail}+tag@example.com", str(uuid.uuid4()), f"f:idp:{tail}", "x" * 200):
        with sec.gw.http(hs256(sub)) as client:
            assert client.get("/v1/keys").status_code == 200, sub


def test_reading_own_usage_and_balance_needs_usage_read(sec: SecEnv) -> None:
    user = sec.user("reader")
    without = sec.gw.http(sec.key(user, name="no-usage", scopes=["ai:gateway", "keys:write"])["key"])
    for path in ("/api/usage", "/api/usage/remaining"):
        r = without.get(path)
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", (path, r.text)
        assert "usage:read" in r.json()["error"]
    r = without.get("/v1/billing/balance")
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    holding = sec.gw.http(sec.key(user, name="usage", scopes=["usage:read"])["key"])
    for path in ("/api/usage", "/api/usage/remaining", "/v1/billing/balance"):
        assert holding.get(path).status_code == 200, path
        assert user.get(path).status_code == 200, path  # the platform user holds usage:read


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _expiry(key: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(key["expires_at"].replace("Z", "+00:00"))


def test_a_key_minted_by_a_key_cannot_outlive_it_or_exceed_its_scopes(sec: SecEnv) -> None:
    user = sec.user("minter")
    parent_expiry = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    parent = sec.key(user, name="parent", scopes=["ai:gateway", "keys:write"], expires_at=_iso(parent_expiry))
    minter = sec.gw.http(parent["key"])
    inherited = minter.post("/v1/keys", json={"name": "no expiry asked"})
    assert inherited.status_code == 201, inherited.text
    assert _expiry(inherited.json()) == parent_expiry
    later = minter.post("/v1/keys", json={"name": "later",
                                          "expires_at": _iso(parent_expiry + dt.timedelta(days=30))})
    assert later.status_code == 400 and later.json()["error"]["param"] == "expires_at", later.text
    sooner = minter.post("/v1/keys", json={"name": "sooner",
                                           "expires_at": _iso(parent_expiry - dt.timedelta(minutes=5))})
    assert sooner.status_code == 201 and _expiry(sooner.json()) == parent_expiry - dt.timedelta(minutes=5)
    for scopes in (["usage:read"], ["ai:gateway", "apps:write"], ["admin"]):
        r = minter.post("/v1/keys", json={"name": "wider", "scopes": scopes})
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error", (scopes, r.text)
    created = user.post("/v1/keys", json={"name": "by the user, with no expiry"})
    assert created.status_code == 201 and created.json()["expires_at"] is None, "a JWT session mints free keys"


def _dead_within(secret: str, sec: SecEnv, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    with sec.gw.http(secret) as client:
        while time.monotonic() < deadline:
            if client.get("/v1/models").status_code == 401:
                return True
            time.sleep(0.05)
    return False


def test_revoking_a_key_revokes_the_keys_it_minted_within_a_second(sec: SecEnv) -> None:
    user = sec.user("family")
    parent = sec.key(user, name="parent", scopes=["ai:gateway", "keys:write"])
    child = new_child(sec, parent["key"], scopes=["ai:gateway", "keys:write"])
    grandchild = new_child(sec, child["key"], scopes=["ai:gateway"])
    sibling = sec.key(user, name="made by the user", scopes=["ai:gateway"])
    for key in (child, grandchild, sibling):
        assert sec.gw.http(key["key"]).get("/v1/models").status_code == 200
    assert user.delete(f"/v1/keys/{parent['id']}").status_code == 200
    revoked_at = time.monotonic()
    assert _dead_within(child["key"], sec, 1.5) and _dead_within(grandchild["key"], sec, 1.5)
    assert time.monotonic() - revoked_at < 1.5
    page = user.get("/v1/keys", params={"include_revoked": True, "limit": 100}).json()["data"]
    listed = {k["id"]: k for k in page}
    assert listed[child["id"]]["revoked_at"] and listed[grandchild["id"]]["revoked_at"]
    assert listed[sibling["id"]]["revoked_at"] is None
    assert sec.gw.http(sibling["key"]).get("/v1/models").status_code == 200


def new_child(sec: SecEnv, parent_secret: str, **body: object) -> dict:
    """A key minted with another key as the credential."""
    with httpx.Client(base_url=sec.gw.url, headers={"authorization": f"Bearer {parent_secret}"}) as c:
        r = c.post("/v1/keys", json={"name": "child", **body})
    assert r.status_code == 201, r.text
    sec.secrets.append(r.json()["key"])
    return r.json()
