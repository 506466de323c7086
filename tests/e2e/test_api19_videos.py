"""Issue 19: DELETE /v1/videos/{id} deletes a finished video (row and MP4), as OpenAI's API does; a queued or
running one is cancelled, as before."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.api19_fixtures import Api19, api19  # noqa: F401  (fixture)
from tests.e2e.tenancy_fixtures import new_app
from tests.e2e.videos_util import wait_for

TINY = {"model": "local/test-pattern", "prompt": "a red fox", "seconds": "1", "size": "320x240"}


def _mp4s(api19: Api19) -> set[Path]:
    return set((api19.gw.workdir / "data" / "videos").rglob("*.mp4"))


def test_a_finished_video_is_deleted_with_its_mp4(api19: Api19) -> None:
    with api19.gw.http() as http:
        before = _mp4s(api19)
        vid = http.post("/v1/videos", json=TINY).json()["id"]
        assert wait_for(http, vid)["status"] == "completed"
        assert http.get(f"/v1/videos/{vid}/content").status_code == 200
        stored = _mp4s(api19) - before
        assert len(stored) == 1
        r = http.delete(f"/v1/videos/{vid}")
        assert r.status_code == 200, r.text
        assert r.json() == {"id": vid, "object": "video.deleted", "deleted": True}
        assert http.get(f"/v1/videos/{vid}").status_code == 404
        assert http.get(f"/v1/videos/{vid}/content").status_code == 404
        assert vid not in [v["id"] for v in http.get("/v1/videos", params={"limit": 100}).json()["data"]]
        assert not any(p.exists() for p in stored)
        assert http.delete(f"/v1/videos/{vid}").status_code == 404


def test_a_running_video_is_cancelled_then_deleted(api19: Api19) -> None:
    with api19.gw.http() as http:
        vid = http.post("/v1/videos", json={**TINY, "seconds": "20"}).json()["id"]
        r = http.delete(f"/v1/videos/{vid}")
        assert r.status_code == 200 and r.json()["object"] == "video" and r.json()["status"] == "cancelled", r.text
        assert http.get(f"/v1/videos/{vid}").json()["status"] == "cancelled"
        r = http.delete(f"/v1/videos/{vid}")  # a cancelled video is finished: now it is deleted
        assert r.json() == {"id": vid, "object": "video.deleted", "deleted": True}
        assert http.get(f"/v1/videos/{vid}").status_code == 404


def test_app_scoped_delete_and_others_cannot_delete(api19: Api19) -> None:
    _, owner = api19.user("owner")
    _, other = api19.user("other")
    app = new_app(owner, "v")
    vid = owner.post(f"/v1/{app}/videos", json=TINY).json()["id"]
    wait_for(owner, vid, prefix=f"/v1/{app}")
    assert other.delete(f"/v1/videos/{vid}").status_code == 404
    r = owner.delete(f"/v1/{app}/videos/{vid}")
    assert r.status_code == 200 and r.json()["deleted"] is True, r.text
    assert owner.get(f"/v1/{app}/videos/{vid}/content").status_code == 404
