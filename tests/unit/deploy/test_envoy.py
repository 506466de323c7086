"""deploy/envoy.yaml against Envoy's typed v3 API (no Envoy binary here) and against the compose services."""
from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokenyard.settings import SERVICES

ROOT = Path(__file__).resolve().parents[3]
ENVOY = yaml.safe_load((ROOT / "deploy" / "envoy.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _type_urls(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["@type"]} if "@type" in node else set()
        return found.union(*(_type_urls(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_type_urls(v) for v in node))
    return set()


def validate(doc: dict[str, Any]) -> Any:
    """Parse as envoy.config.bootstrap.v3.Bootstrap, strictly (unknown fields and types fail)."""
    pytest.importorskip("envoy_data_plane", reason="envoy-data-plane is not installed (pip install '.[test]')")
    for url in _type_urls(doc):
        package = url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        importlib.import_module(f"envoy_data_plane.{package}")  # registers the Any type
    from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap

    return Bootstrap.from_dict(doc)


def _hcm(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def test_envoy_config_is_a_valid_v3_bootstrap() -> None:
    boot = validate(ENVOY)
    assert {c.name for c in boot.static_resources.clusters} == {"facade", *SERVICES}


@pytest.mark.parametrize("mutate", [
    lambda d: _hcm(d).update(stat_prefx="typo"),
    lambda d: d["static_resources"]["clusters"][0].update(lb_policy="ROUND_ROBBIN"),
    lambda d: _hcm(d).update({"@type": "type.googleapis.com/envoy.no.such.v3.Thing"}),
])
def test_the_validator_rejects_broken_configs(mutate: Any) -> None:
    doc = copy.deepcopy(ENVOY)
    mutate(doc)
    with pytest.raises((KeyError, TypeError, ValueError, ModuleNotFoundError)):
        validate(doc)


def _endpoint(cluster: dict[str, Any]) -> tuple[str, int]:
    addr = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    return addr["address"], addr["port_value"]


def _listen_port(service: dict[str, Any]) -> int:
    cmd = service["command"]
    return int(cmd[cmd.index("--listen") + 1].rsplit(":", 1)[1])


def test_grpc_paths_route_to_their_service_and_the_rest_to_the_facade() -> None:
    routes = _hcm(ENVOY)["route_config"]["virtual_hosts"][0]["routes"]
    by_prefix = {r["match"]["prefix"]: r["route"]["cluster"] for r in routes}
    for svc in SERVICES:
        module = importlib.import_module(f"tokenyard.{svc}.v1.{svc}_service_pb2")
        for service in module.DESCRIPTOR.services_by_name.values():
            prefix = next(p for p in by_prefix if p != "/" and f"/{service.full_name}/".startswith(p))
            assert by_prefix[prefix] == svc
    assert routes[-1]["match"] == {"prefix": "/"} and routes[-1]["route"]["cluster"] == "facade"
    assert all(r["route"]["timeout"] == "0s" for r in routes if r["route"]["cluster"] in ("inference", "facade"))


def test_every_cluster_points_at_a_compose_service_port_with_a_health_check() -> None:
    clusters = ENVOY["static_resources"]["clusters"]
    for cluster in clusters:
        host, port = _endpoint(cluster)
        assert host == cluster["name"] and host in COMPOSE["services"]
        assert port == _listen_port(COMPOSE["services"][host])
        assert str(port) in COMPOSE["services"][host]["expose"]
        check = cluster["health_checks"][0]
        assert ("http_health_check" in check) == (host == "facade")
        assert ("grpc_health_check" in check) == (host != "facade")
        options = cluster.get("typed_extension_protocol_options", {}).get(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {})
        http2 = "http2_protocol_options" in options.get("explicit_http_config", {})
        assert http2 == (host != "facade"), "gRPC upstreams need HTTP/2"
        if host == "facade":  # Envoy drops idle connections before the facade's 75 s keep-alive does
            assert options["common_http_protocol_options"]["idle_timeout"] == "60s"
    listener = ENVOY["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
    assert COMPOSE["services"]["envoy"]["ports"] == [f"${{TOKENYARD_PORT:-8080}}:{listener}"]
