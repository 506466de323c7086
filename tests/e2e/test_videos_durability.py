"""Durability of video jobs: a worker killed mid-job, and whole-gateway restarts, lose nothing."""
from __future__ import annotations

from collections.abc import Callable

from tests.e2e.videos_util import db_rows, inspect_mp4, wait_for
from tests.harness.gateway import Gateway

JOB = {"model": "local/test-pattern", "prompt": "survives a crash", "seconds": 2, "size": "320x240"}
FAST_LEASE = {"TOKENYARD_VIDEO_LEASE_SECONDS": "2", "TOKENYARD_VIDEO_RENDER_PACE": "2"}


def test_job_completes_after_its_worker_is_killed_mid_render(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True, env=FAST_LEASE)
    with gw.http() as http:
        vid = http.post("/v1/videos", json=JOB).json()["id"]
        running = wait_for(http, vid, ("in_progress",), timeout=30)
        assert running["status"] == "in_progress"
        gw.kill("videojobs")  # SIGKILL: no clean-up, the lease just stops being renewed
        gw.start_service("videojobs")
        done = wait_for(http, vid, timeout=60)
        assert done["status"] == "completed", done
        data = http.get(f"/v1/videos/{vid}/content").content
    info = inspect_mp4(data)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 320, 240, 48)
    [(attempts,)] = db_rows(gw, "SELECT attempts FROM video_jobs WHERE id = ?", vid)
    assert attempts == 2
    assert db_rows(gw, "SELECT cost_micros FROM usage_records WHERE request_id = ?", vid) == [(2000,)]


def test_restart_loses_no_job_and_no_finished_video(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(env=FAST_LEASE)
    with gw.http() as http:
        finished = http.post("/v1/videos", json={**JOB, "seconds": 1}).json()["id"]
        wait_for(http, finished)
        before = http.get(f"/v1/videos/{finished}/content").content
        running = http.post("/v1/videos", json=JOB).json()["id"]
        wait_for(http, running, ("in_progress",))
        queued = [http.post("/v1/videos", json={**JOB, "seconds": 1}).json()["id"] for _ in range(3)]
    gw.stop()
    gw.procs.clear()
    gw.start()
    with gw.http() as http:
        for vid in (running, *queued):
            assert wait_for(http, vid)["status"] == "completed"
        assert http.get(f"/v1/videos/{finished}/content").content == before
        listed = {v["id"]: v["status"] for v in http.get("/v1/videos", params={"limit": 100}).json()["data"]}
    assert listed == {vid: "completed" for vid in (finished, running, *queued)}
