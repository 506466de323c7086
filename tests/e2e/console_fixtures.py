"""Fixtures of the console tests: a gateway with a priced local model, and fresh users with their own keys."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.metering_helpers import PRICED_MODEL, create_key
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET

USER_SCOPES = ("ai:gateway", "apps:write", "keys:write", "usage:read")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def console_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One all-in-one gateway for a console test module (wrap it in a module-scoped fixture)."""
    gw = Gateway(workdir=tmp_path_factory.mktemp("console"), config={"models": [PRICED_MODEL]},
                 env={"TOKENYARD_JWT_SECRET": JWT_SECRET})
    try:
        yield gw.start()
    finally:
        gw.stop()


def new_user(gw: Gateway) -> str:
    """A fresh account's key with the everyday scopes."""
    return create_key(gw, f"user-{uuid.uuid4().hex[:10]}", scopes=USER_SCOPES)[1]


def signed_in(gw: Gateway, key: str) -> httpx.Client:
    """An httpx client that signed in through the console form (it holds the cookies)."""
    client = httpx.Client(base_url=gw.url, timeout=30)
    page = client.get("/console/login")
    token = CSRF.search(page.text).group(1)
    resp = client.post("/console/login", data={"csrf": token, "credential": key, "next": "/console/keys"})
    assert resp.status_code == 303, resp.text
    return client


def csrf_of(html: str) -> str:
    """The CSRF token rendered into a page's forms."""
    match = CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def send_traffic(gw: Gateway, key: str, n: int = 3) -> None:
    """A few priced chat completions through the real API, so usage exists."""
    for i in range(n):
        resp = httpx.post(f"{gw.url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                          json={"model": PRICED_MODEL["id"], "messages": [{"role": "user", "content": f"hi {i}"}]},
                          timeout=30)
        assert resp.status_code == 200, resp.text
