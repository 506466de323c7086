"""The container deployment gives the services their own internal secret and sealing key, and Envoy never lets a
client present the internal credential."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_compose_requires_the_internal_secret_and_the_sealing_key() -> None:
    for name in ("TOKENYARD_INTERNAL_SECRET", "TOKENYARD_SECRET_KEY"):
        assert re.search(rf"^  {name}: \$\{{{name}:\?", COMPOSE, re.M), f"{name} must be required, never defaulted"
    env = yaml.safe_load(COMPOSE)["x-env"]
    assert env["TOKENYARD_INTERNAL_SECRET"] != env["TOKENYARD_ADMIN_KEY"]


def test_envoy_strips_the_internal_metadata_from_public_traffic() -> None:
    from tokenyard.internal import INTERNAL_METADATA

    envoy = yaml.safe_load((ROOT / "deploy" / "envoy.yaml").read_text())
    hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert INTERNAL_METADATA in hcm["route_config"]["request_headers_to_remove"]
