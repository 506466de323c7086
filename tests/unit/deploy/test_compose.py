"""docker-compose.yml checked the way `docker compose config` would, plus every cross-file reference."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokenyard.cli import SERVE_CHOICES
from tokenyard.settings import SERVICES

ROOT = Path(__file__).resolve().parents[3]
TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SVCS: dict[str, Any] = COMPOSE["services"]
PROM = yaml.safe_load((ROOT / "observability" / "prometheus.yml").read_text())
KNOWN_KEYS = {"image", "build", "restart", "command", "environment", "deploy", "expose", "ports", "healthcheck",
              "depends_on", "volumes"}


def _flag(service: dict[str, Any], flag: str) -> str:
    cmd = service["command"]
    return cmd[cmd.index(flag) + 1]


def test_every_part_of_the_deployment_is_a_service() -> None:
    assert set(SVCS) == {"envoy", "facade", *SERVICES, "postgres", "redis", "prometheus", "grafana"}
    for name, svc in SVCS.items():
        assert set(svc) <= KNOWN_KEYS, f"{name}: unexpected keys {set(svc) - KNOWN_KEYS}"
        assert "image" in svc or "build" in svc
    assert SVCS["facade"]["deploy"]["replicas"] == 2
    assert "ports" not in SVCS["facade"] and "container_name" not in SVCS["facade"], "replicas need no fixed name"


def test_each_grpc_service_runs_alone_with_its_listen_and_metrics_ports() -> None:
    for svc in SERVICES:
        cmd = SVCS[svc]["command"]
        assert cmd[:3] == ["tokenyard", "serve", svc] and svc in SERVE_CHOICES
        listen, metrics = _flag(SVCS[svc], "--listen"), _flag(SVCS[svc], "--metrics-listen")
        assert listen.startswith("0.0.0.0:") and metrics.startswith("0.0.0.0:")
        assert {listen.rsplit(":", 1)[1], metrics.rsplit(":", 1)[1]} <= set(SVCS[svc]["expose"])
        assert "grpc" in SVCS[svc]["healthcheck"]["test"]
    assert SVCS["facade"]["command"][:3] == ["tokenyard", "serve", "http"]


def test_service_addresses_in_the_environment_point_at_listening_services() -> None:
    for name, svc in SVCS.items():
        for key, value in (svc.get("environment") or {}).items():
            m = re.fullmatch(r"TOKENYARD_(\w+)_ADDR", key)
            if not m:
                continue
            target = m.group(1).lower()
            assert target in SERVICES, f"{name}: {key} names no service"
            host, port = value.rsplit(":", 1)
            assert host == target and _flag(SVCS[host], "--listen").endswith(f":{port}"), f"{name}: {key}={value}"
    env = SVCS["auth"]["environment"]
    assert "@postgres:5432/" in env["TOKENYARD_DATABASE_URL"]
    assert env["TOKENYARD_REDIS_URL"].startswith("redis://redis:6379")


def test_depends_on_names_services_and_health_conditions_have_health_checks() -> None:
    for name, svc in SVCS.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in SVCS and dep != name, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in SVCS[dep], f"{name} waits for {dep} to be healthy but it has no check"


def test_volumes_are_declared_or_exist_in_the_repo() -> None:
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, svc in SVCS.items():
        for spec in svc.get("volumes") or ():
            source = spec.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    assert (ROOT / SVCS["facade"]["build"]["context"] / SVCS["facade"]["build"]["dockerfile"]).exists()


def test_every_variable_reference_is_documented_in_env_example() -> None:
    documented = {ln.split("=", 1)[0] for ln in (ROOT / ".env.example").read_text().splitlines()
                  if ln and not ln.startswith("#")}
    referenced = set(re.findall(r"\$\{(\w+)", TEXT))
    assert referenced and referenced <= documented, referenced - documented
    assert re.search(r"\$\{TOKENYARD_ADMIN_KEY:\?", TEXT), "the admin key must be required, never defaulted"


def test_prometheus_scrapes_every_service_where_it_serves_metrics() -> None:
    jobs = {j["job_name"]: j for j in PROM["scrape_configs"]}
    facade = jobs["tokenyard-facade"]["dns_sd_configs"][0]
    assert facade["names"] == ["facade"] and str(facade["port"]) in SVCS["facade"]["expose"]
    targets = {t for sc in jobs["tokenyard-services"]["static_configs"] for t in sc["targets"]}
    assert targets == {f"{s}:{_flag(SVCS[s], '--metrics-listen').rsplit(':', 1)[1]}" for s in SERVICES}
    envoy = yaml.safe_load((ROOT / "deploy" / "envoy.yaml").read_text())
    admin_port = envoy["admin"]["address"]["socket_address"]["port_value"]
    assert jobs["envoy"]["static_configs"][0]["targets"] == [f"envoy:{admin_port}"]
    mounts = dict(v.split(":")[:2] for v in SVCS["prometheus"]["volumes"] if v.startswith("."))
    assert mounts["./observability/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./observability/rules"] == "/etc/prometheus/rules" and PROM["rule_files"] == ["rules/*.rules.yml"]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboards() -> None:
    grafana = ROOT / "observability" / "grafana"
    mounts = dict(v.split(":")[:2] for v in SVCS["grafana"]["volumes"] if v.startswith("."))
    ds = yaml.safe_load((grafana / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert ds["url"] == "http://prometheus:9090" and "9090" in SVCS["prometheus"]["expose"]
    provider = yaml.safe_load((grafana / "provisioning" / "dashboards" / "tokenyard.yml").read_text())["providers"][0]
    assert mounts["./observability/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./observability/grafana/provisioning/datasources"] == "/etc/grafana/provisioning/datasources"
    for path in (grafana / "dashboards").glob("*.json"):
        assert f'"uid": "{ds["uid"]}"' in path.read_text()


def test_dockerfile_builds_the_package_on_python_3_11_slim() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    for src in re.findall(r"^COPY (\S+)", text, re.M):
        assert (ROOT / src).exists(), src
    assert "pip install" in text and '"tokenyard", "up"' in text


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
                    if shutil.which("docker") else True, reason="the docker compose plugin is not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    env = {**os.environ, "TOKENYARD_ADMIN_KEY": "ty_sk_x", "POSTGRES_PASSWORD": "x",
           "TOKENYARD_INTERNAL_SECRET": "i" * 32, "TOKENYARD_SECRET_KEY": "s" * 32}
    done = subprocess.run(["docker", "compose", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
