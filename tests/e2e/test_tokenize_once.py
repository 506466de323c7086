"""The prompt is tokenized once per request: the rate limit, the credit hold and the usage estimate share one
count. Seen through /metrics (`tokenyard_tokenizer_chars_total`) on a gateway whose key has a token limit and
whose account pays for a priced model, so every consumer of the estimate runs."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.metering_helpers import create_key
from tests.e2e.reserve_helpers import fake, gw, top_up  # noqa: F401 (module fixtures)
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

PROMPT = "tokenize-me-once " * 600  # 10,200 characters: far more than everything else a request counts


def _tokenized(gw: Gateway) -> float:
    text = httpx.get(f"{gw.url}/metrics").text
    found = re.search(r"^tokenyard_tokenizer_chars_total (\S+)$", text, re.MULTILINE)
    assert found, "the tokenizer counter is exported"
    return float(found.group(1))


@pytest.mark.parametrize("reported", [True, False], ids=["upstream-usage", "estimated-usage"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_one_request_tokenizes_its_prompt_once(gw: Gateway, fake: FakeOpenAI, reported: bool, stream: bool) -> None:
    account = f"tok-{int(reported)}{int(stream)}"
    _, key = create_key(gw, account, tpm=1_000_000)  # rate-limited by tokens: counts the prompt at admission
    top_up(gw, account, "5")  # a priced model on a paying account: the credit hold counts it too
    fake.reset()
    fake.report_usage = reported  # without it the Router estimates usage, from the same prompt count
    fake.script_reply("fine", usage={"prompt_tokens": 1200, "completion_tokens": 1})
    before = _tokenized(gw)
    with httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key}"}, timeout=30) as http:
        r = http.post("/v1/chat/completions", json={"model": "t/gpt", "stream": stream, "max_tokens": 5,
                                                     "messages": [{"role": "user", "content": PROMPT}]})
    fake.report_usage = True
    assert r.status_code == 200, r.text[:300]
    counted = _tokenized(gw) - before
    assert len(PROMPT) <= counted < 2 * len(PROMPT), counted
