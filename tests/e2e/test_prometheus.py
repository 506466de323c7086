"""A real Prometheus scrapes a gateway under traffic: every dashboard panel and every alert rule works."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.harness.gateway import Gateway, free_port

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "observability"
DASHBOARDS = sorted((OBS / "grafana" / "dashboards").glob("*.json"))
needs_prometheus = pytest.mark.skipif(not shutil.which("prometheus"),
                                      reason="prometheus is not installed (Debian package `prometheus`)")
needs_promtool = pytest.mark.skipif(not shutil.which("promtool"),
                                    reason="promtool is not installed (Debian package `prometheus`)")

# Panels allowed to return no (finite) data here, each fed only by a feature this test does not exercise.
# Their queries must still run. Keep this list short and say why.
NO_DATA_OK = {
    # No video job is run: the job-duration quantile of zero observations is NaN until one finishes
    # (its series exist at 0 from start-up, so the jobs/queue panels do have data).
    "tokenyard / Video jobs :: Video job duration",
}
CONFIG = {"models": [{"id": "test/priced-echo", "type": "chat", "provider": "local", "upstream_model": "echo",
                      "fallbacks": ["local/echo"], "pricing": {"input_per_mtok_usd": 1, "output_per_mtok_usd": 2}}]}


@needs_promtool
def test_alert_rules_and_scrape_config_pass_promtool() -> None:
    for args in (["check", "rules", "rules/tokenyard.rules.yml"], ["test", "rules", "rules/tokenyard.rules.test.yml"],
                 ["check", "config", "prometheus.yml"]):
        done = subprocess.run(["promtool", *args], cwd=OBS, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def test_dashboards_are_generated_from_their_specs() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_dashboards.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _panels() -> Iterator[tuple[str, str, str]]:
    """(dashboard :: panel, refId, PromQL with Grafana variables substituted) for every panel query."""
    for path in DASHBOARDS:
        doc = json.loads(path.read_text())
        for panel in doc["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", "20s")
                for var in doc["templating"]["list"]:
                    expr = expr.replace(f"${var['name']}", ".*")
                yield f"{doc['title']} :: {panel['title']}", target["refId"], expr


def _traffic(gw: Gateway, stop: threading.Event) -> None:
    """Plain, streamed, per-app, priced and failing chat requests until stopped."""
    with gw.http() as http:
        app = http.post("/v1/apps", json={"name": "support-bot"}).json()["id"]  # app routes need a real app
        while not stop.is_set():
            for model, path, stream in (("local/echo", "/v1/chat/completions", False),
                                        ("local/echo", "/v1/chat/completions", True),
                                        ("test/priced-echo", f"/v1/{app}/chat/completions", True),
                                        ("no/such-model", "/v1/chat/completions", False)):
                with http.stream("POST", path, json={"model": model, "stream": stream, "messages": [
                        {"role": "user", "content": "metrics please"}]}) as resp:
                    resp.read()
            time.sleep(0.05)


class Prometheus:
    """A Prometheus server on loopback scraping one gateway every second, with the repo's alert rules."""

    def __init__(self, workdir: Path, target: str) -> None:
        self.port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(OBS / "rules" / "tokenyard.rules.yml")],
                  "scrape_configs": [{"job_name": "tokenyard", "static_configs": [{"targets": [target]}]}]}
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.api.get("/-/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, (workdir / "prometheus.log").read_text()
            time.sleep(0.2)

    def query(self, expr: str) -> list[dict]:
        body = self.api.get("/api/v1/query", params={"query": expr}).json()
        assert body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.api.close()
        self.log.close()


def _has_data(result: list[dict]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


@needs_prometheus
def test_every_dashboard_panel_query_returns_data_from_a_gateway_under_traffic(
        make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    gw = make_gateway(config=CONFIG)
    prom = Prometheus(tmp_path, f"127.0.0.1:{gw.http_port}")
    stop = threading.Event()
    traffic = threading.Thread(target=_traffic, args=(gw, stop), daemon=True)
    traffic.start()
    try:
        queries = list(_panels())
        assert len(queries) >= 30
        deadline, missing = time.monotonic() + 35, ["not run"]
        while missing and time.monotonic() < deadline:
            time.sleep(1)
            missing = [f"{name} [{ref}]: {expr}" for name, ref, expr in queries
                       if name not in NO_DATA_OK and not _has_data(prom.query(expr))]
        assert not missing, "panels without data:\n" + "\n".join(missing)
        for name, _, expr in queries:  # the allowed ones must still be valid queries
            prom.query(expr)
        for var, metric in (("model", "tokenyard_requests_total"), ("provider", "tokenyard_requests_total"),
                            ("app", "tokenyard_app_requests_total")):
            values = prom.api.get(f"/api/v1/label/{var}/values", params={"match[]": metric}).json()["data"]
            assert values, f"dashboard variable {var} has no values"
        groups = prom.api.get("/api/v1/rules").json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert len(rules) == 12 and all(r["health"] == "ok" for r in rules), rules
    finally:
        stop.set()
        traffic.join(timeout=10)
        prom.stop()
