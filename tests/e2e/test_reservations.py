"""Reservations cover the whole request (n, tools, schemas, images, embeddings inputs) and counting a huge
prompt does not stall other tenants: the openai SDK against a gateway on a fake OpenAI that bills what the
real one would (scripted usage), on accounts with small balances."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import httpx
import openai
import pytest

from tests.e2e.metering_helpers import create_key, wait_until
from tests.e2e.reserve_helpers import ALLOWANCE_USD, NANOS, balance, config, env, image_part, png, top_up
from tests.e2e.reserve_helpers import fake, gw  # noqa: F401 (module fixtures)
from tests.e2e.reserve_helpers import usage_cost_nanos
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

ASK = [{"role": "user", "content": "write a short poem"}]


@pytest.fixture(autouse=True)
def _clean_fake(fake: FakeOpenAI) -> None:
    fake.reset()


def _refused(call: Callable[[], object]) -> None:
    """`call` is answered 402 insufficient_quota."""
    with pytest.raises(openai.APIStatusError) as info:
        call()
    assert info.value.status_code == 402, info.value
    assert info.value.body["code"] == "insufficient_quota"


def _settled(gw: Gateway, account: str, cost_nanos: int) -> None:
    """The account's usage costs `cost_nanos`, nothing is held, and the balance is what is left (>= 0)."""
    assert wait_until(lambda: usage_cost_nanos(gw, account) == cost_nanos), usage_cost_nanos(gw, account)
    bal = wait_until(lambda: (b := balance(gw, account))["reserved_usd"] == 0 and b)
    assert bal, balance(gw, account)
    assert Decimal(str(bal["balance_usd"])) * NANOS == ALLOWANCE_USD * NANOS - cost_nanos >= 0


def test_n_128_on_a_one_cent_balance_is_refused_up_front(gw: Gateway, fake: FakeOpenAI) -> None:
    _, key = create_key(gw, "many-choices")
    client = gw.openai(key=key)
    fake.script_reply(usage={"prompt_tokens": 12, "completion_tokens": 128 * 500})  # OpenAI bills n x
    _refused(lambda: client.chat.completions.create(model="t/gpt", n=128, max_tokens=500, messages=ASK))
    assert not fake.requests_for("/v1/chat/completions")  # refused before the upstream call
    fake.reset()
    fake.script_reply(usage={"prompt_tokens": 12, "completion_tokens": 2 * 100})
    resp = client.chat.completions.create(model="t/gpt", n=2, max_tokens=100, messages=ASK)  # held: 2 x 100
    assert resp.usage.completion_tokens == 200
    _settled(gw, "many-choices", 12 * 2500 + 200 * 10_000)  # $2.5 and $10 per million tokens
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="t/gpt", n=129, messages=ASK)
    assert bad.value.body["param"] == "n"


