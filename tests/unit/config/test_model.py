"""AppConfig validation names the offending field of every invalid value."""
from __future__ import annotations

import pytest
from tokenyard.catalog import load_catalog
from tokenyard.config.model import AppConfig, validate_config
from tokenyard.errors import ErrorKind, GatewayError

CATALOG = load_catalog()


@pytest.mark.parametrize(("cfg", "param"), [
    (AppConfig(max_tokens_per_request=100_001), "maxTokensPerRequest"),
    (AppConfig(max_tokens_per_request=-1), "maxTokensPerRequest"),
    (AppConfig(default_model="nope/none"), "defaultModel"),
    (AppConfig(default_model="openai/gpt-4o", allowed_models=("local/echo",)), "defaultModel"),
    (AppConfig(allowed_models=("local/echo", "nope/none")), "allowedModels[1]"),
    (AppConfig(rpm=-1), "rateLimits.rpm"),
    (AppConfig(tpm=-5), "rateLimits.tpm"),
    (AppConfig(enabled_tools=("",)), "enabledTools[0]"),
    (AppConfig(custom_tools_json="{not json"), "customTools"),
])
def test_invalid_values_are_400_naming_the_field(cfg: AppConfig, param: str) -> None:
    with pytest.raises(GatewayError) as info:
        validate_config(cfg, CATALOG)
    assert info.value.kind is ErrorKind.INVALID_REQUEST
    assert info.value.param == param


def test_allowed_models_are_normalised_to_catalog_ids() -> None:
    cfg = validate_config(AppConfig(default_model="gpt-4o", allowed_models=("gpt-4o", "openai/gpt-4o",
                                                                             "local/echo")), CATALOG)
    assert cfg.allowed_models == ("openai/gpt-4o", "local/echo")
    assert cfg.default_model == "gpt-4o"
