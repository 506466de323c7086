"""Writes the Grafana dashboards (observability/grafana/dashboards/*.json) from the compact specs below.

Run after editing a panel; `--check` fails when the committed JSON is stale (the tests run it).
Every panel query must return data from a gateway under traffic (tests/e2e/test_prometheus.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "observability" / "grafana" / "dashboards"
DS = {"type": "prometheus", "uid": "prometheus"}
R = "[$__rate_interval]"


def q(quantile: float, metric: str, by: str = "", selector: str = "") -> str:
    """A histogram quantile over `metric`'s buckets, grouped by `by`."""
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({quantile}, sum by ({group}) (rate({metric}_bucket{selector}{R})))"


def ratio(errors: str, total: str) -> str:
    """errors / total: 0 (not "no data") while there are no errors, and not NaN without traffic."""
    return f"(({errors}) or ({total}) * 0) / clamp_min({total}, 1e-9)"


REQ = 'tokenyard_requests_total{model=~"$model", provider=~"$provider"}'
SEL = '{model=~"$model", provider=~"$provider"}'

# dashboard: (uid, title, variables, [(panel title, unit, [(expr, legend), ...]), ...])
DASHBOARDS = {
    "overview": ("tokenyard-overview", "tokenyard / Overview", [], [
        ("Inference requests by status", "reqps",
         [(f"sum by (status) (rate(tokenyard_requests_total{R}))", "{{status}}")]),
        ("Inference error ratio", "percentunit",
         [(ratio(f'sum(rate(tokenyard_requests_total{{status="error"}}{R}))',
                 f"sum(rate(tokenyard_requests_total{R}))"), "errors")]),
        ("HTTP requests by route and status", "reqps",
         [(f"sum by (route, status) (rate(tokenyard_http_requests_total{R}))", "{{route}} {{status}}")]),
        ("Request latency", "s",
         [(q(p, "tokenyard_request_duration_seconds"), f"p{int(p * 100)}") for p in (0.5, 0.95, 0.99)]),
        ("Time to first token", "s",
         [(q(p, "tokenyard_time_to_first_token_seconds"), f"p{int(p * 100)}") for p in (0.5, 0.95, 0.99)]),
        ("Gateway overhead vs upstream (p99)", "s",
         [(q(0.99, "tokenyard_gateway_overhead_seconds"), "gateway overhead"),
          (q(0.99, "tokenyard_upstream_duration_seconds"), "upstream")]),
        ("Active streams", "short", [("sum by (route) (tokenyard_active_streams)", "{{route}}")]),
        ("Tokens per second", "short",
         [(f"sum by (direction) (rate(tokenyard_tokens_total{R}))", "{{direction}}")]),
        ("Cost (USD per hour)", "currencyUSD", [(f"sum(rate(tokenyard_cost_usd_total{R})) * 3600", "cost")]),
        ("Rate-limit and credit rejections", "reqps",
         [(f"sum by (reason) (rate(tokenyard_rejections_total{R}))", "{{reason}}")]),
        ("Errors by reason", "reqps",
         [(f"sum by (reason) (rate(tokenyard_errors_total{R}))", "{{reason}}")]),
        ("gRPC requests by method and code", "reqps",
         [(f"sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{R}))", "{{grpc_method}} {{grpc_code}}")]),
        ("gRPC p99 latency by method", "s", [(q(0.99, "grpc_server_handling_seconds", "grpc_method"), "{{grpc_method}}")]),
        ("Scrape targets up", "short", [("sum by (job) (up)", "{{job}}")]),
    ]),
    "models": ("tokenyard-models", "tokenyard / Models and providers", ["model", "provider"], [
        ("Requests by model", "reqps", [(f"sum by (model, status) (rate({REQ}{R}))", "{{model}} {{status}}")]),
        ("Error ratio by model", "percentunit",
         [(ratio(f'sum by (model) (rate(tokenyard_requests_total{{status="error", model=~"$model", '
                 f'provider=~"$provider"}}{R}))', f"sum by (model) (rate({REQ}{R}))"), "{{model}}")]),
        ("p95 latency by model", "s", [(q(0.95, "tokenyard_request_duration_seconds", "model", SEL), "{{model}}")]),
        ("p95 time to first token by model", "s",
         [(q(0.95, "tokenyard_time_to_first_token_seconds", "model", SEL), "{{model}}")]),
        ("p95 upstream latency by provider", "s",
         [(q(0.95, "tokenyard_upstream_duration_seconds", "provider", '{provider=~"$provider"}'), "{{provider}}")]),
        ("Upstream attempts by provider and outcome", "reqps",
         [(f'sum by (provider, outcome) (rate(tokenyard_upstream_requests_total{{provider=~"$provider"}}{R}))',
           "{{provider}} {{outcome}}")]),
        ("Tokens per second by model", "short",
         [(f"sum by (model, direction) (rate(tokenyard_tokens_total{SEL}{R}))", "{{model}} {{direction}}")]),
        ("Cost by model (USD per hour)", "currencyUSD",
         [(f"sum by (model) (rate(tokenyard_cost_usd_total{SEL}{R})) * 3600", "{{model}}")]),
        ("Retries by provider", "reqps",
         [(f'sum by (provider) (rate(tokenyard_retries_total{{provider=~"$provider"}}{R}))', "{{provider}}")]),
        ("Fallbacks by model", "reqps",
         [(f'sum by (model, fallback) (rate(tokenyard_fallbacks_total{{model=~"$model"}}{R}))',
           "{{model}} -> {{fallback}}")]),
        ("Circuit state (0 closed, 1 half-open, 2 open)", "short",
         [('max by (provider) (tokenyard_circuit_state{provider=~"$provider"})', "{{provider}}")]),
    ]),
    "apps": ("tokenyard-apps", "tokenyard / Apps", ["app"], [
        ("Requests by app", "reqps",
         [(f'sum by (app, status) (rate(tokenyard_app_requests_total{{app=~"$app"}}{R}))', "{{app}} {{status}}")]),
        ("Tokens per second by app", "short",
         [(f'sum by (app, direction) (rate(tokenyard_app_tokens_total{{app=~"$app"}}{R}))',
           "{{app}} {{direction}}")]),
        ("Cost by app (USD per hour)", "currencyUSD",
         [(f'sum by (app) (rate(tokenyard_app_cost_usd_total{{app=~"$app"}}{R})) * 3600', "{{app}}")]),
        ("Top 10 apps by tokens (last hour)", "short",
         [('topk(10, sum by (app) (increase(tokenyard_app_tokens_total{app=~"$app"}[1h])))', "{{app}}")]),
    ]),
    "video": ("tokenyard-video", "tokenyard / Video jobs", [], [
        ("Video queue depth", "short", [("max by (state) (tokenyard_video_queue_depth)", "{{state}}")]),
        ("Video jobs finished per minute", "short",
         [(f"sum by (status) (rate(tokenyard_video_jobs_total{R})) * 60", "{{status}}")]),
        ("Video job duration", "s",
         [(q(p, "tokenyard_video_job_duration_seconds"), f"p{int(p * 100)}") for p in (0.5, 0.95)]),
    ]),
}
VARIABLES = {"model": "tokenyard_requests_total", "provider": "tokenyard_requests_total",
             "app": "tokenyard_app_requests_total"}


