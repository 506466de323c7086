"""Video jobs through the HTTP facade and gRPC: the local test-pattern model end to end."""
from __future__ import annotations

import grpc
import pytest

from tests.e2e.videos_util import db_rows, inspect_mp4, user_key, wait_for
from tests.harness.gateway import Gateway
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb
from tokenyard.videojobs.v1 import videojobs_service_pb2_grpc as pb_grpc

TINY = {"model": "local/test-pattern", "prompt": "a red fox in the snow", "seconds": "2", "size": "320x240"}


@pytest.fixture(scope="module")
def finished(gateway: Gateway) -> dict:
    """One completed 2 s 320x240 job and its bytes."""
    with gateway.http() as http:
        created = http.post("/v1/videos", json=TINY)
        video = wait_for(http, created.json()["id"])
        data = http.get(f"/v1/videos/{video['id']}/content")
    return {"created": created, "video": video, "content": data}


def test_submit_poll_download_a_real_h264_video(gateway: Gateway, finished: dict) -> None:
    created, video, content = finished["created"], finished["video"], finished["content"]
    assert created.status_code == 202
    body = created.json()
    assert body["id"].startswith("video_") and body["object"] == "video"
    assert (body["status"], body["progress"], body["model"], body["seconds"], body["size"]) == (
        "queued", 0, "local/test-pattern", "2", "320x240")
    assert isinstance(body["created_at"], int)
    assert video["status"] == "completed" and video["progress"] == 100 and video["error"] is None
    assert video["charged_credits_usd"] == pytest.approx(0.002)
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
    assert int(content.headers["content-length"]) == len(content.content)
    info = inspect_mp4(content.content)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 320, 240, 48)
    assert info["duration"] == pytest.approx(2.0, abs=0.05) and "mp4" in info["format"]
    [(kind, cost, status)] = db_rows(gateway, "SELECT kind, cost_micros, status FROM usage_records "
                                              "WHERE request_id = ?", video["id"])
    assert (kind, cost, status) == ("video", 2000, "ok")


def test_progress_is_reported_while_rendering(gateway: Gateway) -> None:
    with gateway.http() as http:
        vid = http.post("/v1/videos", json={**TINY, "seconds": 8}).json()["id"]
        seen = wait_for(http, vid, ("in_progress",))
        assert seen["status"] == "in_progress"
        progress = []
        while (v := http.get(f"/v1/videos/{vid}").json())["status"] == "in_progress":
            progress.append(v["progress"])
        assert v["status"] == "completed"
    assert progress == sorted(progress) and any(0 < p < 100 for p in progress)


