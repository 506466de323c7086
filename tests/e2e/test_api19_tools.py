"""Issue 19: the chat app's `weather` tool works by default (Open-Meteo, no key), can be pointed elsewhere or
turned off for offline sites; `search` stays opt-in and a call to it unconfigured says so. No internet: the
Open-Meteo URLs of the default config are re-hosted on a loopback fake."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.api19_fixtures import api19_gateway, fake_provider_config
from tests.e2e.chat_app_gateway import send
from tests.e2e.tool_backends import ToolBackends
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway
from tests.jwt_helpers import hs256
from tokenyard.catalog import load_catalog

OPEN_METEO = {"url": "https://api.open-meteo.com/v1/forecast",
              "geocoding_url": "https://geocoding-api.open-meteo.com/v1/search"}


def _rehosted(url: str, base: str) -> str:
    """The same path on the loopback fake."""
    return base + urlsplit(url).path


@pytest.fixture(scope="module")
def tools_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, FakeOpenAI, ToolBackends]]:
    fake, backends = FakeOpenAI(require_api_key="sk-fake-api19-0123456789"), ToolBackends().start()
    fake.start()
    weather = load_catalog().tools["weather"]
    config = fake_provider_config(fake)
    config["tools"] = {"weather": {"url": _rehosted(weather.url, backends.url),
                                   "geocoding_url": _rehosted(weather.geocoding_url, backends.url)}}
    gw = api19_gateway(tmp_path_factory.mktemp("tools"), config)
    try:
        gw.start()
        yield gw, fake, backends
    finally:
        gw.stop()
        fake.stop()
        backends.stop()


def test_the_default_config_points_weather_at_open_meteo_and_leaves_search_off() -> None:
    tools = load_catalog().tools
    assert tools["weather"].model_dump(include={"url", "geocoding_url"}) == OPEN_METEO
    assert tools["weather"].api_key_env == "" and "search" not in tools


def test_weather_works_through_the_open_meteo_api_paths(tools_gw: tuple[Gateway, FakeOpenAI, ToolBackends]) -> None:
    gw, fake, backends = tools_gw
    fake.script_reply(tool_calls=[{"name": "weather", "arguments": {"location": "Berlin"}}])
    fake.script_reply("12.1 °C in Berlin.")
    turn = send(gw.http(hs256("weather-user")), {"model": "gpt-4o-mini",
                                                   "messages": [{"role": "user", "content": "Weather in Berlin?"}]})
    assert turn.status == 200, turn.body
    result = turn.of("tool-result")[0]["result"]
    assert (result["temperature"], result["conditions"]) == (12.1, "overcast")
    assert [r["path"] for r in backends.requests[-2:]] == [urlsplit(OPEN_METEO["geocoding_url"]).path,
                                                           urlsplit(OPEN_METEO["url"]).path]


def test_unconfigured_search_answers_not_configured(tools_gw: tuple[Gateway, FakeOpenAI, ToolBackends]) -> None:
    gw, fake, _ = tools_gw
    http = gw.http(hs256("search-user"))
    assert http.get("/api/tools").json()["builtin"] == ["calculator", "weather"]
    fake.script_reply(tool_calls=[{"name": "search", "arguments": {"query": "tokenyard"}}])
    fake.script_reply("Search is not available here.")
    turn = send(http, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "search tokenyard"}]})
    result = turn.of("tool-result")[0]
    assert result["isError"] is True
    assert result["result"]["error"] == ("the search tool is not configured on this gateway: an operator enables "
                                         "it with `tools: {search: {url: ...}}` in the config file (and without "
                                         "TOKENYARD_TOOLS_OFFLINE)")
    assert turn.events[-1]["finishReason"] == "stop"
    announced = {t["function"]["name"] for t in fake.requests_for("/v1/chat/completions")[-2].json["tools"]}
    assert announced == {"calculator", "weather"}  # search is not offered to the model


@pytest.mark.parametrize(("config", "env"), [({"tools": {"weather": None}}, {}),
                                             (None, {"TOKENYARD_TOOLS_OFFLINE": "true"})],
                         ids=["weather-null", "offline"])
def test_weather_can_be_turned_off(make_gateway: Callable[..., Gateway], config: dict | None,
                                   env: dict[str, str]) -> None:
    gw = make_gateway(config=config, env=env)
    assert gw.http().get("/api/tools").json()["builtin"] == ["calculator"]


def test_weather_is_on_by_default(make_gateway: Callable[..., Gateway]) -> None:
    assert make_gateway().http().get("/api/tools").json()["builtin"] == ["calculator", "weather"]
