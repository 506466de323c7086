"""Issue 19: `n` choices for every provider: passed through to OpenAI-compatible upstreams, fanned out (n single
calls merged, usage summed into the one usage record) for the others, streamed with the right `index`."""
from __future__ import annotations

import time
from collections import defaultdict

import openai
import pytest

from tests.e2e.api19_fixtures import Api19, api19  # noqa: F401  (fixture)
from tests.jwt_helpers import hs256

ASK = [{"role": "user", "content": "three little words repeated"}]


def _records(api19: Api19, token: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:
        rows = api19.gw.http(token).get("/api/usage").json()["usage"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_n_choices_from_the_local_model_are_fanned_out_and_metered_once(api19: Api19) -> None:
    sub = f"n-{time.monotonic_ns()}"
    token = hs256(sub)
    client = api19.gw.openai(key=token)
    one = client.chat.completions.create(model="local/echo", messages=ASK)
    three = client.chat.completions.create(model="local/echo", messages=ASK, n=3)
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert {c.message.content for c in three.choices} == {"three little words repeated"}
    assert three.usage.completion_tokens == 3 * one.usage.completion_tokens
    assert three.usage.prompt_tokens == 3 * one.usage.prompt_tokens  # each single call was sent the prompt
    rows = _records(api19, token, 2)
    assert len(rows) == 2  # one usage record per request, whatever n
    assert rows[0]["completionTokens"] == three.usage.completion_tokens  # newest first


def test_n_choices_stream_interleaved_with_their_index(api19: Api19) -> None:
    client = api19.gw.openai()
    text: dict[int, str] = defaultdict(str)
    order, finished, usage = [], set(), None
    for chunk in client.chat.completions.create(model="local/echo", messages=ASK, n=3, stream=True,
                                                stream_options={"include_usage": True}):
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text[choice.index] += choice.delta.content or ""
            order.append(choice.index)
            if choice.finish_reason:
                finished.add(choice.index)
    assert dict(text) == {i: "three little words repeated" for i in range(3)} and finished == {0, 1, 2}
    assert order != sorted(order)  # the choices' chunks arrive interleaved, not one choice after another
    assert usage is not None and usage.completion_tokens == 3 * 4


def test_n_is_passed_through_to_an_openai_compatible_upstream(api19: Api19) -> None:
    api19.fake.reset()
    api19.gw.openai().chat.completions.create(model="gpt-4o-mini", messages=ASK, n=3)
    calls = api19.fake.requests_for("/v1/chat/completions")
    assert len(calls) == 1 and calls[0].json["n"] == 3


def test_n_choices_from_anthropic_are_fanned_out(api19: Api19) -> None:
    api19.anthropic.reset()
    completion = api19.gw.openai().chat.completions.create(model="t/claude", messages=ASK, n=2)
    assert [c.index for c in completion.choices] == [0, 1]
    calls = api19.anthropic.requests_for("/v1/messages")
    assert len(calls) == 2 and all("n" not in c.json for c in calls)
    chunks = list(api19.gw.openai().chat.completions.create(model="t/claude", messages=ASK, n=2, stream=True))
    assert {c.index for chunk in chunks for c in chunk.choices} == {0, 1}


@pytest.mark.parametrize("n", [0, 129])
def test_n_out_of_range_is_a_400(api19: Api19, n: int) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        api19.gw.openai().chat.completions.create(model="local/echo", messages=ASK, n=n)
    assert exc.value.body["param"] == "n"


def test_a_402_says_what_was_reserved_why_and_how_to_lower_it(api19: Api19) -> None:
    client = api19.gw.openai(key=hs256(f"poor-{time.monotonic_ns()}"))  # the free plan: $5 a month
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="t/pricey", messages=ASK)  # no max_tokens: 4096 x $1/token
    assert exc.value.status_code == 402 and exc.value.body["code"] == "insufficient_quota"
    message = exc.value.body["message"]
    assert "reserves $4096" in message and "4096 output tokens" in message, message
    assert "max_output_tokens" in message or "default" in message
    assert "$1000000 per million output tokens" in message and "Set max_tokens lower" in message
    ok = client.chat.completions.create(model="t/pricey", messages=ASK, max_tokens=2)  # $2 reserved: it fits
    assert ok.choices[0].message.content