def variable(name: str) -> dict:
    """A multi-value template variable with an All option (regex .*)."""
    query = f"label_values({VARIABLES[name]}, {name})"
    return {"name": name, "label": name, "type": "query", "datasource": DS, "definition": query,
            "query": {"query": query, "refId": f"var-{name}"}, "includeAll": True, "multi": True,
            "allValue": ".*", "refresh": 2, "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}}


def panel(i: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict:
    """A time series panel, two per row."""
    return {"id": i + 1, "type": "timeseries", "title": title, "datasource": DS,
            "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": [{"refId": chr(ord("A") + n), "datasource": DS, "expr": expr, "legendFormat": legend}
                        for n, (expr, legend) in enumerate(targets)]}


def dashboard(uid: str, title: str, variables: list[str], panels: list) -> dict:
    """One dashboard document."""
    return {"uid": uid, "title": title, "tags": ["tokenyard"], "timezone": "browser", "schemaVersion": 39,
            "version": 1, "editable": True, "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": [variable(v) for v in variables]},
            "panels": [panel(i, *p) for i, p in enumerate(panels)]}


def render() -> dict[str, str]:
    """File name -> JSON text."""
    return {f"{name}.json": json.dumps(dashboard(*spec), indent=2) + "\n" for name, spec in DASHBOARDS.items()}


def main() -> int:
    """Write the files, or with --check report stale ones."""
    files = render()
    if "--check" in sys.argv:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != text]
        extra = [p.name for p in OUT.glob("*.json") if p.name not in files]
        if stale or extra:
            print(f"stale dashboards: {stale + extra}; run python scripts/gen_dashboards.py")
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
