"""/metrics names no tenant by default: no app id, account, key or private deployment (id or model name) in any
label, after real app-scoped and deployment traffic; TOKENYARD_METRICS_TENANT_LABELS=true puts app ids back, and
TOKENYARD_METRICS_TOKEN puts /metrics (facade and a lone service's exporter) behind a bearer token."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.harness.gateway import ADMIN_KEY, Gateway, free_port
from tests.security.conftest import SecEnv, Tenant
from tests.security.test_secrets import _deployment_secret


def _metrics(gw: Gateway) -> str:
    return httpx.get(f"{gw.url}/metrics").text


def _app_chat(gw: Gateway, key: str, app: str, model: str) -> None:
    r = gw.http(key).post(f"/v1/{app}/chat/completions",
                          json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text


def test_metrics_name_no_app_account_key_or_deployment_by_default(sec: SecEnv,
                                                                  tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants  # both made app-scoped calls while being set up
    sec.fake.script_reply("fine")
    dep_key = _deployment_secret(sec, a)
    r = sec.gw.http(dep_key).post("/v1/chat/completions", json={
        "model": "sec-model", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text
    text = _metrics(sec.gw)
    for t in (a, b):
        leaked = [v for v in (t.app, t.account, t.key["id"], t.deployment) if v and v in text]
        assert not leaked, leaked
    assert "deployment/" not in text and 'model="sec-model"' not in text, "a private deployment is not named"
    assert 'provider="deployment"' in text, "deployment traffic is still counted"
    assert 'tokenyard_app_requests_total{app="hidden",status="ok"}' in text, "app traffic is still counted"


def test_operator_can_turn_app_labels_on_and_protect_the_endpoint(make_gateway: Callable[..., Gateway]) -> None:
    token = "scrape-token-0123456789"
    gw = make_gateway(env={"TOKENYARD_METRICS_TENANT_LABELS": "true", "TOKENYARD_METRICS_TOKEN": token,
           "TOKENYARD_INTERNAL_SECRET": "metrics-test-internal-secret-0123456789abcdef"})
    with gw.http() as http:
        app = http.post("/v1/apps", json={"name": "labelled"}).json()["id"]
    _app_chat(gw, gw.admin_key, app, "local/echo")
    assert httpx.get(f"{gw.url}/metrics").status_code == 401
    assert httpx.get(f"{gw.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    text = httpx.get(f"{gw.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert f'tokenyard_app_requests_total{{app="{app}",status="ok"}}' in text


def test_a_lone_services_exporter_needs_the_token_too(tmp_path: Path) -> None:
    token, port = "scrape-token-abcdef", free_port()
    env = {"PATH": "/usr/bin:/bin", "TOKENYARD_ADMIN_KEY": ADMIN_KEY, "TOKENYARD_DATA_DIR": str(tmp_path),
           "PYTHONPATH": ":".join(sys.path), "TOKENYARD_METRICS_TOKEN": token,
           "TOKENYARD_INTERNAL_SECRET": "metrics-test-internal-secret-0123456789abcdef"}
    proc = subprocess.Popen([sys.executable, "-m", "tokenyard", "serve", "config", "--listen",
                             f"127.0.0.1:{free_port()}", "--metrics-listen", f"127.0.0.1:{port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                denied = httpx.get(url)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert denied.status_code == 401 and "grpc_server" not in denied.text
        allowed = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and "python_gc_objects_collected_total" in allowed.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
