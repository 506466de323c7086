"""Secrets stay secret: hashed at rest, looked up by hash, and never echoed in logs, traces, metrics or errors."""
from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.chat_app_gateway import send
from tests.fakes import Fault
from tests.jwt_helpers import JWT_SECRET, hs256
from tests.security.conftest import DEPLOY_KEY, PROVIDER_KEY, SecEnv, Tenant

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = ("secret", "credential", "password", "api_key", "token", "admin_key")


def _all_secrets(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> list[str]:
    return [*sec.secrets, *(t.key["key"] for t in tenants), PROVIDER_KEY, DEPLOY_KEY, JWT_SECRET]


def _deployment_secret(sec: SecEnv, t: Tenant) -> str:
    """A new deployment of the tenant: wait until ready and read its one-time default key."""
    r = t.http.post("/v1/deployments", json={"model": "sec-model", "hours": 1, "upstream": {
        "kind": "openai", "base_url": sec.fake.base_url, "api_key": PROVIDER_KEY}})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = t.http.get(f"/v1/deployments/{r.json()['id']}").json()
        if body["state"] == "ready":
            assert body["key"], "the first read after ready shows the secret"
            return body["key"]
        time.sleep(0.2)
    raise AssertionError(f"deployment never ready: {body}")


def _hostile_traffic(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> list[httpx.Response]:
    """Requests that carry secrets in every place a careless gateway might echo them."""
    gw, (a, _) = sec.gw, tenants
    bogus = "ty_sk_bogus-" + PROVIDER_KEY
    sec.fake.script_reply("fine", usage={"prompt_tokens": 1, "completion_tokens": 1})
    out = [gw.http(a.key["key"]).post("/v1/chat/completions", json={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})]
    out += [gw.http(cred).get("/v1/models") for cred in (bogus, PROVIDER_KEY, hs256("x", secret=JWT_SECRET + "x"))]
    out.append(gw.http(a.key["key"]).post("/v1/keys", json={"name": "x", "scopes": [a.key["key"]]}))
    out.append(httpx.get(f"{gw.url}/v1/models", headers={"Authorization": f"Basic {a.key['key']}"}))
    turn = send(a.http, {"model": "gpt-4o-mini", "apiKey": PROVIDER_KEY,
                         "messages": [{"role": "user", "content": "hello"}]})
    assert turn.status in (200, 400)
    return out


def test_secrets_never_in_logs_traces_metrics_or_error_bodies(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> None:
    responses = _hostile_traffic(sec, tenants)
    assert responses[0].status_code == 200, responses[0].text
    assert sec.fake.last_request.headers["authorization"] == f"Bearer {PROVIDER_KEY}", "the key was really used"
    assert all(r.status_code in (400, 401, 403, 404) for r in responses[1:]), [r.status_code for r in responses]
    deployment_key = _deployment_secret(sec, tenants[1])
    metrics = httpx.get(f"{sec.gw.url}/metrics", timeout=10).text
    time.sleep(0.5)  # let batched span/log output reach the file
    logs = "\n".join(p.read_text(errors="replace") for p in sec.gw.workdir.glob("*.log"))
    assert '"trace_id"' in logs or "trace_id" in logs, "console tracing is on, so spans are in the log too"
    for secret in [*_all_secrets(sec, tenants), deployment_key]:
        assert secret not in logs, f"secret {secret[:10]}... in the gateway log"
        assert secret not in metrics, f"secret {secret[:10]}... in /metrics"
        for r in responses[1:]:
            assert secret not in r.text, (secret[:10], r.text[:300])


def test_every_secret_is_hashed_at_rest(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> None:
    """Raw bytes of the database (and its WAL/journal) hold no secret: not in a row, not in a freed page."""
    secrets = [*_all_secrets(sec, tenants), _deployment_secret(sec, tenants[0])]
    files = list((sec.gw.workdir / "data").glob("tokenyard.db*"))
    assert files
    blob = b"".join(f.read_bytes() for f in files)
    for secret in secrets:
        assert secret.encode() not in blob, f"{secret[:10]}... stored in plaintext"


def _is_column(node: ast.expr) -> bool:
    """`Model.column` (a SQLAlchemy expression: the comparison runs in SQL on stored hashes/ciphertext)."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper()


def _compares_secret(node: ast.Compare) -> str | None:
    if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops) or _is_column(node.left):
        return None
    for side in (node.left, *node.comparators):
        name = side.id if isinstance(side, ast.Name) else side.attr if isinstance(side, ast.Attribute) else ""
        if any(s in name.lower() for s in SECRET_NAMES) and not name.lower().endswith(("_env", "tokens", "_id")):
            return name
    return None


def test_secrets_are_compared_by_hash_lookup_or_in_constant_time() -> None:
    """No `==` on a secret-named value anywhere in the services or facade (hmac.compare_digest or a hash lookup)."""
    found = []
    for path in [*(ROOT / "services/tokenyard").rglob("*.py"), *(ROOT / "gateway-http/tokenyard_http").rglob("*.py")]:
        if "/v1/" in str(path):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and (name := _compares_secret(node)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not found, found
    auth = (ROOT / "services/tokenyard/auth/service.py").read_text()
    assert "ApiKey.key_hash == hash_secret(credential)" in auth, "API keys are found by their SHA-256"


def test_cors_is_off_by_default(sec: SecEnv) -> None:
    origin = {"Origin": "https://evil.example.com"}
    r = httpx.get(f"{sec.gw.url}/v1/models", headers={**origin, "Authorization": f"Bearer {sec.gw.admin_key}"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = httpx.options(f"{sec.gw.url}/v1/chat/completions", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert "access-control-allow-origin" not in pre.headers


def test_cors_origins_are_configurable(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(env={"TOKENYARD_CORS_ORIGINS": "https://app.example.com"})
    pre = httpx.options(f"{gw.url}/v1/chat/completions", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://app.example.com"
    r = httpx.get(f"{gw.url}/v1/models", headers={"Origin": "https://app.example.com",
                                                  "Authorization": f"Bearer {gw.admin_key}"})
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    other = httpx.get(f"{gw.url}/v1/models", headers={"Origin": "https://evil.example.com",
                                                      "Authorization": f"Bearer {gw.admin_key}"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("status", [400, 401, 403, 500])
def test_upstream_errors_echoing_the_provider_key_are_scrubbed(sec: SecEnv, tenants: tuple[Tenant, Tenant],
                                                               status: int) -> None:
    """Some providers quote the API key in auth errors; the gateway must not hand it to its callers."""
    sec.fake.push_fault(Fault(kind="status", status_code=status,
                              message=f"Incorrect API key provided: {PROVIDER_KEY}. Bearer {PROVIDER_KEY}"))
    r = sec.gw.http(tenants[0].key["key"]).post("/v1/chat/completions", json={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code >= 400, r.text
    assert PROVIDER_KEY not in r.text and PROVIDER_KEY[8:] not in r.text, r.text
    for kind in ("status", "stream_error"):  # before the first byte, and in the middle of a stream
        sec.fake.script_reply("some words to stream before it breaks")
        sec.fake.push_fault(Fault(kind=kind, status_code=status, message=f"bad key {PROVIDER_KEY}", after=2))
        turn = send(tenants[0].http, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert PROVIDER_KEY not in json.dumps(turn.events) + json.dumps(turn.body or {}), (kind, turn)
        with sec.gw.http(tenants[0].key["key"]).stream("POST", "/v1/chat/completions", json={
                "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
            assert PROVIDER_KEY not in r.read().decode()
