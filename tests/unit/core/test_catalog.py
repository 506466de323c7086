"""The config file: defaults, merging on top, strict keys and reference checks."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tokenyard.catalog import ConfigError, load_catalog


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_default_catalog_has_the_built_in_and_listed_models() -> None:
    cat = load_catalog()
    for mid in ("local/echo", "anthropic/claude-sonnet-4.6", "openai/gpt-4o", "openai/text-embedding-3-large"):
        assert mid in cat.models
    assert cat.models["openai/text-embedding-3-large"].dimensions == 3072
    assert cat.resolve("gpt-4o").id == "openai/gpt-4o"
    assert cat.default_plan() is not None


def test_file_entries_replace_by_id_and_add_new(tmp_path: Path) -> None:
    path = _write(tmp_path, {
        "providers": {"my-upstream": {"kind": "openai", "base_url": "http://127.0.0.1:1/v1",
                                      "api_key_env": "MY_KEY"}},
        "models": [{"id": "acme/gpt-test", "type": "chat", "provider": "my-upstream", "upstream_model": "gpt-4o",
                    "pricing": {"input_per_mtok_usd": 2.5, "output_per_mtok_usd": 10.0}},
                   {"id": "openai/gpt-4o", "type": "chat", "provider": "my-upstream", "upstream_model": "x"}]})
    cat = load_catalog(path)
    assert cat.models["acme/gpt-test"].targets[0].provider == "my-upstream"
    assert cat.models["openai/gpt-4o"].targets[0].upstream_model == "x"
    assert "local/echo" in cat.models
    assert cat.models["acme/gpt-test"].cost_usd(1_000_000, 100_000) == Decimal("3.5")


def test_include_defaults_false_starts_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, {"include_defaults": False, "providers": {"local": {"kind": "local"}},
                             "models": [{"id": "m", "type": "chat", "provider": "local"}]})
    assert list(load_catalog(path).models) == ["m"]


@pytest.mark.parametrize(("doc", "needle"), [
    ({"models": [{"id": "x/y", "type": "chat", "provider": "missing"}]}, "models[x/y].targets[0].provider"),
    ({"models": [{"id": "x/y", "type": "chat", "provider": "local", "fallbacks": ["no/such"]}]},
     "models[x/y].fallbacks"),
    ({"providers": {"p": {"kind": "openai", "base_url": "http://x", "colour": "red"}}}, "providers.p.colour"),
    ({"surprise": 1}, "surprise"),
    ({"providers": {"p": {"kind": "martian"}}}, "providers.p.kind"),
    ({"models": [{"id": "x/y", "type": "chat"}]}, "provider"),
])
def test_bad_config_names_the_key(tmp_path: Path, doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(_write(tmp_path, doc))
    assert needle in str(info.value)