def test_range_requests(gateway: Gateway, finished: dict) -> None:
    data, vid = finished["content"].content, finished["video"]["id"]
    total = len(data)
    with gateway.http() as http:
        part = http.get(f"/v1/videos/{vid}/content", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{total}" and part.headers["content-length"] == "100"
        tail = http.get(f"/v1/videos/{vid}/content", headers={"Range": "bytes=-64"})
        assert tail.status_code == 206 and tail.content == data[-64:]
        rest = http.get(f"/v1/videos/{vid}/content", headers={"Range": f"bytes={total - 10}-"})
        assert rest.content == data[-10:]
        bad = http.get(f"/v1/videos/{vid}/content", headers={"Range": f"bytes={total}-"})
        assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{total}"
        assert bad.json()["error"]["type"] == "invalid_request_error"


def test_official_sdk_create_retrieve_download_list(gateway: Gateway) -> None:
    client = gateway.openai()
    video = client.videos.create(model="local/test-pattern", prompt="sdk", seconds="1", size="320x240")  # type: ignore[arg-type]
    assert video.status == "queued" and video.id.startswith("video_")
    with gateway.http() as http:
        wait_for(http, video.id)
    assert client.videos.retrieve(video.id).status == "completed"
    data = client.videos.download_content(video.id).read()
    assert inspect_mp4(data)["frames"] == 24
    listed = client.videos.list(limit=100)
    assert video.id in [v.id for v in listed.data]


def test_list_is_paginated_newest_first(gateway: Gateway) -> None:
    key = user_key(gateway, "pager")
    with gateway.http(key) as http:
        ids = [http.post("/v1/videos", json={**TINY, "seconds": 1}).json()["id"] for _ in range(3)]
        first = http.get("/v1/videos", params={"limit": 2}).json()
        assert first["object"] == "list" and first["has_more"] is True
        assert [v["id"] for v in first["data"]] == ids[::-1][:2]
        assert (first["first_id"], first["last_id"]) == (ids[2], ids[1])
        second = http.get("/v1/videos", params={"limit": 2, "after": first["last_id"]}).json()
        assert [v["id"] for v in second["data"]] == [ids[0]] and second["has_more"] is False
        assert http.get("/v1/videos", params={"limit": 0}).json()["error"]["param"] == "limit"
        for vid in ids:
            wait_for(http, vid)


def test_cancel_running_and_finished_jobs(gateway: Gateway) -> None:
    with gateway.http() as http:
        vid = http.post("/v1/videos", json={**TINY, "seconds": 20}).json()["id"]
        wait_for(http, vid, ("in_progress",))
        cancelled = http.delete(f"/v1/videos/{vid}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert http.get(f"/v1/videos/{vid}").json()["status"] == "cancelled"
        assert http.get(f"/v1/videos/{vid}/content").status_code == 409
        # A finished (here: cancelled) video is deleted by the next DELETE, as OpenAI's API does; its usage stays.
        assert http.delete(f"/v1/videos/{vid}").json() == {"id": vid, "object": "video.deleted", "deleted": True}
    assert db_rows(gateway, "SELECT status, cost_micros FROM usage_records WHERE request_id = ?", vid) == [
        ("cancelled", 0)]


@pytest.mark.parametrize("body,status,param", [
    ({**TINY, "model": "nope/video"}, 404, "model"),
    ({**TINY, "model": "local/echo"}, 400, "model"),
    ({**TINY, "seconds": 21}, 400, "seconds"),
    ({**TINY, "seconds": "4s"}, 400, "seconds"),
    ({**TINY, "seconds": -1}, 400, "seconds"),
    ({**TINY, "size": "333x222"}, 400, "size"),
    ({k: v for k, v in TINY.items() if k != "prompt"}, 400, "prompt"),
    ({**TINY, "model": "openai/sora-2", "size": "320x240"}, 400, "size"),
])
def test_bad_inputs_name_the_parameter(gateway: Gateway, body: dict, status: int, param: str) -> None:
    with gateway.http() as http:
        resp = http.post("/v1/videos", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["param"] == param


def test_not_ready_unknown_and_unauthenticated(gateway: Gateway) -> None:
    with gateway.http() as http:
        vid = http.post("/v1/videos", json={**TINY, "seconds": 8}).json()["id"]
        early = http.get(f"/v1/videos/{vid}/content")
        assert early.status_code == 409 and "not ready" in early.json()["error"]["message"]
        assert http.get("/v1/videos/video_doesnotexist").status_code == 404
        assert http.post("/v1/videos", content=b"{oops", headers={"content-type": "application/json"}
                         ).status_code == 400
        wait_for(http, vid)
    with gateway.http("ty_sk_wrong") as http:
        assert http.post("/v1/videos", json=TINY).status_code == 401
        assert http.get(f"/v1/videos/{vid}").status_code == 401


def test_other_users_jobs_are_not_found(gateway: Gateway, finished: dict) -> None:
    vid = finished["video"]["id"]
    with gateway.http(user_key(gateway, "mallory")) as http:
        assert http.get(f"/v1/videos/{vid}").status_code == 404
        assert http.get(f"/v1/videos/{vid}/content").status_code == 404
        assert http.delete(f"/v1/videos/{vid}").status_code == 404
        assert vid not in [v["id"] for v in http.get("/v1/videos").json()["data"]]


def test_app_scoped_routes_keep_jobs_apart(gateway: Gateway) -> None:
    with gateway.http() as http:
        one, two = (http.post("/v1/apps", json={"name": n}).json()["id"] for n in ("one", "two"))
        created = http.post(f"/v1/{one}/videos", data={**TINY, "seconds": "1"})  # form fields, as the SDK sends
        assert created.status_code == 202, created.text
        vid = created.json()["id"]
        wait_for(http, vid, prefix=f"/v1/{one}")
        assert http.get(f"/v1/{two}/videos/{vid}").status_code == 404
        assert [v["id"] for v in http.get(f"/v1/{one}/videos").json()["data"]] == [vid]
        assert http.get(f"/v1/{one}/videos/{vid}/content").headers["content-type"] == "video/mp4"
        assert http.get("/v1/app-one/videos").status_code == 404  # no such app


def test_grpc_download_streams_chunks(gateway: Gateway, finished: dict) -> None:
    data, vid = finished["content"].content, finished["video"]["id"]
    md = (("authorization", f"Bearer {gateway.admin_key}"),)
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as ch:
        stub = pb_grpc.VideoJobsServiceStub(ch)
        chunks = list(stub.DownloadVideo(pb.DownloadVideoRequest(id=vid), metadata=md, timeout=10))
        assert chunks[0].total_size == len(data) and b"".join(c.data for c in chunks) == data
        part = list(stub.DownloadVideo(pb.DownloadVideoRequest(id=vid, offset=5, length=50), metadata=md))
        assert b"".join(c.data for c in part) == data[5:55]
        got = stub.GetVideo(pb.GetVideoRequest(id=vid), metadata=md)
        assert got.video.status == pb.VIDEO_STATUS_COMPLETED and got.video.charged_credits_usd == "0.002"
        with pytest.raises(grpc.RpcError) as info:
            list(stub.DownloadVideo(pb.DownloadVideoRequest(id="video_nope"), metadata=md))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
