"""The OpenAI-style upstream video adapter against the fake OpenAI server: submit, poll, download, resume."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.faults import Fault
from tests.fakes.openai_fake import FakeOpenAI
from tests.integration.videojobs.rig import start_rig
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.videojobs.service import VideoRequest
from tokenyard.videojobs.tables import COMPLETED, FAILED

KEY = "sk-fake-video-key"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("FAKE_VIDEO_KEY", KEY)
    server = FakeOpenAI(require_api_key=KEY, video_polls=3, video_content=MP4).start()
    try:
        yield server
    finally:
        server.stop()


def config(fake: FakeOpenAI) -> dict[str, Any]:
    return {"providers": {"fakeai": {"kind": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_VIDEO_KEY",
                                     "max_retries": 0}},
            "models": [{"id": "fake/sora", "type": "video", "provider": "fakeai", "upstream_model": "sora-2",
                        "sizes": ["1280x720", "720x1280"], "max_seconds": 12, "default_seconds": 4,
                        "pricing": {"per_call_usd": "0.05", "per_second_usd": "0.10"}}]}


REQ = VideoRequest(model="fake/sora", prompt="a lighthouse at dusk", seconds=8, size="720x1280")


def posts(fake: FakeOpenAI) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/videos"]


async def test_upstream_job_is_submitted_polled_and_downloaded(tmp_path: Path, fake: FakeOpenAI) -> None:
    rig = await start_rig(tmp_path, config(fake))
    try:
        job = await rig.service.submit(rig.admin, REQ)
        done = await rig.wait(job.id)
        assert done.status == COMPLETED and done.charged_micros == 850_000  # 0.05 + 8 x 0.10
        total, chunks = await rig.service.content(rig.admin, job.id)
        assert b"".join([c async for c in chunks]) == MP4 and total == len(MP4)
        [sent] = posts(fake)
        assert sent.json == {"model": "sora-2", "prompt": "a lighthouse at dusk", "seconds": "8", "size": "720x1280"}
        assert sent.headers["authorization"] == f"Bearer {KEY}"
        assert done.upstream_state["upstream_id"].startswith("video_")
        assert sum(r.method == "GET" and r.path.endswith(done.upstream_state["upstream_id"])
                   for r in fake.requests) == 3
    finally:
        await rig.videojobs.stop()


async def test_upstream_failure_fails_the_job_without_charge(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.video_fail = True
    rig = await start_rig(tmp_path, config(fake))
    try:
        job = await rig.service.submit(rig.admin, REQ)
        failed = await rig.wait(job.id)
        assert failed.status == FAILED and failed.error_code == "video_generation_failed"
        assert "Video generation failed" in failed.error and failed.charged_micros == 0
        assert rig.credits.calls[-1] == ("release", f"res_{job.id}")
        assert [(e.status, e.cost_micros) for e in rig.events] == [("error", 0)]
    finally:
        await rig.videojobs.stop()


async def test_transient_poll_errors_are_retried(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.push_fault(Fault.status(503, path=r"^/v1/videos/video_[^/]+$", method="GET"), times=2)
    rig = await start_rig(tmp_path, config(fake))
    try:
        job = await rig.service.submit(rig.admin, REQ)
        assert (await rig.wait(job.id)).status == COMPLETED
    finally:
        await rig.videojobs.stop()


async def test_a_taken_over_job_resumes_the_upstream_job_instead_of_paying_twice(tmp_path: Path,
                                                                                  fake: FakeOpenAI) -> None:
    rig = await start_rig(tmp_path, config(fake), video_workers=0)
    job = await rig.service.submit(rig.admin, REQ)
    upstream = httpx.post(f"{fake.base_url}/videos", json={"model": "sora-2", "prompt": "x"},
                          headers={"authorization": f"Bearer {KEY}"}).json()
    held = await rig.service.queue.claim("dead-worker", 30, 3)
    assert held is not None and await rig.service.queue.checkpoint(job.id, "dead-worker",
                                                                     {"upstream_id": upstream["id"]})
    await rig.service.queue.requeue(job.id, "dead-worker")
    await rig.videojobs.stop()
    rig2 = await start_rig(tmp_path, config(fake))
    try:
        done = await rig2.wait(job.id)
        assert done.status == COMPLETED and len(posts(fake)) == 1
    finally:
        await rig2.videojobs.stop()


async def test_missing_upstream_key_is_refused_at_submit(tmp_path: Path, fake: FakeOpenAI,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKE_VIDEO_KEY")
    rig = await start_rig(tmp_path, config(fake))
    try:
        with pytest.raises(GatewayError) as info:
            await rig.service.submit(rig.admin, REQ)
        assert info.value.kind is ErrorKind.PROVIDER_NOT_CONFIGURED and "FAKE_VIDEO_KEY" in info.value.message
    finally:
        await rig.videojobs.stop()
