"""Object stores: the local directory and the S3-compatible store (against a moto S3 server)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenyard.videojobs.store import LocalDirStore, ObjectNotFound, ObjectStore, check_key
from tokenyard.videojobs.store_url import open_store

DATA = bytes(range(256)) * 3000  # 768000 bytes: several chunks


async def _read(store: ObjectStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join([c async for c in store.read(key, offset, length)])


async def _exercise(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    src.write_bytes(DATA)
    assert await store.put_file("videos/v1/a.mp4", src) == len(DATA)
    assert await store.size("videos/v1/a.mp4") == len(DATA)
    assert await _read(store, "videos/v1/a.mp4") == DATA
    assert await _read(store, "videos/v1/a.mp4", 300_000, 5) == DATA[300_000:300_005]
    assert await _read(store, "videos/v1/a.mp4", 700_000) == DATA[700_000:]
    await store.delete("videos/v1/a.mp4")
    await store.delete("videos/v1/a.mp4")
    with pytest.raises(ObjectNotFound):
        await store.size("videos/v1/a.mp4")
    with pytest.raises(ObjectNotFound):
        await _read(store, "videos/v1/a.mp4")


async def test_local_directory_store(tmp_path: Path) -> None:
    store = open_store("", tmp_path / "videos")
    assert isinstance(store, LocalDirStore)
    await _exercise(store, tmp_path)
    assert not [p for p in (tmp_path / "videos").rglob("*.tmp")]


def test_keys_cannot_escape_the_store() -> None:
    for bad in ("../x", "/etc/passwd", "a/../../b", "", "a\\b"):
        with pytest.raises(ValueError):
            check_key(bad)
    with pytest.raises(ValueError, match="TOKENYARD_VIDEO_STORE"):
        open_store("ftp://x", Path("."))


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="ak",
                 aws_secret_access_key="sk").create_bucket(Bucket="videos")
    try:
        yield url
    finally:
        server.stop()


async def test_s3_store_round_trip_with_ranges(tmp_path: Path, s3_endpoint: str) -> None:
    store = open_store("s3://videos/tokenyard", tmp_path, s3_endpoint=s3_endpoint, s3_access_key_id="ak",
                       s3_secret_access_key="sk")
    try:
        await _exercise(store, tmp_path)
    finally:
        await store.close()