def _tools(count: int, words: int) -> list[dict[str, object]]:
    text = " ".join(["the weather in the city and the time of day there"] * (words // 11))
    return [{"type": "function", "function": {
        "name": f"tool_{i}", "description": text,
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": text}}}}}
        for i in range(count)]


def test_large_tool_definitions_and_schemas_are_priced_in_the_hold(gw: Gateway, fake: FakeOpenAI) -> None:
    _, key = create_key(gw, "tool-heavy")
    client = gw.openai(key=key)
    tools = _tools(20, 550)  # ~22,000 prompt tokens: $0.055 at $2.5 per million, on a $0.01 balance
    fake.script_reply(usage={"prompt_tokens": 22_000, "completion_tokens": 16})
    _refused(lambda: client.chat.completions.create(model="t/gpt", max_tokens=16, messages=ASK, tools=tools))
    schema = {"type": "object", "description": " ".join(["a field of the answer"] * 4400)}
    _refused(lambda: client.chat.completions.create(
        model="t/gpt", max_tokens=16, messages=ASK,
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}))
    assert not fake.requests_for("/v1/chat/completions")
    fake.reset()
    fake.script_reply(usage={"prompt_tokens": 2_200, "completion_tokens": 16})
    client.chat.completions.create(model="t/gpt", max_tokens=16, messages=ASK, tools=_tools(2, 550))  # fits
    _settled(gw, "tool-heavy", 2_200 * 2500 + 16 * 10_000)


def test_images_are_priced_in_the_hold_by_size_and_detail(gw: Gateway, fake: FakeOpenAI) -> None:
    _, key = create_key(gw, "one-image")
    client = gw.openai(key=key)
    big = png(8000, 3000, padding=10_000_000)  # a 10 MB image: 1445 tokens at high detail = $0.01445 at $10/M
    fake.script_reply(usage={"prompt_tokens": 1445 + 10, "completion_tokens": 16})
    started = time.monotonic()
    _refused(lambda: client.chat.completions.create(model="t/vision", max_tokens=16, messages=[
        {"role": "user", "content": [{"type": "text", "text": "what is this"}, image_part(big)]}]))
    assert time.monotonic() - started < 20
    assert not fake.requests_for("/v1/chat/completions")
    fake.reset()
    fake.script_reply(usage={"prompt_tokens": 85 + 10, "completion_tokens": 16})  # low detail: 85 tokens
    client.chat.completions.create(model="t/vision", max_tokens=16, messages=[
        {"role": "user", "content": [{"type": "text", "text": "what is this"}, image_part(big, "low")]}])
    _settled(gw, "one-image", 95 * 10_000 + 16 * 30_000)

    _, rich_key = create_key(gw, "many-images")
    top_up(gw, "many-images", "0.99")  # $1
    tile = png(2048, 768)  # 8 tiles: 1445 tokens each; 80 of them cost $1.16 at $10 per million
    fake.script_reply(usage={"prompt_tokens": 80 * 1445 + 10, "completion_tokens": 16})
    rich = gw.openai(key=rich_key)
    _refused(lambda: rich.chat.completions.create(model="t/vision", max_tokens=16, messages=[
        {"role": "user", "content": [{"type": "text", "text": "compare"}, *[image_part(tile)] * 80]}]))
    assert balance(gw, "many-images")["balance_usd"] == 1


def test_embeddings_hold_covers_every_input(gw: Gateway, fake: FakeOpenAI) -> None:
    _, key = create_key(gw, "embedder")
    client = gw.openai(key=key)
    text = " ".join(["the cat sat on the mat and looked at the dog"] * 10)  # 110 words
    _refused(lambda: client.embeddings.create(model="t/embed", input=[text] * 2048))  # 225k tokens: $0.029
    assert not fake.requests_for("/v1/embeddings")
    resp = client.embeddings.create(model="t/embed", input=[text] * 10)
    assert len(resp.data) == 10 and resp.usage.prompt_tokens == 1100  # the fake bills words
    _settled(gw, "embedder", 1100 * 130)


@pytest.mark.parametrize("model", ["t/gpt", "local/echo"])  # an upstream, and the in-process local model
def test_a_4mb_prompt_without_spaces_does_not_stall_other_tenants(
        make_gateway: Callable[..., Gateway], fake: FakeOpenAI, model: str) -> None:
    gw = make_gateway(config=config(fake), env={**env(), "TOKENYARD_MAX_BODY_BYTES": str(8 << 20)})
    _, big_key = create_key(gw, "huge-prompt")
    _, small_key = create_key(gw, "neighbour")
    top_up(gw, "huge-prompt", "5")
    spans: list[tuple[float, float, int]] = []
    stop = threading.Event()

    def neighbour() -> None:
        auth = {"authorization": f"Bearer {small_key}"}
        with httpx.Client(base_url=gw.url, timeout=60, headers=auth) as http:
            while not stop.is_set():
                t0 = time.monotonic()
                r = http.post("/v1/chat/completions", json={"model": "local/echo", "messages": [
                    {"role": "user", "content": "ping"}]})
                spans.append((t0, time.monotonic(), r.status_code))
                time.sleep(0.02)

    thread = threading.Thread(target=neighbour, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: len(spans) >= 5, 30)
        begin = time.monotonic()
        resp = gw.openai(key=big_key, timeout=120).chat.completions.create(
            model=model, max_tokens=16, messages=[{"role": "user", "content": "x" * 4_000_000}])
        end = time.monotonic()
    finally:
        stop.set()
        thread.join(timeout=60)
    assert resp.choices[0].finish_reason in ("stop", "length")  # answered (the echo cuts the one long word)
    during = [(b - a, status) for a, b, status in spans if b >= begin and a <= end]
    assert len(during) >= 3 and all(status == 200 for _, status in during), during
    assert max(t for t, _ in during) <= 1.0, f"another tenant waited {max(t for t, _ in during):.2f}s"


def test_an_upstream_that_reports_no_usage_is_billed_for_the_whole_prompt(gw: Gateway,
                                                                           fake: FakeOpenAI) -> None:
    from tests.e2e.metering_helpers import database_url, query
    from tests.fakes import Fault

    _, key = create_key(gw, "cut-short")
    top_up(gw, "cut-short", "1")
    fake.push_fault(Fault.cut_stream(after=3))  # the stream ends before its usage chunk
    stream = gw.openai(key=key).chat.completions.create(
        model="t/vision", max_tokens=16, stream=True, tools=_tools(2, 550), messages=[
            {"role": "user", "content": [{"type": "text", "text": "what"}, image_part(png(2048, 768))]}])
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    rows = wait_until(lambda: query(database_url(gw), "SELECT prompt_tokens, estimated FROM usage_records "
                                                      "WHERE account_id = 'cut-short'"))
    assert rows and rows[0][1]  # estimated locally
    assert rows[0][0] >= 1445 + 2_200  # the image (8 tiles) and the tool definitions, not just the text
