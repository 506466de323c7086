"""Each provider kind end to end through the openai SDK: plain, streaming, images, tools (fake upstreams)."""
from __future__ import annotations

import base64
import json

import openai
import pytest

from tests.e2e.upstream_gateway import KIND_MODELS, Upstreams, upstreams  # noqa: F401 - fixture

KINDS = list(KIND_MODELS)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nnot-really-a-png").decode()
ARGS = '{"city":"Paris","when":{"day":"tomorrow","hour":9},"units":["C"]}'
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]


@pytest.fixture(autouse=True)
def _clean(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.reset()


@pytest.mark.parametrize("kind", KINDS)
def test_plain_chat(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    upstreams.fakes[kind].script_reply("Hello from upstream", usage={"prompt_tokens": 12, "completion_tokens": 4})
    raw = upstreams.gateway.openai().chat.completions.with_raw_response.create(
        model=KIND_MODELS[kind], messages=[{"role": "system", "content": "be nice"},
                                           {"role": "user", "content": "hi"}], temperature=0.2, max_tokens=64)
    resp = raw.parse()
    assert raw.headers["x-tokenyard-target"] == f"fake-{kind}"
    assert resp.model == KIND_MODELS[kind]
    assert resp.choices[0].message.content == "Hello from upstream"
    assert resp.choices[0].finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (12, 4, 16)


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_chat_with_usage(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    upstreams.fakes[kind].script_reply("one two three four five", usage={"prompt_tokens": 9, "completion_tokens": 5})
    stream = upstreams.gateway.openai().chat.completions.create(
        model=KIND_MODELS[kind], stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "count"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 5, "streamed piece by piece"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.prompt_tokens == 9 and chunks[-1].usage.completion_tokens == 5
    assert {c.model for c in chunks} == {KIND_MODELS[kind]}


@pytest.mark.parametrize("kind", KINDS)
def test_images_url_and_data_uri_in_one_message(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    resp = upstreams.gateway.openai().chat.completions.create(model=KIND_MODELS[kind], messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "what differs"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}}]}])
    assert resp.choices[0].message.content == "echo: what differs"
    sent = json.dumps(upstreams.fakes[kind].last_body)
    assert PNG in sent and "https://example.com/b.jpg" in sent


@pytest.mark.parametrize("kind", KINDS)
def test_tool_call_round_trip(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    fake, client = upstreams.fakes[kind], upstreams.gateway.openai()
    fake.script_reply(tool_calls=[{"name": "get_weather", "arguments": ARGS}])
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(model=KIND_MODELS[kind], messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == json.loads(ARGS)
    fake.script_reply("It is sunny")
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear"}'}]
    second = client.chat.completions.create(model=KIND_MODELS[kind], messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "It is sunny"
    assert "clear" in json.dumps(fake.last_body) and "get_weather" in json.dumps(fake.last_body)


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_tool_call_arguments_arrive_exactly(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    upstreams.fakes[kind].script_reply(tool_calls=[{"name": "get_weather", "arguments": ARGS}])
    stream = upstreams.gateway.openai().chat.completions.create(
        model=KIND_MODELS[kind], stream=True, tools=TOOLS, messages=[{"role": "user", "content": "weather?"}])
    args, names, finish = "", [], None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for d in choice.delta.tool_calls or ():
                args += d.function.arguments or ""
                if d.function.name:
                    names.append(d.function.name)
    assert args == ARGS and names == ["get_weather"] and finish == "tool_calls"


def test_context_too_long_is_400_context_length_exceeded(upstreams: Upstreams) -> None:  # noqa: F811
    from tests.fakes import FakeAnthropic

    upstreams.fakes["anthropic"].push_fault(FakeAnthropic.context_too_long())
    with pytest.raises(openai.BadRequestError) as err:
        upstreams.gateway.openai().chat.completions.create(model="t/anthropic",
                                                           messages=[{"role": "user", "content": "long"}])
    assert err.value.code == "context_length_exceeded"
    assert len(upstreams.fakes["anthropic"].requests) == 1, "a request error is not retried"


def test_out_of_range_params_name_the_param(upstreams: Upstreams) -> None:  # noqa: F811
    client = upstreams.gateway.openai()
    for params, name in (({"temperature": 2.5}, "temperature"), ({"top_p": 1.5}, "top_p"),
                         ({"tool_choice": {"type": "function", "function": {"name": "nope"}}, "tools": TOOLS},
                          "tool_choice")):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="t/openai", messages=[{"role": "user", "content": "x"}], **params)
        assert err.value.param == name
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="t/anthropic", messages=[{"role": "user", "content": [
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}}]}])  # type: ignore[list-item]
    assert err.value.param == "messages[0].content[0]"
    assert upstreams.fakes["openai"].requests == [] and upstreams.fakes["anthropic"].requests == []


def test_unknown_fields_pass_through_to_openai_compatible_upstreams(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.gateway.openai().chat.completions.create(
        model="t/openai", messages=[{"role": "user", "content": "x"}], seed=7, n=1, stop=["END"],
        response_format={"type": "json_object"}, user="u-1", extra_body={"top_k": 5, "repetition_penalty": 1.1})
    body = upstreams.fakes["openai"].last_body
    assert body["model"] == "gpt-4o-mini" and body["top_k"] == 5 and body["repetition_penalty"] == 1.1
    assert body["seed"] == 7 and body["stop"] == ["END"] and body["response_format"] == {"type": "json_object"}
    assert body["user"] == "u-1"


def test_unknown_and_opaque_values_reach_an_openai_upstream_unchanged(upstreams: Upstreams) -> None:  # noqa: F811
    big = 2**62 + 1  # not representable as a float: arrives intact only if no step turned it into one
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": big, "multipleOf": 0.5}}}
    extra = {"top_k": 5, "big": big, "ratio": 0.1, "nested": {"z": [1, 2.5, None, True], "a": {"b": big}},
             "metadata": {"k": "v"}}
    upstreams.gateway.openai().chat.completions.create(
        model="t/openai", messages=[{"role": "user", "content": "x"}],
        tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}], extra_body=extra)
    body = upstreams.fakes["openai"].last_body
    assert {k: body[k] for k in extra} == extra
    assert body["tools"][0]["function"]["parameters"] == schema
    assert type(body["big"]) is int and type(body["top_k"]) is int
