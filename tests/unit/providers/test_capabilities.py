"""Provider kinds declare what they can do (providers/kinds.py); a capability a kind lacks gives the documented
error wherever it is asked for."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from tokenyard.catalog import ConfigError, ProviderSpec, load_catalog
from tokenyard.deployments.model import validate_spec
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers import kinds
from tokenyard.videojobs.renderers import VideoRenderers


def _catalog(tmp_path: Path, kind: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"include_defaults": False, "providers": {"p": {
        "kind": kind, "base_url": "http://127.0.0.1:9/v1"}}, "models": [
        {"id": "v", "type": "video", "provider": "p", "upstream_model": "clip", "sizes": ["64x64"],
         "max_seconds": 4}]}))
    return load_catalog(path)


def test_every_declared_reference_loads() -> None:
    for name, caps in kinds.KINDS.items():
        assert callable(kinds.load(caps.adapter)), name
        if caps.video:
            assert callable(kinds.load(caps.video)), name
        if caps.passthrough:
            assert caps.usage_parser, f"{name}: passthrough answers must be metered"
        assert kinds.usage_parser(name)({}, {"unrelated": True}) is False


def test_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(GatewayError) as err:
        kinds.capabilities("martian")
    assert err.value.kind is ErrorKind.INVALID_REQUEST and "openai" in err.value.message
    assert kinds.can("martian", "chat") is False
    with pytest.raises(ValueError):
        kinds.can("openai", "teleport")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"p": {"kind": "martian"}}}))
    with pytest.raises(ConfigError, match=r"providers\.p\.kind"):
        load_catalog(path)


async def test_video_on_a_provider_that_cannot_is_a_400_naming_the_model(tmp_path: Path) -> None:
    no_video = next(k for k in kinds.KINDS if not kinds.can(k, "video"))
    async with httpx.AsyncClient() as http:
        renderers = VideoRenderers(_catalog(tmp_path, no_video), http)  # type: ignore[arg-type]
        assert renderers.supports("p") is False
        with pytest.raises(GatewayError) as err:
            renderers.renderer("p")
    assert (err.value.kind, err.value.param) == (ErrorKind.INVALID_REQUEST, "model")
    assert "cannot generate videos" in err.value.message


async def test_video_capable_kinds_build_their_renderer(tmp_path: Path) -> None:
    for kind in kinds.with_capability("video"):
        async with httpx.AsyncClient() as http:
            renderers = VideoRenderers(_catalog(tmp_path, kind), http)  # type: ignore[arg-type]
            assert renderers.supports("p") and hasattr(renderers.renderer("p"), "render")


def test_deployment_upstream_must_be_a_deployable_kind() -> None:
    for kind in kinds.KINDS:
        if kinds.can(kind, "deployable"):
            assert validate_spec("m", kind, "http://x/v1", "", 1).upstream_kind == kind
            continue
        with pytest.raises(GatewayError) as err:
            validate_spec("m", kind, "http://x/v1", "", 1)
        assert (err.value.kind, err.value.param) == (ErrorKind.INVALID_REQUEST, "upstream.kind")
        assert str(list(kinds.with_capability("deployable"))) in err.value.message


def test_kinds_without_a_key_are_always_configured() -> None:
    for kind in kinds.KINDS:
        spec = ProviderSpec(kind=kind, api_key_env="TOKENYARD_TEST_UNSET_KEY")
        assert spec.configured({}) is (not kinds.can(kind, "needs_key")), kind
        assert spec.configured({"TOKENYARD_TEST_UNSET_KEY": "k"}) is True


def test_model_from_path_is_the_kinds_own_rule() -> None:
    rule = [k for k in kinds.KINDS if kinds.capabilities(k).model_from_path]
    assert rule, "some kind names the model in its request path"
    for kind in kinds.KINDS:
        named = kinds.model_from_path(kind, "v1beta/models/flash-x:generateContent")
        assert named == ("flash-x" if kind in rule else "")
