"""Which object store a TOKENYARD_VIDEO_STORE URL names: the local folder or an S3 bucket."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tokenyard.videojobs.s3 import S3Store
from tokenyard.videojobs.store import LocalDirStore, ObjectStore


def open_store(url: str, default_root: Path, *, s3_endpoint: str = "", s3_region: str = "us-east-1",
               s3_access_key_id: str = "", s3_secret_access_key: str = "") -> ObjectStore:
    """The store a URL names: '' (default_root), file:///dir, or s3://bucket/prefix."""
    if not url:
        return LocalDirStore(default_root)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalDirStore(Path(parts.path))
    if parts.scheme == "s3" and parts.netloc:
        return S3Store(bucket=parts.netloc, prefix=parts.path.strip("/"), endpoint=s3_endpoint,
                       region=s3_region, access_key_id=s3_access_key_id,
                       secret_access_key=s3_secret_access_key)
    raise ValueError(f"TOKENYARD_VIDEO_STORE: unsupported store URL {url!r} "
                     "(use file:///dir or s3://bucket/prefix)")
