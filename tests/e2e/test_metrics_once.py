"""/metrics as an SRE reads it: a 429 and a 402 are each counted once (tokenyard_rejections_total, no lookalike
family), and queued video jobs show in tokenyard_video_queue_depth (the alert on it can fire)."""
from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.e2e.metering_helpers import PRICED_MODEL, create_key
from tests.e2e.test_observability import _metric
from tests.harness.gateway import Gateway

VIDEO = {"model": "local/test-pattern", "prompt": "a red fox in the snow", "seconds": "2", "size": "320x240"}


def _chat(gw: Gateway, key: str, max_tokens: int) -> int:
    body = {"model": "test/priced", "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {key}"}).status_code


def test_429_and_402_are_counted_once_and_queued_videos_show(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(config={"models": [PRICED_MODEL],
                              "plans": [{"name": "free", "monthly_credits_usd": "0.041", "default": True}]},
                      env={"TOKENYARD_VIDEO_WORKERS": "0"})  # no worker: submitted jobs stay queued
    _, limited = create_key(gw, "dave", rpm=1)
    _, poor = create_key(gw, "bob")
    before = httpx.get(f"{gw.url}/metrics").text
    assert [_chat(gw, limited, 5), _chat(gw, limited, 5)] == [200, 429]
    assert [_chat(gw, poor, 200), _chat(gw, poor, 200)] == [200, 402]
    after = httpx.get(f"{gw.url}/metrics").text

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert delta("tokenyard_rejections_total", reason="rate_limit") == 1
    assert delta("tokenyard_rejections_total", reason="credits") == 1
    families = {line.split()[2].removesuffix("_created").removesuffix("_total") for line in after.splitlines()
                if line.startswith("# TYPE ")}
    assert {f for f in families if "rejection" in f or "refusal" in f} == {"tokenyard_rejections"}, \
        "a refusal is counted in one metric family only"

    with gw.http() as http:
        for _ in range(2):
            assert http.post("/v1/videos", json=VIDEO).status_code == 202
    deadline = time.monotonic() + 10
    while (queued := _metric(httpx.get(f"{gw.url}/metrics").text, "tokenyard_video_queue_depth",
                             state="queued")) != 2:
        assert time.monotonic() < deadline, f"tokenyard_video_queue_depth{{state=queued}} stayed at {queued}"
        time.sleep(0.2)
