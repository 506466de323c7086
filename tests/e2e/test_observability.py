"""Metrics, traces and logs of a running gateway: what an SRE sees for real requests."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.harness.gateway import ADMIN_KEY, INTERNAL_SECRET, Gateway, free_port

PROMPT = "zebra-quartz-7781 tell me about the moon"
WRONG_KEY = "ty_sk_wrong-secret-key-9f8e7d6c5b4a39281706"
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def _chat(gw: Gateway, stream: bool, headers: dict[str, str] | None = None, model: str = "local/echo",
          path: str = "/v1/chat/completions") -> httpx.Response:
    with gw.http() as http:
        resp = http.post(path, headers=headers or {}, json={
            "model": model, "stream": stream, "messages": [{"role": "user", "content": PROMPT}]})
        resp.read()
        return resp


def test_chat_requests_are_counted_by_route_model_provider_and_status(gateway: Gateway) -> None:
    app = gateway.http().post("/v1/apps", json={"name": "team-app"}).json()["id"]  # app routes need a real app
    before = httpx.get(f"{gateway.url}/metrics").text
    first = _chat(gateway, False)
    answer_tokens = first.json()["usage"]["completion_tokens"]
    assert _chat(gateway, True).status_code == 200
    assert _chat(gateway, False, path=f"/v1/{app}/chat/completions").status_code == 200
    assert _chat(gateway, False, model="no/such-model").status_code == 404
    after = httpx.get(f"{gateway.url}/metrics").text

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    ok = {"model": "local/echo", "provider": "local", "status": "ok"}
    assert delta("tokenyard_requests_total", route="chat", **ok) == 2
    assert delta("tokenyard_requests_total", route="chat_stream", **ok) == 1
    assert delta("tokenyard_time_to_first_token_seconds_count", model="local/echo") == 1
    assert delta("tokenyard_request_duration_seconds_count", route="chat", model="local/echo") == 2
    assert delta("tokenyard_upstream_duration_seconds_count", provider="local", operation="chat") == 2
    assert delta("tokenyard_gateway_overhead_seconds_count", route="chat_stream") == 1
    assert delta("tokenyard_tokens_total", model="local/echo", direction="output") == 3 * answer_tokens
    assert delta("tokenyard_app_requests_total", app="hidden", status="ok") == 1, "app ids are not labels by default"
    assert app not in after
    assert delta("tokenyard_errors_total", grpc_service="tokenyard.inference.v1.InferenceService",
                 reason="MODEL_NOT_FOUND") == 1
    assert delta("tokenyard_http_requests_total", route="/v1/chat/completions", status="404") == 1
    assert _metric(after, "tokenyard_circuit_state", provider="openai") == 0
    assert "tokenyard_rejections_total{reason=\"rate_limit\"}" in after
    assert not re.search(r'(key_id|account|user|request_id)="', after), "no per-user label may be exported"


def _spans(log: str) -> list[dict]:
    spans = []
    for line in log.splitlines():
        if line.startswith('{"name"'):
            spans.append(json.loads(line))
    return spans


def _trace(spans: list[dict], trace_id: str) -> dict[str, dict]:
    return {s["kind"].split(".")[-1] + ":" + s["name"]: s for s in spans
            if s["context"]["trace_id"] == "0x" + trace_id}


def test_one_request_is_one_trace_across_facade_grpc_and_upstream(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(env={"TOKENYARD_OTEL_EXPORTER": "console", "TOKENYARD_LOG_PROMPTS": "true"})
    parent = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"
    assert _chat(gw, False, headers={"traceparent": parent}).status_code == 200
    assert _chat(gw, True).status_code == 200
    time.sleep(0.5)
    spans = _spans(gw.logs())
    plain = _trace(spans, CLIENT_TRACE)
    facade = plain["SERVER:POST /v1/chat/completions"]
    server = plain["SERVER:tokenyard.inference.v1.InferenceService/Chat"]
    upstream = plain["CLIENT:upstream chat local"]
    assert facade["parent_id"] == "0x00f067aa0ba902b7"
    assert server["parent_id"] == facade["context"]["span_id"]
    assert upstream["parent_id"] == server["context"]["span_id"]
    assert upstream["attributes"]["gen_ai.request.model"] == "echo"
    streamed = next(s for s in spans if s["name"].endswith("InferenceService/StreamChat"))
    trace = _trace(spans, streamed["context"]["trace_id"][2:])
    assert set(trace) >= {"SERVER:POST /v1/chat/completions", "CLIENT:upstream stream local"}
    assert streamed["parent_id"] == trace["SERVER:POST /v1/chat/completions"]["context"]["span_id"]
    logged = [json.loads(ln) for ln in gw.logs().splitlines() if '"tokenyard.requests"' in ln]
    assert any(rec.get("trace_id") == CLIENT_TRACE for rec in logged)
    assert any(PROMPT in rec.get("messages", "") for rec in logged), "TOKENYARD_LOG_PROMPTS=true logs prompts"
    assert ADMIN_KEY not in gw.logs()


def test_logs_are_json_with_request_ids_and_never_hold_keys_or_prompts(make_gateway: Callable[..., Gateway]
                                                                         ) -> None:
    gw = make_gateway()
    ok = _chat(gw, False, headers={"x-request-id": "req-from-client-1"})
    assert ok.headers["x-request-id"] == "req-from-client-1"
    streamed = _chat(gw, True)
    _chat(gw, False, model="no/such-model")
    with httpx.Client(base_url=gw.url) as http:
        assert http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {WRONG_KEY}"},
                         json={"model": "local/echo", "messages": [{"role": "user", "content": PROMPT}]}
                         ).status_code == 401
        assert http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                         content=f'{{"messages": "{PROMPT}"').status_code == 400
    time.sleep(0.3)
    text = gw.logs()
    assert ADMIN_KEY not in text and WRONG_KEY not in text
    assert "zebra-quartz" not in text
    records = [json.loads(ln) for ln in text.splitlines() if ln.startswith("{")]
    finished = {r["request_id"]: r for r in records if r["logger"] == "tokenyard.requests"}
    assert finished["req-from-client-1"]["status"] == "ok"
    assert finished["req-from-client-1"]["model"] == "local/echo"
    assert finished[streamed.headers["x-request-id"]]["route"] == "chat_stream"
    access = [r for r in records if r["logger"] == "tokenyard.access"]
    assert {r["status"] for r in access} >= {200, 400, 401, 404}
    assert all(r["request_id"] and r["route"] for r in access)


def test_a_service_alone_serves_its_metrics_on_metrics_listen(tmp_path: Path) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {"PATH": "/usr/bin:/bin", "TOKENYARD_ADMIN_KEY": ADMIN_KEY, "TOKENYARD_DATA_DIR": str(tmp_path),
           "TOKENYARD_INTERNAL_SECRET": INTERNAL_SECRET, "PYTHONPATH": ":".join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "tokenyard", "serve", "config", "--listen",
                             f"127.0.0.1:{grpc_port}", "--metrics-listen", f"127.0.0.1:{metrics_port}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
                    status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2)
                break
            except grpc.RpcError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.1)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert _metric(text, "grpc_server_handled_total", grpc_method="Check", grpc_code="OK") >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_container_health_probe_reports_up_and_down(gateway: Gateway) -> None:
    from tokenyard.monitoring.healthcheck import main

    assert main(["grpc", f"127.0.0.1:{gateway.grpc_port}"]) == 0
    assert main(["http", f"{gateway.url}/healthz"]) == 0
    closed = free_port()
    assert main(["grpc", f"127.0.0.1:{closed}"]) == 1
    assert main(["http", f"http://127.0.0.1:{closed}/healthz"]) == 1
    assert main(["tcp", "x"]) == 2
