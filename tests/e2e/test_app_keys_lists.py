"""Apps and keys end to end: deleting an app revokes its keys on every gateway process, and the app and key
lists page like the OpenAI lists (`limit`, `after`, `has_more`, `first_id`, `last_id`) over HTTP and gRPC."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import grpc
import httpx
import pytest
from tokenyard.common.v1 import common_pb2
from tokenyard.config.v1 import config_service_pb2 as config_pb
from tokenyard.config.v1 import config_service_pb2_grpc as config_grpc

from tests.e2e.tenancy_fixtures import new_app, new_key
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET, hs256

MSG = [{"role": "user", "content": "ping"}]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    """Two all-in-one gateways on one database (each with its own caches), platform JWTs enabled."""
    root = tmp_path_factory.mktemp("appkeys")
    env = {"TOKENYARD_JWT_SECRET": JWT_SECRET, "TOKENYARD_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'db'}"}
    a, b = Gateway(workdir=root / "a", env=dict(env)), Gateway(workdir=root / "b", env=dict(env))
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def user(gw: Gateway) -> httpx.Client:
    """A client for a fresh platform user."""
    return gw.http(hs256(f"u-{uuid.uuid4().hex[:8]}"))


def app_chat(gw: Gateway, app_id: str, key: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/{app_id}/chat/completions", json={"model": "local/echo", "messages": MSG},
                      headers={"authorization": f"Bearer {key}"}, timeout=10)


def test_deleting_an_app_revokes_its_keys_on_every_gateway(pair: tuple[Gateway, Gateway]) -> None:
    a, b = pair
    owner = user(a)
    app, other = new_app(owner, "doomed"), new_app(owner, "kept")
    doomed = [new_key(owner, name=f"app-key-{i}", scopes=["ai:gateway"], app_id=app) for i in range(2)]
    kept = new_key(owner, name="other-app", scopes=["ai:gateway"], app_id=other)
    personal = new_key(owner, name="personal", scopes=["ai:gateway"])
    for gw in (a, b):  # cache every key on both processes
        assert all(app_chat(gw, app, k["key"]).status_code == 200 for k in doomed)
        assert app_chat(gw, other, kept["key"]).status_code == 200
    assert owner.delete(f"/v1/apps/{app}").status_code == 200
    start = time.monotonic()
    for gw in (b, a):  # each process hears of it through the revocation feed, like after DELETE /v1/keys/{id}
        while app_chat(gw, app, doomed[0]["key"]).status_code != 401:
            assert time.monotonic() - start < 1.0, "a deleted app's key still works after 1 s"
            time.sleep(0.02)
    for gw in (a, b):
        for k in doomed:
            r = app_chat(gw, app, k["key"])
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error", r.text
            assert gw.http(k["key"]).get("/v1/models").status_code == 401
        assert app_chat(gw, other, kept["key"]).status_code == 200
        assert gw.http(personal["key"]).post("/v1/chat/completions", json={
            "model": "local/echo", "messages": MSG}).status_code == 200
    live = {k["id"] for k in owner.get("/v1/keys").json()["data"]}
    assert live == {kept["id"], personal["id"]}
    listed = owner.get("/v1/keys", params={"include_revoked": "true", "app_id": app}).json()["data"]
    assert {k["id"] for k in listed} == {k["id"] for k in doomed}
    assert all(k["revoked_at"] is not None and k["app_id"] == app for k in listed)
    assert all(k["revoked_at"] is None for k in owner.get("/v1/keys").json()["data"])
    assert owner.get(f"/v1/apps/{app}").status_code == 404


def walk(client: httpx.Client, path: str, limit: int, **params: str) -> tuple[list[str], list[dict]]:
    """Every id of a list, page by page; also returns the pages."""
    ids: list[str] = []
    pages: list[dict] = []
    after = ""
    while True:
        r = client.get(path, params={"limit": limit, **({"after": after} if after else {}), **params})
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(page)
        ids += [x["id"] for x in page["data"]]
        assert page["object"] == "list" and len(page["data"]) <= limit
        if page["data"]:
            assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][-1]["id"])
        if not page["has_more"]:
            return ids, pages
        after = page["last_id"]
        assert len(pages) < 50


def test_app_list_pages_newest_first(pair: tuple[Gateway, Gateway]) -> None:
    a, b = pair
    owner = user(a)
    made = [new_app(owner, f"app {i}") for i in range(5)]
    ids, pages = walk(owner, "/v1/apps", 2)
    assert ids == made[::-1] and [len(p["data"]) for p in pages] == [2, 2, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert walk(b.http(owner.headers["authorization"][7:]), "/v1/apps", 100)[0] == ids  # same on any process
    exact, pages = walk(owner, "/v1/apps", 5)
    assert exact == ids and len(pages) == 1 and pages[0]["has_more"] is False
    empty = user(a).get("/v1/apps").json()
    assert empty == {"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None}


def test_key_list_pages_and_defaults_to_twenty(pair: tuple[Gateway, Gateway]) -> None:
    a, _ = pair
    owner = user(a)
    made = [new_key(owner, name=f"k{i}", scopes=["ai:gateway"])["id"] for i in range(23)]
    first = owner.get("/v1/keys").json()
    assert len(first["data"]) == 20 and first["has_more"] is True
    ids, _ = walk(owner, "/v1/keys", 7)
    assert ids == made[::-1]
    assert owner.delete(f"/v1/keys/{made[0]}").status_code == 200
    assert walk(owner, "/v1/keys", 7)[0] == made[:0:-1]
    assert walk(owner, "/v1/keys", 7, include_revoked="true")[0] == made[::-1]
    # a cursor that was revoked in the meantime still marks its place in the live list
    after_revoked = owner.get("/v1/keys", params={"after": made[1], "limit": 5}).json()
    assert after_revoked["data"] == [] and after_revoked["has_more"] is False
    page = owner.get("/v1/keys", params={"after": made[5], "limit": 3}).json()
    assert [k["id"] for k in page["data"]] == made[4:1:-1] and page["has_more"] is True


@pytest.mark.parametrize(("path", "params", "param"), [
    ("/v1/apps", {"limit": "0"}, "limit"), ("/v1/apps", {"limit": "101"}, "limit"),
    ("/v1/apps", {"limit": "-1"}, "limit"), ("/v1/apps", {"limit": "ten"}, "limit"),
    ("/v1/apps", {"limit": "1e9"}, "limit"), ("/v1/apps", {"after": "app_doesnotexist"}, "after"),
    ("/v1/apps", {"after": "../../etc"}, "after"), ("/v1/apps", {"after": "app_\x00"}, "after"),
    ("/v1/apps", {"after": "a" * 65}, "after"), ("/v1/apps", {"after": "app_ü"}, "after"),
    ("/v1/keys", {"limit": "0"}, "limit"), ("/v1/keys", {"limit": "100000000000000000000"}, "limit"),
    ("/v1/keys", {"after": "key_doesnotexist"}, "after"), ("/v1/keys", {"after": "key_'; drop"}, "after"),
    ("/v1/keys", {"include_revoked": "maybe"}, "include_revoked"), ("/v1/keys", {"app_id": "app_\x00"}, "app_id"),
])
def test_bad_list_parameters_are_400_naming_the_parameter(pair: tuple[Gateway, Gateway], path: str,
                                                          params: dict[str, str], param: str) -> None:
    r = user(pair[0]).get(path, params=params)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param, err
    assert "Traceback" not in r.text


def test_cursors_of_other_users_are_refused(pair: tuple[Gateway, Gateway]) -> None:
    a, _ = pair
    alice, bob = user(a), user(a)
    alice_app, alice_key = new_app(alice), new_key(alice, scopes=["ai:gateway"])["id"]
    new_app(bob)
    for path, after in (("/v1/apps", alice_app), ("/v1/keys", alice_key)):
        r = bob.get(path, params={"after": after})
        assert r.status_code == 400 and r.json()["error"]["param"] == "after"


def test_grpc_list_apps_pages_with_page_tokens(pair: tuple[Gateway, Gateway]) -> None:
    a, _ = pair
    token = hs256(f"g-{uuid.uuid4().hex[:8]}")
    owner = a.http(token)
    made = [new_app(owner, f"g{i}") for i in range(3)]
    md = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(f"127.0.0.1:{a.grpc_port}") as ch:
        stub = config_grpc.ConfigServiceStub(ch)
        seen, page_token = [], ""
        while True:
            resp = stub.ListApps(config_pb.ListAppsRequest(page=common_pb2.PageRequest(
                page_size=2, page_token=page_token)), metadata=md, timeout=10)
            seen += [x.id for x in resp.apps]
            page_token = resp.next_page_token
            if not page_token:
                break
        assert seen == made[::-1]
        for bad in (common_pb2.PageRequest(page_size=-1), common_pb2.PageRequest(page_size=101),
                    common_pb2.PageRequest(page_token="app_nope"), common_pb2.PageRequest(page_token="app_\x00")):
            with pytest.raises(grpc.RpcError) as info:
                stub.ListApps(config_pb.ListAppsRequest(page=bad), metadata=md, timeout=10)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_openapi_declares_the_list_parameters_and_page_fields(pair: tuple[Gateway, Gateway]) -> None:
    spec = httpx.get(f"{pair[0].url}/openapi.json").json()
    for path, params in (("/v1/apps", {"limit", "after"}), ("/v1/keys", {"limit", "after", "include_revoked",
                                                                          "app_id"})):
        op = spec["paths"][path]["get"]
        assert {p["name"] for p in op["parameters"]} == params
        assert "400" in op["responses"]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert {"has_more", "first_id", "last_id", "data"} <= set(spec["components"]["schemas"][ref]["properties"])
    key_schema = spec["components"]["schemas"]["Key"]["properties"]
    assert "revoked_at" in key_schema
