"""One JWT-enabled gateway for the security tests, its OpenAI provider pointed at a fake that needs a known key."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.e2e.chat_app_gateway import send
from tests.e2e.tenancy_fixtures import new_app, new_key
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET, hs256

PROVIDER_KEY = "sk-provider-SECRET-4f1c9a7e2b"
DEPLOY_KEY = "sk-deploy-SECRET-77aa01bc"
ALL_SCOPES = ["ai:gateway", "apps:write", "keys:write", "usage:read"]


@dataclass
class Tenant:
    """A platform user with one of everything: app (+config), key, chat, video, deployment, usage."""

    account: str
    http: httpx.Client
    app: str = ""
    key: dict = field(default_factory=dict)
    chat: str = ""
    video: str = ""
    deployment: str = ""

    def ids(self) -> list[str]:
        """Identifiers and secrets that must never show up in another tenant's responses."""
        return [self.account, self.app, self.key["id"], self.key["key"], self.chat, self.video, self.deployment]


@dataclass
class SecEnv:
    """The gateway, its fake upstream, and every API key secret minted during the tests."""

    gw: Gateway
    fake: FakeOpenAI
    secrets: list[str] = field(default_factory=list)

    def user(self, prefix: str) -> httpx.Client:
        return self.gw.http(hs256(f"{prefix}-{uuid.uuid4().hex[:6]}"))

    def key(self, owner: httpx.Client, **body: object) -> dict:
        created = new_key(owner, **body)
        self.secrets.append(created["key"])
        return created

    def tenant(self, prefix: str) -> Tenant:
        """A user who owns an app, a key, a chat, a video, a deployment and some usage."""
        account = f"{prefix}-{uuid.uuid4().hex[:6]}"
        http = self.gw.http(hs256(account))
        t = Tenant(account=account, http=http)
        t.app = new_app(http, f"{prefix}-app-{uuid.uuid4().hex[:4]}", defaultModel="gpt-4o-mini")
        t.key = self.key(http, name=f"{prefix}-key", scopes=ALL_SCOPES)
        self.fake.script_reply("hello tenant", usage={"prompt_tokens": 3, "completion_tokens": 2})
        turn = send(http, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{prefix} secret"}]})
        assert turn.status == 200, turn.body
        t.chat = turn.headers["x-chat-id"]
        r = self.gw.http(t.key["key"]).post(f"/v1/{t.app}/chat/completions",
                                            json={"messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
        r = http.post("/v1/videos", json={"model": "local/test-pattern", "prompt": "p", "seconds": "1",
                                          "size": "320x240"})
        assert r.status_code == 202, r.text
        t.video = r.json()["id"]
        r = http.post("/v1/deployments", json={"model": "sec-model", "hours": 1, "upstream": {
            "kind": "openai", "base_url": self.fake.base_url, "api_key": PROVIDER_KEY}})
        assert r.status_code == 201, r.text
        t.deployment = r.json()["id"]
        return t


@pytest.fixture(scope="package")
def sec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecEnv]:
    fake = FakeOpenAI(require_api_key=PROVIDER_KEY, models=["sec-model", "gpt-4o-mini"])
    fake.start()
    config = {"providers": {"openai": {"kind": "openai", "base_url": fake.base_url, "api_key_env": "SEC_OPENAI_KEY",
                                       "max_retries": 0}}}
    gw = Gateway(workdir=tmp_path_factory.mktemp("secgw"), config=config,
                 env={"TOKENYARD_JWT_SECRET": JWT_SECRET, "SEC_OPENAI_KEY": PROVIDER_KEY,
                      "TOKENYARD_EGRESS_ALLOW": "127.0.0.1", "TOKENYARD_DEPLOY_SEC_KEY": PROVIDER_KEY,
                      "TOKENYARD_OTEL_EXPORTER": "console"})
    try:
        gw.start()
        yield SecEnv(gw, fake, secrets=[gw.admin_key])
    finally:
        gw.stop()
        fake.stop()


@pytest.fixture(scope="package")
def tenants(sec: SecEnv) -> tuple[Tenant, Tenant]:
    """Two fully populated tenants (the first is the attacker, the second the victim)."""
    a, b = sec.tenant("alice"), sec.tenant("bob")
    deadline = time.monotonic() + 10
    while not b.http.get(f"/v1/{b.app}/ai/usage").json().get("requests"):
        assert time.monotonic() < deadline, "usage never recorded"
        time.sleep(0.2)
    return a, b
